-- Routing beyond the oldest chat (SPEC 17): an operator is handed only chats whose profile writes in
-- one of its languages (oldest first); only admins set languages, audited; continuity gives a chat
-- back to the operator who let go of it within settings.continuity_window (edges included), never
-- after an idle_timeout or admin release; long waits are reported once per wait on the admin topic
-- and counted in the dashboard; first_reply_seconds is the median per day.
begin;
set local search_path = extensions, public;
select plan(39);
\ir fixtures/helpers.psql

-- The queue is global: start from no chats at all (seed data included; rolled back at the end).
delete from public.chats;
delete from realtime.messages where topic = 'admin';

-- Fixture (as postgres). Admin adam; real users ruth and rita; operators olga (en, capacity 3),
-- fred (fr, capacity 3), sam (en and fr, capacity 3), dora (de); profiles Eng A, Eng B (en),
-- Fra A, Fra B (fr).
select tests.create_admin('adam');
select tests.create_real_user('ruth', credits => 100);
select tests.create_real_user('rita', credits => 100);
select tests.create_operator('olga', status => 'available', max_concurrent_chats => 3);
select tests.create_operator('fred', status => 'available', max_concurrent_chats => 3);
select tests.create_operator('sam', status => 'available', max_concurrent_chats => 3);
select tests.create_operator('dora', status => 'available', max_concurrent_chats => 3);
update public.operators set languages = '{fr}' where id = tests.get_user_id('fred');
update public.operators set languages = '{en,fr}' where id = tests.get_user_id('sam');
update public.operators set languages = '{de}' where id = tests.get_user_id('dora');
select tests.create_profile('Eng A');
select tests.create_profile('Eng B');
select tests.create_profile('Fra A');
select tests.create_profile('Fra B');
update public.fictional_users set language = 'fr' where name like 'Fra %';
delete from public.admin_actions;  -- the fixture's own changes (as postgres) are audited too

-- Defaults and the columns' rules ---------------------------------------------------------------------
select is((select languages from public.operators where id = tests.get_user_id('olga')), '{en}'::text[],
  'an operator writes English unless an admin says otherwise');
select is((select language from public.fictional_users where name = 'Eng A'), 'en', 'a profile writes English by default');
select is((select (continuity_window, max_wait)::text from public.settings), '(00:15:00,00:02:00)',
  'continuity_window is 15 minutes and max_wait 2 minutes by default');
select throws_ok($$update public.operators set languages = '{}' where id = tests.get_user_id('olga')$$,
  '23514', null, 'an operator writes at least one language');
select throws_ok($$update public.fictional_users set language = 'English' where name = 'Eng A'$$,
  '23514', null, 'a profile''s language is an ISO 639 code');

-- Languages: refusal and order ------------------------------------------------------------------------
select tests.create_real_user('rhea');
insert into public.chats (real_user_id, fictional_user_id, language)
values (tests.get_user_id('rhea'), tests.get_profile_id('Fra A'), 'en');
select is((select language from public.chats where real_user_id = tests.get_user_id('rhea')), 'fr',
  'a new chat takes its profile''s language, whatever the insert says');
delete from public.chats where real_user_id = tests.get_user_id('rhea');
-- Waiting: ruth+Fra A (queued 10 min ago, the oldest), ruth+Eng A (8 min), rita+Fra B (6 min),
-- rita+Eng B (4 min).
select tests.create_chat('ruth', 'Fra A', status => 'waiting', queued_at => now() - interval '10 minutes');
select tests.create_chat('ruth', 'Eng A', status => 'waiting', queued_at => now() - interval '8 minutes');
select tests.create_chat('rita', 'Fra B', status => 'waiting', queued_at => now() - interval '6 minutes');
select tests.create_chat('rita', 'Eng B', status => 'waiting', queued_at => now() - interval '4 minutes');

select tests.authenticate_as('dora');
select is(public.assign_chat_to_operator(), null::uuid,
  'an operator whose languages no waiting chat writes is handed nothing, though chats wait');
select tests.authenticate_as('adam');
select throws_ok($$select public.admin_reassign_chat(tests.get_chat_id('ruth', 'Fra A'), tests.get_user_id('dora'))$$,
  'PT409', 'operator_unavailable', 'an admin cannot hand a French chat to an operator who writes only German');
