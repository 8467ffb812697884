-- Scheduled jobs: pg_cron runs the idle sweeper every minute (an HTTP POST to the idle-sweeper Edge
-- Function with the sweeper's key from Vault, through pg_net) and the auto-close hourly; Vault is
-- not readable through the API; every successful sweep is recorded for admins.
begin;
set local search_path = extensions, public;
select plan(30);
\ir fixtures/helpers.psql

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
delete from vault.secrets where name in ('project_url', 'sweeper_key');
select throws_ok($$select private.invoke_idle_sweeper()$$,
  'PT500', 'sweeper_not_configured', 'without its Vault secrets the job fails loudly');
select vault.create_secret('http://gateway.test:54321/', 'project_url');
select throws_ok($$select private.invoke_idle_sweeper()$$,
  'PT500', 'sweeper_not_configured', 'and so it does with project_url but no sweeper_key');

select vault.create_secret('sb_secret_for_test', 'sweeper_key', 'the idle sweeper''s key');
select isnt((select secret from vault.secrets where name = 'sweeper_key'), 'sb_secret_for_test',
  'Vault stores the key encrypted');
select is((select decrypted_secret from vault.decrypted_secrets where name = 'sweeper_key'), 'sb_secret_for_test',
  'and vault.decrypted_secrets shows it');
select isnt(private.invoke_idle_sweeper(), null::bigint, 'the job queues an HTTP request');
select results_eq(
  $$select method::text, url, headers ->> 'apikey', headers ->> 'Authorization', headers ->> 'Content-Type'
      from net.http_request_queue order by id desc limit 1$$,
  $$values ('POST'::text, 'http://gateway.test:54321/functions/v1/idle-sweeper'::text,
            'sb_secret_for_test'::text, null::text, 'application/json'::text)$$,
  'a POST to <project_url>/functions/v1/idle-sweeper with a secret key in apikey only (it is not a JWT)');

select vault.update_secret(id, 'eyJhbGciOiJIUzI1NiJ9.legacy.service-role') from vault.secrets where name = 'sweeper_key';
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
select throws_ok($$select * from vault.decrypted_secrets$$,
  '42501', 'permission denied for schema vault', 'service_role cannot read the stored keys');
select throws_ok($$select vault.create_secret('x', 'sweeper_key_2')$$,
  '42501', 'permission denied for schema vault', 'nor write one');
select throws_ok($$select private.invoke_idle_sweeper()$$,
  '42501', 'permission denied for schema private', 'nor run the job command');
select tests.authenticate_as('20000000-0000-4000-8000-000000000001');
select throws_ok($$select * from vault.decrypted_secrets$$,
  '42501', 'permission denied for schema vault', 'signed-in users cannot read them');
select tests.authenticate_as_anon();
select throws_ok($$select * from vault.secrets$$,
  '42501', 'permission denied for schema vault', 'anon cannot read them');
select tests.clear_authentication();
select is_empty($$
  select r.rolname, p.privilege_type
    from pg_roles r, unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE']) as p(privilege_type)
   where r.rolname in ('anon', 'authenticated', 'service_role')
     and (has_table_privilege(r.oid, 'vault.secrets', p.privilege_type)
          or has_table_privilege(r.oid, 'vault.decrypted_secrets', p.privilege_type))
  union all
  select r.rolname, 'EXECUTE' from pg_roles r
   where r.rolname in ('anon', 'authenticated', 'service_role')
     and (has_function_privilege(r.oid, 'vault.create_secret(text, text, text, uuid)', 'EXECUTE')
          or has_function_privilege(r.oid, 'vault.update_secret(uuid, text, text, text, uuid)', 'EXECUTE')
          or has_schema_privilege(r.oid, 'vault', 'USAGE'))$$,
  'as on hosted Supabase, no API role has any privilege on Vault');

select * from finish();
rollback;
