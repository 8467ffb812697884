-- Olga, an operator: she reads what she needs for the chat she holds now and writes only fictional
-- messages there; everything else is refused. (She held bob's chat before; omar holds it now.)
begin;
set local search_path = extensions, public;
select plan(57);

-- Fixture (as postgres; rolled back at the end). Personas:
--   alice f1..01 and bob f1..02 (real users), olga f2..01 and omar f2..02 (operators),
--   adam f3..01 (admin), nora f4..01 (signed up, no profile row yet).
insert into auth.users (id, aud, role, email) values
  ('f1000000-0000-4000-8000-000000000001', 'authenticated', 'authenticated', 'alice.t@example.com'),
  ('f1000000-0000-4000-8000-000000000002', 'authenticated', 'authenticated', 'bob.t@example.com'),
  ('f2000000-0000-4000-8000-000000000001', 'authenticated', 'authenticated', 'olga.t@fantooo.local'),
  ('f2000000-0000-4000-8000-000000000002', 'authenticated', 'authenticated', 'omar.t@fantooo.local'),
  ('f3000000-0000-4000-8000-000000000001', 'authenticated', 'authenticated', 'adam.t@fantooo.local'),
  ('f4000000-0000-4000-8000-000000000001', 'authenticated', 'authenticated', 'nora.t@example.com');
insert into public.admins (id, name) values ('f3000000-0000-4000-8000-000000000001', 'Adam T');
insert into public.real_users (id, display_name, age, gender, looking_for, credits) values
  ('f1000000-0000-4000-8000-000000000001', 'Alice T', 30, 'female', 'male', 10),
  ('f1000000-0000-4000-8000-000000000002', 'Bob T', 40, 'male', 'female', 20);
insert into public.operators (id, name, status, max_concurrent_chats) values
  ('f2000000-0000-4000-8000-000000000001', 'Olga T', 'available', 2),
  ('f2000000-0000-4000-8000-000000000002', 'Omar T', 'busy', 3);
insert into public.fictional_users (id, name, age, gender, is_active, is_featured) values
  ('f5000000-0000-4000-8000-000000000001', 'Test Fa', 25, 'female', true, true),
  ('f5000000-0000-4000-8000-000000000002', 'Test Fb', 33, 'male', true, false),
  ('f5000000-0000-4000-8000-000000000003', 'Test Fc', 28, 'female', false, false),
  ('f5000000-0000-4000-8000-000000000004', 'Test Fd', 45, 'male', true, false);
insert into public.fictional_user_guidelines (fictional_user_id, personality_guidelines) values
  ('f5000000-0000-4000-8000-000000000001', 'secret guidance A'),
  ('f5000000-0000-4000-8000-000000000003', 'secret guidance C');
-- alice+Fa: held by olga; alice+Fb: closed; bob+Fa: held by omar (olga held it before).
insert into public.chats (id, real_user_id, fictional_user_id, status, queued_at, closed_at, close_reason) values
  ('f6000000-0000-4000-8000-000000000001', 'f1000000-0000-4000-8000-000000000001', 'f5000000-0000-4000-8000-000000000001', 'assigned', now() - interval '10 minutes', null, null),
  ('f6000000-0000-4000-8000-000000000002', 'f1000000-0000-4000-8000-000000000001', 'f5000000-0000-4000-8000-000000000002', 'closed', null, now(), 'user'),
  ('f6000000-0000-4000-8000-000000000003', 'f1000000-0000-4000-8000-000000000002', 'f5000000-0000-4000-8000-000000000001', 'assigned', now() - interval '20 minutes', null, null);
insert into public.chat_assignments (chat_id, operator_id, assigned_at, released_at, release_reason) values
  ('f6000000-0000-4000-8000-000000000003', 'f2000000-0000-4000-8000-000000000001', now() - interval '20 minutes', now() - interval '12 minutes', 'idle_timeout'),
  ('f6000000-0000-4000-8000-000000000001', 'f2000000-0000-4000-8000-000000000001', now() - interval '9 minutes', null, null),
  ('f6000000-0000-4000-8000-000000000003', 'f2000000-0000-4000-8000-000000000002', now() - interval '11 minutes', null, null);
insert into public.operator_activity (operator_id, chat_id, assigned_at, last_activity_at) values
  ('f2000000-0000-4000-8000-000000000001', 'f6000000-0000-4000-8000-000000000001', now() - interval '9 minutes', now()),
  ('f2000000-0000-4000-8000-000000000002', 'f6000000-0000-4000-8000-000000000003', now() - interval '11 minutes', now());
insert into public.messages (id, chat_id, sender_type, content, created_at) values
  ('f7000000-0000-4000-8000-000000000001', 'f6000000-0000-4000-8000-000000000001', 'real', 'hello Fa', now() - interval '10 minutes'),
  ('f7000000-0000-4000-8000-000000000002', 'f6000000-0000-4000-8000-000000000001', 'fictional', 'hi Alice', now() - interval '8 minutes'),
  ('f7000000-0000-4000-8000-000000000003', 'f6000000-0000-4000-8000-000000000003', 'real', 'hello from Bob', now() - interval '20 minutes'),
  ('f7000000-0000-4000-8000-000000000004', 'f6000000-0000-4000-8000-000000000002', 'real', 'bye Fb', now() - interval '1 day');
insert into public.message_authors (message_id, operator_id) values
  ('f7000000-0000-4000-8000-000000000002', 'f2000000-0000-4000-8000-000000000001')
on conflict (message_id) do nothing;
insert into public.favorites (real_user_id, fictional_user_id) values
  ('f1000000-0000-4000-8000-000000000001', 'f5000000-0000-4000-8000-000000000001'),
  ('f1000000-0000-4000-8000-000000000002', 'f5000000-0000-4000-8000-000000000002');
insert into public.transactions (id, real_user_id, reference, amount, credits, status, paid_at) values
  ('f8000000-0000-4000-8000-000000000001', 'f1000000-0000-4000-8000-000000000001', 'test-ref-alice', 10000, 10, 'success', now()),
  ('f8000000-0000-4000-8000-000000000002', 'f1000000-0000-4000-8000-000000000002', 'test-ref-bob', 45000, 55, 'pending', null);
insert into public.operator_stats (operator_id, stat_date, messages_sent, chats_handled) values
  ('f2000000-0000-4000-8000-000000000001', current_date, 1, 2),
  ('f2000000-0000-4000-8000-000000000002', current_date, 0, 1);

-- Acting as Olga
set local role authenticated;
set local request.jwt.claims = '{"sub":"f2000000-0000-4000-8000-000000000001","role":"authenticated"}';

select ok((select public.is_operator()) and not (select public.is_admin()) and not (select public.is_real_user()),
  'olga is an operator, not an admin or real user');

-- operators --------------------------------------------------------------------------------------
select results_eq('select id from public.operators', $$values ('f2000000-0000-4000-8000-000000000001'::uuid)$$,
  'olga reads only her own operators row');
select results_eq($$update public.operators set status = 'busy', name = 'Olga B' where id = 'f2000000-0000-4000-8000-000000000001' returning status, name$$,
  $$values ('busy'::text, 'Olga B'::text)$$, 'olga sets her own status and name');
select throws_ok($$update public.operators set max_concurrent_chats = 10 where id = 'f2000000-0000-4000-8000-000000000001'$$,
  '42501', 'only admins may change max_concurrent_chats or is_active', 'olga cannot raise her capacity');
select throws_ok($$update public.operators set is_active = false where id = 'f2000000-0000-4000-8000-000000000001'$$,
  '42501', 'only admins may change max_concurrent_chats or is_active', 'olga cannot change her is_active');
select throws_ok($$update public.operators set total_messages_sent = 0 where id = 'f2000000-0000-4000-8000-000000000001'$$,
  '42501', 'permission denied for table operators', 'olga cannot change her message counter');
select throws_ok($$update public.operators set last_activity_at = now() where id = 'f2000000-0000-4000-8000-000000000001'$$,
  '42501', 'permission denied for table operators', 'olga cannot write last_activity_at directly');
select throws_ok($$update public.operators set email = 'x@y.z' where id = 'f2000000-0000-4000-8000-000000000001'$$,
  '42501', 'permission denied for table operators', 'olga cannot change her email');
select is_empty($$update public.operators set status = 'offline' where id = 'f2000000-0000-4000-8000-000000000002' returning id$$,
  'olga cannot change omar''s status');
select is_empty($$delete from public.operators where id = 'f2000000-0000-4000-8000-000000000001' returning id$$,
  'olga cannot delete operators, herself included');
select throws_ok($$insert into public.operators (id, name) values ('f4000000-0000-4000-8000-000000000001', 'Nora Op')$$,
  '42501', 'new row violates row-level security policy for table "operators"', 'olga cannot add operators');
select is_empty('select * from public.admins', 'olga reads no admin');
select throws_ok($$insert into public.real_users (id, display_name, age, gender, looking_for)
  values ('f2000000-0000-4000-8000-000000000001', 'Olga as user', 30, 'female', 'male')$$,
  '42501', 'new row violates row-level security policy for table "real_users"', 'olga cannot also become a real user');

-- profiles and guidelines ------------------------------------------------------------------------
select results_eq($$select name from public.fictional_users where name like 'Test F%' order by name$$,
  $$values ('Test Fa'::text), ('Test Fb'), ('Test Fc'), ('Test Fd')$$, 'olga reads every profile, inactive too');
select results_eq($$select personality_guidelines from public.fictional_user_guidelines
    where fictional_user_id in ('f5000000-0000-4000-8000-000000000001', 'f5000000-0000-4000-8000-000000000003') order by 1$$,
  $$values ('secret guidance A'::text), ('secret guidance C')$$, 'olga reads the guidelines');
select throws_ok($$insert into public.fictional_users (name, age, gender) values ('Olga Made', 30, 'male')$$,
  '42501', 'new row violates row-level security policy for table "fictional_users"', 'olga cannot create profiles');
select is_empty($$update public.fictional_users set bio = 'x' where id = 'f5000000-0000-4000-8000-000000000001' returning id$$,
  'olga cannot edit profiles');
select is_empty($$update public.fictional_user_guidelines set personality_guidelines = 'x' returning 1$$,
  'olga cannot edit guidelines');
select is_empty($$delete from public.fictional_user_guidelines returning 1$$, 'olga cannot delete guidelines');

-- chats, their users and messages ----------------------------------------------------------------
select results_eq('select id from public.chats', $$values ('f6000000-0000-4000-8000-000000000001'::uuid)$$,
  'olga reads exactly the chat she holds now');
select is_empty($$select * from public.chats where id = 'f6000000-0000-4000-8000-000000000003'$$,
  'olga cannot read a chat she held before and another operator holds now');
select is_empty($$select * from public.chats where id = 'f6000000-0000-4000-8000-000000000002'$$,
  'olga cannot read a chat never assigned to her');
select results_eq('select id from public.real_users', $$values ('f1000000-0000-4000-8000-000000000001'::uuid)$$,
  'olga reads the real user of her chat and no other');
select set_eq('select id from public.messages',
  array['f7000000-0000-4000-8000-000000000001', 'f7000000-0000-4000-8000-000000000002']::uuid[],
  'olga reads the messages of the chat she holds only');
select lives_ok($$insert into public.messages (chat_id, sender_type, content)
  values ('f6000000-0000-4000-8000-000000000001', 'fictional', 'Fa answers')$$,
  'olga sends a fictional message in the chat she holds');
select results_eq($$select a.operator_id from public.message_authors a join public.messages m on m.id = a.message_id
    where m.content = 'Fa answers'$$,
  $$values ('f2000000-0000-4000-8000-000000000001'::uuid)$$, 'the database records olga as its author');
select results_eq($$select count(*)::int, bool_and(operator_id = 'f2000000-0000-4000-8000-000000000001') from public.message_authors$$,
  $$values (2, true)$$,
  'olga reads only the authorship of her own messages');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values ('f6000000-0000-4000-8000-000000000001', 'real', 'pretending to be alice')$$,
  '42501', 'new row violates row-level security policy for table "messages"', 'olga cannot send a message as the real user');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values ('f6000000-0000-4000-8000-000000000003', 'fictional', 'still mine?')$$,
  '42501', 'new row violates row-level security policy for table "messages"', 'olga cannot write in a chat she no longer holds');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values ('f6000000-0000-4000-8000-000000000002', 'fictional', 'hello?')$$,
  '42501', 'new row violates row-level security policy for table "messages"', 'olga cannot write in a chat she never held');