select is((select count(*)::int from public.chat_assignments where chat_id = tests.get_chat_id('ruth', 'Fra A')), 0,
  'and the chat still waits, held by nobody');
select tests.authenticate_as('olga');
select is(public.assign_chat_to_operator(), tests.get_chat_id('ruth', 'Eng A'),
  'an English operator skips the older French chat and takes the oldest English one');
select tests.authenticate_as('fred');
select is(public.assign_chat_to_operator(), tests.get_chat_id('ruth', 'Fra A'),
  'a French operator takes the oldest French chat');
select tests.authenticate_as('sam');
select is(public.assign_chat_to_operator(), tests.get_chat_id('rita', 'Fra B'),
  'an operator of two languages takes the oldest chat in either');
select tests.authenticate_as('olga');
select is(public.assign_chat_to_operator(), tests.get_chat_id('rita', 'Eng B'), 'then the next English one');
select is(public.assign_chat_to_operator(), null::uuid, 'and nothing once no English chat waits');

-- Only admins set languages, and each change is audited ----------------------------------------------
select tests.authenticate_as('olga');
select throws_ok($$update public.operators set languages = '{en,fr}' where id = tests.get_user_id('olga')$$,
  '42501', 'forbidden', 'an operator cannot change its own languages');
select tests.authenticate_as('adam');
update public.operators set languages = '{en,de}' where id = tests.get_user_id('olga');
update public.fictional_users set language = 'de' where name = 'Eng B';
select results_eq(
  $$select action, target_type, target_id, admin_id, details from public.admin_actions
     where action in ('set_operator_languages', 'set_profile_language') order by action$$,
  $$values ('set_operator_languages'::text, 'operator'::text, tests.get_user_id('olga'), tests.get_user_id('adam'),
            '{"before": ["en"], "after": ["en", "de"]}'::jsonb),
           ('set_profile_language', 'fictional_user', tests.get_profile_id('Eng B'), tests.get_user_id('adam'),
            '{"before": "en", "after": "de"}'::jsonb)$$,
  'an admin sets an operator''s languages and a profile''s language through the Data API, each audited');
select tests.clear_authentication();
update public.operators set languages = '{en}' where id = tests.get_user_id('olga');
update public.fictional_users set language = 'en' where name = 'Eng B';

-- Continuity --------------------------------------------------------------------------------------------
-- Start again: nobody holds anything, and the four chats wait as before.
delete from public.operator_activity;
delete from public.chat_assignments;
update public.chats set status = 'waiting';
-- rita+Eng B (the newest) was olga's until 15 minutes - 1 s ago (completed with the user still waiting).
select tests.assign_chat(tests.get_chat_id('rita', 'Eng B'), 'olga', assigned_at => now() - interval '20 minutes',
  released_at => now() - interval '15 minutes' + interval '1 second', release_reason => 'completed');

select tests.authenticate_as('sam');
select is(public.assign_chat_to_operator(), tests.get_chat_id('ruth', 'Fra A'),
  'another operator is not held off: it takes the oldest eligible chat as before');
select tests.authenticate_as('olga');
select is(public.assign_chat_to_operator(), tests.get_chat_id('rita', 'Eng B'),
  'within the window the previous operator gets its chat back before older ones');
select is(public.assign_chat_to_operator(), tests.get_chat_id('ruth', 'Eng A'),
  'then the oldest eligible chat');

-- The window's edge: released exactly continuity_window ago is outside.
select tests.clear_authentication();
delete from public.operator_activity;
delete from public.chat_assignments;
update public.chats set status = 'waiting';
select tests.assign_chat(tests.get_chat_id('rita', 'Eng B'), 'olga', assigned_at => now() - interval '20 minutes',
  released_at => now() - interval '15 minutes', release_reason => 'completed');
select tests.authenticate_as('olga');
select is(public.assign_chat_to_operator(), tests.get_chat_id('ruth', 'Eng A'),
  'a release exactly continuity_window ago no longer counts: the oldest chat');

