-- Olga, an operator: she reads what she needs for the chat she holds now and writes only fictional
-- messages there; everything else is refused. (She held bob's chat before; omar holds it now.)
begin;
set local search_path = extensions, public;
select plan(63);

-- Fixture (as postgres; rolled back at the end): the personas of fixtures/personas.psql.
\ir fixtures/personas.psql

-- Acting as Olga
select tests.authenticate_as('olga');

select ok((select public.is_operator()) and not (select public.is_admin()) and not (select public.is_real_user()),
  'olga is an operator, not an admin or real user');

-- operators --------------------------------------------------------------------------------------
select results_eq('select id from public.operators', $$values (tests.get_user_id('olga'))$$,
  'olga reads only her own operators row');
select results_eq($$update public.operators set status = 'busy', name = 'Olga B' where id = tests.get_user_id('olga') returning status, name$$,
  $$values ('busy'::text, 'Olga B'::text)$$, 'olga sets her own status and name');
select throws_ok($$update public.operators set max_concurrent_chats = 10 where id = tests.get_user_id('olga')$$,
  '42501', 'forbidden', 'olga cannot raise her capacity');
select throws_ok($$update public.operators set is_active = false where id = tests.get_user_id('olga')$$,
  '42501', 'forbidden', 'olga cannot change her is_active');
select throws_ok($$update public.operators set total_messages_sent = 0 where id = tests.get_user_id('olga')$$,
  '42501', 'permission denied for table operators', 'olga cannot change her message counter');
select throws_ok($$update public.operators set last_activity_at = now() where id = tests.get_user_id('olga')$$,
  '42501', 'permission denied for table operators', 'olga cannot write last_activity_at directly');
select throws_ok($$update public.operators set email = 'x@y.z' where id = tests.get_user_id('olga')$$,
  '42501', 'permission denied for table operators', 'olga cannot change her email');
select is_empty($$update public.operators set status = 'offline' where id = tests.get_user_id('omar') returning id$$,
  'olga cannot change omar''s status');
select is_empty($$delete from public.operators where id = tests.get_user_id('olga') returning id$$,
  'olga cannot delete operators, herself included');
select throws_ok($$insert into public.operators (id, name) values (tests.get_user_id('nora'), 'Nora Op')$$,
  '42501', 'new row violates row-level security policy for table "operators"', 'olga cannot add operators');
select is_empty('select * from public.admins', 'olga reads no admin');
select throws_ok($$insert into public.real_users (id, display_name, age, gender, looking_for)
  values (tests.get_user_id('olga'), 'Olga as user', 30, 'female', 'male')$$,
  '42501', 'new row violates row-level security policy for table "real_users"', 'olga cannot also become a real user');

-- profiles and guidelines ------------------------------------------------------------------------
select results_eq($$select name from public.fictional_users where name like 'Test F%' order by name$$,
  $$values ('Test Fa'::text), ('Test Fb'), ('Test Fc'), ('Test Fd')$$, 'olga reads every profile, inactive too');
select results_eq($$select personality_guidelines from public.fictional_user_guidelines
    where fictional_user_id in (tests.get_profile_id('Test Fa'), tests.get_profile_id('Test Fc')) order by 1$$,
  $$values ('secret guidance A'::text), ('secret guidance C')$$, 'olga reads the guidelines');
select throws_ok($$insert into public.fictional_users (name, age, gender) values ('Olga Made', 30, 'male')$$,
  '42501', 'new row violates row-level security policy for table "fictional_users"', 'olga cannot create profiles');
select is_empty($$update public.fictional_users set bio = 'x' where id = tests.get_profile_id('Test Fa') returning id$$,
  'olga cannot edit profiles');
select is_empty($$update public.fictional_user_guidelines set personality_guidelines = 'x' returning 1$$,
  'olga cannot edit guidelines');
select is_empty($$delete from public.fictional_user_guidelines returning 1$$, 'olga cannot delete guidelines');

-- chats, their users and messages ----------------------------------------------------------------
select results_eq('select id from public.chats', $$values (tests.get_chat_id('alice', 'Test Fa'))$$,
  'olga reads exactly the chat she holds now');
select is_empty($$select * from public.chats where id = tests.get_chat_id('bob', 'Test Fa')$$,
  'olga cannot read a chat she held before and another operator holds now');
select is_empty($$select * from public.chats where id = tests.get_chat_id('alice', 'Test Fb')$$,
  'olga cannot read a chat never assigned to her');
select is_empty('select * from public.real_users',
  'olga reads no real_users row, not even the user of her chat (its panel is get_chat_with_details)');
select is((select array_agg(k order by k) from jsonb_object_keys(
    public.get_chat_with_details(tests.get_chat_id('alice', 'Test Fa')) -> 'real_user') k),
  array['age', 'avatar_url', 'bio', 'display_name', 'gender', 'id'],
  'her real user panel: id, display_name, age, gender, bio, avatar_url (no email, credits or activity times)');
select set_eq('select id from public.messages',
  array['f7000000-0000-4000-8000-000000000001', 'f7000000-0000-4000-8000-000000000002']::uuid[],
  'olga reads the messages of the chat she holds only');
select lives_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('alice', 'Test Fa'), 'fictional', 'Fa answers')$$,
  'olga sends a fictional message in the chat she holds');
