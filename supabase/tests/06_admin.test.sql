-- Adam, an admin: reads everything; manages profiles (and guidelines), operators and admins;
-- (de)activates real users and clears flags; never changes credits, counters, chat state,
-- transactions or messages directly.
begin;
set local search_path = extensions, public;
select plan(46);

-- Fixture (as postgres; rolled back at the end): the personas of fixtures/personas.psql.
\ir fixtures/personas.psql
select tests.create_auth_user('second_admin');
update public.chats set flagged_for_review = true, flag_reason = 'reassigned 3 times', reassignment_count = 3
  where id = tests.get_chat_id('bob', 'Test Fa');

-- Row counts as the superuser sees them, to compare with what the admin sees
create temporary table all_counts (t text, n bigint) on commit drop;
insert into all_counts
  select t, (xpath('/row/n/text()', query_to_xml(format('select count(*) as n from public.%I', t), false, true, '')))[1]::text::bigint
  from unnest(array['admins', 'real_users', 'operators', 'fictional_users', 'fictional_user_guidelines', 'chats',
    'messages', 'message_authors', 'favorites', 'transactions', 'chat_assignments', 'operator_activity',
    'operator_stats']) t;
grant select on all_counts to authenticated;

-- Acting as Adam
select tests.authenticate_as('adam');

select ok((select public.is_admin()) and not (select public.is_operator()) and not (select public.is_real_user()),
  'adam is an admin, not an operator or real user');
select is_empty($$
  select t from all_counts
  where n <> (xpath('/row/n/text()', query_to_xml(format('select count(*) as n from public.%I', t), false, true, '')))[1]::text::bigint
$$, 'adam reads every row of every table');

-- profiles and guidelines ------------------------------------------------------------------------
select lives_ok($$insert into public.fictional_users (name, age, gender, bio, interests, is_featured)
  values ('Admin Made', 29, 'female', 'new here', '{poetry}', true)$$, 'adam creates a profile');
select results_eq($$select c.created_by from public.fictional_user_creators c join public.fictional_users f on f.id = c.fictional_user_id
    where f.name = 'Admin Made'$$,
  $$values (tests.get_user_id('adam'))$$, 'the profile records adam as its creator (fictional_user_creators)');
select is_empty($$select 1 from public.fictional_users where name = 'Admin Made' and created_by is not null$$,
  'fictional_users.created_by itself stays null');
select lives_ok($$insert into public.fictional_user_guidelines (fictional_user_id, personality_guidelines)
  select id, 'speaks in verse' from public.fictional_users where name = 'Admin Made'$$, 'adam writes its guidelines');
select results_eq($$update public.fictional_users set is_active = false, is_featured = false
    where id = tests.get_profile_id('Test Fa') returning is_active, is_featured$$,
  $$values (false, false)$$, 'adam deactivates and unfeatures a profile');
select results_eq($$update public.fictional_user_guidelines set personality_guidelines = 'calmer now'
    where fictional_user_id = tests.get_profile_id('Test Fc') returning personality_guidelines$$,
  $$values ('calmer now'::text)$$, 'adam edits guidelines');
select results_eq($$delete from public.fictional_users where id = tests.get_profile_id('Test Fd') returning name$$,
  $$values ('Test Fd'::text)$$, 'adam deletes a profile');
select throws_ok($$update public.fictional_users set created_by = null where id = tests.get_profile_id('Test Fb')$$,
  '42501', 'permission denied for table fictional_users', 'adam cannot rewrite who created a profile');

-- operators --------------------------------------------------------------------------------------
select lives_ok($$insert into public.operators (id, name, max_concurrent_chats)
  values (tests.get_user_id('nora'), 'Nora Op', 2)$$, 'adam adds an operator');
select results_eq($$select email, status from public.operators where id = tests.get_user_id('nora')$$,
  $$values ('nora.t@example.com'::text, 'offline'::text)$$, 'a new operator gets its auth email and starts offline');
select results_eq($$update public.operators set max_concurrent_chats = 5, status = 'offline'
    where id = tests.get_user_id('olga') returning max_concurrent_chats, status$$,
  $$values (5, 'offline'::text)$$, 'adam changes an operator''s capacity and status');
-- (Deactivating an operator who holds chats releases them: 22_operator_deactivation. Nora holds none.)
select results_eq($$update public.operators set is_active = false where id = tests.get_user_id('nora') returning is_active$$,
  $$values (false)$$, 'adam deactivates an operator');
select throws_ok($$update public.operators set total_messages_sent = 0 where id = tests.get_user_id('olga')$$,
  '42501', 'permission denied for table operators', 'adam cannot reset message counters');
select throws_ok($$insert into public.operators (id, name, total_messages_sent)
  values (tests.get_user_id('second_admin'), 'Counter Op', 100)$$,
  '42501', 'permission denied for table operators', 'adam cannot create an operator with counters');
select throws_ok($$delete from public.operators where id = tests.get_user_id('omar')$$,
  '55006', 'operator_holds_chats',
  'adam cannot remove an operator who still holds a chat');
select results_eq($$delete from public.operators where id = tests.get_user_id('nora') returning name$$,
  $$values ('Nora Op'::text)$$, 'adam removes an operator');

-- admins -----------------------------------------------------------------------------------------
select lives_ok($$insert into public.admins (id, name) values (tests.get_user_id('second_admin'), 'Second Admin')$$,
  'adam adds an admin');
select results_eq($$update public.admins set name = 'Adam Renamed' where id = tests.get_user_id('adam') returning name$$,
  $$values ('Adam Renamed'::text)$$, 'adam renames an admin');