-- A shorter window set by an admin; 0 switches continuity off.
select tests.clear_authentication();
delete from public.operator_activity;
delete from public.chat_assignments;
update public.chats set status = 'waiting';
select tests.assign_chat(tests.get_chat_id('rita', 'Eng B'), 'olga', assigned_at => now() - interval '20 minutes',
  released_at => now() - interval '1 minute', release_reason => 'operator_offline');
update public.settings set continuity_window = interval '0';
select tests.authenticate_as('olga');
select is(public.assign_chat_to_operator(), tests.get_chat_id('ruth', 'Eng A'),
  'with continuity_window 0 there is no continuity');
select tests.clear_authentication();
update public.settings set continuity_window = interval '15 minutes';
delete from public.operator_activity;
delete from public.chat_assignments;
update public.chats set status = 'waiting';
select tests.assign_chat(tests.get_chat_id('rita', 'Eng B'), 'olga', assigned_at => now() - interval '20 minutes',
  released_at => now() - interval '1 minute', release_reason => 'operator_offline');
select tests.authenticate_as('olga');
select is(public.assign_chat_to_operator(), tests.get_chat_id('rita', 'Eng B'),
  'an operator back from offline within the window gets its chat back');

-- The idle sweep's and admins' releases keep their rules: no continuity after them.
select tests.clear_authentication();
delete from public.operator_activity;
delete from public.chat_assignments;
update public.chats set status = 'waiting';
select tests.assign_chat(tests.get_chat_id('rita', 'Eng B'), 'olga', assigned_at => now() - interval '20 minutes',
  released_at => now() - interval '1 minute', release_reason => 'idle_timeout');
select tests.authenticate_as('olga');
select is(public.assign_chat_to_operator(), tests.get_chat_id('ruth', 'Eng A'),
  'a chat the idle sweep took away does not go back to the idle operator first');
select tests.clear_authentication();
delete from public.operator_activity;
delete from public.chat_assignments;
update public.chats set status = 'waiting';
select tests.assign_chat(tests.get_chat_id('rita', 'Eng B'), 'olga', assigned_at => now() - interval '20 minutes',
  released_at => now() - interval '1 minute', release_reason => 'admin');
select tests.authenticate_as('olga');
select is(public.assign_chat_to_operator(), tests.get_chat_id('ruth', 'Eng A'),
  'nor a chat an admin took away');

-- Someone held it since: the previous operator is that one.
select tests.clear_authentication();
delete from public.operator_activity;
delete from public.chat_assignments;
update public.chats set status = 'waiting';
select tests.assign_chat(tests.get_chat_id('rita', 'Eng B'), 'olga', assigned_at => now() - interval '20 minutes',
  released_at => now() - interval '10 minutes', release_reason => 'completed');
select tests.assign_chat(tests.get_chat_id('rita', 'Eng B'), 'sam', assigned_at => now() - interval '9 minutes',
  released_at => now() - interval '5 minutes', release_reason => 'completed');
select tests.authenticate_as('olga');
select is(public.assign_chat_to_operator(), tests.get_chat_id('ruth', 'Eng A'),
  'continuity goes to the last holder only (sam held it after olga)');

-- The language still rules: a profile moved to a language the previous operator does not write.
select tests.clear_authentication();
delete from public.operator_activity;
delete from public.chat_assignments;
update public.chats set status = 'waiting';
update public.fictional_users set language = 'de' where name = 'Eng B';
select is((select language from public.chats where id = tests.get_chat_id('rita', 'Eng B')), 'de',
  'a chat''s language follows its profile''s when an admin changes it');
select tests.assign_chat(tests.get_chat_id('rita', 'Eng B'), 'olga', assigned_at => now() - interval '20 minutes',
  released_at => now() - interval '1 minute', release_reason => 'completed');
select tests.authenticate_as('olga');
select is(public.assign_chat_to_operator(), tests.get_chat_id('ruth', 'Eng A'),
  'continuity never hands a chat in a language the operator does not write');
select tests.authenticate_as('dora');
select is(public.assign_chat_to_operator(), tests.get_chat_id('rita', 'Eng B'), '(the German operator takes it)');

-- Capacity still rules: at capacity, no continuity chat either.
select tests.clear_authentication();
update public.operators set max_concurrent_chats = 1 where id = tests.get_user_id('olga');
select tests.authenticate_as('olga');
select throws_ok($$select public.assign_chat_to_operator()$$, 'PT409', 'at_capacity',
  'an operator at capacity is refused, continuity or not');

