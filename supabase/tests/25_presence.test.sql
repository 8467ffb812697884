-- Operator presence (014): an operator that sets itself offline keeps no chat (each released with
-- operator_offline, back in the queue in place); busy keeps its chats; an available operator silent
-- for settings.presence_timeout is set offline by the idle sweep, which releases its chats with
-- idle_timeout; deactivation still releases with admin. Only admins change presence_timeout.
begin;
set local search_path = extensions, public;
select plan(24);

-- Fixture (as postgres; rolled back at the end): the personas of fixtures/personas.psql, with no other
-- chat in the database. olga (available, 2 chats) holds alice+Fa (answered) and alice+Fd (unanswered,
-- queued 7 minutes ago); omar (busy) holds bob+Fa. oona (available) holds bob+Fd, her last sign of
-- life 15 minutes ago but active in that chat 3 minutes ago; otto (available) was seen 2 minutes ago.
\ir fixtures/personas.psql
delete from public.chats where id::text not like 'f6000000-%';
insert into public.chats (id, real_user_id, fictional_user_id, status, queued_at) values
  ('f6000000-0000-4000-8000-000000000011', 'f1000000-0000-4000-8000-000000000001',
   'f5000000-0000-4000-8000-000000000004', 'assigned', now() - interval '7 minutes'),
  ('f6000000-0000-4000-8000-000000000012', 'f1000000-0000-4000-8000-000000000002',
   'f5000000-0000-4000-8000-000000000004', 'assigned', now() - interval '4 minutes');
insert into auth.users (id, email) values
  ('f2000000-0000-4000-8000-000000000003', 'oona.t@fantooo.local'),
  ('f2000000-0000-4000-8000-000000000004', 'otto.t@fantooo.local');
insert into public.operators (id, name, status, max_concurrent_chats, last_activity_at) values
  ('f2000000-0000-4000-8000-000000000003', 'Oona T', 'available', 2, now() - interval '15 minutes'),
  ('f2000000-0000-4000-8000-000000000004', 'Otto T', 'available', 2, now() - interval '2 minutes');
insert into public.chat_assignments (chat_id, operator_id, assigned_at) values
  ('f6000000-0000-4000-8000-000000000011', 'f2000000-0000-4000-8000-000000000001', now() - interval '6 minutes'),
  ('f6000000-0000-4000-8000-000000000012', 'f2000000-0000-4000-8000-000000000003', now() - interval '4 minutes');
insert into public.operator_activity (operator_id, chat_id, assigned_at, last_activity_at) values
  ('f2000000-0000-4000-8000-000000000001', 'f6000000-0000-4000-8000-000000000011', now() - interval '6 minutes', now()),
  ('f2000000-0000-4000-8000-000000000003', 'f6000000-0000-4000-8000-000000000012', now() - interval '4 minutes', now() - interval '3 minutes');

select col_default_is('public', 'settings', 'presence_timeout', '00:10:00'::interval::text,
  'presence_timeout defaults to 10 minutes');

-- busy keeps its chats ---------------------------------------------------------------------------------
select tests.authenticate_as('f2000000-0000-4000-8000-000000000002');
select lives_ok($$update public.operators set status = 'available' where id = 'f2000000-0000-4000-8000-000000000002'$$,
  'omar goes available');
select is((select last_activity_at from public.operators where id = 'f2000000-0000-4000-8000-000000000002'), now(),
  'going available is a sign of life');
select lives_ok($$update public.operators set status = 'busy' where id = 'f2000000-0000-4000-8000-000000000002'$$,
  'omar goes busy');
select results_eq($$select status from public.chats where id = 'f6000000-0000-4000-8000-000000000003'$$,
  $$values ('assigned'::text)$$, 'a busy operator keeps its chat');
select results_eq($$select chat_id from public.chat_assignments where operator_id = 'f2000000-0000-4000-8000-000000000002' and released_at is null$$,
  $$values ('f6000000-0000-4000-8000-000000000003'::uuid)$$, 'and still holds it');
select throws_ok($$select public.assign_chat_to_operator('f2000000-0000-4000-8000-000000000002')$$,
  'PT409', 'operator_unavailable', 'but takes no new one');

-- offline releases every chat with operator_offline --------------------------------------------------
select tests.authenticate_as('f2000000-0000-4000-8000-000000000001');
select lives_ok($$update public.operators set status = 'offline' where id = 'f2000000-0000-4000-8000-000000000001'$$,
  'olga sets herself offline');