select results_eq($$select a.operator_id from public.message_authors a join public.messages m on m.id = a.message_id
    where m.content = 'Fa answers'$$,
  $$values (tests.get_user_id('olga'))$$, 'the database records olga as its author');
select results_eq($$select count(*)::int, bool_and(operator_id = tests.get_user_id('olga')) from public.message_authors$$,
  $$values (2, true)$$,
  'olga reads only the authorship of her own messages');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('alice', 'Test Fa'), 'real', 'pretending to be alice')$$,
  '42501', 'new row violates row-level security policy for table "messages"', 'olga cannot send a message as the real user');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('bob', 'Test Fa'), 'fictional', 'still mine?')$$,
  'PT404', 'chat_not_held', 'olga cannot write in a chat she no longer holds');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('alice', 'Test Fb'), 'fictional', 'hello?')$$,
  'PT404', 'chat_not_held', 'olga cannot write in a chat she never held');
select throws_ok($$insert into public.message_authors (message_id, operator_id)
  values ('f7000000-0000-4000-8000-000000000003', tests.get_user_id('olga'))$$,
  '42501', 'permission denied for table message_authors', 'olga cannot claim or forge authorship');
select throws_ok($$update public.messages set content = 'edited' where id = 'f7000000-0000-4000-8000-000000000002'$$,
  '42501', 'permission denied for table messages', 'olga cannot edit messages');
select throws_ok($$update public.chats set status = 'idle' where id = tests.get_chat_id('alice', 'Test Fa')$$,
  '42501', 'permission denied for table chats', 'olga cannot change a chat''s status directly');
select is_empty($$update public.chats set flagged_for_review = true where id = tests.get_chat_id('alice', 'Test Fa') returning id$$,
  'olga cannot flag chats');
select throws_ok($$insert into public.chats (real_user_id, fictional_user_id)
  values (tests.get_user_id('alice'), tests.get_profile_id('Test Fd'))$$,
  '42501', 'new row violates row-level security policy for table "chats"', 'olga cannot start chats');
select is_empty($$update public.real_users set bio = 'edited by operator' returning id$$,
  'olga cannot edit the real user she talks to');
select is_empty('select * from public.favorites', 'olga reads no favorites');
select is_empty('select * from public.transactions', 'olga reads no transactions');

-- her own operator-side rows ---------------------------------------------------------------------
select results_eq($$select chat_id, released_at is null from public.chat_assignments order by assigned_at$$,
  $$values (tests.get_chat_id('bob', 'Test Fa'), false), (tests.get_chat_id('alice', 'Test Fa'), true)$$,
  'olga reads her own assignments, past and current');
select results_eq('select chat_id from public.operator_activity', $$values (tests.get_chat_id('alice', 'Test Fa'))$$,
  'olga reads her own activity only');
select results_eq('select operator_id from public.operator_stats', $$values (tests.get_user_id('olga'))$$,
  'olga reads her own stats only');
select throws_ok($$insert into public.chat_assignments (chat_id, operator_id)
  values (tests.get_chat_id('alice', 'Test Fb'), tests.get_user_id('olga'))$$,
  '42501', 'permission denied for table chat_assignments', 'olga cannot assign herself a chat directly');
