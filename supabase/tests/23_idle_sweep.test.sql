-- The idle sweep (sweep_idle_chats, service_role only) releases with idle_timeout every assignment
-- whose holder shows no activity for settings.idle_timeout, counts flags, never releases twice; the
-- operator heartbeat keeps a held chat out of it.
begin;
set local search_path = extensions, public;
select plan(25);
\ir fixtures/helpers.psql

-- The queue is global: start from no chats at all (seed data included; rolled back at the end).
delete from public.chats;

-- Fixture (as postgres). Real user rosa; operators olga, omar; chat cN is rosa+'Eighteen N'.
--   c1 olga, last activity 10 min ago, unanswered        -> released, back to waiting
--   c2 olga, last activity 1 min ago                      -> kept
--   c3 omar, last activity 6 min ago, reassigned twice    -> released, flagged
--   c4 omar, last activity 10 min ago, answered           -> released, back to idle
--   c5 olga, last activity 10 min ago                     -> olga's heartbeat saves it
select tests.create_operator('olga', status => 'available', max_concurrent_chats => 5);
select tests.create_operator('omar', status => 'available', max_concurrent_chats => 5);
select tests.create_real_user('rosa');
select tests.create_profile('Eighteen ' || n) from generate_series(1, 5) n;
select tests.create_chat('rosa', 'Eighteen ' || n, status => 'assigned',
         queued_at => case when n <> 4 then now() - interval '20 minutes' end,
         reassignment_count => case when n = 3 then 2 else 0 end)
  from generate_series(1, 5) n;
select tests.assign_chat(tests.get_chat_id('rosa', 'Eighteen ' || n),
         case when n in (3, 4) then 'omar' else 'olga' end,
         assigned_at => now() - interval '15 minutes',
         last_activity_at => now() - case n when 2 then interval '1 minute' when 3 then interval '6 minutes'
                                            else interval '10 minutes' end)
  from generate_series(1, 5) n;

-- Heartbeats ---------------------------------------------------------------------------------------------------------
select tests.authenticate_as('olga');
select is(public.operator_heartbeat(tests.get_chat_id('rosa', 'Eighteen 5')), now(), 'olga''s heartbeat on c5 returns the new time');
select is((select last_activity_at from public.operator_activity where chat_id = tests.get_chat_id('rosa', 'Eighteen 5')),
  now(), 'the heartbeat refreshes operator_activity');
select is((select last_activity_at from public.operators where id = tests.get_user_id('olga')),
  now(), 'and the operator''s last_activity_at');
select throws_ok($$select public.operator_heartbeat(tests.get_chat_id('rosa', 'Eighteen 3'))$$,
  'PT404', 'chat_not_held', 'olga cannot heartbeat omar''s chat');
select throws_ok($$update public.operator_activity set last_activity_at = now() where chat_id = tests.get_chat_id('rosa', 'Eighteen 1')$$,
  '42501', 'permission denied for table operator_activity', 'activity changes only through the heartbeat function');
select throws_ok($$select public.sweep_idle_chats()$$,
  '42501', 'permission denied for function sweep_idle_chats', 'an operator cannot run the sweep');
select tests.authenticate_as('rosa');
select throws_ok($$select public.operator_heartbeat(tests.get_chat_id('rosa', 'Eighteen 1'))$$,
  'PT403', 'not_operator', 'a real user has no heartbeat');

-- The sweep ----------------------------------------------------------------------------------------------------------
select tests.authenticate_as_service_role();
select is((select last_activity_at from public.operator_activity where chat_id = tests.get_chat_id('rosa', 'Eighteen 3')),
  now() - interval '6 minutes', 'a refused heartbeat changes nothing');
select is(public.sweep_idle_chats(), '{"released": 3, "flagged": 1}'::jsonb,
  'service_role''s sweep releases the three idle chats and reports the one newly flagged');
select bag_eq(
  $$select chat_id, release_reason from public.chat_assignments
     where chat_id in (select id from public.chats where real_user_id = tests.get_user_id('rosa'))
       and released_at is not null$$,
  $$values (tests.get_chat_id('rosa', 'Eighteen 1'), 'idle_timeout'::text), (tests.get_chat_id('rosa', 'Eighteen 3'), 'idle_timeout'),
           (tests.get_chat_id('rosa', 'Eighteen 4'), 'idle_timeout')$$,
  'c1, c3 and c4 are released with idle_timeout');
