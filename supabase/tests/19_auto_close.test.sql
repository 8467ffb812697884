-- The hourly auto-close (private.close_inactive_chats): every chat with no message for
-- settings.inactivity_timeout (24 hours) is closed with close_reason inactivity, held ones included;
-- fresh and already closed chats are untouched; nothing is refunded; not callable through the API.
begin;
set local search_path = extensions, public;
select plan(12);
\ir fixtures/helpers.psql

-- The queue is global: start from no chats at all (seed data included; rolled back at the end).
delete from public.chats;

-- Fixture (as postgres). Real user rosa (credits 9); operator olga. Chats cN = rosa+'Nineteen N':
--   c1 idle, last message 25 h ago          c2 held by olga, last message 25 h ago
--   c3 waiting, last message 23 h ago       c4 never written to, created 25 h ago
--   c5 never written to, created just now   c6 closed by rosa 30 h ago, last message 2 days ago
select tests.create_operator('olga', status => 'available');
select tests.create_real_user('rosa', credits => 9);
select tests.create_profile('Nineteen ' || n) from generate_series(1, 6) n;
select tests.create_chat('rosa', 'Nineteen 1', last_message_at => now() - interval '25 hours', message_count => 4,
                         created_at => now() - interval '3 days');
select tests.create_chat('rosa', 'Nineteen 2', status => 'assigned', queued_at => now() - interval '25 hours',
                         last_message_at => now() - interval '25 hours', message_count => 2,
                         created_at => now() - interval '3 days');
select tests.create_chat('rosa', 'Nineteen 3', status => 'waiting', queued_at => now() - interval '23 hours',
                         last_message_at => now() - interval '23 hours', message_count => 1,
                         created_at => now() - interval '3 days');
select tests.create_chat('rosa', 'Nineteen 4', created_at => now() - interval '25 hours');
select tests.create_chat('rosa', 'Nineteen 5');
select tests.create_chat('rosa', 'Nineteen 6', status => 'closed', last_message_at => now() - interval '2 days',
                         message_count => 3, created_at => now() - interval '3 days',
                         closed_at => now() - interval '30 hours', close_reason => 'user');
select tests.assign_chat(tests.get_chat_id('rosa', 'Nineteen 2'), 'olga', assigned_at => now() - interval '25 hours',
                         last_activity_at => now() - interval '1 minute');

-- Not through the API ---------------------------------------------------------------------------------------------------
select tests.authenticate_as('rosa');
select throws_ok($$select private.close_inactive_chats()$$,
  '42501', 'permission denied for schema private', 'a signed-in user cannot run the auto-close');
select tests.authenticate_as_service_role();
select throws_ok($$select private.close_inactive_chats()$$,
  '42501', 'permission denied for schema private', 'nor can service_role through the API');

-- The job (as postgres, like pg_cron) ---------------------------------------------------------------------------------
select tests.clear_authentication();
select is(private.close_inactive_chats(), 3, 'three chats had no message for 24 hours');
select bag_eq(
  $$select id, status, close_reason from public.chats where real_user_id = tests.get_user_id('rosa')$$,
  $$values (tests.get_chat_id('rosa', 'Nineteen 1'), 'closed'::text, 'inactivity'::text),
           (tests.get_chat_id('rosa', 'Nineteen 2'), 'closed', 'inactivity'),
           (tests.get_chat_id('rosa', 'Nineteen 3'), 'waiting', null),
           (tests.get_chat_id('rosa', 'Nineteen 4'), 'closed', 'inactivity'),
           (tests.get_chat_id('rosa', 'Nineteen 5'), 'idle', null),
           (tests.get_chat_id('rosa', 'Nineteen 6'), 'closed', 'user')$$,
  'idle, held and never-written chats over 24 hours close with inactivity; fresh and closed ones are untouched');
select results_eq(
  $$select closed_at from public.chats
     where id in (tests.get_chat_id('rosa', 'Nineteen 1'), tests.get_chat_id('rosa', 'Nineteen 2'),
                  tests.get_chat_id('rosa', 'Nineteen 4'))$$,
  $$values (now()), (now()), (now())$$,
  'closed_at is the time of the run');
select is((select closed_at from public.chats where id = tests.get_chat_id('rosa', 'Nineteen 6')),
  now() - interval '30 hours', 'an already closed chat keeps its closed_at');
select results_eq(
  $$select released_at, release_reason from public.chat_assignments where chat_id = tests.get_chat_id('rosa', 'Nineteen 2')$$,
  $$values (now(), 'chat_closed'::text)$$,
  'the held chat''s assignment ends with chat_closed');
select is_empty($$select 1 from public.operator_activity where chat_id = tests.get_chat_id('rosa', 'Nineteen 2')$$,
  'and its activity row is removed');
select is((select credits from public.real_users where id = tests.get_user_id('rosa')), 9,
  'closing never refunds (nor charges)');
select is(private.close_inactive_chats(), 0, 'a second run closes nothing more');

-- The timeout comes from the settings row -----------------------------------------------------------------------------
update public.settings set inactivity_timeout = interval '22 hours';
select is(private.close_inactive_chats(), 1, 'with a 22-hour timeout the 23-hour-old waiting chat closes too');
select is((select status from public.chats where id = tests.get_chat_id('rosa', 'Nineteen 3')), 'closed',
  'a waiting chat can be closed for inactivity');

select * from finish();
rollback;
