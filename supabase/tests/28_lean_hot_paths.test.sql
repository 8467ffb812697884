-- The lean hot paths of 018: one trigger path for a message (apply_message before the insert, the
-- author after it for fictional messages only), chats.real_message_count pricing the next message
-- whatever the chat holds, the insert policy probing the chat by key, and assign_chat_to_operator's
-- shortened checks (an operator for itself, for another, a non-operator; asking is no sign of life).
begin;
set local search_path = extensions, public;
select plan(26);
\ir fixtures/authenticate.psql

-- The queue is global: start from no chats at all (seed data included; rolled back at the end).
delete from public.chats;

-- Fixture (as postgres). Real users ruby 28..01 (100 credits) and rex 28..02; operators olga 28..b1
-- and omar 28..b2; admin adam 28..e1. Chats: c1 ruby+A (olga will hold it), c2 ruby+B, c3 rex+A.
insert into auth.users (id, email) values
  ('28000000-0000-4000-8000-000000000001', 'ruby.28@example.com'),
  ('28000000-0000-4000-8000-000000000002', 'rex.28@example.com'),
  ('28000000-0000-4000-8000-0000000000b1', 'olga.28@fantooo.local'),
  ('28000000-0000-4000-8000-0000000000b2', 'omar.28@fantooo.local'),
  ('28000000-0000-4000-8000-0000000000e1', 'adam.28@fantooo.local');
insert into public.admins (id, name) values ('28000000-0000-4000-8000-0000000000e1', 'Adam');
insert into public.operators (id, name, status, max_concurrent_chats) values
  ('28000000-0000-4000-8000-0000000000b1', 'Olga', 'available', 5),
  ('28000000-0000-4000-8000-0000000000b2', 'Omar', 'available', 5);
insert into public.real_users (id, display_name, age, gender, looking_for, credits) values
  ('28000000-0000-4000-8000-000000000001', 'Ruby', 30, 'female', 'male', 100),
  ('28000000-0000-4000-8000-000000000002', 'Rex', 31, 'male', 'male', 100);
insert into public.fictional_users (id, name, age, gender) values
  ('28000000-0000-4000-8000-0000000000a1', 'TwentyEight A', 25, 'male'),
  ('28000000-0000-4000-8000-0000000000a2', 'TwentyEight B', 26, 'male');
insert into public.chats (id, real_user_id, fictional_user_id) values
  ('28000000-0000-4000-8000-0000000000c1', '28000000-0000-4000-8000-000000000001', '28000000-0000-4000-8000-0000000000a1'),
  ('28000000-0000-4000-8000-0000000000c2', '28000000-0000-4000-8000-000000000001', '28000000-0000-4000-8000-0000000000a2'),
  ('28000000-0000-4000-8000-0000000000c3', '28000000-0000-4000-8000-000000000002', '28000000-0000-4000-8000-0000000000a1');
update public.settings set free_messages = 2, base_price = 5, night_factor = 1, early_factor = 1, featured_factor = 1;

-- One trigger path ------------------------------------------------------------------------------------------

select results_eq(
  $$select t.tgname::text collate "C", t.tgtype & 2 = 2, pg_get_triggerdef(t.oid) like '%WHEN ((new.sender_type = ''fictional''::text))%'
      from pg_trigger t where t.tgrelid = 'public.messages'::regclass and not t.tgisinternal order by 1$$,
  $$values ('apply_message'::text collate "C", true, false), ('broadcast_message_created', false, false),
           ('record_message_author', false, true)$$,
  'messages has one before-insert trigger (apply_message) and, after the insert, its broadcast and the author of fictional messages');

-- Ruby: two free messages, then the price; the count is the chat's, fictional answers not counted --------------
select tests.authenticate_as('28000000-0000-4000-8000-000000000001');
select is((public.send_message('28000000-0000-4000-8000-0000000000c1', 'one')).credits_charged, 0, '1st real message free');
select is((public.send_message('28000000-0000-4000-8000-0000000000c1', 'two')).credits_charged, 0, '2nd real message free');

-- Olga takes c1 and answers twice.
select tests.authenticate_as('28000000-0000-4000-8000-0000000000b1');
select is(public.assign_chat_to_operator(), '28000000-0000-4000-8000-0000000000c1'::uuid, 'olga takes c1 (for herself)');
select is((public.send_message('28000000-0000-4000-8000-0000000000c1', 'hi')).credits_charged, 0, 'an answer is free');
select is((public.send_message('28000000-0000-4000-8000-0000000000c1', 'hi again')).credits_charged, 0, 'a second answer too');
select results_eq(
  $$select ma.operator_id from public.message_authors ma join public.messages m on m.id = ma.message_id
     where m.chat_id = '28000000-0000-4000-8000-0000000000c1'$$,
  $$values ('28000000-0000-4000-8000-0000000000b1'::uuid), ('28000000-0000-4000-8000-0000000000b1'::uuid)$$,
  'each answer records its author; real messages record none');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content) values ('28000000-0000-4000-8000-0000000000c3', 'fictional', 'not mine')$$,
  'PT404', 'chat_not_held', 'olga, holding c1, cannot answer c3 (which nobody holds)');

