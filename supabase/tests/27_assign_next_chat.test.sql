-- assign_next_chat (017): the calling operator takes the oldest waiting chat and gets its
-- get_chat_with_details in the same transaction, {"chat": <details> | null}; the refusals of
-- assign_chat_to_operator for the caller itself; nothing is assigned when the details fail.
begin;
set local search_path = extensions, public;
select plan(26);
\ir fixtures/authenticate.psql

-- The queue is global: start from no chats at all (seed data included; rolled back at the end).
delete from public.chats;

-- Fixture (as postgres). Real user ruth 27..01; profiles 27..a1-a3; admin 27..e1;
-- operators: olga (available, capacity 2), bea (busy), otto (offline), ivan (available, deactivated),
-- sam (available, capacity 3).
insert into auth.users (id, email) values
  ('27000000-0000-4000-8000-000000000001', 'ruth.27@example.com'),
  ('27000000-0000-4000-8000-0000000000b1', 'olga.27@fantooo.local'),
  ('27000000-0000-4000-8000-0000000000b2', 'bea.27@fantooo.local'),
  ('27000000-0000-4000-8000-0000000000b3', 'otto.27@fantooo.local'),
  ('27000000-0000-4000-8000-0000000000b4', 'ivan.27@fantooo.local'),
  ('27000000-0000-4000-8000-0000000000b6', 'sam.27@fantooo.local'),
  ('27000000-0000-4000-8000-0000000000e1', 'adam.27@fantooo.local');
insert into public.admins (id, name) values ('27000000-0000-4000-8000-0000000000e1', 'Adam');
insert into public.real_users (id, display_name, age, gender, looking_for, credits) values
  ('27000000-0000-4000-8000-000000000001', 'Ruth', 30, 'female', 'male', 500);
insert into public.operators (id, name, status, max_concurrent_chats, is_active) values
  ('27000000-0000-4000-8000-0000000000b1', 'Olga', 'available', 2, true),
  ('27000000-0000-4000-8000-0000000000b2', 'Bea', 'busy', 5, true),
  ('27000000-0000-4000-8000-0000000000b3', 'Otto', 'offline', 5, true),
  ('27000000-0000-4000-8000-0000000000b4', 'Ivan', 'available', 5, false),
  ('27000000-0000-4000-8000-0000000000b6', 'Sam', 'available', 3, true);
insert into public.fictional_users (id, name, age, gender) values
  ('27000000-0000-4000-8000-0000000000a1', 'TwentySeven A', 25, 'male'),
  ('27000000-0000-4000-8000-0000000000a2', 'TwentySeven B', 26, 'male'),
  ('27000000-0000-4000-8000-0000000000a3', 'TwentySeven C', 27, 'male');
insert into public.chats (id, real_user_id, fictional_user_id) values
  ('27000000-0000-4000-8000-0000000000c1', '27000000-0000-4000-8000-000000000001', '27000000-0000-4000-8000-0000000000a1'),
  ('27000000-0000-4000-8000-0000000000c2', '27000000-0000-4000-8000-000000000001', '27000000-0000-4000-8000-0000000000a2'),
  ('27000000-0000-4000-8000-0000000000c3', '27000000-0000-4000-8000-000000000001', '27000000-0000-4000-8000-0000000000a3');
-- Ruth writes in each chat (each becomes waiting); c1 is the oldest, then c2, then c3.
insert into public.messages (chat_id, sender_type, content) values
  ('27000000-0000-4000-8000-0000000000c1', 'real', 'hello one'),
  ('27000000-0000-4000-8000-0000000000c2', 'real', 'hello two'),
  ('27000000-0000-4000-8000-0000000000c3', 'real', 'hello three');
update public.chats set queued_at = now() - interval '3 minutes' where id = '27000000-0000-4000-8000-0000000000c1';
update public.chats set queued_at = now() - interval '2 minutes' where id = '27000000-0000-4000-8000-0000000000c2';
update public.chats set queued_at = now() - interval '1 minute' where id = '27000000-0000-4000-8000-0000000000c3';

create temporary table answers (who text, answer jsonb) on commit drop;
grant select, insert on answers to authenticated;

-- The functions ---------------------------------------------------------------------------------------
select is((select prosecdef from pg_proc where oid = 'public.assign_next_chat()'::regprocedure), false,
  'public.assign_next_chat is security invoker');
select is((select prosecdef from pg_proc where oid = 'api_private.assign_next_chat()'::regprocedure), true,
  'its body api_private.assign_next_chat is security definer (the Data API does not expose api_private)');

-- Olga (operator, capacity 2) ---------------------------------------------------------------------------
select tests.authenticate_as('27000000-0000-4000-8000-0000000000b1');
insert into answers select 'olga 1', public.assign_next_chat();
select is((select answer->'chat'->>'id' from answers where who = 'olga 1'),
  '27000000-0000-4000-8000-0000000000c1', 'the oldest waiting chat is assigned and returned');
select is((select answer from answers where who = 'olga 1'),
  jsonb_build_object('chat', public.get_chat_with_details('27000000-0000-4000-8000-0000000000c1')),
  'the answer is {"chat": get_chat_with_details(chat)}');
