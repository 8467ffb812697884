-- The idle sweep (sweep_idle_chats, service_role only) releases with idle_timeout every assignment
-- whose holder shows no activity for settings.idle_timeout, counts flags, never releases twice; the
-- operator heartbeat keeps a held chat out of it.
begin;
set local search_path = extensions, public;
select plan(25);
\ir fixtures/authenticate.psql

-- The queue is global: start from no chats at all (seed data included; rolled back at the end).
delete from public.chats;

-- Fixture (as postgres). Real user rosa 18..01; operators olga 18..b1, omar 18..b2.
--   c1 olga, last activity 10 min ago, unanswered        -> released, back to waiting
--   c2 olga, last activity 1 min ago                      -> kept
--   c3 omar, last activity 6 min ago, reassigned twice    -> released, flagged
--   c4 omar, last activity 10 min ago, answered           -> released, back to idle
--   c5 olga, last activity 10 min ago                     -> olga's heartbeat saves it
insert into auth.users (id, email) values
  ('18000000-0000-4000-8000-000000000001', 'rosa.18@example.com'),
  ('18000000-0000-4000-8000-0000000000b1', 'olga.18@fantooo.local'),
  ('18000000-0000-4000-8000-0000000000b2', 'omar.18@fantooo.local');
insert into public.operators (id, name, status, max_concurrent_chats) values
  ('18000000-0000-4000-8000-0000000000b1', 'Olga', 'available', 5),
  ('18000000-0000-4000-8000-0000000000b2', 'Omar', 'available', 5);
insert into public.real_users (id, display_name, age, gender, looking_for) values
  ('18000000-0000-4000-8000-000000000001', 'Rosa', 26, 'female', 'male');
insert into public.fictional_users (id, name, age, gender)
select ('18000000-0000-4000-8000-0000000000a' || n)::uuid, 'Eighteen ' || n, 30, 'male' from generate_series(1, 5) n;
insert into public.chats (id, real_user_id, fictional_user_id, status, queued_at, reassignment_count)
select ('18000000-0000-4000-8000-0000000000c' || n)::uuid, '18000000-0000-4000-8000-000000000001',
       ('18000000-0000-4000-8000-0000000000a' || n)::uuid, 'assigned',
       case when n <> 4 then now() - interval '20 minutes' end,
       case when n = 3 then 2 else 0 end
  from generate_series(1, 5) n;
insert into public.chat_assignments (chat_id, operator_id, assigned_at)
select ('18000000-0000-4000-8000-0000000000c' || n)::uuid,
       case when n in (3, 4) then '18000000-0000-4000-8000-0000000000b2' else '18000000-0000-4000-8000-0000000000b1' end::uuid,
       now() - interval '15 minutes'
  from generate_series(1, 5) n;
insert into public.operator_activity (operator_id, chat_id, assigned_at, last_activity_at)
select a.operator_id, a.chat_id, a.assigned_at,
       now() - case right(a.chat_id::text, 1) when '2' then interval '1 minute' when '3' then interval '6 minutes'
                                              else interval '10 minutes' end
  from public.chat_assignments a where a.chat_id::text like '18000000-%';

-- Heartbeats ---------------------------------------------------------------------------------------------------------
select tests.authenticate_as('18000000-0000-4000-8000-0000000000b1');
select is(public.operator_heartbeat('18000000-0000-4000-8000-0000000000c5'), now(), 'olga''s heartbeat on c5 returns the new time');
select is((select last_activity_at from public.operator_activity where chat_id = '18000000-0000-4000-8000-0000000000c5'),
  now(), 'the heartbeat refreshes operator_activity');
select is((select last_activity_at from public.operators where id = '18000000-0000-4000-8000-0000000000b1'),
  now(), 'and the operator''s last_activity_at');
select throws_ok($$select public.operator_heartbeat('18000000-0000-4000-8000-0000000000c3')$$,
  'PT404', 'chat_not_held', 'olga cannot heartbeat omar''s chat');
select throws_ok($$update public.operator_activity set last_activity_at = now() where chat_id = '18000000-0000-4000-8000-0000000000c1'$$,
  '42501', 'permission denied for table operator_activity', 'activity changes only through the heartbeat function');
select throws_ok($$select public.sweep_idle_chats()$$,
  '42501', 'permission denied for function sweep_idle_chats', 'an operator cannot run the sweep');
select tests.authenticate_as('18000000-0000-4000-8000-000000000001');
select throws_ok($$select public.operator_heartbeat('18000000-0000-4000-8000-0000000000c1')$$,
  'PT403', 'not_operator', 'a real user has no heartbeat');

-- The sweep ----------------------------------------------------------------------------------------------------------
select tests.authenticate_as_service_role();
select is((select last_activity_at from public.operator_activity where chat_id = '18000000-0000-4000-8000-0000000000c3'),
  now() - interval '6 minutes', 'a refused heartbeat changes nothing');
