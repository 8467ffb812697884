-- assign_chat_to_operator: oldest waiting chat first, only for an active, available operator under
-- capacity, recorded in chat_assignments and operator_activity; NULL when nothing waits; an operator
-- acts only for itself.
begin;
set local search_path = extensions, public;
select plan(27);
\ir fixtures/authenticate.psql

-- The queue is global: start from no chats at all (seed data included; rolled back at the end).
delete from public.chats;

-- Fixture (as postgres). Real user ruth 10..01; profiles 10..a1-a5; admin 10..e1;
-- operators: olga (available, capacity 2), bea (busy), otto (offline), ivan (available, deactivated),
-- fay (available, capacity 1), sam (available, capacity 3).
insert into auth.users (id, email) values
  ('10000000-0000-4000-8000-000000000001', 'ruth.10@example.com'),
  ('10000000-0000-4000-8000-0000000000b1', 'olga.10@fantooo.local'),
  ('10000000-0000-4000-8000-0000000000b2', 'bea.10@fantooo.local'),
  ('10000000-0000-4000-8000-0000000000b3', 'otto.10@fantooo.local'),
  ('10000000-0000-4000-8000-0000000000b4', 'ivan.10@fantooo.local'),
  ('10000000-0000-4000-8000-0000000000b5', 'fay.10@fantooo.local'),
  ('10000000-0000-4000-8000-0000000000b6', 'sam.10@fantooo.local'),
  ('10000000-0000-4000-8000-0000000000e1', 'adam.10@fantooo.local');
insert into public.admins (id, name) values ('10000000-0000-4000-8000-0000000000e1', 'Adam');
insert into public.real_users (id, display_name, age, gender, looking_for) values
  ('10000000-0000-4000-8000-000000000001', 'Ruth', 30, 'female', 'male');
insert into public.operators (id, name, status, max_concurrent_chats, is_active) values
  ('10000000-0000-4000-8000-0000000000b1', 'Olga', 'available', 2, true),
  ('10000000-0000-4000-8000-0000000000b2', 'Bea', 'busy', 5, true),
  ('10000000-0000-4000-8000-0000000000b3', 'Otto', 'offline', 5, true),
  ('10000000-0000-4000-8000-0000000000b4', 'Ivan', 'available', 5, false),
  ('10000000-0000-4000-8000-0000000000b5', 'Fay', 'available', 1, true),
  ('10000000-0000-4000-8000-0000000000b6', 'Sam', 'available', 3, true);
insert into public.fictional_users (id, name, age, gender) values
  ('10000000-0000-4000-8000-0000000000a1', 'Ten A', 25, 'male'),
  ('10000000-0000-4000-8000-0000000000a2', 'Ten B', 26, 'male'),
  ('10000000-0000-4000-8000-0000000000a3', 'Ten C', 27, 'male'),
  ('10000000-0000-4000-8000-0000000000a4', 'Ten D', 28, 'male'),
  ('10000000-0000-4000-8000-0000000000a5', 'Ten E', 29, 'male');
-- Waiting chats inserted newest first, so insertion order cannot pass for queue order:
-- c3 (queued 1 min ago), c2 (2 min), c1 (3 min, oldest); plus an idle and a closed chat.
insert into public.chats (id, real_user_id, fictional_user_id, status, queued_at, closed_at, close_reason) values
  ('10000000-0000-4000-8000-0000000000c3', '10000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-0000000000a3', 'waiting', now() - interval '1 minute', null, null),
  ('10000000-0000-4000-8000-0000000000c2', '10000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-0000000000a2', 'waiting', now() - interval '2 minutes', null, null),
  ('10000000-0000-4000-8000-0000000000c1', '10000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-0000000000a1', 'waiting', now() - interval '3 minutes', null, null),
  ('10000000-0000-4000-8000-0000000000c4', '10000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-0000000000a4', 'idle', null, null, null),
  ('10000000-0000-4000-8000-0000000000c5', '10000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-0000000000a5', 'closed', null, now(), 'user');

-- Olga (operator) -----------------------------------------------------------------------------------
select tests.authenticate_as('10000000-0000-4000-8000-0000000000b1');

select is(public.assign_chat_to_operator('10000000-0000-4000-8000-0000000000b1'),
  '10000000-0000-4000-8000-0000000000c1'::uuid, 'the oldest waiting chat (by queued_at) is assigned first');
select is((select status from public.chats where id = '10000000-0000-4000-8000-0000000000c1'),
  'assigned', 'the assigned chat becomes assigned');
select is((select queued_at from public.chats where id = '10000000-0000-4000-8000-0000000000c1'),
  now() - interval '3 minutes', 'assigning keeps queued_at (the unanswered message)');
select results_eq(
  $$select operator_id, released_at, release_reason from public.chat_assignments
    where chat_id = '10000000-0000-4000-8000-0000000000c1'$$,
  $$values ('10000000-0000-4000-8000-0000000000b1'::uuid, null::timestamptz, null::text)$$,
  'an open chat_assignments row records olga as the holder');
select results_eq(
  $$select assigned_at, last_activity_at from public.operator_activity
    where operator_id = '10000000-0000-4000-8000-0000000000b1' and chat_id = '10000000-0000-4000-8000-0000000000c1'$$,
  $$values (now(), now())$$,
  'an operator_activity row starts the idle clock');