select bag_eq(
  $$select chat_id from public.chat_assignments
     where chat_id in (select id from public.chats where real_user_id = tests.get_user_id('rosa'))
       and released_at is null$$,
  $$values (tests.get_chat_id('rosa', 'Eighteen 2')), (tests.get_chat_id('rosa', 'Eighteen 5'))$$,
  'the fresh chat (c2) and the heartbeat chat (c5) stay held');
select bag_eq(
  $$select id, status, queued_at, reassignment_count, flagged_for_review from public.chats
     where real_user_id = tests.get_user_id('rosa')$$,
  $$values (tests.get_chat_id('rosa', 'Eighteen 1'), 'waiting'::text, now() - interval '20 minutes', 1, false),
           (tests.get_chat_id('rosa', 'Eighteen 2'), 'assigned', now() - interval '20 minutes', 0, false),
           (tests.get_chat_id('rosa', 'Eighteen 3'), 'waiting', now() - interval '20 minutes', 3, true),
           (tests.get_chat_id('rosa', 'Eighteen 4'), 'idle', null::timestamptz, 1, false),
           (tests.get_chat_id('rosa', 'Eighteen 5'), 'assigned', now() - interval '20 minutes', 0, false)$$,
  'released chats requeue (waiting with their queued_at, or idle when answered); the third release flags c3');
select is_empty(
  $$select 1 from public.operator_activity oa
     where oa.chat_id in (tests.get_chat_id('rosa', 'Eighteen 1'), tests.get_chat_id('rosa', 'Eighteen 3'), tests.get_chat_id('rosa', 'Eighteen 4'))$$,
  'the released chats'' activity rows are gone');
select is(public.sweep_idle_chats(), '{"released": 0, "flagged": 0}'::jsonb, 'a second sweep finds nothing to release');

-- Idle incidents count in the stats ------------------------------------------------------------------------------
select is((public.update_operator_stats(tests.get_user_id('omar'), null)).idle_incidents, 2,
  'omar''s two idle releases are his idle incidents today');
select is((public.update_operator_stats(tests.get_user_id('olga'), null)).idle_incidents, 1,
  'olga has one');

-- The timeout comes from the settings row ------------------------------------------------------------------------------
select tests.clear_authentication();
update public.operator_activity set last_activity_at = now() - interval '20 minutes'
 where chat_id = tests.get_chat_id('rosa', 'Eighteen 2');
update public.settings set idle_timeout = interval '30 minutes';
select is(public.sweep_idle_chats(), '{"released": 0, "flagged": 0}'::jsonb,
  'with idle_timeout 30 minutes, 20 minutes of silence is not idle');
update public.settings set idle_timeout = interval '15 minutes';
select is(public.sweep_idle_chats(), '{"released": 1, "flagged": 0}'::jsonb,
  'with idle_timeout 15 minutes it is (postgres, as pg_cron would, may run the sweep too)');

-- The released chats can be taken again ------------------------------------------------------------------------------
-- c1, c2 and c3 wait with the same queued_at, so they are taken in id order.
create temporary table swept on commit drop as
  select id, row_number() over (order by id) as n from public.chats where id in (tests.get_chat_id('rosa', 'Eighteen 1'), tests.get_chat_id('rosa', 'Eighteen 2'), tests.get_chat_id('rosa', 'Eighteen 3'));
select is(public.assign_chat_to_operator(tests.get_user_id('omar')),
  (select id from swept where n = 1), 'a swept chat is assignable again, oldest first (ties by id)');
select is(public.assign_chat_to_operator(tests.get_user_id('omar')),
  (select id from swept where n = 2), 'the next one by id');
select is(public.assign_chat_to_operator(tests.get_user_id('omar')),
  (select id from swept where n = 3), 'the flagged chat (c3) is assignable too: all three are taken');
select is_empty(
  $$select chat_id from public.chat_assignments where released_at is null group by chat_id having count(*) > 1$$,
  'no chat is held twice');

-- Nobody else runs the sweep -------------------------------------------------------------------------------------------------
select tests.authenticate_as_anon();
select throws_ok($$select public.sweep_idle_chats()$$,
  '42501', 'permission denied for function sweep_idle_chats', 'anon cannot run the sweep');
select tests.authenticate_as('rosa');
select throws_ok($$select public.sweep_idle_chats()$$,
  '42501', 'permission denied for function sweep_idle_chats', 'a real user cannot run the sweep');
set local role postgres;
select throws_ok($$select public.sweep_idle_chats()$$,
  '42501', 'forbidden', 'a session carrying a user''s JWT cannot run it, whatever the database role');

select * from finish();
rollback;
