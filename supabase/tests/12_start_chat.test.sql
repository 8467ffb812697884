-- start_chat: a real user gets the pair's one chat, a new one or the existing one, and a closed
-- chat is reopened (history kept) so the user can write to that profile again.
begin;
set local search_path = extensions, public;
select plan(14);
\ir fixtures/helpers.psql

-- Fixture (as postgres): real user rita (10 credits), operator otto, an active
-- profile (Twenty-one A) and an inactive one (Twenty-one B).
select tests.create_operator('otto', status => 'available');
select tests.create_real_user('rita', credits => 10);
select tests.create_profile('Twenty-one A');
select tests.create_profile('Twenty-one B', active => false);

-- Who may not ----------------------------------------------------------------------------------------
select tests.authenticate_as_anon();
select throws_ok($$select public.start_chat(tests.get_profile_id('Twenty-one A'))$$,
  '42501', null, 'anon cannot start a chat');

select tests.authenticate_as('otto');
select throws_ok($$select public.start_chat(tests.get_profile_id('Twenty-one A'))$$,
  'PT403', 'not_real_user', 'an operator cannot start a chat');

select tests.authenticate_as('rita');
select throws_ok($$select public.start_chat(tests.get_profile_id('Twenty-one B'))$$,
  'PT404', 'profile_not_found', 'an inactive profile cannot be chatted with');
select throws_ok($$select public.start_chat('21000000-0000-4000-8000-0000000000ff')$$,
  'PT404', 'profile_not_found', 'an unknown profile is profile_not_found');

-- New, then the same one ----------------------------------------------------------------------------
create temporary table started (id uuid) on commit drop;
grant all on started to authenticated;
insert into started select public.start_chat(tests.get_profile_id('Twenty-one A'));
select results_eq(
  $$select real_user_id, fictional_user_id, status from public.chats where id = (select id from started)$$,
  $$values (tests.get_user_id('rita'), tests.get_profile_id('Twenty-one A'), 'idle'::text)$$,
  'the first call creates rita''s idle chat with the profile');
select is(public.start_chat(tests.get_profile_id('Twenty-one A')), (select id from started),
  'a second call returns the same chat');

insert into public.messages (chat_id, sender_type, content) select id, 'real', 'hello' from started;
select is((select status from public.chats where id = (select id from started)), 'waiting',
  'her message queues the chat');
select is(public.start_chat(tests.get_profile_id('Twenty-one A')), (select id from started),
  'start_chat on a waiting chat returns it');
select is((select status from public.chats where id = (select id from started)), 'waiting',
  '... and leaves it waiting in the queue');

-- Closed, then reopened -----------------------------------------------------------------------------
select ok(public.close_chat((select id from started)), 'rita closes the chat');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content) select id, 'real', 'still there?' from started$$,
  '42501', null, 'nobody writes in a closed chat');
select is(public.start_chat(tests.get_profile_id('Twenty-one A')), (select id from started),
  'start_chat returns the same chat, reopened');
select results_eq(
  $$select status, closed_at, close_reason, message_count from public.chats where id = (select id from started)$$,
  $$values ('idle'::text, null::timestamptz, null::text, 1)$$,
  'the reopened chat is idle, its closing stamps cleared and its history kept');
select lives_ok(
  $$insert into public.messages (chat_id, sender_type, content) select id, 'real', 'back again' from started$$,
  'rita can write to the profile again');

select * from finish();
rollback;
