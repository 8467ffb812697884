-- Deactivating an operator hands its chats back to the queue: nothing stays 'assigned' to someone
-- who can no longer answer, and the deactivated operator holds and reads nothing any more.
begin;
set local search_path = extensions, public;
select plan(12);
\ir fixtures/authenticate.psql

-- The queue is global: start from no chats at all (seed data included; rolled back at the end).
delete from public.chats;

-- Fixture (as postgres): real users rhea 22..01 and ray 22..02; operators olga 22..b1 (capacity 3)
-- and omar 22..b2; admin adam 22..e1; profiles a1, a2.
insert into auth.users (id, email) values
  ('22000000-0000-4000-8000-000000000001', 'rhea.22@example.com'),
  ('22000000-0000-4000-8000-000000000002', 'ray.22@example.com'),
  ('22000000-0000-4000-8000-0000000000b1', 'olga.22@fantooo.local'),
  ('22000000-0000-4000-8000-0000000000b2', 'omar.22@fantooo.local'),
  ('22000000-0000-4000-8000-0000000000e1', 'adam.22@fantooo.local');
insert into public.admins (id, name) values ('22000000-0000-4000-8000-0000000000e1', 'Adam');
insert into public.operators (id, name, status, max_concurrent_chats) values
  ('22000000-0000-4000-8000-0000000000b1', 'Olga', 'available', 3),
  ('22000000-0000-4000-8000-0000000000b2', 'Omar', 'available', 3);
insert into public.real_users (id, display_name, age, gender, looking_for, credits) values
  ('22000000-0000-4000-8000-000000000001', 'Rhea', 26, 'female', 'male', 10),
  ('22000000-0000-4000-8000-000000000002', 'Ray', 27, 'male', 'female', 10);
insert into public.fictional_users (id, name, age, gender) values
  ('22000000-0000-4000-8000-0000000000a1', 'Twenty-two A', 30, 'male'),
  ('22000000-0000-4000-8000-0000000000a2', 'Twenty-two B', 30, 'female');
-- c1 rhea+a1, c2 ray+a2, c3 ray+a1, queued oldest first in that order.
insert into public.chats (id, real_user_id, fictional_user_id) values
  ('22000000-0000-4000-8000-0000000000c1', '22000000-0000-4000-8000-000000000001', '22000000-0000-4000-8000-0000000000a1'),
  ('22000000-0000-4000-8000-0000000000c2', '22000000-0000-4000-8000-000000000002', '22000000-0000-4000-8000-0000000000a2'),
  ('22000000-0000-4000-8000-0000000000c3', '22000000-0000-4000-8000-000000000002', '22000000-0000-4000-8000-0000000000a1');
insert into public.messages (chat_id, sender_type, content, created_at) values
  ('22000000-0000-4000-8000-0000000000c1', 'real', 'hi', now() - interval '3 minutes'),
  ('22000000-0000-4000-8000-0000000000c2', 'real', 'hi', now() - interval '2 minutes'),
  ('22000000-0000-4000-8000-0000000000c3', 'real', 'hi', now() - interval '1 minute');
select is(public.assign_chat_to_operator('22000000-0000-4000-8000-0000000000b1'),
  '22000000-0000-4000-8000-0000000000c1'::uuid, 'olga takes c1');
select is(public.assign_chat_to_operator('22000000-0000-4000-8000-0000000000b1'),
  '22000000-0000-4000-8000-0000000000c2'::uuid, 'olga takes c2');
select is(public.assign_chat_to_operator('22000000-0000-4000-8000-0000000000b2'),
  '22000000-0000-4000-8000-0000000000c3'::uuid, 'omar takes c3');

-- Olga answers c2, so only c1 still waits for an answer.
select tests.authenticate_as('22000000-0000-4000-8000-0000000000b1');
insert into public.messages (chat_id, sender_type, content)
values ('22000000-0000-4000-8000-0000000000c2', 'fictional', 'hello Ray');

-- The admin deactivates olga.
select tests.authenticate_as('22000000-0000-4000-8000-0000000000e1');
update public.operators set is_active = false where id = '22000000-0000-4000-8000-0000000000b1';

select tests.clear_authentication();
select results_eq(
  $$select id, status, reassignment_count from public.chats order by id$$,
  $$values ('22000000-0000-4000-8000-0000000000c1'::uuid, 'waiting'::text, 1),
           ('22000000-0000-4000-8000-0000000000c2'::uuid, 'idle'::text, 1),
           ('22000000-0000-4000-8000-0000000000c3'::uuid, 'assigned'::text, 0)$$,
  'her unanswered chat is waiting again, the answered one idle; omar''s chat is untouched');
select is((select queued_at from public.chats where id = '22000000-0000-4000-8000-0000000000c1'),
  now() - interval '3 minutes', 'c1 keeps its place in the queue');
select results_eq(
  $$select chat_id, release_reason from public.chat_assignments
     where operator_id = '22000000-0000-4000-8000-0000000000b1' order by chat_id$$,
  $$values ('22000000-0000-4000-8000-0000000000c1'::uuid, 'admin'::text),
           ('22000000-0000-4000-8000-0000000000c2'::uuid, 'admin'::text)$$,
  'both of olga''s assignments ended with reason admin');
select is((select count(*)::integer from public.operator_activity
            where operator_id = '22000000-0000-4000-8000-0000000000b1'), 0,
  'olga has no activity rows left, so nothing keeps a chat of hers alive');
select is((select status from public.operators where id = '22000000-0000-4000-8000-0000000000b1'), 'offline',
  'a deactivated operator is offline');

-- What olga can still do: nothing in the chats she held.
select tests.authenticate_as('22000000-0000-4000-8000-0000000000b1');
select throws_ok($$select public.operator_heartbeat('22000000-0000-4000-8000-0000000000c1')$$,
  'PT404', 'chat_not_held', 'her heartbeat no longer holds c1');
select throws_ok($$select public.get_chat_with_details('22000000-0000-4000-8000-0000000000c1')$$,
  'PT404', 'chat_not_held', 'she cannot read c1''s details any more');
select is((select count(*)::integer from public.chats), 0, 'she reads no chat');

-- The waiting chat goes to the next operator.
select tests.clear_authentication();
select is(public.assign_chat_to_operator('22000000-0000-4000-8000-0000000000b2'),
  '22000000-0000-4000-8000-0000000000c1'::uuid, 'omar gets c1 next');

select * from finish();
rollback;
