-- release_and_reassign_chat: ends the open assignment, requeues the chat (waiting with its queued_at
-- when the real user's last message is unanswered, else idle), counts every release but the completed
-- one of an answered chat, and flags at 3; each reason only from whom docs/rules.md allows;
-- chat_not_held for chats the caller does not hold.
begin;
set local search_path = extensions, public;
select plan(47);
\ir fixtures/helpers.psql

-- The queue is global: start from no chats at all (seed data included; rolled back at the end).
delete from public.chats;

-- Fixture (as postgres). Real user rita; operators olga and omar; admin adam.
-- Chats cN = rita+'Eleven N' (tests.get_chat_id('rita', 'Eleven 1')):
--   c1 held by olga, unanswered (queued 10 min ago)       c2 held by olga, answered (queued_at null)
--   c3 held by olga, unanswered (9 min), reassigned twice  c4 held by olga (for the admin)
--   c5 held by olga (for service_role idle_timeout)        c6 idle, held by nobody
select tests.create_admin('adam');
select tests.create_real_user('rita');
select tests.create_operator('olga', status => 'available', max_concurrent_chats => 10);
select tests.create_operator('omar', status => 'available', max_concurrent_chats => 10);
select tests.create_profile('Eleven ' || n) from generate_series(1, 6) n;
select tests.create_chat('rita', 'Eleven ' || n,
         status => case when n = 6 then 'idle' else 'assigned' end,
         queued_at => case when n in (1, 4, 5) then now() - interval '10 minutes'
                           when n = 3 then now() - interval '9 minutes' end,
         reassignment_count => case when n = 3 then 2 else 0 end)
  from generate_series(1, 6) n;
select tests.assign_chat(tests.get_chat_id('rita', 'Eleven ' || n), 'olga', assigned_at => now() - interval '5 minutes',
                         last_activity_at => now() - interval '1 minute')
  from generate_series(1, 5) n;

-- Olga, the holder ----------------------------------------------------------------------------------------
select tests.authenticate_as('olga');

select throws_ok($$select public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 1'), 'bogus')$$,
  'PT400', 'invalid_release_reason', 'an unknown reason is refused');
select throws_ok($$select public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 1'), 'idle_timeout')$$,
  '42501', 'forbidden', 'an operator cannot release with idle_timeout');
select throws_ok($$select public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 1'), 'admin')$$,
  '42501', 'forbidden', 'an operator cannot release with admin');

select ok(public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 1'), 'completed'),
  'olga releases a chat she holds (completed)');
-- (checked as postgres: olga no longer sees a chat she released)
select tests.clear_authentication();
select results_eq(
  $$select status, queued_at, reassignment_count, flagged_for_review from public.chats
    where id = tests.get_chat_id('rita', 'Eleven 1')$$,
  $$values ('waiting'::text, now() - interval '10 minutes', 1, false)$$,
  'an unanswered chat goes back to waiting, keeping its queued_at; completed unanswered counts as a reassignment');
select results_eq(
  $$select released_at, release_reason from public.chat_assignments where chat_id = tests.get_chat_id('rita', 'Eleven 1')$$,
  $$values (now(), 'completed'::text)$$,
  'the assignment is closed with released_at and release_reason');
select is_empty(
  $$select 1 from public.operator_activity where chat_id = tests.get_chat_id('rita', 'Eleven 1')$$,
  'the activity row is removed');
select tests.authenticate_as('olga');
select throws_ok($$select public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 1'), 'completed')$$,
  'PT404', 'chat_not_held', 'releasing again: olga no longer holds it');

select ok(public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 2'), 'operator_offline'),
  'olga releases an answered chat (operator_offline)');
select tests.clear_authentication();
select results_eq(
  $$select status, queued_at, reassignment_count from public.chats where id = tests.get_chat_id('rita', 'Eleven 2')$$,
  $$values ('idle'::text, null::timestamptz, 1)$$,
  'an answered chat goes back to idle; operator_offline counts as a reassignment');

select tests.authenticate_as('olga');
select ok(public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 3'), 'operator_offline'),
  'olga releases a chat reassigned twice before');
select tests.clear_authentication();
select results_eq(
  $$select status, reassignment_count, flagged_for_review, flag_reason is not null from public.chats
    where id = tests.get_chat_id('rita', 'Eleven 3')$$,
  $$values ('waiting'::text, 3, true, true)$$,
  'the third reassignment flags the chat for review with a reason, and it stays in the queue');
select unalike((select flag_reason from public.chats where id = tests.get_chat_id('rita', 'Eleven 3')),
  '%Olga%', 'the flag reason (readable by the real user) does not name the operator');

-- Omar does not hold olga's chats ---------------------------------------------------------------------------
select tests.authenticate_as('omar');
select throws_ok($$select public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 4'), 'completed')$$,
  'PT404', 'chat_not_held', 'omar cannot release a chat olga holds');
select throws_ok($$select public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 4'), 'operator_offline')$$,
  'PT404', 'chat_not_held', 'omar cannot release olga''s chat as operator_offline either');
select throws_ok($$select public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 6'), 'completed')$$,
  'PT404', 'chat_not_held', 'nobody holds an idle chat');

-- The flagged chat stays assignable -------------------------------------------------------------------------
select is(public.assign_chat_to_operator(),
  tests.get_chat_id('rita', 'Eleven 1'), 'omar takes the oldest waiting chat (c1, requeued with its place)');
select is(public.assign_chat_to_operator(),
  tests.get_chat_id('rita', 'Eleven 3'), 'omar can take the flagged chat');
select ok(public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 3'), 'completed'),
  'omar releases the flagged chat');
select tests.clear_authentication();
select results_eq(
  $$select reassignment_count, flagged_for_review from public.chats where id = tests.get_chat_id('rita', 'Eleven 3')$$,
  $$values (4, true)$$, 'a completed release of the unanswered flagged chat counts and does not clear the flag');

-- Rita (real user) ------------------------------------------------------------------------------------------
select tests.authenticate_as('rita');
select throws_ok($$select public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 4'), 'completed')$$,
  'PT403', 'not_operator', 'a real user cannot release chats');
select throws_ok($$select public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 4'), 'admin')$$,
  '42501', 'forbidden', 'a real user cannot release as admin');

-- Adam (admin) ----------------------------------------------------------------------------------------------
select tests.authenticate_as('adam');
select throws_ok($$select public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 4'), 'idle_timeout')$$,
  '42501', 'forbidden', 'an admin cannot release with idle_timeout');
select ok(public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 4'), 'admin'),
  'an admin releases any held chat with reason admin');
select results_eq(
  $$select a.release_reason, c.status, c.reassignment_count
      from public.chat_assignments a join public.chats c on c.id = a.chat_id
     where a.chat_id = tests.get_chat_id('rita', 'Eleven 4')$$,
  $$values ('admin'::text, 'waiting'::text, 1)$$,
  'an admin release is recorded and counts as a reassignment');
select throws_ok($$select public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 6'), 'admin')$$,
  'PT404', 'chat_not_held', 'an admin release of a chat nobody holds is chat_not_held');

-- service_role (the sweep's reason) -------------------------------------------------------------------------
select tests.authenticate_as_service_role();
select ok(public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 5'), 'idle_timeout'),
  'service_role releases with idle_timeout');
select tests.clear_authentication();
select results_eq(
  $$select a.release_reason, c.status, c.reassignment_count
      from public.chat_assignments a join public.chats c on c.id = a.chat_id
     where a.chat_id = tests.get_chat_id('rita', 'Eleven 5')$$,
  $$values ('idle_timeout'::text, 'waiting'::text, 1)$$,
  'an idle_timeout release is recorded and counts as a reassignment');

-- Anon -----------------------------------------------------------------------------------------------------
select tests.authenticate_as_anon();
select throws_ok($$select public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 1'), 'completed')$$,
  '42501', 'permission denied for function release_and_reassign_chat', 'anon cannot call it');

-- Invariants -----------------------------------------------------------------------------------------------
select tests.clear_authentication();
select is_empty(
  $$select chat_id from public.chat_assignments where released_at is null group by chat_id having count(*) > 1$$,
  'no chat has two open assignments');
select results_eq(
  $$select count(*)::integer from public.chat_assignments where chat_id in (select id from public.chats where real_user_id = tests.get_user_id('rita')) and released_at is null$$,
  $$values (1)$$, 'only omar''s hold on c1 is still open');
select results_eq(
  $$select status from public.chats where id = tests.get_chat_id('rita', 'Eleven 1')$$,
  $$values ('assigned'::text)$$, 'c1 is assigned to omar');
select is_empty(
  $$select 1 from public.operator_activity oa
     where oa.chat_id in (select id from public.chats where real_user_id = tests.get_user_id('rita'))
       and not exists (select 1 from public.chat_assignments a
                        where a.chat_id = oa.chat_id and a.operator_id = oa.operator_id and a.released_at is null)$$,
  'no activity row outlives its assignment');
select results_eq(
  $$select count(*)::integer from public.chats where real_user_id = tests.get_user_id('rita') and status = 'waiting'$$,
  $$values (3)$$, 'c3, c4 and c5 wait again (their last message is unanswered); no chat was lost');
select is(
  (select count(*)::integer from public.chats where real_user_id = tests.get_user_id('rita') and status in ('waiting', 'assigned', 'idle')),
  6, 'every chat is waiting, assigned or idle');

-- A cleared flag stays cleared until the next reassignment ---------------------------------------------------
-- (found by `npm run simulate`: a completed release of a chat reassigned 3 times flagged it again)
select tests.clear_authentication();
select tests.create_operator('fern', status => 'available', max_concurrent_chats => 5);
select tests.create_profile('Eleven 9');
select tests.create_chat('rita', 'Eleven 9', status => 'waiting', queued_at => '2000-01-01', reassignment_count => 3);
insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('rita', 'Eleven 9'), 'real', 'still there?');
update public.chats set queued_at = '2000-01-01', reassignment_count = 3, flagged_for_review = false, flag_reason = null
 where id = tests.get_chat_id('rita', 'Eleven 9');
select is(public.assign_chat_to_operator(tests.get_user_id('fern')),
  tests.get_chat_id('rita', 'Eleven 9'), 'a chat reassigned 3 times whose flag an admin cleared is taken');
-- answered first: a completed release of an unanswered chat counts (and may flag)
insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('rita', 'Eleven 9'), 'fictional', 'here I am');
select ok(public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 9'), 'completed'), 'released as completed');
select results_eq(
  $$select reassignment_count, flagged_for_review from public.chats where id = tests.get_chat_id('rita', 'Eleven 9')$$,
  $$values (3, false)$$, 'a completed release leaves the cleared flag cleared');
insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('rita', 'Eleven 9'), 'real', 'and now?');
update public.chats set queued_at = '2000-01-01' where id = tests.get_chat_id('rita', 'Eleven 9');
select is(public.assign_chat_to_operator(tests.get_user_id('fern')),
  tests.get_chat_id('rita', 'Eleven 9'), 'it is taken again');
