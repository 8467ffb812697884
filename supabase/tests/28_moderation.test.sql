-- Moderation: every close and reopen is kept in chat_closures (chat, by whom, reason, time),
-- readable by admins only; a chat closed by an admin stays closed for its user (start_chat answers
-- PT403 chat_closed_by_admin) until an admin reopens it (admin_reopen_chat).
begin;
set local search_path = extensions, public;
select plan(33);

-- Fixture (as postgres; rolled back at the end): the personas of fixtures/personas.psql, with no other
-- chat. alice+Fa is held by olga, alice+Fb closed by alice, bob+Fa held by omar.
\ir fixtures/personas.psql
delete from public.chats where real_user_id not in (tests.get_user_id('alice'), tests.get_user_id('bob'));

-- A user closes and reopens --------------------------------------------------------------------------
select tests.authenticate_as('alice');
select is(public.close_chat(tests.get_chat_id('alice', 'Test Fa')), true, 'alice closes alice+Fa');
select is(public.start_chat(tests.get_profile_id('Test Fa')), tests.get_chat_id('alice', 'Test Fa'),
  'alice comes back: start_chat reopens the chat she closed');
select results_eq($$select status from public.chats where id = tests.get_chat_id('alice', 'Test Fa')$$,
  $$values ('idle'::text)$$, 'the chat is idle again');
select tests.clear_authentication();
select results_eq(
  $$select event, reason, actor_id from public.chat_closures
     where chat_id = tests.get_chat_id('alice', 'Test Fa') order by created_at, event$$,
  $$values ('closed'::text, 'user'::text, tests.get_user_id('alice')),
           ('reopened', 'user', tests.get_user_id('alice'))$$,
  'the close and the reopen are recorded, by alice');

-- An admin closes: the user cannot reopen -------------------------------------------------------------
select tests.authenticate_as('adam');
select is(public.close_chat(tests.get_chat_id('alice', 'Test Fa')), true, 'adam closes alice+Fa');
select is(public.close_chat(tests.get_chat_id('alice', 'Test Fb')), true,
  'adam closes alice+Fb, which alice had closed: it becomes an admin close');
select results_eq(
  $$select id, status, close_reason from public.chats
     where id in (tests.get_chat_id('alice', 'Test Fa'), tests.get_chat_id('alice', 'Test Fb')) order by id$$,
  $$values (tests.get_chat_id('alice', 'Test Fa'), 'closed'::text, 'admin'::text),
           (tests.get_chat_id('alice', 'Test Fb'), 'closed', 'admin')$$,
  'both chats are closed by an admin');
select is(public.close_chat(tests.get_chat_id('alice', 'Test Fb')), false, 'closing it again changes nothing');

select tests.authenticate_as('alice');
select throws_ok($$select public.start_chat(tests.get_profile_id('Test Fa'))$$,
  'PT403', 'chat_closed_by_admin', 'alice cannot reopen the chat adam closed');
select throws_ok($$select public.start_chat(tests.get_profile_id('Test Fb'))$$,
  'PT403', 'chat_closed_by_admin', 'nor the one she had closed before adam did');
select is(public.close_chat(tests.get_chat_id('alice', 'Test Fa')), false, 'her own close_chat changes nothing');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('alice', 'Test Fa'), 'real', 'let me back in')$$,
  '42501', null, 'she cannot write in it');
select throws_ok($$insert into public.chats (real_user_id, fictional_user_id)
  values (tests.get_user_id('alice'), tests.get_profile_id('Test Fa'))$$,
  '23505', null, 'nor start a second chat with the profile');
select throws_ok($$update public.chats set status = 'idle' where id = tests.get_chat_id('alice', 'Test Fa')$$,
  '42501', 'permission denied for table chats', 'nor set its status herself');
select isnt(public.start_chat(tests.get_profile_id('Test Fd')), null,
  'she still starts chats with other profiles');
select tests.clear_authentication();
select results_eq(
  $$select id, status, close_reason from public.chats
     where id in (tests.get_chat_id('alice', 'Test Fa'), tests.get_chat_id('alice', 'Test Fb')) order by id$$,
  $$values (tests.get_chat_id('alice', 'Test Fa'), 'closed'::text, 'admin'::text),
           (tests.get_chat_id('alice', 'Test Fb'), 'closed', 'admin')$$,
  'both chats are still closed by an admin');

