-- Deactivating an operator hands its chats back to the queue: nothing stays 'assigned' to someone
-- who can no longer answer, and the deactivated operator holds and reads nothing any more.
begin;
set local search_path = extensions, public;
select plan(12);
\ir fixtures/helpers.psql

-- The queue is global: start from no chats at all (seed data included; rolled back at the end).
delete from public.chats;

-- Fixture (as postgres): real users rhea and ray; operators olga (capacity 3)
-- and omar; admin adam; profiles Twenty-two A (a1) and B (a2).
select tests.create_admin('adam');
select tests.create_operator('olga', status => 'available', max_concurrent_chats => 3);
select tests.create_operator('omar', status => 'available', max_concurrent_chats => 3);
select tests.create_real_user('rhea', credits => 10);
select tests.create_real_user('ray', gender => 'male', looking_for => 'female', credits => 10);
select tests.create_profile('Twenty-two A');
select tests.create_profile('Twenty-two B', gender => 'female');
-- c1 rhea+a1, c2 ray+a2, c3 ray+a1, queued oldest first in that order.
select tests.create_chat('rhea', 'Twenty-two A');
select tests.create_chat('ray', 'Twenty-two B');
select tests.create_chat('ray', 'Twenty-two A');
insert into public.messages (chat_id, sender_type, content, created_at) values
  (tests.get_chat_id('rhea', 'Twenty-two A'), 'real', 'hi', now() - interval '3 minutes'),
  (tests.get_chat_id('ray', 'Twenty-two B'), 'real', 'hi', now() - interval '2 minutes'),
  (tests.get_chat_id('ray', 'Twenty-two A'), 'real', 'hi', now() - interval '1 minute');
select is(public.assign_chat_to_operator(tests.get_user_id('olga')),
  tests.get_chat_id('rhea', 'Twenty-two A'), 'olga takes c1');
select is(public.assign_chat_to_operator(tests.get_user_id('olga')),
  tests.get_chat_id('ray', 'Twenty-two B'), 'olga takes c2');
select is(public.assign_chat_to_operator(tests.get_user_id('omar')),
  tests.get_chat_id('ray', 'Twenty-two A'), 'omar takes c3');

-- Olga answers c2, so only c1 still waits for an answer.
select tests.authenticate_as('olga');
insert into public.messages (chat_id, sender_type, content)
values (tests.get_chat_id('ray', 'Twenty-two B'), 'fictional', 'hello Ray');

-- The admin deactivates olga.
select tests.authenticate_as('adam');
update public.operators set is_active = false where id = tests.get_user_id('olga');

select tests.clear_authentication();
select bag_eq(
  $$select id, status, reassignment_count from public.chats order by id$$,
  $$values (tests.get_chat_id('rhea', 'Twenty-two A'), 'waiting'::text, 1),
           (tests.get_chat_id('ray', 'Twenty-two B'), 'idle'::text, 1),
           (tests.get_chat_id('ray', 'Twenty-two A'), 'assigned'::text, 0)$$,
  'her unanswered chat is waiting again, the answered one idle; omar''s chat is untouched');
select is((select queued_at from public.chats where id = tests.get_chat_id('rhea', 'Twenty-two A')),
  now() - interval '3 minutes', 'c1 keeps its place in the queue');
select bag_eq(
  $$select chat_id, release_reason from public.chat_assignments
     where operator_id = tests.get_user_id('olga') order by chat_id$$,
  $$values (tests.get_chat_id('rhea', 'Twenty-two A'), 'admin'::text),
           (tests.get_chat_id('ray', 'Twenty-two B'), 'admin'::text)$$,
  'both of olga''s assignments ended with reason admin');
select is((select count(*)::integer from public.operator_activity
            where operator_id = tests.get_user_id('olga')), 0,
  'olga has no activity rows left, so nothing keeps a chat of hers alive');
select is((select status from public.operators where id = tests.get_user_id('olga')), 'offline',
  'a deactivated operator is offline');

-- What olga can still do: nothing in the chats she held.
select tests.authenticate_as('olga');
select throws_ok($$select public.operator_heartbeat(tests.get_chat_id('rhea', 'Twenty-two A'))$$,
  'PT404', 'chat_not_held', 'her heartbeat no longer holds c1');
select throws_ok($$select public.get_chat_with_details(tests.get_chat_id('rhea', 'Twenty-two A'))$$,
  'PT404', 'chat_not_held', 'she cannot read c1''s details any more');
select is((select count(*)::integer from public.chats), 0, 'she reads no chat');

-- The waiting chat goes to the next operator.
select tests.clear_authentication();
select is(public.assign_chat_to_operator(tests.get_user_id('omar')),
  tests.get_chat_id('rhea', 'Twenty-two A'), 'omar gets c1 next');

select * from finish();
rollback;