select ok(public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 9'), 'operator_offline'), 'released as operator_offline');
select results_eq(
  $$select reassignment_count, flagged_for_review from public.chats where id = tests.get_chat_id('rita', 'Eleven 9')$$,
  $$values (4, true)$$, 'the next reassignment flags it again');

-- A completed release of an unanswered chat counts --------------------------------------------------

select tests.clear_authentication();
select tests.create_profile('Eleven 8');
select tests.create_chat('rita', 'Eleven 8', status => 'assigned', queued_at => now());
select tests.assign_chat(tests.get_chat_id('rita', 'Eleven 8'), 'olga');
select tests.authenticate_as('olga');
select ok(public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 8'), 'completed'),
  'olga completes the chat while rita waits for an answer');
select tests.clear_authentication();
select results_eq($$select status, reassignment_count, flagged_for_review from public.chats where id = tests.get_chat_id('rita', 'Eleven 8')$$,
  $$values ('waiting'::text, 1, false)$$, 'it goes back to the queue and counts as a reassignment');
-- the third counting release flags it
update public.chats set status = 'assigned', reassignment_count = 2 where id = tests.get_chat_id('rita', 'Eleven 8');
select tests.assign_chat(tests.get_chat_id('rita', 'Eleven 8'), 'olga', activity => false);
select tests.authenticate_as('olga');
select ok(public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 8'), 'completed'), 'olga completes it again, still unanswered');
select tests.clear_authentication();
select results_eq($$select reassignment_count, flagged_for_review, flag_reason from public.chats where id = tests.get_chat_id('rita', 'Eleven 8')$$,
  $$values (3, true, 'reassigned 3 times'::text)$$, 'the third such release flags it');
-- an answered chat: completing it does not count
update public.chats set status = 'assigned', queued_at = null, reassignment_count = 0, flagged_for_review = false, flag_reason = null
 where id = tests.get_chat_id('rita', 'Eleven 8');
select tests.assign_chat(tests.get_chat_id('rita', 'Eleven 8'), 'olga', activity => false);
select tests.authenticate_as('olga');
select ok(public.release_and_reassign_chat(tests.get_chat_id('rita', 'Eleven 8'), 'completed'), 'olga completes an answered chat');
select tests.clear_authentication();
select results_eq($$select status, reassignment_count from public.chats where id = tests.get_chat_id('rita', 'Eleven 8')$$,
  $$values ('idle'::text, 0)$$, 'an answered chat completed does not count');

select * from finish();
rollback;
