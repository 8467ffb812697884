-- assign_chat_to_operator: oldest waiting chat first, only for an active, available operator under
-- capacity, recorded in chat_assignments and operator_activity; NULL when nothing waits (and asking
-- is no sign of life); an operator acts only for itself.
begin;
set local search_path = extensions, public;
select plan(34);
\ir fixtures/helpers.psql

-- The queue is global: start from no chats at all (seed data included; rolled back at the end).
delete from public.chats;

-- Fixture (as postgres). Real user ruth; profiles Ten A-E; admin adam;
-- operators: olga (available, capacity 2), bea (busy), otto (offline), ivan (available, deactivated),
-- fay (available, capacity 1), sam (available, capacity 3).
select tests.create_admin('adam');
select tests.create_real_user('ruth');
select tests.create_operator('olga', status => 'available', max_concurrent_chats => 2);
select tests.create_operator('bea', status => 'busy', max_concurrent_chats => 5);
select tests.create_operator('otto', max_concurrent_chats => 5);
select tests.create_operator('ivan', status => 'available', max_concurrent_chats => 5, active => false);
select tests.create_operator('fay', status => 'available');
select tests.create_operator('sam', status => 'available', max_concurrent_chats => 3);
select tests.create_profile('Ten A');
select tests.create_profile('Ten B');
select tests.create_profile('Ten C');
select tests.create_profile('Ten D');
select tests.create_profile('Ten E');
-- Waiting chats inserted newest first, so insertion order cannot pass for queue order:
-- ruth+Ten C (queued 1 min ago), Ten B (2 min), Ten A (3 min, oldest); plus an idle (Ten D) and a
-- closed chat (Ten E).
select tests.create_chat('ruth', 'Ten C', status => 'waiting', queued_at => now() - interval '1 minute');
select tests.create_chat('ruth', 'Ten B', status => 'waiting', queued_at => now() - interval '2 minutes');
select tests.create_chat('ruth', 'Ten A', status => 'waiting', queued_at => now() - interval '3 minutes');
select tests.create_chat('ruth', 'Ten D');
select tests.create_chat('ruth', 'Ten E', status => 'closed');

-- Olga (operator) -----------------------------------------------------------------------------------
select tests.authenticate_as('olga');

select is(public.assign_chat_to_operator(tests.get_user_id('olga')),
  tests.get_chat_id('ruth', 'Ten A'), 'the oldest waiting chat (by queued_at) is assigned first');
select is((select status from public.chats where id = tests.get_chat_id('ruth', 'Ten A')),
  'assigned', 'the assigned chat becomes assigned');
select is((select queued_at from public.chats where id = tests.get_chat_id('ruth', 'Ten A')),
  now() - interval '3 minutes', 'assigning keeps queued_at (the unanswered message)');
select results_eq(
  $$select operator_id, released_at, release_reason from public.chat_assignments
    where chat_id = tests.get_chat_id('ruth', 'Ten A')$$,
  $$values (tests.get_user_id('olga'), null::timestamptz, null::text)$$,
  'an open chat_assignments row records olga as the holder');
select results_eq(
  $$select assigned_at, last_activity_at from public.operator_activity
    where operator_id = tests.get_user_id('olga') and chat_id = tests.get_chat_id('ruth', 'Ten A')$$,
  $$values (now(), now())$$,
  'an operator_activity row starts the idle clock');
select is((select last_activity_at from public.operators where id = tests.get_user_id('olga')),
  now(), 'the operator''s last_activity_at is refreshed');
select is(public.assign_chat_to_operator(),
  tests.get_chat_id('ruth', 'Ten B'), 'without an argument the caller assigns for itself, next oldest next');
select throws_ok($$select public.assign_chat_to_operator(tests.get_user_id('olga'))$$,
  'PT409', 'at_capacity', 'olga holding 2 of 2 chats is at capacity');
select is((select status from public.operators where id = tests.get_user_id('olga')),
  'available', 'reaching capacity does not change the status');
select throws_ok($$select public.assign_chat_to_operator(tests.get_user_id('sam'))$$,
  '42501', 'forbidden', 'olga cannot assign for sam');

-- Bea (busy), Otto (offline), Ivan (deactivated) -------------------------------------------------------
select tests.authenticate_as('bea');
select throws_ok($$select public.assign_chat_to_operator(tests.get_user_id('bea'))$$,
  'PT409', 'operator_unavailable', 'a busy operator takes no chat');
select tests.authenticate_as('otto');
select throws_ok($$select public.assign_chat_to_operator(tests.get_user_id('otto'))$$,
  'PT409', 'operator_unavailable', 'an offline operator takes no chat');
select tests.authenticate_as('ivan');
select throws_ok($$select public.assign_chat_to_operator(tests.get_user_id('ivan'))$$,
  'PT409', 'operator_unavailable', 'a deactivated operator takes no chat');

-- Ruth (real user) ------------------------------------------------------------------------------------
select tests.authenticate_as('ruth');
select throws_ok($$select public.assign_chat_to_operator(tests.get_user_id('fay'))$$,
  'PT403', 'not_operator', 'a real user cannot assign chats');
select throws_ok($$select public.assign_chat_to_operator()$$,
  'PT403', 'not_operator', 'a real user cannot assign chats to itself');

-- Adam (admin) acts for Fay ---------------------------------------------------------------------------
select tests.authenticate_as('adam');
select throws_ok($$select public.assign_chat_to_operator(tests.get_user_id('adam'))$$,
  'PT403', 'not_operator', 'an admin cannot assign to someone who is not an operator');
