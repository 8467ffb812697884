-- Omar, another operator: he works in the chat he holds (bob's) and cannot see or touch Olga's chat,
-- her real user, her rows or her history, even on the chat he now holds.
begin;
set local search_path = extensions, public;
select plan(23);

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

-- Acting as Omar
set local role authenticated;
set local request.jwt.claims = '{"sub":"f2000000-0000-4000-8000-000000000002","role":"authenticated"}';

select ok((select public.is_operator()), 'omar is an operator');
select results_eq('select id from public.chats', $$values ('f6000000-0000-4000-8000-000000000003'::uuid)$$,
  'omar reads only the chat he holds');
select is_empty($$select * from public.chats where id = 'f6000000-0000-4000-8000-000000000001'$$,
  'omar cannot read olga''s chat');
select is_empty($$select * from public.messages where chat_id = 'f6000000-0000-4000-8000-000000000001'$$,
  'omar cannot read the messages of olga''s chat');
select results_eq('select id from public.messages', $$values ('f7000000-0000-4000-8000-000000000003'::uuid)$$,
  'omar reads the messages of his chat');
select results_eq('select id from public.real_users', $$values ('f1000000-0000-4000-8000-000000000002'::uuid)$$,
  'omar reads bob, the user of his chat, and not alice');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values ('f6000000-0000-4000-8000-000000000001', 'fictional', 'cutting in')$$,
  '42501', 'new row violates row-level security policy for table "messages"', 'omar cannot write in olga''s chat');
select lives_ok($$insert into public.messages (chat_id, sender_type, content)
  values ('f6000000-0000-4000-8000-000000000003', 'fictional', 'Fa to Bob')$$,
  'omar writes in the chat he holds (his status does not matter for writing)');
select results_eq($$select a.operator_id from public.message_authors a join public.messages m on m.id = a.message_id
    where m.content = 'Fa to Bob'$$,
  $$values ('f2000000-0000-4000-8000-000000000002'::uuid)$$, 'the author recorded is omar');

select results_eq('select id from public.operators', $$values ('f2000000-0000-4000-8000-000000000002'::uuid)$$,
  'omar reads only his own operators row');
select is_empty($$select * from public.operators where id = 'f2000000-0000-4000-8000-000000000001'$$,
  'omar cannot read olga''s row');
select is_empty($$update public.operators set status = 'offline' where id = 'f2000000-0000-4000-8000-000000000001' returning id$$,
  'omar cannot change olga''s status');
select is_empty($$update public.operators set max_concurrent_chats = 1 where id = 'f2000000-0000-4000-8000-000000000001' returning id$$,
  'omar cannot change olga''s capacity');
select results_eq('select operator_id, chat_id from public.chat_assignments',
  $$values ('f2000000-0000-4000-8000-000000000002'::uuid, 'f6000000-0000-4000-8000-000000000003'::uuid)$$,
  'omar reads his own assignment, not olga''s earlier one on the same chat');
select results_eq('select operator_id from public.operator_activity', $$values ('f2000000-0000-4000-8000-000000000002'::uuid)$$,
  'omar reads his own activity only');
select results_eq('select operator_id from public.operator_stats', $$values ('f2000000-0000-4000-8000-000000000002'::uuid)$$,
  'omar reads his own stats only');
select is_empty($$select * from public.message_authors where operator_id = 'f2000000-0000-4000-8000-000000000001'$$,
  'omar cannot see which messages olga wrote');
select throws_ok($$update public.chat_assignments set operator_id = 'f2000000-0000-4000-8000-000000000002'
    where chat_id = 'f6000000-0000-4000-8000-000000000001'$$,
  '42501', 'permission denied for table chat_assignments', 'omar cannot take over olga''s chat by writing assignments');
select throws_ok($$delete from public.operator_activity where operator_id = 'f2000000-0000-4000-8000-000000000001'$$,
  '42501', 'permission denied for table operator_activity', 'omar cannot remove olga''s activity');

-- Back to postgres
reset role;
select results_eq($$select status, max_concurrent_chats from public.operators where id = 'f2000000-0000-4000-8000-000000000001'$$,
  $$values ('available'::text, 2)$$, 'olga''s row is unchanged');
select results_eq($$select operator_id from public.chat_assignments
    where chat_id = 'f6000000-0000-4000-8000-000000000001' and released_at is null$$,
  $$values ('f2000000-0000-4000-8000-000000000001'::uuid)$$, 'olga still holds her chat');
select is((select count(*)::int from public.messages where chat_id = 'f6000000-0000-4000-8000-000000000001'), 2,
  'nothing was written in olga''s chat');
select throws_ok($$insert into public.chat_assignments (chat_id, operator_id)
  values ('f6000000-0000-4000-8000-000000000001', 'f2000000-0000-4000-8000-000000000002')$$,
  '23505', null, 'even the database owner cannot give olga''s open chat to omar as well');

select * from finish();
rollback;
