-- Alice, a real user: what she may read and write, and every refusal, table by table.
begin;
set local search_path = extensions, public;
select plan(76);

-- Fixture (as postgres; rolled back at the end): the personas of fixtures/personas.psql.
\ir fixtures/personas.psql

-- Acting as Alice
select tests.authenticate_as('alice');

select ok((select public.is_real_user()) and not (select public.is_operator()) and not (select public.is_admin()),
  'alice is a real user, not an operator or admin');

-- No operator anywhere in what Alice can read ----------------------------------------------------
create temporary table readable on commit drop as
  select t.table_name::text as t
  from information_schema.tables t
  where t.table_schema = 'public' and t.table_type = 'BASE TABLE'
    and has_table_privilege(format('public.%I', t.table_name), 'select')
    and (xpath('/row/e/text()',
               query_to_xml(format('select exists (select 1 from public.%I) as e', t.table_name), false, true, '')))[1]::text = 'true';
select set_has('select t from readable',
  $$values ('chats'), ('favorites'), ('fictional_users'), ('messages'), ('real_users'), ('transactions')$$,
  'alice sees rows in her own tables and the profiles');
select ok(not exists (select 1 from readable where t in ('operators', 'admins', 'chat_assignments',
    'operator_activity', 'operator_stats', 'message_authors', 'fictional_user_guidelines')),
  'alice sees no row of any staff table');
select is_empty($$
  select c.table_name || '.' || c.column_name from information_schema.columns c
  where c.table_schema = 'public' and c.table_name in (select t from readable)
    and (c.column_name in ('operator_id', 'assigned_operator_id', 'assigned_at', 'personality_guidelines')
         or c.column_name like '%operator%')
$$, 'no table alice can read has an operator or guidance column');
select lives_ok('select * from public.chats', 'select * on chats works for alice');
select lives_ok('select * from public.messages', 'select * on messages works for alice');
select lives_ok('select * from public.fictional_users', 'select * on fictional_users works for alice');

-- real_users -------------------------------------------------------------------------------------
select results_eq('select id from public.real_users', $$values (tests.get_user_id('alice'))$$,
  'alice reads only her own real_users row');
select results_eq($$update public.real_users set display_name = 'Alice Renamed', bio = 'new bio'
    where id = tests.get_user_id('alice') returning display_name, bio$$,
  $$values ('Alice Renamed'::text, 'new bio'::text)$$, 'alice updates her own profile');
select throws_ok($$update public.real_users set credits = 1000 where id = tests.get_user_id('alice')$$,
  '42501', 'permission denied for table real_users', 'alice cannot set her credits');
select throws_ok($$update public.real_users set email = 'evil@example.com' where id = tests.get_user_id('alice')$$,
  '42501', 'permission denied for table real_users', 'alice cannot change her email');
select throws_ok($$update public.real_users set is_active = false where id = tests.get_user_id('alice')$$,
  '42501', 'forbidden', 'alice cannot change is_active');
select throws_ok($$update public.real_users set id = tests.get_user_id('bob') where id = tests.get_user_id('alice')$$,
  '42501', 'permission denied for table real_users', 'alice cannot change her id');
select throws_ok($$delete from public.real_users where id = tests.get_user_id('alice')$$,
  '42501', 'permission denied for table real_users', 'alice cannot delete her row through the API');
select is_empty($$update public.real_users set display_name = 'Hacked' where id = tests.get_user_id('bob') returning id$$,
  'alice cannot update another user''s row');
select throws_ok($$insert into public.real_users (id, display_name, age, gender, looking_for)
  values (tests.get_user_id('nora'), 'Nora by Alice', 30, 'female', 'male')$$,
  '42501', 'new row violates row-level security policy for table "real_users"', 'alice cannot create a row for someone else');

-- fictional_users and guidelines -----------------------------------------------------------------
select results_eq($$select name from public.fictional_users where name like 'Test F%' order by name$$,
  $$values ('Test Fa'::text), ('Test Fb'), ('Test Fd')$$, 'alice reads active profiles only');
select is_empty('select id from public.fictional_users where not is_active', 'no inactive profile is visible to alice');
select is_empty('select * from public.fictional_user_guidelines', 'alice reads no personality guidelines');
select throws_ok($$insert into public.fictional_users (name, age, gender) values ('Alice Made', 30, 'male')$$,
  '42501', 'new row violates row-level security policy for table "fictional_users"', 'alice cannot create profiles');
select is_empty($$update public.fictional_users set is_featured = false where id = tests.get_profile_id('Test Fa') returning id$$,
  'alice cannot update profiles');
select is_empty($$delete from public.fictional_users where id = tests.get_profile_id('Test Fa') returning id$$,
  'alice cannot delete profiles');
select throws_ok($$insert into public.fictional_user_guidelines (fictional_user_id, personality_guidelines)
  values (tests.get_profile_id('Test Fd'), 'x')$$,
  '42501', 'new row violates row-level security policy for table "fictional_user_guidelines"', 'alice cannot write guidelines');

