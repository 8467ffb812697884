-- The hourly auto-close (private.close_inactive_chats): every chat with no message for
-- settings.inactivity_timeout (24 hours) is closed with close_reason inactivity, held ones included;
-- fresh and already closed chats are untouched; nothing is refunded; not callable through the API.
begin;
set local search_path = extensions, public;
select plan(12);
\ir fixtures/authenticate.psql

-- The queue is global: start from no chats at all (seed data included; rolled back at the end).
delete from public.chats;

-- Fixture (as postgres). Real user rosa 19..01 (credits 9); operator olga 19..b1. Chats:
--   c1 idle, last message 25 h ago          c2 held by olga, last message 25 h ago
--   c3 waiting, last message 23 h ago       c4 never written to, created 25 h ago
--   c5 never written to, created just now   c6 closed by rosa 30 h ago, last message 2 days ago
insert into auth.users (id, email) values
  ('19000000-0000-4000-8000-000000000001', 'rosa.19@example.com'),
  ('19000000-0000-4000-8000-0000000000b1', 'olga.19@fantooo.local');
insert into public.operators (id, name, status) values ('19000000-0000-4000-8000-0000000000b1', 'Olga', 'available');
insert into public.real_users (id, display_name, age, gender, looking_for, credits) values
  ('19000000-0000-4000-8000-000000000001', 'Rosa', 26, 'female', 'male', 9);
insert into public.fictional_users (id, name, age, gender)
select ('19000000-0000-4000-8000-0000000000a' || n)::uuid, 'Nineteen ' || n, 30, 'male' from generate_series(1, 6) n;
insert into public.chats (id, real_user_id, fictional_user_id, status, queued_at, last_message_at, message_count,
                          created_at, closed_at, close_reason)
values
  ('19000000-0000-4000-8000-0000000000c1', '19000000-0000-4000-8000-000000000001', '19000000-0000-4000-8000-0000000000a1',
   'idle', null, now() - interval '25 hours', 4, now() - interval '3 days', null, null),
  ('19000000-0000-4000-8000-0000000000c2', '19000000-0000-4000-8000-000000000001', '19000000-0000-4000-8000-0000000000a2',
   'assigned', now() - interval '25 hours', now() - interval '25 hours', 2, now() - interval '3 days', null, null),
  ('19000000-0000-4000-8000-0000000000c3', '19000000-0000-4000-8000-000000000001', '19000000-0000-4000-8000-0000000000a3',
   'waiting', now() - interval '23 hours', now() - interval '23 hours', 1, now() - interval '3 days', null, null),
  ('19000000-0000-4000-8000-0000000000c4', '19000000-0000-4000-8000-000000000001', '19000000-0000-4000-8000-0000000000a4',
   'idle', null, null, 0, now() - interval '25 hours', null, null),
  ('19000000-0000-4000-8000-0000000000c5', '19000000-0000-4000-8000-000000000001', '19000000-0000-4000-8000-0000000000a5',
   'idle', null, null, 0, now(), null, null),
  ('19000000-0000-4000-8000-0000000000c6', '19000000-0000-4000-8000-000000000001', '19000000-0000-4000-8000-0000000000a6',
   'closed', null, now() - interval '2 days', 3, now() - interval '3 days', now() - interval '30 hours', 'user');
insert into public.chat_assignments (chat_id, operator_id, assigned_at) values
  ('19000000-0000-4000-8000-0000000000c2', '19000000-0000-4000-8000-0000000000b1', now() - interval '25 hours');
insert into public.operator_activity (operator_id, chat_id, assigned_at, last_activity_at) values
  ('19000000-0000-4000-8000-0000000000b1', '19000000-0000-4000-8000-0000000000c2', now() - interval '25 hours', now() - interval '1 minute');

-- Not through the API ---------------------------------------------------------------------------------------------------
select tests.authenticate_as('19000000-0000-4000-8000-000000000001');
select throws_ok($$select private.close_inactive_chats()$$,
  '42501', 'permission denied for schema private', 'a signed-in user cannot run the auto-close');
select tests.authenticate_as_service_role();
select throws_ok($$select private.close_inactive_chats()$$,
  '42501', 'permission denied for schema private', 'nor can service_role through the API');

-- The job (as postgres, like pg_cron) ---------------------------------------------------------------------------------
select tests.clear_authentication();
select is(private.close_inactive_chats(), 3, 'three chats had no message for 24 hours');
select results_eq(
  $$select right(id::text, 2), status, close_reason from public.chats where id::text like '19000000-%' order by 1$$,
  $$values ('c1'::text, 'closed'::text, 'inactivity'::text),
           ('c2', 'closed', 'inactivity'),
           ('c3', 'waiting', null),
           ('c4', 'closed', 'inactivity'),
           ('c5', 'idle', null),
           ('c6', 'closed', 'user')$$,
  'idle, held and never-written chats over 24 hours close with inactivity; fresh and closed ones are untouched');
select results_eq(
  $$select closed_at from public.chats where id in ('19000000-0000-4000-8000-0000000000c1', '19000000-0000-4000-8000-0000000000c2',
                                                    '19000000-0000-4000-8000-0000000000c4')$$,
  $$values (now()), (now()), (now())$$,
  'closed_at is the time of the run');
select is((select closed_at from public.chats where id = '19000000-0000-4000-8000-0000000000c6'),
  now() - interval '30 hours', 'an already closed chat keeps its closed_at');
select results_eq(
  $$select released_at, release_reason from public.chat_assignments where chat_id = '19000000-0000-4000-8000-0000000000c2'$$,
  $$values (now(), 'chat_closed'::text)$$,
  'the held chat''s assignment ends with chat_closed');
select is_empty($$select 1 from public.operator_activity where chat_id = '19000000-0000-4000-8000-0000000000c2'$$,
  'and its activity row is removed');
select is((select credits from public.real_users where id = '19000000-0000-4000-8000-000000000001'), 9,
  'closing never refunds (nor charges)');
select is(private.close_inactive_chats(), 0, 'a second run closes nothing more');

-- The timeout comes from the settings row -----------------------------------------------------------------------------
update public.settings set inactivity_timeout = interval '22 hours';
select is(private.close_inactive_chats(), 1, 'with a 22-hour timeout the 23-hour-old waiting chat closes too');
select is((select status from public.chats where id = '19000000-0000-4000-8000-0000000000c3'), 'closed',
  'a waiting chat can be closed for inactivity');

select * from finish();
rollback;