select is(public.assign_chat_to_operator(tests.get_user_id('fay')),
  tests.get_chat_id('ruth', 'Ten C'), 'an admin may assign for another operator');

-- Sam: nothing waits any more ---------------------------------------------------------------------------
select tests.authenticate_as('sam');
select is(public.assign_chat_to_operator(tests.get_user_id('sam')), null::uuid,
  'NULL when no chat waits');
select is((select count(*)::integer from public.chat_assignments where operator_id = tests.get_user_id('sam')),
  0, 'a NULL assignment records nothing');

-- service_role acts for anyone ----------------------------------------------------------------------------
select tests.clear_authentication();
update public.chats set status = 'waiting', queued_at = now() where id = tests.get_chat_id('ruth', 'Ten D');
select tests.authenticate_as_service_role();
select is(public.assign_chat_to_operator(tests.get_user_id('sam')),
  tests.get_chat_id('ruth', 'Ten D'), 'service_role may assign for any operator');
select throws_ok($$select public.assign_chat_to_operator(tests.get_user_id('fay'))$$,
  'PT409', 'at_capacity', 'fay (capacity 1) already holds one chat');

-- Anon cannot call it at all ---------------------------------------------------------------------------
select tests.authenticate_as_anon();
select throws_ok($$select public.assign_chat_to_operator(tests.get_user_id('sam'))$$,
  '42501', 'permission denied for function assign_chat_to_operator', 'anon cannot call assign_chat_to_operator');

-- Final state -------------------------------------------------------------------------------------------
select tests.clear_authentication();
select is((select count(*)::integer from public.chats where status = 'waiting'
            and real_user_id = tests.get_user_id('ruth')), 0, 'every waiting chat was assigned');
select is((select status from public.chats where id = tests.get_chat_id('ruth', 'Ten E')),
  'closed', 'a closed chat is never assigned');
select bag_eq(
  $$select chat_id from public.chat_assignments where released_at is null and chat_id in (select id from public.chats where real_user_id = tests.get_user_id('ruth'))$$,
  $$values (tests.get_chat_id('ruth', 'Ten A')), (tests.get_chat_id('ruth', 'Ten B')),
           (tests.get_chat_id('ruth', 'Ten C')), (tests.get_chat_id('ruth', 'Ten D'))$$,
  'each assigned chat has exactly one open assignment');
select is((select count(*)::integer from public.operator_activity where chat_id in (select id from public.chats where real_user_id = tests.get_user_id('ruth'))),
  4, 'one activity row per held chat');
select is_empty(
  $$select o.id from public.chat_assignments a
      join public.operators o on o.id = a.operator_id
     where a.released_at is null
     group by o.id, o.max_concurrent_chats
    having count(*) > o.max_concurrent_chats$$,
  'no operator holds more than its capacity');

-- The checks, one per kind of caller, and an ask that finds nothing ---------------------------------------
select tests.create_operator('omar', status => 'available', max_concurrent_chats => 5);
select tests.create_real_user('rex', gender => 'male');
select tests.create_profile('Ten F');
select tests.create_chat('ruth', 'Ten F', status => 'waiting', queued_at => now());
select tests.authenticate_as('omar');
select throws_ok($$select public.assign_chat_to_operator(tests.get_user_id('olga'))$$,
  '42501', 'forbidden', 'an operator cannot assign for another operator');
select tests.authenticate_as('rex');
select throws_ok($$select public.assign_chat_to_operator()$$,
  'PT403', 'not_operator', 'a real user is no operator');
select tests.authenticate_as('adam');
select throws_ok($$select public.assign_chat_to_operator(tests.get_user_id('rex'))$$,
  'PT403', 'not_operator', 'an admin cannot assign to a real user');
select is(public.assign_chat_to_operator(tests.get_user_id('omar')), tests.get_chat_id('ruth', 'Ten F'),
  'an admin assigns the oldest waiting chat to omar');
select tests.clear_authentication();
select bag_eq(
  $$select a.chat_id, a.operator_id, oa.operator_id is not null, c.status
      from public.chat_assignments a
      join public.chats c on c.id = a.chat_id
      left join public.operator_activity oa on oa.chat_id = a.chat_id
     where a.released_at is null$$,
  $$values (tests.get_chat_id('ruth', 'Ten A'), tests.get_user_id('olga'), true, 'assigned'::text),
           (tests.get_chat_id('ruth', 'Ten B'), tests.get_user_id('olga'), true, 'assigned'::text),
           (tests.get_chat_id('ruth', 'Ten C'), tests.get_user_id('fay'), true, 'assigned'::text),
           (tests.get_chat_id('ruth', 'Ten D'), tests.get_user_id('sam'), true, 'assigned'::text),
           (tests.get_chat_id('ruth', 'Ten F'), tests.get_user_id('omar'), true, 'assigned'::text)$$,
  'each assignment has its open row, its activity row and an assigned chat');

-- Nothing waits now: asking changes nothing, not even the operator's sign of life.
update public.operators set last_activity_at = now() - interval '1 hour'
 where id = tests.get_user_id('omar');
select tests.authenticate_as('omar');
select is(public.assign_chat_to_operator(), null, 'with nothing waiting omar gets null');
select tests.clear_authentication();
select ok((select last_activity_at < now() - interval '59 minutes' from public.operators
            where id = tests.get_user_id('omar')),
  'an ask that assigns nothing is no sign of life (last_activity_at unchanged)');

select * from finish();
rollback;