select throws_ok($$update public.chat_assignments set released_at = now(), release_reason = 'completed'$$,
  '42501', 'permission denied for table chat_assignments', 'olga cannot release chats by writing the table');
select throws_ok($$update public.operator_activity set last_activity_at = now()$$,
  '42501', 'permission denied for table operator_activity', 'olga cannot fake activity');
select throws_ok($$insert into public.operator_activity (operator_id, chat_id)
  values (tests.get_user_id('olga'), tests.get_chat_id('alice', 'Test Fb'))$$,
  '42501', 'permission denied for table operator_activity', 'olga cannot insert activity');
select throws_ok($$update public.operator_stats set messages_sent = 999$$,
  '42501', 'permission denied for table operator_stats', 'olga cannot change her stats');

-- Operators never read real_users ---------------------------------------------------------------------
select tests.authenticate_as('olga');
select is_empty('select * from public.real_users', 'olga reads no real_users row, not even the user of the chat she holds');
select is_empty($$select * from public.chats c join public.real_users r on r.id = c.real_user_id$$,
  'nor through a join from her chat');
select is((select array_agg(k order by k) from jsonb_object_keys(
    public.get_chat_with_details(tests.get_chat_id('alice', 'Test Fa')) -> 'real_user') k),
  array['age', 'avatar_url', 'bio', 'display_name', 'gender', 'id'],
  'her real user panel is get_chat_with_details: id, display_name, age, gender, bio, avatar_url only');
select tests.authenticate_as('alice');
select results_eq('select id from public.real_users', $$values (tests.get_user_id('alice'))$$,
  'a real user still reads its own row');
select tests.authenticate_as('adam');
select ok((select count(*) from public.real_users where id in (tests.get_user_id('alice'), tests.get_user_id('bob'))) = 2, 'an admin still reads every real user');

-- Once the chat is released she loses it -----------------------------------------------------------
select tests.clear_authentication();
update public.chat_assignments set released_at = now(), release_reason = 'completed'
  where chat_id = tests.get_chat_id('alice', 'Test Fa') and released_at is null;
delete from public.operator_activity where chat_id = tests.get_chat_id('alice', 'Test Fa');
select tests.authenticate_as('olga');
select is_empty('select * from public.chats', 'after release olga reads no chat');
select is_empty('select * from public.messages', 'after release olga reads none of its messages');
select is_empty('select * from public.real_users', 'after release olga no longer reads its real user');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('alice', 'Test Fa'), 'fictional', 'late answer')$$,
  'PT404', 'chat_not_held', 'after release olga cannot write in it');

-- A deactivated operator loses the operator reads
select tests.clear_authentication();
update public.operators set is_active = false where id = tests.get_user_id('olga');
select tests.authenticate_as('olga');
select ok(not (select public.is_operator()), 'a deactivated operator is not an operator');
select is_empty('select * from public.fictional_user_guidelines', 'a deactivated operator reads no guidelines');

-- Back to postgres: nothing refused changed anything
select tests.clear_authentication();
select results_eq($$select max_concurrent_chats, total_messages_sent >= 0, email from public.operators where id = tests.get_user_id('olga')$$,
  $$values (2, true, 'olga.t@fantooo.local'::text)$$, 'olga''s capacity and email are unchanged');
select results_eq($$select status from public.operators where id = tests.get_user_id('omar')$$,
  $$values ('busy'::text)$$, 'omar''s status is unchanged');
select results_eq($$select bio from public.real_users where id = tests.get_user_id('alice')$$,
  $$values (null::text)$$, 'alice''s profile is unchanged');
select results_eq($$select personality_guidelines from public.fictional_user_guidelines where fictional_user_id = tests.get_profile_id('Test Fa')$$,
  $$values ('secret guidance A'::text)$$, 'the guidelines are unchanged');
select is((select count(*)::int from public.messages where chat_id in (tests.get_chat_id('alice', 'Test Fb'), tests.get_chat_id('bob', 'Test Fa'))), 2,
  'no message was added to chats olga does not hold');

select * from finish();
rollback;