-- Wait alerts --------------------------------------------------------------------------------------------
-- Now: ruth+Fra A waits (10 min), ruth+Eng A assigned unanswered (8 min), rita+Eng B assigned
-- (4 min); rita+Fra B and a new ruth+Fra C wait under max_wait (30 s, 1 min).
select tests.clear_authentication();
update public.fictional_users set language = 'en' where name = 'Eng B';
select tests.create_profile('Fra C');
select tests.create_chat('ruth', 'Fra C', status => 'waiting', queued_at => now() - interval '1 minute');
update public.chats set queued_at = now() - interval '30 seconds' where id = tests.get_chat_id('rita', 'Fra B');

select is(private.report_long_waits(), 3, 'every chat waiting longer than max_wait is reported (assigned unanswered too)');
select results_eq(
  $$select (payload ->> 'chat_id')::uuid from realtime.messages
     where topic = 'admin' and event = 'wait_alert' order by payload ->> 'queued_at'$$,
  $$values (tests.get_chat_id('ruth', 'Fra A')), (tests.get_chat_id('ruth', 'Eng A')), (tests.get_chat_id('rita', 'Eng B'))$$,
  'the wait_alert events on the admin topic name the chats, oldest wait first');
select is((select array_agg(k order by k) from realtime.messages, jsonb_object_keys(payload) k
            where topic = 'admin' and event = 'wait_alert' and payload ->> 'chat_id' = tests.get_chat_id('ruth', 'Fra A')::text),
  array['chat_id', 'fictional_user_id', 'id', 'language', 'max_wait_seconds', 'queued_at', 'status', 'waited_seconds'],
  'a wait_alert names the chat, its wait and the profile''s language, and no operator');
select is(private.report_long_waits(), 0, 'a wait is reported once, however often the job runs');
select is((select schedule || ' ' || command from cron.job where jobname = 'wait-alerts'),
  '* * * * * select private.report_long_waits()', 'the wait-alerts cron job runs the report every minute');
-- The chat is released and requeued: the same wait (queued_at kept), no new alert. Answered, then a
-- new message: a new wait, alerted again.
update public.chats set queued_at = now() - interval '3 minutes' where id = tests.get_chat_id('rita', 'Eng B');
select is(private.report_long_waits(), 1, 'a new wait of the same chat is reported again');

-- The dashboard ---------------------------------------------------------------------------------------
-- Replies today (fred's, in rita+Fra B, inserted as postgres): waits of 60, 120 and 600 seconds (first replies), plus a second reply
-- that answers nothing. p95 of (60, 120, 600) = 120 + 0.9 * 480 = 552.
insert into public.messages (chat_id, sender_type, content, created_at)
select tests.get_chat_id('rita', 'Fra B'), t, c, now() - interval '1 second' * s
  from (values ('real', 'q1', 900), ('fictional', 'a1', 840), ('real', 'q2', 800), ('fictional', 'a2', 680),
               ('fictional', 'a2b', 670), ('real', 'q3', 660), ('fictional', 'a3', 60)) v(t, c, s);
insert into public.message_authors (message_id, operator_id)
select m.id, tests.get_user_id('fred') from public.messages m
 where m.chat_id = tests.get_chat_id('rita', 'Fra B') and m.sender_type = 'fictional';
select tests.authenticate_as('adam');
select is((public.get_admin_dashboard() -> 'waiting_over_max')::int, 3,
  'waiting_over_max counts the chats whose user waits longer than max_wait (waiting or assigned)');
select is((public.get_admin_dashboard() ->> 'p95_first_reply_seconds_today')::numeric, 552.00,
  'p95_first_reply_seconds_today is the 95th percentile of today''s first-reply waits');

-- Median first reply per day ------------------------------------------------------------------------
select is((public.get_operator_performance_stats(tests.get_user_id('fred'), 1) ->> 'first_reply_seconds')::numeric,
  120.00, 'first_reply_seconds is the median of the operator''s first-reply waits (60, 120, 600)');
select is((public.update_operator_stats(tests.get_user_id('fred'))).first_reply_seconds, 120.00,
  'and operator_stats keeps it per day');

select * from finish();
rollback;
