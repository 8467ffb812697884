-- start_chat: a real user gets the pair's one chat, a new one or the existing one, and a closed
-- chat is reopened (history kept) so the user can write to that profile again.
begin;
set local search_path = extensions, public;
select plan(14);
\ir fixtures/authenticate.psql

-- Fixture (as postgres): real user rita 21..01 (10 credits), operator otto 21..b1, an active
-- profile a1 and an inactive one a2.
insert into auth.users (id, email) values
  ('21000000-0000-4000-8000-000000000001', 'rita.21@example.com'),
  ('21000000-0000-4000-8000-0000000000b1', 'otto.21@fantooo.local');
insert into public.operators (id, name, status) values ('21000000-0000-4000-8000-0000000000b1', 'Otto', 'available');
insert into public.real_users (id, display_name, age, gender, looking_for, credits) values
  ('21000000-0000-4000-8000-000000000001', 'Rita', 29, 'female', 'male', 10);
insert into public.fictional_users (id, name, age, gender, is_active) values
  ('21000000-0000-4000-8000-0000000000a1', 'Twenty-one A', 31, 'male', true),
  ('21000000-0000-4000-8000-0000000000a2', 'Twenty-one B', 31, 'male', false);

-- Who may not ----------------------------------------------------------------------------------------
select tests.authenticate_as_anon();
select throws_ok($$select public.start_chat('21000000-0000-4000-8000-0000000000a1')$$,
  '42501', null, 'anon cannot start a chat');

select tests.authenticate_as('21000000-0000-4000-8000-0000000000b1');
select throws_ok($$select public.start_chat('21000000-0000-4000-8000-0000000000a1')$$,
  'PT403', 'not_real_user', 'an operator cannot start a chat');

select tests.authenticate_as('21000000-0000-4000-8000-000000000001');
select throws_ok($$select public.start_chat('21000000-0000-4000-8000-0000000000a2')$$,
  'PT404', 'profile_not_found', 'an inactive profile cannot be chatted with');
select throws_ok($$select public.start_chat('21000000-0000-4000-8000-0000000000ff')$$,
  'PT404', 'profile_not_found', 'an unknown profile is profile_not_found');

-- New, then the same one ----------------------------------------------------------------------------
create temporary table started (id uuid) on commit drop;
grant all on started to authenticated;
insert into started select public.start_chat('21000000-0000-4000-8000-0000000000a1');
select results_eq(
  $$select real_user_id, fictional_user_id, status from public.chats where id = (select id from started)$$,
  $$values ('21000000-0000-4000-8000-000000000001'::uuid, '21000000-0000-4000-8000-0000000000a1'::uuid, 'idle'::text)$$,
  'the first call creates rita''s idle chat with the profile');
select is(public.start_chat('21000000-0000-4000-8000-0000000000a1'), (select id from started),
  'a second call returns the same chat');

insert into public.messages (chat_id, sender_type, content) select id, 'real', 'hello' from started;
select is((select status from public.chats where id = (select id from started)), 'waiting',
  'her message queues the chat');
select is(public.start_chat('21000000-0000-4000-8000-0000000000a1'), (select id from started),
  'start_chat on a waiting chat returns it');
select is((select status from public.chats where id = (select id from started)), 'waiting',
  '... and leaves it waiting in the queue');

-- Closed, then reopened -----------------------------------------------------------------------------
select ok(public.close_chat((select id from started)), 'rita closes the chat');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content) select id, 'real', 'still there?' from started$$,
  '42501', null, 'nobody writes in a closed chat');
select is(public.start_chat('21000000-0000-4000-8000-0000000000a1'), (select id from started),
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
