-- Operator presence: an operator that sets itself offline keeps no chat (each released with
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
delete from public.chats where real_user_id not in (tests.get_user_id('alice'), tests.get_user_id('bob'));
select tests.create_chat('alice', 'Test Fd', status => 'assigned', queued_at => now() - interval '7 minutes');
select tests.create_chat('bob', 'Test Fd', status => 'assigned', queued_at => now() - interval '4 minutes');
select tests.create_operator('oona', status => 'available', max_concurrent_chats => 2, last_activity_at => now() - interval '15 minutes');
select tests.create_operator('otto', status => 'available', max_concurrent_chats => 2, last_activity_at => now() - interval '2 minutes');
select tests.assign_chat(tests.get_chat_id('alice', 'Test Fd'), 'olga', assigned_at => now() - interval '6 minutes');
select tests.assign_chat(tests.get_chat_id('bob', 'Test Fd'), 'oona', assigned_at => now() - interval '4 minutes', last_activity_at => now() - interval '3 minutes');

select col_default_is('public', 'settings', 'presence_timeout', '00:10:00'::interval::text,
  'presence_timeout defaults to 10 minutes');

-- busy keeps its chats ---------------------------------------------------------------------------------
select tests.authenticate_as('omar');
select lives_ok($$update public.operators set status = 'available' where id = tests.get_user_id('omar')$$,
  'omar goes available');
select is((select last_activity_at from public.operators where id = tests.get_user_id('omar')), now(),
  'going available is a sign of life');
select lives_ok($$update public.operators set status = 'busy' where id = tests.get_user_id('omar')$$,
  'omar goes busy');
select results_eq($$select status from public.chats where id = tests.get_chat_id('bob', 'Test Fa')$$,
  $$values ('assigned'::text)$$, 'a busy operator keeps its chat');
select results_eq($$select chat_id from public.chat_assignments where operator_id = tests.get_user_id('omar') and released_at is null$$,
  $$values (tests.get_chat_id('bob', 'Test Fa'))$$, 'and still holds it');
select throws_ok($$select public.assign_chat_to_operator(tests.get_user_id('omar'))$$,
  'PT409', 'operator_unavailable', 'but takes no new one');

-- offline releases every chat with operator_offline --------------------------------------------------
select tests.authenticate_as('olga');
select lives_ok($$update public.operators set status = 'offline' where id = tests.get_user_id('olga')$$,
  'olga sets herself offline');
select tests.clear_authentication();
select results_eq(
  $$select id, status, queued_at, reassignment_count from public.chats
     where id in (tests.get_chat_id('alice', 'Test Fa'), tests.get_chat_id('alice', 'Test Fd')) order by id$$,
  $$values (tests.get_chat_id('alice', 'Test Fa'), 'idle'::text, null::timestamptz, 1),
           (tests.get_chat_id('alice', 'Test Fd'), 'waiting'::text, now() - interval '7 minutes', 1)$$,
  'her answered chat is idle, the unanswered one waits again in its old place; both count a reassignment');
select results_eq(
  $$select chat_id, release_reason from public.chat_assignments
     where operator_id = tests.get_user_id('olga') and released_at = now() order by chat_id$$,
  $$values (tests.get_chat_id('alice', 'Test Fa'), 'operator_offline'::text),
           (tests.get_chat_id('alice', 'Test Fd'), 'operator_offline'::text)$$,
  'both assignments ended with operator_offline');
select is((select count(*)::int from public.operator_activity where operator_id = tests.get_user_id('olga')), 0,
  'olga keeps no activity row');
select tests.authenticate_as('olga');
select is_empty($$select 1 from public.chats$$, 'olga reads none of those chats any more');
select lives_ok($$update public.operators set status = 'offline', name = 'Olga Off' where id = tests.get_user_id('olga')$$,
  'going offline again with nothing held is harmless');

-- The sweep sets silent available operators offline ---------------------------------------------------
select tests.authenticate_as_service_role();
select is(public.sweep_idle_chats(), '{"released": 1, "flagged": 0}'::jsonb,
  'the sweep releases the chat of the silent operator (its own activity is fresher than idle_timeout)');
select tests.clear_authentication();
select bag_eq($$select id, status from public.operators
    where id in (tests.get_user_id('olga'), tests.get_user_id('omar'), tests.get_user_id('oona'), tests.get_user_id('otto'))$$,
  $$values (tests.get_user_id('olga'), 'offline'::text),
           (tests.get_user_id('omar'), 'busy'::text),
           (tests.get_user_id('oona'), 'offline'::text),
           (tests.get_user_id('otto'), 'available'::text)$$,
  'oona, silent for 15 minutes, is offline; otto, seen 2 minutes ago, is still available; busy omar is left alone');
select results_eq(
  $$select release_reason from public.chat_assignments where chat_id = tests.get_chat_id('bob', 'Test Fd')$$,
  $$values ('idle_timeout'::text)$$, 'oona''s chat was released with idle_timeout');
select results_eq($$select status, queued_at from public.chats where id = tests.get_chat_id('bob', 'Test Fd')$$,
  $$values ('waiting'::text, now() - interval '4 minutes')$$, 'back in the queue in its place');
select is((select idle_incidents from private.operator_stats_between(tests.get_user_id('oona'), now() - interval '1 hour', now() + interval '1 hour')),
  1, 'it counts as an idle incident of oona');
select tests.authenticate_as_service_role();
select is(public.sweep_idle_chats(), '{"released": 0, "flagged": 0}'::jsonb, 'a second sweep finds nothing');

-- Deactivation still releases with admin ------------------------------------------------------------
select tests.authenticate_as('adam');
select lives_ok($$update public.operators set is_active = false where id = tests.get_user_id('omar')$$,
  'adam deactivates omar');
select results_eq($$select release_reason from public.chat_assignments
    where chat_id = tests.get_chat_id('bob', 'Test Fa') and operator_id = tests.get_user_id('omar')$$,
  $$values ('admin'::text)$$, 'his chat was released with admin, not operator_offline');

-- presence_timeout is the admins' setting -----------------------------------------------------------
select results_eq($$update public.settings set presence_timeout = interval '20 minutes' returning presence_timeout$$,
  $$values (interval '20 minutes')$$, 'adam changes presence_timeout');
select tests.authenticate_as('otto');
select is_empty($$update public.settings set presence_timeout = interval '1 day' returning 1$$,
  'an operator cannot change presence_timeout');
select tests.authenticate_as('alice');
select is_empty($$update public.settings set presence_timeout = interval '1 day' returning 1$$,
  'a real user cannot change presence_timeout');

select * from finish();
rollback;