select is((select answer->'chat'->>'status' from answers where who = 'olga 1'), 'assigned',
  'the details are read after the assignment, in the same transaction (status assigned)');
select is((select answer->'chat'->'assignment'->>'operator_id' from answers where who = 'olga 1'),
  '27000000-0000-4000-8000-0000000000b1', 'the details name olga as the holder');
select is((select answer->'chat'->'messages'->0->>'content' from answers where who = 'olga 1'),
  'hello one', 'the details carry the chat''s messages');
select results_eq(
  $$select operator_id, released_at from public.chat_assignments
    where chat_id = '27000000-0000-4000-8000-0000000000c1'$$,
  $$values ('27000000-0000-4000-8000-0000000000b1'::uuid, null::timestamptz)$$,
  'an open chat_assignments row records olga as the holder');
select is((select count(*)::integer from public.operator_activity
            where operator_id = '27000000-0000-4000-8000-0000000000b1' and chat_id = '27000000-0000-4000-8000-0000000000c1'),
  1, 'an operator_activity row starts the idle clock');
insert into answers select 'olga 2', public.assign_next_chat();
select is((select answer->'chat'->>'id' from answers where who = 'olga 2'),
  '27000000-0000-4000-8000-0000000000c2', 'the next oldest next');
select throws_ok($$select public.assign_next_chat()$$,
  'PT409', 'at_capacity', 'olga holding 2 of 2 chats is at capacity');

-- Bea (busy), Otto (offline), Ivan (deactivated) ---------------------------------------------------------
select tests.authenticate_as('27000000-0000-4000-8000-0000000000b2');
select throws_ok($$select public.assign_next_chat()$$,
  'PT409', 'operator_unavailable', 'a busy operator takes no chat');
select tests.authenticate_as('27000000-0000-4000-8000-0000000000b3');
select throws_ok($$select public.assign_next_chat()$$,
  'PT409', 'operator_unavailable', 'an offline operator takes no chat');
select tests.authenticate_as('27000000-0000-4000-8000-0000000000b4');
select throws_ok($$select public.assign_next_chat()$$,
  'PT409', 'operator_unavailable', 'a deactivated operator takes no chat');

-- Ruth (real user), Adam (admin), service_role, anon -------------------------------------------------------
select tests.authenticate_as('27000000-0000-4000-8000-000000000001');
select throws_ok($$select public.assign_next_chat()$$,
  'PT403', 'not_operator', 'a real user takes no chat');
select tests.authenticate_as('27000000-0000-4000-8000-0000000000e1');
select throws_ok($$select public.assign_next_chat()$$,
  'PT403', 'not_operator', 'an admin takes no chat for itself (it assigns for others with assign_chat_to_operator)');
select tests.authenticate_as_service_role();
select throws_ok($$select public.assign_next_chat()$$,
  '42501', 'permission denied for function assign_next_chat', 'service_role cannot call it (no operator to act as)');
select tests.authenticate_as_anon();
select throws_ok($$select public.assign_next_chat()$$,
  '42501', 'permission denied for function assign_next_chat', 'anon cannot call it');
select tests.clear_authentication();
select is((select count(*)::integer from public.chat_assignments where chat_id = '27000000-0000-4000-8000-0000000000c3'),
  0, 'no refusal assigned anything');
select is((select status from public.chats where id = '27000000-0000-4000-8000-0000000000c3'),
  'waiting', 'the refused calls left c3 waiting');

-- Atomic: when the details fail, nothing is assigned ------------------------------------------------------
-- (the replaced body is rolled back with the file's transaction)
savepoint before_failure;
create or replace function api_private.get_chat_with_details(p_chat_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  raise exception 'details failed on purpose';
end;
$$;
select tests.authenticate_as('27000000-0000-4000-8000-0000000000b6');
select throws_ok($$select public.assign_next_chat()$$,
  'P0001', 'details failed on purpose', 'a failure reading the details fails the call');
select tests.clear_authentication();
select is((select status from public.chats where id = '27000000-0000-4000-8000-0000000000c3'),
  'waiting', 'the chat is still waiting: the assignment went with the failure');
select is((select count(*)::integer from public.chat_assignments where chat_id = '27000000-0000-4000-8000-0000000000c3')
        + (select count(*)::integer from public.operator_activity where chat_id = '27000000-0000-4000-8000-0000000000c3'),
  0, 'no assignment or activity row is left behind');
rollback to savepoint before_failure;

-- Sam takes the last one; then nothing waits ---------------------------------------------------------------
select tests.authenticate_as('27000000-0000-4000-8000-0000000000b6');
select is(public.assign_next_chat()->'chat'->>'id', '27000000-0000-4000-8000-0000000000c3',
  'with the real details back, sam takes c3');
select is(public.assign_next_chat(), '{"chat": null}'::jsonb, '{"chat": null} when no chat waits');
select is((select count(*)::integer from public.chat_assignments where operator_id = '27000000-0000-4000-8000-0000000000b6'),
  1, 'an empty queue records nothing');

select * from finish();
rollback;