select tests.authenticate_as('28000000-0000-4000-8000-000000000001');
select is((public.send_message('28000000-0000-4000-8000-0000000000c1', 'three')).credits_charged, 5,
  'the 3rd real message is priced: the two answers between do not count as real messages');
select is((public.send_message('28000000-0000-4000-8000-0000000000c2', 'other chat')).credits_charged, 0,
  'the count is per chat: the first message of c2 is free');
select tests.clear_authentication();
select results_eq(
  $$select c.id, c.message_count, c.real_message_count from public.chats c
     where c.real_user_id = '28000000-0000-4000-8000-000000000001' order by c.id$$,
  $$values ('28000000-0000-4000-8000-0000000000c1'::uuid, 5, 3), ('28000000-0000-4000-8000-0000000000c2'::uuid, 1, 1)$$,
  'message_count counts every message, real_message_count the real ones');
select is((select credits from public.real_users where id = '28000000-0000-4000-8000-000000000001'), 95,
  'ruby paid for one message');
select results_eq(
  $$select total_messages_sent from public.operators where id = '28000000-0000-4000-8000-0000000000b1'$$,
  $$values (2)$$, 'olga''s two answers are counted, the refused one not');

-- What prices a message is the chat's count, not the messages table: with the count at 0 the next is free.
update public.chats set real_message_count = 0 where id = '28000000-0000-4000-8000-0000000000c1';
select is(private.prior_real_messages('28000000-0000-4000-8000-0000000000c1'), 0, 'prior_real_messages reads the chat''s count');
update public.chats set real_message_count = 7 where id = '28000000-0000-4000-8000-0000000000c1';
select is(private.prior_real_messages('28000000-0000-4000-8000-0000000000c1'), 2, '... up to settings.free_messages');
select is(private.prior_real_messages('28000000-0000-4000-8000-00000000dead'), 0, '... and 0 for an unknown chat');
select is(public.message_price('28000000-0000-4000-8000-0000000000c1'), 5, 'message_price agrees with the trigger');

-- Clients cannot write the count (column grants of 003 unchanged).
select tests.authenticate_as('28000000-0000-4000-8000-000000000001');
select throws_ok(
  $$update public.chats set real_message_count = 0 where id = '28000000-0000-4000-8000-0000000000c1'$$,
  '42501', null, 'a real user cannot reset the count that prices her messages');

-- The insert policy by key: rex cannot write in ruby's chat, even as a real message.
select tests.authenticate_as('28000000-0000-4000-8000-000000000002');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content) values ('28000000-0000-4000-8000-0000000000c2', 'real', 'hi')$$,
  '42501', null, 'a real user cannot write in another user''s chat');

-- assign_chat_to_operator's checks ------------------------------------------------------------------------------
select tests.authenticate_as('28000000-0000-4000-8000-0000000000b2');
select throws_ok($$select public.assign_chat_to_operator('28000000-0000-4000-8000-0000000000b1')$$,
  '42501', 'forbidden', 'an operator cannot assign for another operator');
select tests.authenticate_as('28000000-0000-4000-8000-000000000002');
select throws_ok($$select public.assign_chat_to_operator()$$,
  'PT403', 'not_operator', 'a real user is no operator');
select tests.authenticate_as('28000000-0000-4000-8000-0000000000e1');
select throws_ok($$select public.assign_chat_to_operator('28000000-0000-4000-8000-000000000002')$$,
  'PT403', 'not_operator', 'an admin cannot assign to a real user');
select is(public.assign_chat_to_operator('28000000-0000-4000-8000-0000000000b2'), '28000000-0000-4000-8000-0000000000c2'::uuid,
  'an admin assigns the oldest waiting chat to omar');
select tests.clear_authentication();
select results_eq(
  $$select a.chat_id, a.operator_id, oa.operator_id is not null, c.status
      from public.chat_assignments a
      join public.chats c on c.id = a.chat_id
      left join public.operator_activity oa on oa.chat_id = a.chat_id
     where a.released_at is null order by a.chat_id$$,
  $$values ('28000000-0000-4000-8000-0000000000c1'::uuid, '28000000-0000-4000-8000-0000000000b1'::uuid, true, 'assigned'::text),
           ('28000000-0000-4000-8000-0000000000c2'::uuid, '28000000-0000-4000-8000-0000000000b2'::uuid, true, 'assigned'::text)$$,
  'each assignment has its open row, its activity row and an assigned chat');

-- Nothing waits now (c3 is idle): asking changes nothing, not even the operator's sign of life.
update public.operators set last_activity_at = now() - interval '1 hour'
 where id = '28000000-0000-4000-8000-0000000000b1';
select tests.authenticate_as('28000000-0000-4000-8000-0000000000b1');
select is(public.assign_chat_to_operator(), null, 'with nothing waiting olga gets null');
select tests.clear_authentication();
select ok((select last_activity_at < now() - interval '59 minutes' from public.operators
            where id = '28000000-0000-4000-8000-0000000000b1'),
  'an ask that assigns nothing is no sign of life (last_activity_at unchanged)');

select * from finish();
rollback;
