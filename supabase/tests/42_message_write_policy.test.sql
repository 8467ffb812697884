-- The insert policy on messages is one call of api_private.can_write_message per row: a real
-- message by an active real user in its own chat that is not closed, a fictional one by an active
-- operator holding the chat, nothing else. The function's answers, allowed and refused, and the
-- refusals through the Data API insert (nothing written).
begin;
set local search_path = extensions, public;
select plan(18);
\ir fixtures/helpers.psql

-- Real users rita (active) and ron, operators oona (holds rita+W1) and omar (holds nothing).
-- Chats: rita+W1 waiting and held, rita+W2 closed, ron+W1 idle.
select tests.create_real_user('rita', credits => 100);
select tests.create_real_user('ron', gender => 'male', credits => 100);
select tests.create_operator('oona', status => 'available', max_concurrent_chats => 5);
select tests.create_operator('omar', status => 'available', max_concurrent_chats => 5);
select tests.create_profile('W1');
select tests.create_profile('W2');
select tests.create_chat('rita', 'W1', status => 'waiting', queued_at => now());
select tests.create_chat('rita', 'W2', status => 'closed');
select tests.create_chat('ron', 'W1');
select tests.assign_chat(tests.get_chat_id('rita', 'W1'), 'oona');

select is(
  (select with_check from pg_policies
    where schemaname = 'public' and tablename = 'messages' and cmd = 'INSERT'),
  'api_private.can_write_message(chat_id, sender_type)',
  'the insert policy on messages is the one call');
select ok(
  (select p.prosecdef and p.provolatile = 's' and p.proconfig @> array['search_path=""']
     from pg_proc p where p.oid = 'api_private.can_write_message(uuid, text)'::regprocedure),
  'can_write_message is stable security definer with an empty search_path');
select ok(has_function_privilege('authenticated', 'api_private.can_write_message(uuid, text)', 'execute')
          and not has_function_privilege('anon', 'api_private.can_write_message(uuid, text)', 'execute'),
  'authenticated may call can_write_message (its policy does), anon may not');

-- Allowed.
select tests.authenticate_as('rita');
select is(api_private.can_write_message(tests.get_chat_id('rita', 'W1'), 'real'), true,
  'a real user writes in its own open chat');
-- Refused.
select is(api_private.can_write_message(tests.get_chat_id('rita', 'W2'), 'real'), false,
  'not in its closed chat');
select is(api_private.can_write_message(tests.get_chat_id('ron', 'W1'), 'real'), false,
  'not in another user''s chat');
select is(api_private.can_write_message(tests.get_chat_id('rita', 'W1'), 'fictional'), false,
  'a real user writes no fictional message');
select is(api_private.can_write_message(tests.get_chat_id('rita', 'W1'), 'other'), false,
  'no other sender type');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('ron', 'W1'), 'real', 'hi')$$,
  '42501', null, 'the Data API insert into another user''s chat is refused by the policy');

select tests.authenticate_as('oona');
select is(api_private.can_write_message(tests.get_chat_id('rita', 'W1'), 'fictional'), true,
  'the operator holding the chat answers in it');
select is(api_private.can_write_message(tests.get_chat_id('rita', 'W1'), 'real'), false,
  'an operator writes no real message');
select is(api_private.can_write_message(tests.get_chat_id('ron', 'W1'), 'fictional'), false,
  'not in a chat it does not hold');

select tests.authenticate_as('omar');
select is(api_private.can_write_message(tests.get_chat_id('rita', 'W1'), 'fictional'), false,
  'another operator does not answer in it');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('rita', 'W1'), 'fictional', 'hi')$$,
  'PT404', null, 'the Data API insert by an operator not holding the chat is refused (chat_not_held, under the trigger''s locks)');
-- The policy refuses what the trigger lets through: a real message in someone else's chat.
select tests.authenticate_as('ron');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('rita', 'W1'), 'real', 'hi')$$,
  '42501', null, 'a real user writing in another user''s chat is refused by the policy');
select tests.authenticate_as('omar');

-- Deactivated: neither writes any more.
select tests.clear_authentication();
update public.real_users set is_active = false where id = tests.get_user_id('rita');
update public.operators set is_active = false where id = tests.get_user_id('oona');
select tests.authenticate_as('rita');
select is(api_private.can_write_message(tests.get_chat_id('rita', 'W1'), 'real'), false,
  'a deactivated real user does not write');
-- Its chats were released on deactivation: an open assignment put back by hand shows the check of
-- is_active itself, not only the missing assignment.
select tests.clear_authentication();
select tests.assign_chat(tests.get_chat_id('rita', 'W1'), 'oona');
select tests.authenticate_as('oona');
select is(api_private.can_write_message(tests.get_chat_id('rita', 'W1'), 'fictional'), false,
  'a deactivated operator does not write, even holding the chat');
select tests.clear_authentication();
select is((select count(*)::int from public.messages m
            where m.chat_id in (tests.get_chat_id('rita', 'W1'), tests.get_chat_id('ron', 'W1'))), 0,
  'nothing was written by the refused inserts');

select * from finish();
rollback;