select is(public.sweep_idle_chats(), '{"released": 3, "flagged": 1}'::jsonb,
  'service_role''s sweep releases the three idle chats and reports the one newly flagged');
select results_eq(
  $$select right(chat_id::text, 2), release_reason from public.chat_assignments
     where chat_id::text like '18000000-%' and released_at is not null order by 1$$,
  $$values ('c1'::text, 'idle_timeout'::text), ('c3', 'idle_timeout'), ('c4', 'idle_timeout')$$,
  'c1, c3 and c4 are released with idle_timeout');
select results_eq(
  $$select right(chat_id::text, 2) from public.chat_assignments
     where chat_id::text like '18000000-%' and released_at is null order by 1$$,
  $$values ('c2'::text), ('c5')$$,
  'the fresh chat (c2) and the heartbeat chat (c5) stay held');
select results_eq(
  $$select right(id::text, 2), status, queued_at, reassignment_count, flagged_for_review from public.chats
     where id::text like '18000000-%' order by 1$$,
  $$values ('c1'::text, 'waiting'::text, now() - interval '20 minutes', 1, false),
           ('c2', 'assigned', now() - interval '20 minutes', 0, false),
           ('c3', 'waiting', now() - interval '20 minutes', 3, true),
           ('c4', 'idle', null::timestamptz, 1, false),
           ('c5', 'assigned', now() - interval '20 minutes', 0, false)$$,
  'released chats requeue (waiting with their queued_at, or idle when answered); the third release flags c3');
select is_empty(
  $$select 1 from public.operator_activity oa where oa.chat_id::text like '18000000-%'
      and oa.chat_id in ('18000000-0000-4000-8000-0000000000c1', '18000000-0000-4000-8000-0000000000c3', '18000000-0000-4000-8000-0000000000c4')$$,
  'the released chats'' activity rows are gone');
select is(public.sweep_idle_chats(), '{"released": 0, "flagged": 0}'::jsonb, 'a second sweep finds nothing to release');

-- Idle incidents count in the stats ------------------------------------------------------------------------------
select is((public.update_operator_stats('18000000-0000-4000-8000-0000000000b2', null)).idle_incidents, 2,
  'omar''s two idle releases are his idle incidents today');
select is((public.update_operator_stats('18000000-0000-4000-8000-0000000000b1', null)).idle_incidents, 1,
  'olga has one');

-- The timeout comes from the settings row ------------------------------------------------------------------------------
select tests.clear_authentication();
update public.operator_activity set last_activity_at = now() - interval '20 minutes'
 where chat_id = '18000000-0000-4000-8000-0000000000c2';
update public.settings set idle_timeout = interval '30 minutes';
select is(public.sweep_idle_chats(), '{"released": 0, "flagged": 0}'::jsonb,
  'with idle_timeout 30 minutes, 20 minutes of silence is not idle');
update public.settings set idle_timeout = interval '15 minutes';
select is(public.sweep_idle_chats(), '{"released": 1, "flagged": 0}'::jsonb,
  'with idle_timeout 15 minutes it is (postgres, as pg_cron would, may run the sweep too)');

-- The released chats can be taken again ------------------------------------------------------------------------------
select is(public.assign_chat_to_operator('18000000-0000-4000-8000-0000000000b2'),
  '18000000-0000-4000-8000-0000000000c1'::uuid, 'a swept chat is assignable again, oldest first (c1 before c2 by id)');
select is(public.assign_chat_to_operator('18000000-0000-4000-8000-0000000000b2'),
  '18000000-0000-4000-8000-0000000000c2'::uuid, 'the next one is c2');
select is(public.assign_chat_to_operator('18000000-0000-4000-8000-0000000000b2'),
  '18000000-0000-4000-8000-0000000000c3'::uuid, 'the flagged chat is assignable too');
select is_empty(
  $$select chat_id from public.chat_assignments where released_at is null group by chat_id having count(*) > 1$$,
  'no chat is held twice');

-- Nobody else runs the sweep -------------------------------------------------------------------------------------------------
select tests.authenticate_as_anon();
select throws_ok($$select public.sweep_idle_chats()$$,
  '42501', 'permission denied for function sweep_idle_chats', 'anon cannot run the sweep');
select tests.authenticate_as('18000000-0000-4000-8000-000000000001');
select throws_ok($$select public.sweep_idle_chats()$$,
  '42501', 'permission denied for function sweep_idle_chats', 'a real user cannot run the sweep');
set local role postgres;
select throws_ok($$select public.sweep_idle_chats()$$,
  '42501', 'forbidden', 'a session carrying a user''s JWT cannot run it, whatever the database role');

select * from finish();
rollback;