select tests.clear_authentication();
select results_eq(
  $$select id, status, queued_at, reassignment_count from public.chats
     where id in ('f6000000-0000-4000-8000-000000000001', 'f6000000-0000-4000-8000-000000000011') order by id$$,
  $$values ('f6000000-0000-4000-8000-000000000001'::uuid, 'idle'::text, null::timestamptz, 1),
           ('f6000000-0000-4000-8000-000000000011'::uuid, 'waiting'::text, now() - interval '7 minutes', 1)$$,
  'her answered chat is idle, the unanswered one waits again in its old place; both count a reassignment');
select results_eq(
  $$select chat_id, release_reason from public.chat_assignments
     where operator_id = 'f2000000-0000-4000-8000-000000000001' and released_at = now() order by chat_id$$,
  $$values ('f6000000-0000-4000-8000-000000000001'::uuid, 'operator_offline'::text),
           ('f6000000-0000-4000-8000-000000000011'::uuid, 'operator_offline'::text)$$,
  'both assignments ended with operator_offline');
select is((select count(*)::int from public.operator_activity where operator_id = 'f2000000-0000-4000-8000-000000000001'), 0,
  'olga keeps no activity row');
select tests.authenticate_as('f2000000-0000-4000-8000-000000000001');
select is_empty($$select 1 from public.chats$$, 'olga reads none of those chats any more');
select lives_ok($$update public.operators set status = 'offline', name = 'Olga Off' where id = 'f2000000-0000-4000-8000-000000000001'$$,
  'going offline again with nothing held is harmless');

-- The sweep sets silent available operators offline ---------------------------------------------------
select tests.authenticate_as_service_role();
select is(public.sweep_idle_chats(), '{"released": 1, "flagged": 0}'::jsonb,
  'the sweep releases the chat of the silent operator (its own activity is fresher than idle_timeout)');
select tests.clear_authentication();
select results_eq($$select id, status from public.operators where id::text like 'f2000000-%' order by id$$,
  $$values ('f2000000-0000-4000-8000-000000000001'::uuid, 'offline'::text),
           ('f2000000-0000-4000-8000-000000000002'::uuid, 'busy'::text),
           ('f2000000-0000-4000-8000-000000000003'::uuid, 'offline'::text),
           ('f2000000-0000-4000-8000-000000000004'::uuid, 'available'::text)$$,
  'oona, silent for 15 minutes, is offline; otto, seen 2 minutes ago, is still available; busy omar is left alone');
select results_eq(
  $$select release_reason from public.chat_assignments where chat_id = 'f6000000-0000-4000-8000-000000000012'$$,
  $$values ('idle_timeout'::text)$$, 'oona''s chat was released with idle_timeout');
select results_eq($$select status, queued_at from public.chats where id = 'f6000000-0000-4000-8000-000000000012'$$,
  $$values ('waiting'::text, now() - interval '4 minutes')$$, 'back in the queue in its place');
select is((select idle_incidents from private.operator_stats_between('f2000000-0000-4000-8000-000000000003', now() - interval '1 hour', now() + interval '1 hour')),
  1, 'it counts as an idle incident of oona');
select tests.authenticate_as_service_role();
select is(public.sweep_idle_chats(), '{"released": 0, "flagged": 0}'::jsonb, 'a second sweep finds nothing');

-- Deactivation still releases with admin ------------------------------------------------------------
select tests.authenticate_as('f3000000-0000-4000-8000-000000000001');
select lives_ok($$update public.operators set is_active = false where id = 'f2000000-0000-4000-8000-000000000002'$$,
  'adam deactivates omar');
select results_eq($$select release_reason from public.chat_assignments
    where chat_id = 'f6000000-0000-4000-8000-000000000003' and operator_id = 'f2000000-0000-4000-8000-000000000002'$$,
  $$values ('admin'::text)$$, 'his chat was released with admin, not operator_offline');

-- presence_timeout is the admins' setting -----------------------------------------------------------
select results_eq($$update public.settings set presence_timeout = interval '20 minutes' returning presence_timeout$$,
  $$values (interval '20 minutes')$$, 'adam changes presence_timeout');
select tests.authenticate_as('f2000000-0000-4000-8000-000000000004');
select is_empty($$update public.settings set presence_timeout = interval '1 day' returning 1$$,
  'an operator cannot change presence_timeout');
select tests.authenticate_as('f1000000-0000-4000-8000-000000000001');
select is_empty($$update public.settings set presence_timeout = interval '1 day' returning 1$$,
  'a real user cannot change presence_timeout');

select * from finish();
rollback;