-- chats ------------------------------------------------------------------------------------------
select set_eq('select id from public.chats',
  array[tests.get_chat_id('alice', 'Test Fa'), tests.get_chat_id('alice', 'Test Fb')]::uuid[],
  'alice reads exactly her own chats');
select lives_ok($$insert into public.chats (fictional_user_id) values (tests.get_profile_id('Test Fd'))$$,
  'alice starts a chat with an active profile');
select results_eq($$select real_user_id, status from public.chats where fictional_user_id = tests.get_profile_id('Test Fd')$$,
  $$values (tests.get_user_id('alice'), 'idle'::text)$$, 'a new chat is hers and idle');
select throws_ok($$insert into public.chats (real_user_id, fictional_user_id)
  values (tests.get_user_id('alice'), tests.get_profile_id('Test Fc'))$$,
  '42501', 'new row violates row-level security policy for table "chats"', 'alice cannot chat with an inactive profile');
select throws_ok($$insert into public.chats (real_user_id, fictional_user_id)
  values (tests.get_user_id('bob'), tests.get_profile_id('Test Fd'))$$,
  '42501', 'new row violates row-level security policy for table "chats"', 'alice cannot start a chat for bob');
select throws_ok($$insert into public.chats (fictional_user_id, status) values (tests.get_profile_id('Test Fb'), 'assigned')$$,
  '42501', 'permission denied for table chats', 'alice cannot choose a chat status');
select throws_ok($$update public.chats set status = 'idle' where id = tests.get_chat_id('alice', 'Test Fb')$$,
  '42501', 'permission denied for table chats', 'alice cannot reopen or change a chat status directly');
select throws_ok($$update public.chats set message_count = 0 where id = tests.get_chat_id('alice', 'Test Fa')$$,
  '42501', 'permission denied for table chats', 'alice cannot change chat counters');
select is_empty($$update public.chats set flagged_for_review = true where id = tests.get_chat_id('alice', 'Test Fa') returning id$$,
  'alice cannot flag or unflag chats');
select throws_ok($$delete from public.chats where id = tests.get_chat_id('alice', 'Test Fa')$$,
  '42501', 'permission denied for table chats', 'alice cannot delete chats');

-- messages ---------------------------------------------------------------------------------------
select set_eq($$select id from public.messages$$,
  array['f7000000-0000-4000-8000-000000000001', 'f7000000-0000-4000-8000-000000000002', 'f7000000-0000-4000-8000-000000000004']::uuid[],
  'alice reads the messages of her chats');
select is_empty($$select id from public.messages where chat_id = tests.get_chat_id('bob', 'Test Fa')$$,
  'alice reads no message of bob''s chat');
select lives_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('alice', 'Test Fa'), 'real', 'another hello')$$,
  'alice sends a message in her open chat');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('alice', 'Test Fa'), 'fictional', 'pretending to be Fa')$$,
  '42501', 'new row violates row-level security policy for table "messages"', 'alice cannot send a fictional message');
select throws_ok($$update public.real_users set avatar_url = 'http://img.test/alice.png' where id = tests.get_user_id('alice')$$,
  '23514', 'invalid_avatar_url', 'alice cannot set an avatar that is not https');
select is_empty($$select id from public.fictional_users where created_by is not null$$,
  'alice sees no profile''s creator');
select is_empty('select * from public.fictional_user_creators', 'alice reads nothing of fictional_user_creators');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('alice', 'Test Fb'), 'real', 'hello again')$$,
  '42501', 'chat_closed', 'alice cannot write in a closed chat (chat_closed)');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('bob', 'Test Fa'), 'real', 'hi from alice')$$,
  '42501', 'new row violates row-level security policy for table "messages"', 'alice cannot write in bob''s chat');
select throws_ok($$insert into public.messages (chat_id, sender_type, content, credits_charged)
  values (tests.get_chat_id('alice', 'Test Fa'), 'real', 'free please', 0)$$,
  '42501', 'permission denied for table messages', 'alice cannot set credits_charged');
select throws_ok($$update public.messages set content = 'edited' where id = 'f7000000-0000-4000-8000-000000000001'$$,
  '42501', 'permission denied for table messages', 'alice cannot edit messages');
select throws_ok($$delete from public.messages where id = 'f7000000-0000-4000-8000-000000000001'$$,
  '42501', 'permission denied for table messages', 'alice cannot delete messages');
select is_empty('select * from public.message_authors', 'alice reads no message authors');
select throws_ok($$insert into public.message_authors (message_id) values ('f7000000-0000-4000-8000-000000000001')$$,
  '42501', 'permission denied for table message_authors', 'alice cannot write message authors');

-- favorites --------------------------------------------------------------------------------------
select results_eq('select fictional_user_id from public.favorites', $$values (tests.get_profile_id('Test Fa'))$$,
  'alice reads only her favorites');
