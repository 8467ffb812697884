-- update_operator_stats and get_operator_performance_stats: the numbers (messages, chats, average
-- response seconds, idle incidents) per Africa/Nairobi day, the upsert, the jsonb shape, and 42501
-- for another operator's stats.
begin;
set local search_path = extensions, public;
select plan(21);
\ir fixtures/helpers.psql

-- Fixture (as postgres). Operators olga and omar, admin adam, real user rosa (with credits, so her
-- fixture messages can be paid), chats c1 (rosa+Thirteen A) and c2 (rosa+Thirteen B).
select tests.create_admin('adam');
select tests.create_operator('olga');
select tests.create_operator('omar');
select tests.create_real_user('rosa', credits => 100);
select tests.create_profile('Thirteen A');
select tests.create_profile('Thirteen B');
select tests.create_chat('rosa', 'Thirteen A');
select tests.create_chat('rosa', 'Thirteen B');

-- 2025-03-10 in Nairobi (UTC+3) runs from 2025-03-09 21:00Z to 2025-03-10 21:00Z. In c1 olga answers:
--   00:10 real -> 00:20 olga (600 s; 21:20Z on the 9th, so the 10th in Nairobi)
--   10:00 real -> 10:00:30 olga (30 s)
--   10:05 real, 10:06 real -> 10:07 olga (120 s from the oldest unanswered)
--   2025-03-11 00:30 olga (the 11th: not counted on the 10th)
-- and omar answers once in c2 at 11:00 (not olga's).
insert into public.messages (id, chat_id, sender_type, content, created_at) values
  ('13000000-0000-4000-8000-000000000f01', tests.get_chat_id('rosa', 'Thirteen A'), 'real', 'q1', '2025-03-10 00:10:00+03'),
  ('13000000-0000-4000-8000-000000000f02', tests.get_chat_id('rosa', 'Thirteen A'), 'fictional', 'a1', '2025-03-10 00:20:00+03'),
  ('13000000-0000-4000-8000-000000000f03', tests.get_chat_id('rosa', 'Thirteen A'), 'real', 'q2', '2025-03-10 10:00:00+03'),
  ('13000000-0000-4000-8000-000000000f04', tests.get_chat_id('rosa', 'Thirteen A'), 'fictional', 'a2', '2025-03-10 10:00:30+03'),
  ('13000000-0000-4000-8000-000000000f05', tests.get_chat_id('rosa', 'Thirteen A'), 'real', 'q3', '2025-03-10 10:05:00+03'),
  ('13000000-0000-4000-8000-000000000f06', tests.get_chat_id('rosa', 'Thirteen A'), 'real', 'q4', '2025-03-10 10:06:00+03'),
  ('13000000-0000-4000-8000-000000000f07', tests.get_chat_id('rosa', 'Thirteen A'), 'fictional', 'a3', '2025-03-10 10:07:00+03'),
  ('13000000-0000-4000-8000-000000000f08', tests.get_chat_id('rosa', 'Thirteen A'), 'fictional', 'a4', '2025-03-11 00:30:00+03'),
  ('13000000-0000-4000-8000-000000000f09', tests.get_chat_id('rosa', 'Thirteen B'), 'real', 'q5', '2025-03-10 10:59:00+03'),
  ('13000000-0000-4000-8000-000000000f10', tests.get_chat_id('rosa', 'Thirteen B'), 'fictional', 'a5', '2025-03-10 11:00:00+03');
insert into public.message_authors (message_id, operator_id) values
  ('13000000-0000-4000-8000-000000000f02', tests.get_user_id('olga')),
  ('13000000-0000-4000-8000-000000000f04', tests.get_user_id('olga')),
  ('13000000-0000-4000-8000-000000000f07', tests.get_user_id('olga')),
  ('13000000-0000-4000-8000-000000000f08', tests.get_user_id('olga')),
  ('13000000-0000-4000-8000-000000000f10', tests.get_user_id('omar'));
-- Olga's assignments: c1 twice and c2 once on the 10th (two of them ended by the idle sweep), c2 on
-- the 9th (idle too, but another day).
select tests.assign_chat(tests.get_chat_id('rosa', 'Thirteen A'), 'olga', assigned_at => '2025-03-10 00:05+03', released_at => '2025-03-10 09:30+03', release_reason => 'idle_timeout');
select tests.assign_chat(tests.get_chat_id('rosa', 'Thirteen A'), 'olga', assigned_at => '2025-03-10 09:55+03', released_at => '2025-03-10 10:30+03', release_reason => 'completed');
select tests.assign_chat(tests.get_chat_id('rosa', 'Thirteen B'), 'olga', assigned_at => '2025-03-10 12:00+03', released_at => '2025-03-10 12:10+03', release_reason => 'idle_timeout');
select tests.assign_chat(tests.get_chat_id('rosa', 'Thirteen B'), 'olga', assigned_at => '2025-03-09 12:00+03', released_at => '2025-03-09 12:10+03', release_reason => 'idle_timeout');

-- Olga ------------------------------------------------------------------------------------------------------
select tests.authenticate_as('olga');

select results_eq(
  $$select operator_id, stat_date, messages_sent, chats_handled, avg_response_seconds, idle_incidents
      from public.update_operator_stats(tests.get_user_id('olga'), '2025-03-10')$$,
  $$values (tests.get_user_id('olga'), '2025-03-10'::date, 3, 2, 250.00::numeric, 2)$$,
  'olga''s day: 3 replies, 2 chats, (600 + 30 + 120) / 3 = 250 s, 2 idle incidents (Nairobi day boundaries)');
select results_eq(
  $$select messages_sent, chats_handled, avg_response_seconds, idle_incidents from public.operator_stats
     where operator_id = tests.get_user_id('olga') and stat_date = '2025-03-10'$$,
  $$values (3, 2, 250.00::numeric, 2)$$,
  'the row is stored in operator_stats (and olga can read it)');
select results_eq(
  $$select messages_sent, chats_handled, avg_response_seconds, idle_incidents
      from public.update_operator_stats(tests.get_user_id('olga'), '2025-03-11')$$,
  $$values (1, 0, null::numeric, 0)$$,
  'the next day: one reply that answers nothing new, no average');

-- A new reply on the 10th, then the upsert
select tests.clear_authentication();
insert into public.messages (id, chat_id, sender_type, content, created_at) values
  ('13000000-0000-4000-8000-000000000f11', tests.get_chat_id('rosa', 'Thirteen A'), 'real', 'q6', '2025-03-10 20:00:00+03'),
  ('13000000-0000-4000-8000-000000000f12', tests.get_chat_id('rosa', 'Thirteen A'), 'fictional', 'a6', '2025-03-10 20:10:10+03');
insert into public.message_authors (message_id, operator_id) values
  ('13000000-0000-4000-8000-000000000f12', tests.get_user_id('olga'));
select tests.authenticate_as('olga');
select results_eq(
  $$select messages_sent, avg_response_seconds from public.update_operator_stats(tests.get_user_id('olga'), '2025-03-10')$$,
  $$values (4, 340.00::numeric)$$,
  'recomputing picks up the new reply: (600 + 30 + 120 + 610) / 4 = 340 s');
select is(
  (select count(*)::integer from public.operator_stats
    where operator_id = tests.get_user_id('olga') and stat_date = '2025-03-10'),
  1, 'the second update upserts the same row');

select throws_ok($$select public.update_operator_stats(tests.get_user_id('omar'), '2025-03-10')$$,
  '42501', 'forbidden', 'olga cannot update omar''s stats');
select throws_ok($$select public.get_operator_performance_stats(tests.get_user_id('omar'), 7)$$,
  '42501', 'forbidden', 'olga cannot read omar''s performance');
select throws_ok($$select public.get_operator_performance_stats(tests.get_user_id('olga'), 0)$$,
  'PT400', 'invalid_days', 'p_days must be at least 1');

-- Performance over the last days (relative to today in Nairobi) ----------------------------------------------
select tests.clear_authentication();
-- today: a question at day start + 1 h, olga's answer 40 s later; yesterday: one more answer.
insert into public.messages (id, chat_id, sender_type, content, created_at)
select '13000000-0000-4000-8000-000000000f20'::uuid, tests.get_chat_id('rosa', 'Thirteen B'), 'real', 'today q',
       private.day_start((now() at time zone 'Africa/Nairobi')::date) + interval '1 hour'
union all
select '13000000-0000-4000-8000-000000000f21', tests.get_chat_id('rosa', 'Thirteen B'), 'fictional', 'today a',
       private.day_start((now() at time zone 'Africa/Nairobi')::date) + interval '1 hour 40 seconds'
union all
select '13000000-0000-4000-8000-000000000f22', tests.get_chat_id('rosa', 'Thirteen B'), 'real', 'yesterday q',
       private.day_start((now() at time zone 'Africa/Nairobi')::date - 1) + interval '2 hours'
union all
select '13000000-0000-4000-8000-000000000f23', tests.get_chat_id('rosa', 'Thirteen B'), 'fictional', 'yesterday a',
       private.day_start((now() at time zone 'Africa/Nairobi')::date - 1) + interval '2 hours 20 seconds';
insert into public.message_authors (message_id, operator_id) values
  ('13000000-0000-4000-8000-000000000f21', tests.get_user_id('olga')),
  ('13000000-0000-4000-8000-000000000f23', tests.get_user_id('olga'));
select tests.assign_chat(tests.get_chat_id('rosa', 'Thirteen B'), 'olga',
         assigned_at => private.day_start((now() at time zone 'Africa/Nairobi')::date),
         released_at => now(), release_reason => 'idle_timeout');

select tests.authenticate_as('olga');
create temporary table perf on commit drop as
  select public.get_operator_performance_stats(tests.get_user_id('olga'), 3) as j;

select is(
  (select array_agg(k order by k) from perf, jsonb_object_keys(j) k),
  array['avg_response_seconds', 'chats_handled', 'days', 'first_reply_seconds', 'from', 'idle_incidents',
        'messages_sent', 'operator_id', 'per_day', 'to'],
  'the performance jsonb has the totals, the period and per_day');
select is((select jsonb_array_length(j -> 'per_day') from perf), 3, 'one per_day entry per day');
select is(
  (select array_agg(k order by k) from perf, jsonb_object_keys(j -> 'per_day' -> 0) k),
  array['avg_response_seconds', 'chats_handled', 'date', 'first_reply_seconds', 'idle_incidents', 'messages_sent'],
  'each per_day entry has the date and the five numbers');
select results_eq(
  $$select (e ->> 'date')::date from perf, jsonb_array_elements(j -> 'per_day') e$$,
  $$select ((now() at time zone 'Africa/Nairobi')::date - n) from generate_series(2, 0, -1) n$$,
  'per_day runs oldest first and ends today (Nairobi)');
select is((select (j ->> 'to')::date from perf), (now() at time zone 'Africa/Nairobi')::date, '"to" is today');
select is((select (j ->> 'from')::date from perf), (now() at time zone 'Africa/Nairobi')::date - 2, '"from" is p_days - 1 days ago');
select results_eq(
  $$select (e ->> 'messages_sent')::int, (e ->> 'avg_response_seconds')::numeric, (e ->> 'idle_incidents')::int,
           (e ->> 'chats_handled')::int
      from perf, jsonb_array_elements(j -> 'per_day') e order by e ->> 'date' desc limit 2$$,
  $$values (1, 40.00::numeric, 1, 1), (1, 20.00::numeric, 0, 0)$$,
  'today: 1 reply after 40 s, 1 idle incident, 1 chat; yesterday: 1 reply after 20 s');
select results_eq(
  $$select (j ->> 'messages_sent')::int, (j ->> 'avg_response_seconds')::numeric, (j ->> 'idle_incidents')::int,
           (j ->> 'chats_handled')::int
      from perf$$,
  $$values (2, 30.00::numeric, 1, 1)$$,
  'the totals cover the whole period (average over every reply)');
select is(
  (select sum((e ->> 'messages_sent')::int)::int from perf, jsonb_array_elements(j -> 'per_day') e),
  (select (j ->> 'messages_sent')::int from perf),
  'the per-day messages add up to the total');

-- Adam (admin), Rosa (real user) and service_role ------------------------------------------------------------
select tests.authenticate_as('adam');
select is((public.get_operator_performance_stats(tests.get_user_id('omar'), 7) ->> 'operator_id')::uuid,
  tests.get_user_id('omar'), 'an admin reads any operator''s performance');
select results_eq(
  $$select messages_sent, avg_response_seconds from public.update_operator_stats(tests.get_user_id('omar'), '2025-03-10')$$,
  $$values (1, 60.00::numeric)$$, 'an admin updates any operator''s stats (omar: one reply after 60 s)');

select tests.authenticate_as('rosa');
select throws_ok($$select public.get_operator_performance_stats(tests.get_user_id('olga'), 7)$$,
  'PT403', 'not_operator', 'a real user cannot read operator performance');

select tests.authenticate_as_service_role();
select is((public.update_operator_stats(tests.get_user_id('olga'), '2025-03-09')).idle_incidents,
  1, 'service_role updates any operator''s stats');

select * from finish();
rollback;
