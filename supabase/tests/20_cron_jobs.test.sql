-- Scheduled jobs: pg_cron runs the idle sweeper every minute (an HTTP POST to the idle-sweeper Edge
-- Function with the service-role key, through pg_net) and the auto-close hourly; the key store is not
-- readable through the API.
begin;
set local search_path = extensions, public;
select plan(14);

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
update private.cron_settings set project_url = null, service_role_key = null;
select throws_like($$select private.invoke_idle_sweeper()$$,
  'idle-sweeper target not configured%', 'without a configured target the job fails loudly');

update private.cron_settings set project_url = 'http://gateway.test:54321/', service_role_key = 'service-key-for-test';
select isnt(private.invoke_idle_sweeper(), null::bigint, 'the job queues an HTTP request');
select results_eq(
  $$select method::text, url, headers ->> 'Authorization', headers ->> 'Content-Type'
      from net.http_request_queue order by id desc limit 1$$,
  $$values ('POST'::text, 'http://gateway.test:54321/functions/v1/idle-sweeper'::text,
            'Bearer service-key-for-test'::text, 'application/json'::text)$$,
  'a POST to <project_url>/functions/v1/idle-sweeper with the service-role key');

-- The key store --------------------------------------------------------------------------------------------------------
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
select throws_ok($$select * from private.cron_settings$$,
  '42501', 'permission denied for schema private', 'service_role cannot read the stored key');
select throws_ok($$select private.invoke_idle_sweeper()$$,
  '42501', 'permission denied for schema private', 'nor run the job command');
set local role authenticated;
set local request.jwt.claims = '{"sub":"20000000-0000-4000-8000-000000000001","role":"authenticated"}';
select throws_ok($$select * from private.cron_settings$$,
  '42501', 'permission denied for schema private', 'signed-in users cannot read it');
set local role anon;
set local request.jwt.claims = '{"role":"anon"}';
select throws_ok($$select * from private.cron_settings$$,
  '42501', 'permission denied for schema private', 'anon cannot read it');

select * from finish();
rollback;