select lives_ok($$insert into public.favorites (fictional_user_id) values (tests.get_profile_id('Test Fd'))$$,
  'alice adds a favorite');
select throws_ok($$insert into public.favorites (real_user_id, fictional_user_id)
  values (tests.get_user_id('bob'), tests.get_profile_id('Test Fd'))$$,
  '42501', 'new row violates row-level security policy for table "favorites"', 'alice cannot add a favorite for bob');
select throws_ok($$insert into public.favorites (fictional_user_id) values (tests.get_profile_id('Test Fc'))$$,
  '42501', 'new row violates row-level security policy for table "favorites"', 'alice cannot favorite an inactive profile');
select results_eq($$delete from public.favorites where fictional_user_id = tests.get_profile_id('Test Fa') returning fictional_user_id$$,
  $$values (tests.get_profile_id('Test Fa'))$$, 'alice removes her favorite');
select is_empty($$delete from public.favorites where real_user_id = tests.get_user_id('bob') returning 1$$,
  'alice cannot remove bob''s favorites');
select throws_ok($$update public.favorites set created_at = now()$$,
  '42501', 'permission denied for table favorites', 'favorites are not updatable');

-- transactions -----------------------------------------------------------------------------------
select results_eq('select reference from public.transactions', $$values ('test-ref-alice'::text)$$,
  'alice reads only her transactions');
select throws_ok($$insert into public.transactions (real_user_id, reference, amount, credits)
  values (tests.get_user_id('alice'), 'alice-self-made', 100, 1000)$$,
  '42501', 'permission denied for table transactions', 'alice cannot create transactions');
select throws_ok($$update public.transactions set status = 'success' where reference = 'test-ref-alice'$$,
  '42501', 'permission denied for table transactions', 'alice cannot change transactions');
select throws_ok($$delete from public.transactions where reference = 'test-ref-alice'$$,
  '42501', 'permission denied for table transactions', 'alice cannot delete transactions');

-- operator side and staff tables: invisible and unwritable -----------------------------------------
select is_empty('select * from public.operators', 'alice reads no operator');
select is_empty('select * from public.admins', 'alice reads no admin');
select is_empty('select * from public.chat_assignments', 'alice reads no chat assignment');
select is_empty('select * from public.operator_activity', 'alice reads no operator activity');
select is_empty('select * from public.operator_stats', 'alice reads no operator stats');
select throws_ok($$insert into public.operators (id, name) values (tests.get_user_id('alice'), 'Alice Op')$$,
  '42501', 'new row violates row-level security policy for table "operators"', 'alice cannot make herself an operator');
select throws_ok($$insert into public.admins (id, name) values (tests.get_user_id('alice'), 'Alice Admin')$$,
  '42501', 'new row violates row-level security policy for table "admins"', 'alice cannot make herself an admin');
select is_empty($$update public.operators set status = 'offline' returning id$$, 'alice cannot update operators');
select is_empty($$delete from public.operators returning id$$, 'alice cannot delete operators');
select throws_ok($$insert into public.chat_assignments (chat_id, operator_id)
  values (tests.get_chat_id('alice', 'Test Fa'), tests.get_user_id('omar'))$$,
  '42501', 'permission denied for table chat_assignments', 'alice cannot assign chats');
select throws_ok($$update public.operator_activity set last_activity_at = now()$$,
  '42501', 'permission denied for table operator_activity', 'alice cannot touch operator activity');
select throws_ok($$delete from public.operator_stats$$,
  '42501', 'permission denied for table operator_stats', 'alice cannot touch operator stats');

-- Back to postgres: the refused writes changed nothing ---------------------------------------------
select tests.clear_authentication();
select results_eq($$select credits, email, is_active from public.real_users where id = tests.get_user_id('alice')$$,
  $$values (10, 'alice.t@example.com'::text, true)$$, 'alice''s credits, email and is_active are unchanged');
select results_eq($$select display_name from public.real_users where id = tests.get_user_id('bob')$$,
  $$values ('Bob T'::text)$$, 'bob''s row is unchanged');
select results_eq($$select is_featured, is_active from public.fictional_users where id = tests.get_profile_id('Test Fa')$$,
  $$values (true, true)$$, 'the profile alice tried to change is unchanged');
select results_eq($$select status, flagged_for_review from public.chats where id = tests.get_chat_id('alice', 'Test Fa')$$,
  $$values ('assigned'::text, false)$$, 'alice''s chat status and flag are unchanged');
select is((select count(*)::int from public.favorites where real_user_id = tests.get_user_id('bob')), 1,
  'bob''s favorite is still there');
select is((select count(*)::int from public.operators where id in (tests.get_user_id('olga'), tests.get_user_id('omar'))
           and status in ('available', 'busy')), 2, 'the operators are untouched');

select * from finish();
rollback;