select throws_ok($$insert into public.message_authors (message_id, operator_id)
  values ('f7000000-0000-4000-8000-000000000003', 'f2000000-0000-4000-8000-000000000001')$$,
  '42501', 'permission denied for table message_authors', 'olga cannot claim or forge authorship');
select throws_ok($$update public.messages set content = 'edited' where id = 'f7000000-0000-4000-8000-000000000002'$$,
  '42501', 'permission denied for table messages', 'olga cannot edit messages');
select throws_ok($$update public.chats set status = 'idle' where id = 'f6000000-0000-4000-8000-000000000001'$$,
  '42501', 'permission denied for table chats', 'olga cannot change a chat''s status directly');
select is_empty($$update public.chats set flagged_for_review = true where id = 'f6000000-0000-4000-8000-000000000001' returning id$$,
  'olga cannot flag chats');
select throws_ok($$insert into public.chats (real_user_id, fictional_user_id)
  values ('f1000000-0000-4000-8000-000000000001', 'f5000000-0000-4000-8000-000000000004')$$,
  '42501', 'new row violates row-level security policy for table "chats"', 'olga cannot start chats');
select is_empty($$update public.real_users set bio = 'edited by operator' returning id$$,
  'olga cannot edit the real user she talks to');
select is_empty('select * from public.favorites', 'olga reads no favorites');
select is_empty('select * from public.transactions', 'olga reads no transactions');

