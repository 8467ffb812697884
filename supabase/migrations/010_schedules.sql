-- Fantooo: scheduled jobs (docs/rules.md, docs/lifecycle.md and docs/functions.md).
--
--   idle-sweeper               every minute   POST <project_url>/functions/v1/idle-sweeper with the
--                                             sweeper's key (the Edge Function calls
--                                             public.sweep_idle_chats and reports the duration)
--   sweep-watch                every minute   private.report_failing_sweep(): an idle sweep that has
--                                             not succeeded for three minutes, on the admin topic
--   wait-alerts                every minute   private.report_long_waits(): each real user waiting for a
--                                             reply longer than settings.max_wait, once per wait, on
--                                             the admin topic (wait_alert)
--   auto-close-inactive-chats  hourly         private.close_inactive_chats() (close_reason inactivity)
--   operator-stats-rollup      hourly (:15)   private.rollup_operator_stats(): today's and
--                                             yesterday's operator_stats rows
--   reconcile-payments         every 5 min    POST <project_url>/functions/v1/reconcile-payments with
--                                             the reconciler's key (pending payments checked with
--                                             Paystack: public.settle_payment)
--
-- The project URL and the keys come from Vault, in every environment (vault.decrypted_secrets
-- 'project_url', 'sweeper_key' and 'reconcile_key', a secret key `sb_secret_…` or, on a legacy
-- project, the service-role JWT): hosted projects have Vault, the local bootstrap a stand-in with its
-- objects, and the local stack writes the secrets. Every successful sweep is recorded in
-- public.sweeper_status and every reconciliation in public.payment_reconciliation_runs, so a job
-- that keeps failing (a rotated key answered 401) shows there and is reported on the admin topic.
-- cron.schedule upserts by job name, so re-running this file is harmless.

-- Extensions ---------------------------------------------------------------------------------------

create extension if not exists pg_cron with schema pg_catalog;

-- pg_net where the server has it (Supabase); elsewhere the local stack provides a stand-in `net`
-- schema with the same net.http_post signature.
do $$
begin
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net with schema extensions;
  end if;
end
$$;

-- Calling Edge Functions ---------------------------------------------------------------------------

-- Queues, through pg_net, POST <project_url>/functions/v1/<p_function> with the key stored in Vault
-- under p_key_secret in `apikey` (and, for a legacy JWT key, also as `Authorization: Bearer`).
-- project_url and the key are read from vault.decrypted_secrets, the only place they are kept.
-- Returns the pg_net request id, or null when either secret is missing (the caller raises).
-- Called by the cron job commands, as postgres.
create function private.invoke_edge_function(
  p_function text,
  p_key_secret text,
  p_timeout_milliseconds integer default 5000
)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_url text;
  v_key text;
  v_headers jsonb;
begin
  select max(s.decrypted_secret) filter (where s.name = 'project_url'),
         max(s.decrypted_secret) filter (where s.name = p_key_secret)
    into v_url, v_key
    from vault.decrypted_secrets s
   where s.name in ('project_url', p_key_secret);
  if v_url is null or v_key is null then
    return null;
  end if;

  v_headers := jsonb_build_object('Content-Type', 'application/json', 'apikey', v_key);
  if v_key not like 'sb\_%' then
    v_headers := v_headers || jsonb_build_object('Authorization', 'Bearer ' || v_key);
  end if;
  return net.http_post(
    url := rtrim(v_url, '/') || '/functions/v1/' || p_function,
    body := '{}'::jsonb,
    headers := v_headers,
    timeout_milliseconds := p_timeout_milliseconds
  );
end;
$$;

-- Queues the HTTP call that runs the idle sweep: POST <project_url>/functions/v1/idle-sweeper with
-- the Vault secret sweeper_key (private.invoke_edge_function). Raises sweeper_not_configured (the
-- cron run is then recorded as failed) when Vault lacks project_url or sweeper_key. Returns the
-- pg_net request id. Called by the idle-sweeper job as postgres.
create function private.invoke_idle_sweeper()
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_request bigint := private.invoke_edge_function('idle-sweeper', 'sweeper_key');
begin
  if v_request is null then
    perform errors.raise_error('sweeper_not_configured');
  end if;
  return v_request;
end;
$$;

-- Queues the HTTP call that runs a reconciliation: POST <project_url>/functions/v1/reconcile-payments
-- with the Vault secret reconcile_key (private.invoke_edge_function), after reporting a
-- reconciliation that has stopped recording runs. Raises reconciler_not_configured (the cron run is
-- then recorded as failed) when Vault lacks project_url or reconcile_key. Returns the pg_net request
-- id. Called by the reconcile-payments job as postgres.
create function private.invoke_reconcile_payments()
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_request bigint;
begin
  perform private.report_failing_reconciliation();
  v_request := private.invoke_edge_function('reconcile-payments', 'reconcile_key', 60000);
  if v_request is null then
    perform errors.raise_error('reconciler_not_configured');
  end if;
  return v_request;
end;
$$;

revoke all on function private.invoke_edge_function(text, text, integer), private.invoke_idle_sweeper(), private.invoke_reconcile_payments() from public, anon, authenticated, service_role;

-- The jobs -----------------------------------------------------------------------------------------

select cron.schedule('idle-sweeper', '* * * * *', 'select private.invoke_idle_sweeper()');
select cron.schedule('sweep-watch', '* * * * *', 'select private.report_failing_sweep()');
select cron.schedule('wait-alerts', '* * * * *', 'select private.report_long_waits()');
select cron.schedule('auto-close-inactive-chats', '0 * * * *', 'select private.close_inactive_chats()');
select cron.schedule('operator-stats-rollup', '15 * * * *', 'select private.rollup_operator_stats()');
select cron.schedule('reconcile-payments', '*/5 * * * *', 'select private.invoke_reconcile_payments()');
