-- Omar, another operator: he works in the chat he holds (bob's) and cannot see or touch Olga's chat,
-- her real user, her rows or her history, even on the chat he now holds.
begin;
set local search_path = extensions, public;
select plan(23);

-- Fixture (as postgres; rolled back at the end): the personas of fixtures/personas.psql.
\ir fixtures/personas.psql

-- Acting as Omar
select tests.authenticate_as('omar');

select ok((select public.is_operator()), 'omar is an operator');
select results_eq('select id from public.chats', $$values (tests.get_chat_id('bob', 'Test Fa'))$$,
  'omar reads only the chat he holds');
select is_empty($$select * from public.chats where id = tests.get_chat_id('alice', 'Test Fa')$$,
  'omar cannot read olga''s chat');
select is_empty($$select * from public.messages where chat_id = tests.get_chat_id('alice', 'Test Fa')$$,
  'omar cannot read the messages of olga''s chat');
select results_eq('select id from public.messages', $$values ('f7000000-0000-4000-8000-000000000003'::uuid)$$,
  'omar reads the messages of his chat');
select is_empty('select * from public.real_users', 'omar reads no real_users row, not even bob, the user of his chat');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('alice', 'Test Fa'), 'fictional', 'cutting in')$$,
  'PT404', 'chat_not_held', 'omar cannot write in olga''s chat');
select lives_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('bob', 'Test Fa'), 'fictional', 'Fa to Bob')$$,
  'omar writes in the chat he holds (his status does not matter for writing)');
select results_eq($$select a.operator_id from public.message_authors a join public.messages m on m.id = a.message_id
    where m.content = 'Fa to Bob'$$,
  $$values (tests.get_user_id('omar'))$$, 'the author recorded is omar');

select results_eq('select id from public.operators', $$values (tests.get_user_id('omar'))$$,
  'omar reads only his own operators row');
select is_empty($$select * from public.operators where id = tests.get_user_id('olga')$$,
  'omar cannot read olga''s row');
select is_empty($$update public.operators set status = 'offline' where id = tests.get_user_id('olga') returning id$$,
  'omar cannot change olga''s status');
select is_empty($$update public.operators set max_concurrent_chats = 1 where id = tests.get_user_id('olga') returning id$$,
  'omar cannot change olga''s capacity');
select results_eq('select operator_id, chat_id from public.chat_assignments',
  $$values (tests.get_user_id('omar'), tests.get_chat_id('bob', 'Test Fa'))$$,
  'omar reads his own assignment, not olga''s earlier one on the same chat');
select results_eq('select operator_id from public.operator_activity', $$values (tests.get_user_id('omar'))$$,
  'omar reads his own activity only');
select results_eq('select operator_id from public.operator_stats', $$values (tests.get_user_id('omar'))$$,
  'omar reads his own stats only');
select is_empty($$select * from public.message_authors where operator_id = tests.get_user_id('olga')$$,
  'omar cannot see which messages olga wrote');
select throws_ok($$update public.chat_assignments set operator_id = tests.get_user_id('omar')
    where chat_id = tests.get_chat_id('alice', 'Test Fa')$$,
  '42501', 'permission denied for table chat_assignments', 'omar cannot take over olga''s chat by writing assignments');
select throws_ok($$delete from public.operator_activity where operator_id = tests.get_user_id('olga')$$,
  '42501', 'permission denied for table operator_activity', 'omar cannot remove olga''s activity');

-- Back to postgres
select tests.clear_authentication();
select results_eq($$select status, max_concurrent_chats from public.operators where id = tests.get_user_id('olga')$$,
  $$values ('available'::text, 2)$$, 'olga''s row is unchanged');
select results_eq($$select operator_id from public.chat_assignments
    where chat_id = tests.get_chat_id('alice', 'Test Fa') and released_at is null$$,
  $$values (tests.get_user_id('olga'))$$, 'olga still holds her chat');
select is((select count(*)::int from public.messages where chat_id = tests.get_chat_id('alice', 'Test Fa')), 2,
  'nothing was written in olga''s chat');
select throws_ok($$insert into public.chat_assignments (chat_id, operator_id)
  values (tests.get_chat_id('alice', 'Test Fa'), tests.get_user_id('omar'))$$,
  '23505', null, 'even the database owner cannot give olga''s open chat to omar as well');

select * from finish();
rollback;