-- her own operator-side rows ---------------------------------------------------------------------
select results_eq($$select chat_id, released_at is null from public.chat_assignments order by assigned_at$$,
  $$values ('f6000000-0000-4000-8000-000000000003'::uuid, false), ('f6000000-0000-4000-8000-000000000001'::uuid, true)$$,
  'olga reads her own assignments, past and current');
select results_eq('select chat_id from public.operator_activity', $$values ('f6000000-0000-4000-8000-000000000001'::uuid)$$,
  'olga reads her own activity only');
select results_eq('select operator_id from public.operator_stats', $$values ('f2000000-0000-4000-8000-000000000001'::uuid)$$,
  'olga reads her own stats only');
select throws_ok($$insert into public.chat_assignments (chat_id, operator_id)
  values ('f6000000-0000-4000-8000-000000000002', 'f2000000-0000-4000-8000-000000000001')$$,
  '42501', 'permission denied for table chat_assignments', 'olga cannot assign herself a chat directly');
select throws_ok($$update public.chat_assignments set released_at = now(), release_reason = 'completed'$$,
  '42501', 'permission denied for table chat_assignments', 'olga cannot release chats by writing the table');
select throws_ok($$update public.operator_activity set last_activity_at = now()$$,
  '42501', 'permission denied for table operator_activity', 'olga cannot fake activity');