select throws_ok($$delete from public.admins where id = tests.get_user_id('second_admin')$$,
  '42501', 'permission denied for table admins', 'admins are not removed through the API');

-- real users -------------------------------------------------------------------------------------
select results_eq($$update public.real_users set is_active = false where id = tests.get_user_id('alice') returning is_active$$,
  $$values (false)$$, 'adam deactivates a real user');
select results_eq($$update public.real_users set is_active = true where id = tests.get_user_id('alice') returning is_active$$,
  $$values (true)$$, 'adam reactivates a real user');
select throws_ok($$update public.real_users set credits = 1000 where id = tests.get_user_id('alice')$$,
  '42501', 'permission denied for table real_users', 'adam cannot change credits');
select throws_ok($$update public.real_users set display_name = 'Renamed by admin' where id = tests.get_user_id('alice')$$,
  '42501', 'forbidden', 'adam cannot edit a real user''s profile');
select throws_ok($$delete from public.real_users where id = tests.get_user_id('alice')$$,
  '42501', 'permission denied for table real_users', 'adam cannot delete real users through the API');
select throws_ok($$insert into public.real_users (id, display_name, age, gender, looking_for)
  values (tests.get_user_id('adam'), 'Adam as user', 40, 'male', 'female')$$,
  '42501', 'new row violates row-level security policy for table "real_users"', 'an admin cannot also become a real user');

-- chats and messages -----------------------------------------------------------------------------
select results_eq($$update public.chats set flagged_for_review = false, flag_reason = null
    where id = tests.get_chat_id('bob', 'Test Fa') returning flagged_for_review, flag_reason$$,
  $$values (false, null::text)$$, 'adam clears a flag');
select throws_ok($$update public.chats set status = 'closed' where id = tests.get_chat_id('bob', 'Test Fa')$$,
  '42501', 'permission denied for table chats', 'adam changes chat state only through the chat functions');
select throws_ok($$update public.chats set reassignment_count = 0 where id = tests.get_chat_id('bob', 'Test Fa')$$,
  '42501', 'permission denied for table chats', 'adam cannot reset counters');
select throws_ok($$insert into public.chats (real_user_id, fictional_user_id)
  values (tests.get_user_id('bob'), tests.get_profile_id('Test Fb'))$$,
  '42501', 'new row violates row-level security policy for table "chats"', 'adam cannot open chats for users');
select throws_ok($$delete from public.chats where id = tests.get_chat_id('bob', 'Test Fa')$$,
  '42501', 'permission denied for table chats', 'adam cannot delete chats through the API');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('bob', 'Test Fa'), 'fictional', 'admin speaking')$$,
  '42501', 'new row violates row-level security policy for table "messages"', 'adam cannot write messages');
select throws_ok($$update public.messages set content = 'moderated' where id = 'f7000000-0000-4000-8000-000000000003'$$,
  '42501', 'permission denied for table messages', 'adam cannot edit messages');
select throws_ok($$delete from public.messages where id = 'f7000000-0000-4000-8000-000000000003'$$,
  '42501', 'permission denied for table messages', 'adam cannot delete messages');

-- money and operator-side tables -----------------------------------------------------------------
select throws_ok($$insert into public.transactions (real_user_id, reference, amount, credits)
  values (tests.get_user_id('alice'), 'admin-gift', 100, 100)$$,
  '42501', 'permission denied for table transactions', 'adam cannot create transactions');
select throws_ok($$update public.transactions set status = 'refunded' where reference = 'test-ref-alice'$$,
  '42501', 'permission denied for table transactions', 'adam cannot change transactions');
select throws_ok($$insert into public.favorites (real_user_id, fictional_user_id)
  values (tests.get_user_id('alice'), tests.get_profile_id('Test Fb'))$$,
  '42501', 'new row violates row-level security policy for table "favorites"', 'adam cannot add favorites for users');
select throws_ok($$update public.chat_assignments set released_at = now(), release_reason = 'admin'$$,
  '42501', 'permission denied for table chat_assignments', 'adam reassigns only through the chat functions');
select throws_ok($$delete from public.operator_activity$$,
  '42501', 'permission denied for table operator_activity', 'adam cannot write operator activity');
select throws_ok($$update public.operator_stats set idle_incidents = 0$$,
  '42501', 'permission denied for table operator_stats', 'adam cannot write operator stats');
select throws_ok($$insert into public.message_authors (message_id, operator_id)
  values ('f7000000-0000-4000-8000-000000000003', tests.get_user_id('olga'))$$,
  '42501', 'permission denied for table message_authors', 'adam cannot forge message authors');

-- Back to postgres
select tests.clear_authentication();
select results_eq($$select credits, display_name from public.real_users where id = tests.get_user_id('alice')$$,
  $$values (10, 'Alice T'::text)$$, 'alice''s credits and profile are unchanged');
select results_eq($$select status, reassignment_count from public.chats where id = tests.get_chat_id('bob', 'Test Fa')$$,
  $$values ('assigned'::text, 3)$$, 'the chat state and counters are unchanged');
select results_eq($$select status from public.transactions where reference = 'test-ref-alice'$$,
  $$values ('success'::text)$$, 'the transaction is unchanged');
select is((select count(*)::int from public.chat_assignments where released_at is null
           and chat_id in (tests.get_chat_id('alice', 'Test Fa'), tests.get_chat_id('bob', 'Test Fa'))), 2,
  'the open assignments are unchanged');

select * from finish();
rollback;
