-- close_chat: the chat's real user (close_reason user) or an admin/service_role (admin) closes a chat
-- for good; an open assignment ends with chat_closed; nothing is refunded; nobody else may close.
begin;
set local search_path = extensions, public;
select plan(20);
\ir fixtures/helpers.psql

-- The queue is global: start from no chats at all (seed data included; rolled back at the end).
delete from public.chats;

-- Fixture (as postgres). Real users rosa (7 credits) and ruby; operator olga;
-- admin adam. c1 rosa's chat held by olga (she paid for messages in it), c2 rosa's idle chat,
-- c3 ruby's chat.
select tests.create_admin('adam');
select tests.create_operator('olga', status => 'available');
select tests.create_real_user('rosa', credits => 7);
select tests.create_real_user('ruby');
select tests.create_profile('Seventeen A');
select tests.create_profile('Seventeen B');
select tests.create_chat('rosa', 'Seventeen A');
select tests.create_chat('rosa', 'Seventeen B');
select tests.create_chat('ruby', 'Seventeen A');
insert into public.messages (chat_id, sender_type, content, created_at)
select tests.get_chat_id('rosa', 'Seventeen A'), 'real', 'm' || n, '2025-06-01 12:00+03'::timestamptz + n * interval '1 minute'
  from generate_series(1, 5) n;
select is(public.assign_chat_to_operator(tests.get_user_id('olga')),
  tests.get_chat_id('rosa', 'Seventeen A'), 'olga holds c1');
select is((select credits from public.real_users where id = tests.get_user_id('rosa')), 5,
  'rosa paid 2 credits for messages 4 and 5');

-- Who cannot close ----------------------------------------------------------------------------------------------
select tests.authenticate_as('olga');
select throws_ok($$select public.close_chat(tests.get_chat_id('rosa', 'Seventeen A'))$$,
  '42501', 'forbidden', 'the holding operator cannot close a chat');
select tests.authenticate_as('ruby');
select throws_ok($$select public.close_chat(tests.get_chat_id('rosa', 'Seventeen A'))$$,
  '42501', 'forbidden', 'ruby cannot close rosa''s chat');
select throws_ok($$select public.close_chat('17000000-0000-4000-8000-0000000000ff')$$,
  'PT404', 'chat_not_found', 'an unknown chat is chat_not_found');

-- Rosa closes her held chat ------------------------------------------------------------------------------------
select tests.authenticate_as('rosa');
select ok(public.close_chat(tests.get_chat_id('rosa', 'Seventeen A')), 'rosa closes her chat');
select results_eq(
  $$select status, close_reason, closed_at, queued_at from public.chats where id = tests.get_chat_id('rosa', 'Seventeen A')$$,
  $$values ('closed'::text, 'user'::text, now(), null::timestamptz)$$,
  'closed by its real user: close_reason user, closed_at set');
select is(public.close_chat(tests.get_chat_id('rosa', 'Seventeen A')), false, 'closing again changes nothing');
select results_eq(
  $$select credits, (select sum(credits_charged)::integer from public.messages where chat_id = tests.get_chat_id('rosa', 'Seventeen A'))
      from public.real_users where id = tests.get_user_id('rosa')$$,
  $$values (5, 2)$$,
  'closing never refunds');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('rosa', 'Seventeen A'), 'real', 'wait')$$,
  '42501', 'chat_closed', 'a closed chat takes no more messages (chat_closed)');

select tests.clear_authentication();
select results_eq(
  $$select released_at, release_reason from public.chat_assignments where chat_id = tests.get_chat_id('rosa', 'Seventeen A')$$,
  $$values (now(), 'chat_closed'::text)$$,
  'the open assignment ends with chat_closed');
select is_empty($$select 1 from public.operator_activity where chat_id = tests.get_chat_id('rosa', 'Seventeen A')$$,
  'the holder''s activity row is gone');
select is((select reassignment_count from public.chats where id = tests.get_chat_id('rosa', 'Seventeen A')), 0,
  'a close is not a reassignment');

select tests.authenticate_as('olga');
select throws_ok($$select public.release_and_reassign_chat(tests.get_chat_id('rosa', 'Seventeen A'), 'completed')$$,
  'PT404', 'chat_not_held', 'olga no longer holds the closed chat');
select is(public.assign_chat_to_operator(tests.get_user_id('olga')), null::uuid,
  'a closed chat is never assigned again');

-- Adam (admin) and service_role close anyone's chat ------------------------------------------------------------------
select tests.authenticate_as('adam');
select ok(public.close_chat(tests.get_chat_id('ruby', 'Seventeen A')), 'an admin closes ruby''s chat');
select results_eq(
  $$select status, close_reason from public.chats where id = tests.get_chat_id('ruby', 'Seventeen A')$$,
  $$values ('closed'::text, 'admin'::text)$$,
  'closed by an admin: close_reason admin');

select tests.authenticate_as_service_role();
select ok(public.close_chat(tests.get_chat_id('rosa', 'Seventeen B')), 'service_role closes a chat');
select is((select close_reason from public.chats where id = tests.get_chat_id('rosa', 'Seventeen B')), 'admin',
  'service_role closes as admin');

select tests.authenticate_as_anon();
select throws_ok($$select public.close_chat(tests.get_chat_id('rosa', 'Seventeen B'))$$,
  '42501', 'permission denied for function close_chat', 'anon cannot call it');

select * from finish();
rollback;
