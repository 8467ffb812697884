-- close_chat: the chat's real user (close_reason user) or an admin/service_role (admin) closes a chat
-- for good; an open assignment ends with chat_closed; nothing is refunded; nobody else may close.
begin;
set local search_path = extensions, public;
select plan(20);
\ir fixtures/authenticate.psql

-- The queue is global: start from no chats at all (seed data included; rolled back at the end).
delete from public.chats;

-- Fixture (as postgres). Real users rosa 17..01 (7 credits) and ruby 17..02; operator olga 17..b1;
-- admin adam 17..e1. c1 rosa's chat held by olga (she paid for messages in it), c2 rosa's idle chat,
-- c3 ruby's chat.
insert into auth.users (id, email) values
  ('17000000-0000-4000-8000-000000000001', 'rosa.17@example.com'),
  ('17000000-0000-4000-8000-000000000002', 'ruby.17@example.com'),
  ('17000000-0000-4000-8000-0000000000b1', 'olga.17@fantooo.local'),
  ('17000000-0000-4000-8000-0000000000e1', 'adam.17@fantooo.local');
insert into public.admins (id, name) values ('17000000-0000-4000-8000-0000000000e1', 'Adam');
insert into public.operators (id, name, status) values ('17000000-0000-4000-8000-0000000000b1', 'Olga', 'available');
insert into public.real_users (id, display_name, age, gender, looking_for, credits) values
  ('17000000-0000-4000-8000-000000000001', 'Rosa', 26, 'female', 'male', 7),
  ('17000000-0000-4000-8000-000000000002', 'Ruby', 27, 'female', 'male', 0);
insert into public.fictional_users (id, name, age, gender) values
  ('17000000-0000-4000-8000-0000000000a1', 'Seventeen A', 30, 'male'),
  ('17000000-0000-4000-8000-0000000000a2', 'Seventeen B', 30, 'male');
insert into public.chats (id, real_user_id, fictional_user_id) values
  ('17000000-0000-4000-8000-0000000000c1', '17000000-0000-4000-8000-000000000001', '17000000-0000-4000-8000-0000000000a1'),
  ('17000000-0000-4000-8000-0000000000c2', '17000000-0000-4000-8000-000000000001', '17000000-0000-4000-8000-0000000000a2'),
  ('17000000-0000-4000-8000-0000000000c3', '17000000-0000-4000-8000-000000000002', '17000000-0000-4000-8000-0000000000a1');
insert into public.messages (chat_id, sender_type, content, created_at)
select '17000000-0000-4000-8000-0000000000c1', 'real', 'm' || n, '2025-06-01 12:00+03'::timestamptz + n * interval '1 minute'
  from generate_series(1, 5) n;
select is(public.assign_chat_to_operator('17000000-0000-4000-8000-0000000000b1'),
  '17000000-0000-4000-8000-0000000000c1'::uuid, 'olga holds c1');
select is((select credits from public.real_users where id = '17000000-0000-4000-8000-000000000001'), 5,
  'rosa paid 2 credits for messages 4 and 5');

-- Who cannot close ----------------------------------------------------------------------------------------------
select tests.authenticate_as('17000000-0000-4000-8000-0000000000b1');
select throws_ok($$select public.close_chat('17000000-0000-4000-8000-0000000000c1')$$,
  '42501', 'forbidden', 'the holding operator cannot close a chat');
select tests.authenticate_as('17000000-0000-4000-8000-000000000002');
select throws_ok($$select public.close_chat('17000000-0000-4000-8000-0000000000c1')$$,
  '42501', 'forbidden', 'ruby cannot close rosa''s chat');
select throws_ok($$select public.close_chat('17000000-0000-4000-8000-0000000000ff')$$,
  'PT404', 'chat_not_found', 'an unknown chat is chat_not_found');

-- Rosa closes her held chat ------------------------------------------------------------------------------------
select tests.authenticate_as('17000000-0000-4000-8000-000000000001');
select ok(public.close_chat('17000000-0000-4000-8000-0000000000c1'), 'rosa closes her chat');
select results_eq(
  $$select status, close_reason, closed_at, queued_at from public.chats where id = '17000000-0000-4000-8000-0000000000c1'$$,
  $$values ('closed'::text, 'user'::text, now(), null::timestamptz)$$,
  'closed by its real user: close_reason user, closed_at set');
select is(public.close_chat('17000000-0000-4000-8000-0000000000c1'), false, 'closing again changes nothing');
select results_eq(
  $$select credits, (select sum(credits_charged)::integer from public.messages where chat_id = '17000000-0000-4000-8000-0000000000c1')
      from public.real_users where id = '17000000-0000-4000-8000-000000000001'$$,
  $$values (5, 2)$$,
  'closing never refunds');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content) values ('17000000-0000-4000-8000-0000000000c1', 'real', 'wait')$$,
  '42501', 'chat_closed', 'a closed chat takes no more messages (chat_closed)');

select tests.clear_authentication();
select results_eq(
  $$select released_at, release_reason from public.chat_assignments where chat_id = '17000000-0000-4000-8000-0000000000c1'$$,
  $$values (now(), 'chat_closed'::text)$$,
  'the open assignment ends with chat_closed');
select is_empty($$select 1 from public.operator_activity where chat_id = '17000000-0000-4000-8000-0000000000c1'$$,
  'the holder''s activity row is gone');
select is((select reassignment_count from public.chats where id = '17000000-0000-4000-8000-0000000000c1'), 0,
  'a close is not a reassignment');

select tests.authenticate_as('17000000-0000-4000-8000-0000000000b1');
select throws_ok($$select public.release_and_reassign_chat('17000000-0000-4000-8000-0000000000c1', 'completed')$$,
  'PT404', 'chat_not_held', 'olga no longer holds the closed chat');
select is(public.assign_chat_to_operator('17000000-0000-4000-8000-0000000000b1'), null::uuid,
  'a closed chat is never assigned again');

-- Adam (admin) and service_role close anyone's chat ------------------------------------------------------------------
select tests.authenticate_as('17000000-0000-4000-8000-0000000000e1');
select ok(public.close_chat('17000000-0000-4000-8000-0000000000c3'), 'an admin closes ruby''s chat');
select results_eq(
  $$select status, close_reason from public.chats where id = '17000000-0000-4000-8000-0000000000c3'$$,
  $$values ('closed'::text, 'admin'::text)$$,
  'closed by an admin: close_reason admin');

select tests.authenticate_as_service_role();
select ok(public.close_chat('17000000-0000-4000-8000-0000000000c2'), 'service_role closes a chat');
select is((select close_reason from public.chats where id = '17000000-0000-4000-8000-0000000000c2'), 'admin',
  'service_role closes as admin');

select tests.authenticate_as_anon();
select throws_ok($$select public.close_chat('17000000-0000-4000-8000-0000000000c2')$$,
  '42501', 'permission denied for function close_chat', 'anon cannot call it');

select * from finish();
rollback;
