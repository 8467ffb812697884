-- Scheduled jobs: pg_cron runs the idle sweeper every minute (an HTTP POST to the idle-sweeper Edge
-- Function with the sweeper's key, through pg_net) and the auto-close hourly; the key store is not
-- readable through the API; every successful sweep is recorded for admins.
begin;
set local search_path = extensions, public;
select plan(25);
\ir fixtures/authenticate.psql

select has_extension('pg_cron', 'pg_cron is installed');
select results_eq(
  $$select schedule, command, active from cron.job where jobname = 'idle-sweeper'$$,
  $$values ('* * * * *'::text, 'select private.invoke_idle_sweeper()'::text, true)$$,
  'idle-sweeper runs every minute');
select results_eq(
  $$select schedule, command, active from cron.job where jobname = 'auto-close-inactive-chats'$$,
  $$values ('0 * * * *'::text, 'select private.close_inactive_chats()'::text, true)$$,
  'auto-close-inactive-chats runs hourly');
select results_eq(
  $$select schedule, command, active from cron.job where jobname = 'operator-stats-rollup'$$,
  $$values ('15 * * * *'::text, 'select private.rollup_operator_stats()'::text, true)$$,
  'operator-stats-rollup runs hourly');
select is((select count(*)::integer from cron.job where jobname = 'idle-sweeper'), 1, 'each job exists once (upserted by name)');
select is((select username from cron.job where jobname = 'idle-sweeper'), 'postgres', 'the jobs run as postgres');
select has_function('net', 'http_post', array['text', 'jsonb', 'jsonb', 'jsonb', 'integer'],
  'net.http_post (pg_net or the local stand-in) is there for the idle-sweeper job');

-- The idle-sweeper command ---------------------------------------------------------------------------------------------
update private.cron_settings set project_url = null, sweeper_key = null;
select throws_ok($$select private.invoke_idle_sweeper()$$,
  'PT500', 'sweeper_not_configured', 'without a configured target the job fails loudly');

update private.cron_settings set project_url = 'http://gateway.test:54321/', sweeper_key = 'sb_secret_for_test';
select isnt(private.invoke_idle_sweeper(), null::bigint, 'the job queues an HTTP request');
select results_eq(
  $$select method::text, url, headers ->> 'apikey', headers ->> 'Authorization', headers ->> 'Content-Type'
      from net.http_request_queue order by id desc limit 1$$,
  $$values ('POST'::text, 'http://gateway.test:54321/functions/v1/idle-sweeper'::text,
            'sb_secret_for_test'::text, null::text, 'application/json'::text)$$,
  'a POST to <project_url>/functions/v1/idle-sweeper with a secret key in apikey only (it is not a JWT)');

update private.cron_settings set sweeper_key = 'eyJhbGciOiJIUzI1NiJ9.legacy.service-role';
select isnt(private.invoke_idle_sweeper(), null::bigint, 'the job queues an HTTP request with a legacy key');
select results_eq(
  $$select headers ->> 'apikey', headers ->> 'Authorization' from net.http_request_queue order by id desc limit 1$$,
  $$values ('eyJhbGciOiJIUzI1NiJ9.legacy.service-role'::text, 'Bearer eyJhbGciOiJIUzI1NiJ9.legacy.service-role'::text)$$,
  'a legacy service-role JWT also goes as the bearer token');

-- The sweep's health record --------------------------------------------------------------------------------------------
update public.sweeper_status set last_success_at = null, runs = 0;
select lives_ok($$select public.sweep_idle_chats()$$, 'a sweep by a trusted caller runs');
select results_eq(
  $$select last_success_at = now(), runs from public.sweeper_status$$,
  $$values (true, 1::bigint)$$,
  'and records its success in sweeper_status');
select tests.authenticate_as('55555555-5555-4555-8555-555555555555');
select results_eq($$select runs from public.sweeper_status$$, $$values (1::bigint)$$, 'an admin reads the sweeper status');
select throws_ok($$update public.sweeper_status set runs = 0$$, '42501', null, 'but cannot change it');
select tests.authenticate_as('11111111-1111-4111-8111-111111111111');
select is_empty($$select * from public.sweeper_status$$, 'a real user reads nothing of it');
select tests.authenticate_as('33333333-3333-4333-8333-333333333333');
select is_empty($$select * from public.sweeper_status$$, 'nor does an operator');
select tests.authenticate_as_anon();
select throws_ok($$select * from public.sweeper_status$$, '42501', null, 'anon has no access at all');
select tests.clear_authentication();

-- Realtime -------------------------------------------------------------------------------------------------------------
select is(
  (select string_agg(tablename::text, ',' order by tablename::text) from pg_publication_tables
    where pubname = 'supabase_realtime'),
  'chats,messages',
  'chats and messages are in the supabase_realtime publication');
select is_empty(
  $$select attname from pg_publication_tables t, unnest(t.attnames) as attname
     where t.pubname = 'supabase_realtime' and attname ilike '%operator%'$$,
  'no published column names an operator');

-- The key store --------------------------------------------------------------------------------------------------------
select tests.authenticate_as_service_role();
select throws_ok($$select * from private.cron_settings$$,
  '42501', 'permission denied for schema private', 'service_role cannot read the stored key');
select throws_ok($$select private.invoke_idle_sweeper()$$,
  '42501', 'permission denied for schema private', 'nor run the job command');
select tests.authenticate_as('20000000-0000-4000-8000-000000000001');
select throws_ok($$select * from private.cron_settings$$,
  '42501', 'permission denied for schema private', 'signed-in users cannot read it');
select tests.authenticate_as_anon();
select throws_ok($$select * from private.cron_settings$$,
  '42501', 'permission denied for schema private', 'anon cannot read it');

select * from finish();
rollback;