-- The inactivity job -----------------------------------------------------------------------------------
update public.chats set last_message_at = now() - interval '2 days' where id = tests.get_chat_id('bob', 'Test Fa');
select is(private.close_inactive_chats(), 1, 'the hourly job closes bob+Fa');
select results_eq(
  $$select event, reason, actor_id from public.chat_closures where chat_id = tests.get_chat_id('bob', 'Test Fa')$$,
  $$values ('closed'::text, 'inactivity'::text, null::uuid)$$, 'recorded as an inactivity close, by nobody');
select tests.authenticate_as('bob');
select is(public.start_chat(tests.get_profile_id('Test Fa')), tests.get_chat_id('bob', 'Test Fa'),
  'bob reopens a chat the inactivity job closed');

-- An admin reopens ---------------------------------------------------------------------------------------
select tests.authenticate_as('alice');
select throws_ok($$select public.admin_reopen_chat(tests.get_chat_id('alice', 'Test Fa'))$$,
  '42501', 'forbidden', 'alice (its real user) cannot use admin_reopen_chat');
select tests.authenticate_as('olga');
select throws_ok($$select public.admin_reopen_chat(tests.get_chat_id('alice', 'Test Fa'))$$,
  '42501', 'forbidden', 'olga (an operator) cannot use admin_reopen_chat');
select tests.authenticate_as_anon();
select throws_ok($$select public.admin_reopen_chat(tests.get_chat_id('alice', 'Test Fa'))$$,
  '42501', 'forbidden', 'anon cannot use admin_reopen_chat');

select tests.authenticate_as('adam');
select is(public.admin_reopen_chat(tests.get_chat_id('alice', 'Test Fa')), true, 'adam reopens alice+Fa');
select results_eq($$select status, closed_at, close_reason from public.chats where id = tests.get_chat_id('alice', 'Test Fa')$$,
  $$values ('idle'::text, null::timestamptz, null::text)$$, 'it is idle, its closing stamps cleared');
select is(public.admin_reopen_chat(tests.get_chat_id('alice', 'Test Fa')), false, 'reopening an open chat changes nothing');
select throws_ok($$select public.admin_reopen_chat('f9999999-0000-4000-8000-000000000000')$$,
  'PT404', 'chat_not_found', 'reopening an unknown chat');
select results_eq(
  $$select action, admin_id, (details ->> 'was_closed')::boolean from public.admin_actions
     where target_id = tests.get_chat_id('alice', 'Test Fa') order by created_at, 3 desc$$,
  $$values ('reopen_chat'::text, tests.get_user_id('adam'), true),
           ('reopen_chat', tests.get_user_id('adam'), false)$$,
  'both reopen calls are in the audit trail');
select tests.authenticate_as('alice');
select is(public.start_chat(tests.get_profile_id('Test Fa')), tests.get_chat_id('alice', 'Test Fa'),
  'alice has her chat back');

-- Who reads chat_closures --------------------------------------------------------------------------------
select is_empty($$select 1 from public.chat_closures$$, 'alice reads no closure record, not even of her chats');
select throws_ok($$insert into public.chat_closures (chat_id, event, reason)
  values (tests.get_chat_id('alice', 'Test Fa'), 'reopened', 'user')$$,
  '42501', 'permission denied for table chat_closures', 'alice cannot write one');
select tests.authenticate_as('olga');
select is_empty($$select 1 from public.chat_closures$$, 'olga reads no closure record');
select tests.authenticate_as_anon();
select throws_ok($$select * from public.chat_closures$$, '42501', 'permission denied for table chat_closures',
  'anon cannot read closure records');
select tests.authenticate_as('adam');
select bag_eq(
  $$select chat_id, event, reason, actor_id from public.chat_closures$$,
  $$values (tests.get_chat_id('alice', 'Test Fa'), 'closed'::text, 'user'::text, tests.get_user_id('alice')),
           (tests.get_chat_id('alice', 'Test Fa'), 'reopened', 'user', tests.get_user_id('alice')),
           (tests.get_chat_id('alice', 'Test Fa'), 'closed', 'admin', tests.get_user_id('adam')),
           (tests.get_chat_id('alice', 'Test Fb'), 'closed', 'admin', tests.get_user_id('adam')),
           (tests.get_chat_id('bob', 'Test Fa'), 'closed', 'inactivity', null),
           (tests.get_chat_id('bob', 'Test Fa'), 'reopened', 'user', tests.get_user_id('bob')),
           (tests.get_chat_id('alice', 'Test Fa'), 'reopened', 'admin', tests.get_user_id('adam'))$$,
  'adam reads every close and reopen');

select * from finish();
rollback;