select is((select last_activity_at from public.operators where id = '10000000-0000-4000-8000-0000000000b1'),
  now(), 'the operator''s last_activity_at is refreshed');
select is(public.assign_chat_to_operator(),
  '10000000-0000-4000-8000-0000000000c2'::uuid, 'without an argument the caller assigns for itself, next oldest next');
select throws_ok($$select public.assign_chat_to_operator('10000000-0000-4000-8000-0000000000b1')$$,
  'PT409', 'at_capacity', 'olga holding 2 of 2 chats is at capacity');
select is((select status from public.operators where id = '10000000-0000-4000-8000-0000000000b1'),
  'available', 'reaching capacity does not change the status');
select throws_ok($$select public.assign_chat_to_operator('10000000-0000-4000-8000-0000000000b6')$$,
  '42501', 'forbidden', 'olga cannot assign for sam');

-- Bea (busy), Otto (offline), Ivan (deactivated) -------------------------------------------------------
select tests.authenticate_as('10000000-0000-4000-8000-0000000000b2');
select throws_ok($$select public.assign_chat_to_operator('10000000-0000-4000-8000-0000000000b2')$$,
  'PT409', 'operator_unavailable', 'a busy operator takes no chat');
select tests.authenticate_as('10000000-0000-4000-8000-0000000000b3');
select throws_ok($$select public.assign_chat_to_operator('10000000-0000-4000-8000-0000000000b3')$$,
  'PT409', 'operator_unavailable', 'an offline operator takes no chat');
select tests.authenticate_as('10000000-0000-4000-8000-0000000000b4');
select throws_ok($$select public.assign_chat_to_operator('10000000-0000-4000-8000-0000000000b4')$$,
  'PT409', 'operator_unavailable', 'a deactivated operator takes no chat');

-- Ruth (real user) ------------------------------------------------------------------------------------
select tests.authenticate_as('10000000-0000-4000-8000-000000000001');
select throws_ok($$select public.assign_chat_to_operator('10000000-0000-4000-8000-0000000000b5')$$,
  'PT403', 'not_operator', 'a real user cannot assign chats');
select throws_ok($$select public.assign_chat_to_operator()$$,
  'PT403', 'not_operator', 'a real user cannot assign chats to itself');

-- Adam (admin) acts for Fay ---------------------------------------------------------------------------
select tests.authenticate_as('10000000-0000-4000-8000-0000000000e1');
select throws_ok($$select public.assign_chat_to_operator('10000000-0000-4000-8000-0000000000e1')$$,
  'PT403', 'not_operator', 'an admin cannot assign to someone who is not an operator');
select is(public.assign_chat_to_operator('10000000-0000-4000-8000-0000000000b5'),
  '10000000-0000-4000-8000-0000000000c3'::uuid, 'an admin may assign for another operator');

-- Sam: nothing waits any more ---------------------------------------------------------------------------
select tests.authenticate_as('10000000-0000-4000-8000-0000000000b6');
select is(public.assign_chat_to_operator('10000000-0000-4000-8000-0000000000b6'), null::uuid,
  'NULL when no chat waits');
select is((select count(*)::integer from public.chat_assignments where operator_id = '10000000-0000-4000-8000-0000000000b6'),
  0, 'a NULL assignment records nothing');

-- service_role acts for anyone ----------------------------------------------------------------------------
select tests.clear_authentication();
update public.chats set status = 'waiting', queued_at = now() where id = '10000000-0000-4000-8000-0000000000c4';
select tests.authenticate_as_service_role();
select is(public.assign_chat_to_operator('10000000-0000-4000-8000-0000000000b6'),
  '10000000-0000-4000-8000-0000000000c4'::uuid, 'service_role may assign for any operator');
select throws_ok($$select public.assign_chat_to_operator('10000000-0000-4000-8000-0000000000b5')$$,
  'PT409', 'at_capacity', 'fay (capacity 1) already holds one chat');

-- Anon cannot call it at all ---------------------------------------------------------------------------
select tests.authenticate_as_anon();
select throws_ok($$select public.assign_chat_to_operator('10000000-0000-4000-8000-0000000000b6')$$,
  '42501', 'permission denied for function assign_chat_to_operator', 'anon cannot call assign_chat_to_operator');

-- Final state -------------------------------------------------------------------------------------------
select tests.clear_authentication();
select is((select count(*)::integer from public.chats where status = 'waiting'
            and id::text like '10000000-%'), 0, 'every waiting chat was assigned');
select is((select status from public.chats where id = '10000000-0000-4000-8000-0000000000c5'),
  'closed', 'a closed chat is never assigned');
select bag_eq(
  $$select chat_id from public.chat_assignments where released_at is null and chat_id::text like '10000000-%'$$,
  $$values ('10000000-0000-4000-8000-0000000000c1'::uuid), ('10000000-0000-4000-8000-0000000000c2'),
           ('10000000-0000-4000-8000-0000000000c3'), ('10000000-0000-4000-8000-0000000000c4')$$,
  'each assigned chat has exactly one open assignment');
select is((select count(*)::integer from public.operator_activity where chat_id::text like '10000000-%'),
  4, 'one activity row per held chat');
select is_empty(
  $$select o.id from public.chat_assignments a
      join public.operators o on o.id = a.operator_id
     where a.released_at is null
     group by o.id, o.max_concurrent_chats
    having count(*) > o.max_concurrent_chats$$,
  'no operator holds more than its capacity');

select * from finish();
rollback;
