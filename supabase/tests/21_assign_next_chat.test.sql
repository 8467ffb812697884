-- assign_next_chat: the calling operator takes the oldest waiting chat and gets its
-- get_chat_with_details in the same transaction, {"chat": <details> | null}; the refusals of
-- assign_chat_to_operator for the caller itself; nothing is assigned when the details fail.
begin;
set local search_path = extensions, public;
select plan(26);
\ir fixtures/helpers.psql

-- The queue is global: start from no chats at all (seed data included; rolled back at the end).
delete from public.chats;

-- Fixture (as postgres). Real user ruth; profiles TwentySeven A-C (chats c1-c3); admin adam;
-- operators: olga (available, capacity 2), bea (busy), otto (offline), ivan (available, deactivated),
-- sam (available, capacity 3).
select tests.create_admin('adam');
select tests.create_real_user('ruth', credits => 500);
select tests.create_operator('olga', status => 'available', max_concurrent_chats => 2);
select tests.create_operator('bea', status => 'busy', max_concurrent_chats => 5);
select tests.create_operator('otto', max_concurrent_chats => 5);
select tests.create_operator('ivan', status => 'available', max_concurrent_chats => 5, active => false);
select tests.create_operator('sam', status => 'available', max_concurrent_chats => 3);
select tests.create_profile('TwentySeven A');
select tests.create_profile('TwentySeven B');
select tests.create_profile('TwentySeven C');
select tests.create_chat('ruth', 'TwentySeven A');
select tests.create_chat('ruth', 'TwentySeven B');
select tests.create_chat('ruth', 'TwentySeven C');
-- Ruth writes in each chat (each becomes waiting); c1 is the oldest, then c2, then c3.
insert into public.messages (chat_id, sender_type, content) values
  (tests.get_chat_id('ruth', 'TwentySeven A'), 'real', 'hello one'),
  (tests.get_chat_id('ruth', 'TwentySeven B'), 'real', 'hello two'),
  (tests.get_chat_id('ruth', 'TwentySeven C'), 'real', 'hello three');
update public.chats set queued_at = now() - interval '3 minutes' where id = tests.get_chat_id('ruth', 'TwentySeven A');
update public.chats set queued_at = now() - interval '2 minutes' where id = tests.get_chat_id('ruth', 'TwentySeven B');
update public.chats set queued_at = now() - interval '1 minute' where id = tests.get_chat_id('ruth', 'TwentySeven C');

create temporary table answers (who text, answer jsonb) on commit drop;
grant select, insert on answers to authenticated;

-- The functions ---------------------------------------------------------------------------------------
select is((select prosecdef from pg_proc where oid = 'public.assign_next_chat()'::regprocedure), false,
  'public.assign_next_chat is security invoker');
select is((select prosecdef from pg_proc where oid = 'api_private.assign_next_chat()'::regprocedure), true,
  'its body api_private.assign_next_chat is security definer (the Data API does not expose api_private)');

-- Olga (operator, capacity 2) ---------------------------------------------------------------------------
select tests.authenticate_as('olga');
insert into answers select 'olga 1', public.assign_next_chat();
select is((select answer->'chat'->>'id' from answers where who = 'olga 1'),
  tests.get_chat_id('ruth', 'TwentySeven A')::text, 'the oldest waiting chat is assigned and returned');
select is((select answer from answers where who = 'olga 1'),
  jsonb_build_object('chat', public.get_chat_with_details(tests.get_chat_id('ruth', 'TwentySeven A'))),
  'the answer is {"chat": get_chat_with_details(chat)}');
select is((select answer->'chat'->>'status' from answers where who = 'olga 1'), 'assigned',
  'the details are read after the assignment, in the same transaction (status assigned)');
select is((select answer->'chat'->'assignment'->>'operator_id' from answers where who = 'olga 1'),
  tests.get_user_id('olga')::text, 'the details name olga as the holder');
select is((select answer->'chat'->'messages'->0->>'content' from answers where who = 'olga 1'),
  'hello one', 'the details carry the chat''s messages');