select throws_ok($$insert into public.operator_activity (operator_id, chat_id)
  values ('f2000000-0000-4000-8000-000000000001', 'f6000000-0000-4000-8000-000000000002')$$,
  '42501', 'permission denied for table operator_activity', 'olga cannot insert activity');
select throws_ok($$update public.operator_stats set messages_sent = 999$$,
  '42501', 'permission denied for table operator_stats', 'olga cannot change her stats');

-- Once the chat is released she loses it -----------------------------------------------------------
reset role;
update public.chat_assignments set released_at = now(), release_reason = 'completed'
  where chat_id = 'f6000000-0000-4000-8000-000000000001' and released_at is null;
delete from public.operator_activity where chat_id = 'f6000000-0000-4000-8000-000000000001';
set local role authenticated;
set local request.jwt.claims = '{"sub":"f2000000-0000-4000-8000-000000000001","role":"authenticated"}';
select is_empty('select * from public.chats', 'after release olga reads no chat');
select is_empty('select * from public.messages', 'after release olga reads none of its messages');
select is_empty('select * from public.real_users', 'after release olga no longer reads its real user');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values ('f6000000-0000-4000-8000-000000000001', 'fictional', 'late answer')$$,
  '42501', 'new row violates row-level security policy for table "messages"', 'after release olga cannot write in it');

-- A deactivated operator loses the operator reads
reset role;
update public.operators set is_active = false where id = 'f2000000-0000-4000-8000-000000000001';
set local role authenticated;
set local request.jwt.claims = '{"sub":"f2000000-0000-4000-8000-000000000001","role":"authenticated"}';
select ok(not (select public.is_operator()), 'a deactivated operator is not an operator');
select is_empty('select * from public.fictional_user_guidelines', 'a deactivated operator reads no guidelines');

-- Back to postgres: nothing refused changed anything
reset role;
select results_eq($$select max_concurrent_chats, total_messages_sent >= 0, email from public.operators where id = 'f2000000-0000-4000-8000-000000000001'$$,
  $$values (2, true, 'olga.t@fantooo.local'::text)$$, 'olga''s capacity and email are unchanged');
select results_eq($$select status from public.operators where id = 'f2000000-0000-4000-8000-000000000002'$$,
  $$values ('busy'::text)$$, 'omar''s status is unchanged');
select results_eq($$select bio from public.real_users where id = 'f1000000-0000-4000-8000-000000000001'$$,
  $$values (null::text)$$, 'alice''s profile is unchanged');
select results_eq($$select personality_guidelines from public.fictional_user_guidelines where fictional_user_id = 'f5000000-0000-4000-8000-000000000001'$$,
  $$values ('secret guidance A'::text)$$, 'the guidelines are unchanged');
select is((select count(*)::int from public.messages where chat_id in ('f6000000-0000-4000-8000-000000000002', 'f6000000-0000-4000-8000-000000000003')), 2,
  'no message was added to chats olga does not hold');

select * from finish();
rollback;
