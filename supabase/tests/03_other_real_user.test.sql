-- Bob, another real user, cannot see or change Alice's data; a deactivated user can no longer write;
-- Nora, just signed up, creates her own real_users row and nothing more.
begin;
set local search_path = extensions, public;
select plan(37);

-- Fixture (as postgres; rolled back at the end): the personas of fixtures/personas.psql.
\ir fixtures/personas.psql

-- Acting as Bob
select tests.authenticate_as('bob');

select results_eq('select id from public.real_users', $$values (tests.get_user_id('bob'))$$,
  'bob reads only his own real_users row');
select is_empty($$select * from public.real_users where id = tests.get_user_id('alice')$$,
  'bob cannot read alice''s row');
select is_empty($$update public.real_users set display_name = 'Owned' where id = tests.get_user_id('alice') returning id$$,
  'bob cannot rename alice');
select is_empty($$update public.real_users set is_active = false where id = tests.get_user_id('alice') returning id$$,
  'bob cannot deactivate alice');
select throws_ok($$update public.real_users set credits = 0 where id = tests.get_user_id('alice')$$,
  '42501', 'permission denied for table real_users', 'bob cannot touch alice''s credits');

select results_eq('select id from public.chats', $$values (tests.get_chat_id('bob', 'Test Fa'))$$,
  'bob reads only his own chat');
select is_empty($$select * from public.chats where real_user_id = tests.get_user_id('alice')$$,
  'bob cannot read alice''s chats');
select is_empty($$select * from public.messages where chat_id in (tests.get_chat_id('alice', 'Test Fa'), tests.get_chat_id('alice', 'Test Fb'))$$,
  'bob cannot read alice''s messages');
select results_eq('select id from public.messages', $$values ('f7000000-0000-4000-8000-000000000003'::uuid)$$,
  'bob reads only the messages of his chat');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('alice', 'Test Fa'), 'real', 'bob was here')$$,
  '42501', 'new row violates row-level security policy for table "messages"', 'bob cannot write in alice''s chat');
select throws_ok($$insert into public.chats (real_user_id, fictional_user_id)
  values (tests.get_user_id('alice'), tests.get_profile_id('Test Fd'))$$,
  '42501', 'new row violates row-level security policy for table "chats"', 'bob cannot start a chat in alice''s name');
select is_empty($$update public.chats set flagged_for_review = true where id = tests.get_chat_id('alice', 'Test Fa') returning id$$,
  'bob cannot flag alice''s chat');

select results_eq('select fictional_user_id from public.favorites', $$values (tests.get_profile_id('Test Fb'))$$,
  'bob reads only his favorites');
select is_empty($$delete from public.favorites where real_user_id = tests.get_user_id('alice') returning 1$$,
  'bob cannot delete alice''s favorites');
select throws_ok($$insert into public.favorites (real_user_id, fictional_user_id)
  values (tests.get_user_id('alice'), tests.get_profile_id('Test Fd'))$$,
  '42501', 'new row violates row-level security policy for table "favorites"', 'bob cannot add favorites for alice');

select results_eq('select reference from public.transactions', $$values ('test-ref-bob'::text)$$,
  'bob reads only his transactions');
select is_empty($$select * from public.transactions where real_user_id = tests.get_user_id('alice')$$,
  'bob cannot read alice''s transactions');
select is_empty('select * from public.chat_assignments', 'bob reads no assignment, not even of his own chat');
select is_empty('select * from public.message_authors', 'bob reads no message author');

-- Bob deactivated by an admin: can read his own row, can no longer write or browse
select tests.clear_authentication();
update public.real_users set is_active = false where id = tests.get_user_id('bob');
select tests.authenticate_as('bob');
select ok(not (select public.is_real_user()), 'a deactivated user is no longer an active real user');
select results_eq('select is_active from public.real_users', $$values (false)$$, 'a deactivated user still sees his row');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('bob', 'Test Fa'), 'real', 'still here?')$$,
  '42501', 'account_deactivated', 'a deactivated user cannot send messages (account_deactivated)');
select throws_ok($$insert into public.chats (fictional_user_id) values (tests.get_profile_id('Test Fd'))$$,
  '42501', 'new row violates row-level security policy for table "chats"', 'a deactivated user cannot start chats');
select is_empty('select * from public.fictional_users', 'a deactivated user cannot browse profiles');
select throws_ok($$update public.real_users set is_active = true where id = tests.get_user_id('bob')$$,
  '42501', 'forbidden', 'a deactivated user cannot reactivate himself');

-- Nora, signed up with no profile row yet
select tests.authenticate_as('nora');
select ok(not (select public.is_real_user()), 'before creating her row nora is not a real user');
select is_empty('select * from public.fictional_users', 'without a profile row nora browses nothing');
select throws_ok($$insert into public.real_users (id, display_name, age, gender, looking_for, credits)
  values (tests.get_user_id('nora'), 'Nora', 27, 'female', 'male', 500)$$,
  '42501', 'permission denied for table real_users', 'nora cannot give herself credits at sign-up');
select throws_ok($$insert into public.real_users (display_name, age, gender, looking_for, is_active, email)
  values ('Nora', 27, 'female', 'male', true, 'fake@example.com')$$,
  '42501', 'permission denied for table real_users', 'nora cannot set is_active or email at sign-up');
select throws_ok($$insert into public.real_users (id, display_name, age, gender, looking_for)
  values (tests.get_user_id('bob'), 'Not Bob', 27, 'female', 'male')$$,
  '42501', 'new row violates row-level security policy for table "real_users"', 'nora cannot create a row with another id');
select throws_ok($$insert into public.real_users (display_name, age, gender, looking_for) values ('Nora', 17, 'female', 'male')$$,
  '23514', null, 'nora must be at least 18');
select results_eq($$insert into public.real_users (display_name, age, gender, looking_for)
    values ('Nora', 27, 'female', 'male') returning id, email, credits, is_active$$,
  $$values (tests.get_user_id('nora'), 'nora.t@example.com'::text, 0, true)$$,
  'nora creates her own row: her id, her auth email, 0 credits, active');
select ok((select public.is_real_user()), 'with her row nora is a real user');

-- Back to postgres: Alice's data is intact
select tests.clear_authentication();
select results_eq($$select display_name, credits, is_active from public.real_users where id = tests.get_user_id('alice')$$,
  $$values ('Alice T'::text, 10, true)$$, 'alice''s row is unchanged');
select is((select count(*)::int from public.messages where chat_id = tests.get_chat_id('alice', 'Test Fa')), 2,
  'no message was added to alice''s chat');
select is((select count(*)::int from public.favorites where real_user_id = tests.get_user_id('alice')), 1,
  'alice''s favorites are unchanged');
select is((select flagged_for_review from public.chats where id = tests.get_chat_id('alice', 'Test Fa')), false,
  'alice''s chat is not flagged');

select * from finish();
rollback;