select results_eq(
  $$select operator_id, released_at from public.chat_assignments
    where chat_id = tests.get_chat_id('ruth', 'TwentySeven A')$$,
  $$values (tests.get_user_id('olga'), null::timestamptz)$$,
  'an open chat_assignments row records olga as the holder');
select is((select count(*)::integer from public.operator_activity
            where operator_id = tests.get_user_id('olga') and chat_id = tests.get_chat_id('ruth', 'TwentySeven A')),
  1, 'an operator_activity row starts the idle clock');
insert into answers select 'olga 2', public.assign_next_chat();
select is((select answer->'chat'->>'id' from answers where who = 'olga 2'),
  tests.get_chat_id('ruth', 'TwentySeven B')::text, 'the next oldest next');
select throws_ok($$select public.assign_next_chat()$$,
  'PT409', 'at_capacity', 'olga holding 2 of 2 chats is at capacity');

-- Bea (busy), Otto (offline), Ivan (deactivated) ---------------------------------------------------------
select tests.authenticate_as('bea');
select throws_ok($$select public.assign_next_chat()$$,
  'PT409', 'operator_unavailable', 'a busy operator takes no chat');
select tests.authenticate_as('otto');
select throws_ok($$select public.assign_next_chat()$$,
  'PT409', 'operator_unavailable', 'an offline operator takes no chat');
select tests.authenticate_as('ivan');
select throws_ok($$select public.assign_next_chat()$$,
  'PT409', 'operator_unavailable', 'a deactivated operator takes no chat');

-- Ruth (real user), Adam (admin), service_role, anon -------------------------------------------------------
select tests.authenticate_as('ruth');
select throws_ok($$select public.assign_next_chat()$$,
  'PT403', 'not_operator', 'a real user takes no chat');
select tests.authenticate_as('adam');
select throws_ok($$select public.assign_next_chat()$$,
  'PT403', 'not_operator', 'an admin takes no chat for itself (it assigns for others with assign_chat_to_operator)');
select tests.authenticate_as_service_role();
select throws_ok($$select public.assign_next_chat()$$,
  '42501', 'permission denied for function assign_next_chat', 'service_role cannot call it (no operator to act as)');
select tests.authenticate_as_anon();
select throws_ok($$select public.assign_next_chat()$$,
  '42501', 'permission denied for function assign_next_chat', 'anon cannot call it');
select tests.clear_authentication();
select is((select count(*)::integer from public.chat_assignments where chat_id = tests.get_chat_id('ruth', 'TwentySeven C')),
  0, 'no refusal assigned anything');
select is((select status from public.chats where id = tests.get_chat_id('ruth', 'TwentySeven C')),
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
select tests.authenticate_as('sam');
select throws_ok($$select public.assign_next_chat()$$,
  'P0001', 'details failed on purpose', 'a failure reading the details fails the call');
select tests.clear_authentication();
select is((select status from public.chats where id = tests.get_chat_id('ruth', 'TwentySeven C')),
  'waiting', 'the chat is still waiting: the assignment went with the failure');
select is((select count(*)::integer from public.chat_assignments where chat_id = tests.get_chat_id('ruth', 'TwentySeven C'))
        + (select count(*)::integer from public.operator_activity where chat_id = tests.get_chat_id('ruth', 'TwentySeven C')),
  0, 'no assignment or activity row is left behind');
rollback to savepoint before_failure;

-- Sam takes the last one; then nothing waits ---------------------------------------------------------------
select tests.authenticate_as('sam');
select is(public.assign_next_chat()->'chat'->>'id', tests.get_chat_id('ruth', 'TwentySeven C')::text,
  'with the real details back, sam takes c3');
select is(public.assign_next_chat(), '{"chat": null}'::jsonb, '{"chat": null} when no chat waits');
select is((select count(*)::integer from public.chat_assignments where operator_id = tests.get_user_id('sam')),
  1, 'an empty queue records nothing');

select * from finish();
rollback;
