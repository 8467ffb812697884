-- Payments never stay pending (SPEC 16; docs/functions.md "reconcile-payments", docs/rules.md).
--
-- A declined card sends no webhook, and a webhook can be lost, so a transaction could stay pending
-- forever. Every 5 minutes pg_cron calls the reconcile-payments Edge Function (through pg_net, with
-- the Vault secrets project_url and reconcile_key, like the idle sweeper). The function takes the
-- transactions pending for more than 10 minutes, oldest first, at most 100
-- (public.payments_to_reconcile), asks Paystack's transaction/verify about each and settles it with
-- public.settle_payment, which credits through the webhook's own apply_paystack_event (exactly
-- once: a later webhook is a duplicate) or marks the transaction failed (Paystack says failed,
-- abandoned or reversed, does not know the reference, or it is still pending after 24 hours). Each
-- run is recorded in public.payment_reconciliation_runs (admins read it) by
-- public.record_reconciliation_run; three failing runs in a row, or no run recorded for 20 minutes,
-- are reported once per failing streak on the admin Realtime topic (reconciliation_failing).
--
-- A failed transaction is no longer pending, so it no longer counts toward the 10 pending checkouts
-- per hour (015's start_checkout); credits-checkout/verify settles it too as soon as Paystack says
-- failed. A failed transaction is still credited if Paystack later reports it paid (010).
--
-- Security model as in 013: the RPCs are security invoker wrappers in public over security definer
-- bodies in api_private, executable by service_role only; the cron side is private (postgres).

insert into errors.catalogue (code, sqlstate, http_status, message) values
  ('reconciler_not_configured', 'PT500', 500,
   'The reconcile-payments target is not configured: set the Vault secrets project_url and reconcile_key.');

-- The pending transactions the reconciliation reads, oldest first.
create index idx_transactions_pending_created_at on public.transactions (created_at, id)
  where status = 'pending';

-- The record of each run -----------------------------------------------------------------------------

create table public.payment_reconciliation_runs (
  id bigint generated always as identity primary key,
  started_at timestamptz not null,
  finished_at timestamptz not null default now(),
  checked integer not null default 0 check (checked >= 0),
  credited integer not null default 0 check (credited >= 0),
  failed integer not null default 0 check (failed >= 0),
  errors integer not null default 0 check (errors >= 0),
  error_detail jsonb not null default '[]'::jsonb check (jsonb_typeof(error_detail) = 'array'),
  created_at timestamptz not null default now()
);
comment on table public.payment_reconciliation_runs is
  'One row per run of reconcile-payments (every 5 minutes): how many pending transactions it checked '
  'with Paystack, credited, marked failed, and the errors it met. Admins read it; runs with errors '
  'three times in a row are reported on the admin Realtime topic (reconciliation_failing).';
comment on column public.payment_reconciliation_runs.checked is
  'Transactions Paystack answered about (credited, failed, or still pending within their window).';
comment on column public.payment_reconciliation_runs.errors is
  'Transactions, or the run itself, that could not be settled (Paystack down, refusing, or answering '
  'nonsense): they stay pending for the next run. error_detail lists them: {reference?, code, message}.';

create index idx_payment_reconciliation_runs_clean on public.payment_reconciliation_runs (id)
  where errors = 0;

alter table public.payment_reconciliation_runs enable row level security;
revoke all on table public.payment_reconciliation_runs from public, anon, authenticated, service_role;
grant select on table public.payment_reconciliation_runs to authenticated;
grant select, insert, update, delete on table public.payment_reconciliation_runs to service_role;
create policy "admins read payment reconciliation runs" on public.payment_reconciliation_runs
  for select to authenticated
  using ((select api_private.is_admin()));

-- The last failing streak that was reported (one alert per streak).
create table private.reconciliation_alerts (
  id boolean primary key default true check (id),
  reported_clean_run bigint,
  reported_at timestamptz,
  created_at timestamptz not null default now()
);
insert into private.reconciliation_alerts (id) values (true);
revoke all on table private.reconciliation_alerts from public, anon, authenticated, service_role;

-- Functions ------------------------------------------------------------------------------------------

-- The references of the transactions pending for more than 10 minutes, oldest first, at most
-- p_limit (1 to 100). Called through public.payments_to_reconcile by service_role.
create or replace function api_private.payments_to_reconcile(p_limit integer)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(jsonb_agg(p.reference order by p.created_at, p.id), '[]'::jsonb)
    from (select t.reference, t.created_at, t.id
            from public.transactions t
           where t.status = 'pending' and t.created_at < now() - interval '10 minutes'
           order by t.created_at, t.id
           limit least(greatest(coalesce(p_limit, 100), 1), 100)) p;
$$;

-- The references reconcile-payments checks next. See api_private.payments_to_reconcile.
-- service_role only.
create or replace function public.payments_to_reconcile(p_limit integer default 100)
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select api_private.payments_to_reconcile(p_limit);
$$;

-- Settles one transaction from what Paystack's transaction/verify says about it (p_transaction, its
-- `data`; null when Paystack answered that it knows no such reference), under a row lock on it:
--   * status success: credited through public.apply_paystack_event('charge.success', …, 'verify'),
--     the webhook's SQL, so it is credited exactly once whichever of the webhook, a verify call and
--     a reconciliation comes first (the others are duplicates); amount and currency are checked there;
--   * failed or reversed: marked failed (failure_reason paystack_<status>);
--   * abandoned (nobody paid yet), or no such reference at Paystack: marked failed once the
--     transaction is more than 10 minutes old;
--   * anything else (Paystack still processing): marked failed (failure_reason expired) once it is
--     more than 24 hours old, else left pending.
-- Only a pending transaction is marked failed; a settled one is never changed here.
-- Returns {reference, outcome, status, credits_granted}: outcome is apply_paystack_event's outcome on
-- success, else failed, pending or already_settled (unknown_reference when we have no such
-- transaction). Called through public.settle_payment by service_role (reconcile-payments,
-- credits-checkout/verify).
create or replace function api_private.settle_payment(p_reference text, p_transaction jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_tx public.transactions%rowtype;
  v_paystack text := lower(p_transaction ->> 'status');
  v_reason text;
  v_result jsonb;
begin
  select * into v_tx from public.transactions t where t.reference = p_reference for update;
  if not found then
    return jsonb_build_object('reference', p_reference, 'outcome', 'unknown_reference', 'status', null,
                              'credits_granted', 0);
  end if;

  if v_paystack = 'success' then
    v_result := public.apply_paystack_event(
      'charge.success', jsonb_build_object('event', 'charge.success', 'data', p_transaction), p_reference, 'verify');
    return jsonb_build_object('reference', p_reference, 'outcome', v_result ->> 'outcome',
                              'status', v_result ->> 'status', 'credits_granted', (v_result ->> 'credits_granted')::integer);
  end if;

  if v_tx.status <> 'pending' then
    return jsonb_build_object('reference', p_reference, 'outcome', 'already_settled', 'status', v_tx.status,
                              'credits_granted', 0);
  end if;

  v_reason := case
    when p_transaction is null and v_tx.created_at < now() - interval '10 minutes' then 'paystack_not_found'
    when p_transaction is null then null
    when v_paystack in ('failed', 'reversed') then 'paystack_' || v_paystack
    when v_paystack = 'abandoned' and v_tx.created_at < now() - interval '10 minutes' then 'paystack_abandoned'
    when v_tx.created_at < now() - interval '24 hours' then 'expired'
  end;
  if v_reason is null then
    return jsonb_build_object('reference', p_reference, 'outcome', 'pending', 'status', 'pending',
                              'credits_granted', 0);
  end if;

  update public.transactions t
     set status = 'failed', failure_reason = v_reason
   where t.id = v_tx.id;
  return jsonb_build_object('reference', p_reference, 'outcome', 'failed', 'status', 'failed',
                            'credits_granted', 0);
end;
$$;

-- Settles one transaction from Paystack's verify answer. See api_private.settle_payment.
-- service_role only.
create or replace function public.settle_payment(p_reference text, p_transaction jsonb)
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select api_private.settle_payment(p_reference, p_transaction);
$$;

-- Reports on the admin topic, once per failing streak, a reconciliation that keeps failing: the
-- last three recorded runs had errors, or no run has been recorded for 20 minutes (a rotated
-- reconcile_key answered 401, the function down). A streak ends with the next run without errors.
-- Returns true when it sent the alert (realtime.send, event reconciliation_failing). Called by
-- api_private.record_reconciliation_run and by the reconcile-payments cron job, as postgres.
create or replace function private.report_failing_reconciliation()
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  v_alert private.reconciliation_alerts%rowtype;
  v_clean public.payment_reconciliation_runs%rowtype;
  v_last public.payment_reconciliation_runs%rowtype;
  v_failing integer;
begin
  select * into v_alert from private.reconciliation_alerts for update;
  select * into v_clean from public.payment_reconciliation_runs r where r.errors = 0 order by r.id desc limit 1;
  select * into v_last from public.payment_reconciliation_runs r order by r.id desc limit 1;
  select count(*) into v_failing
    from public.payment_reconciliation_runs r
   where r.errors > 0 and r.id > coalesce(v_clean.id, 0);

  if v_failing < 3 and coalesce(v_last.finished_at, v_alert.created_at) > now() - interval '20 minutes' then
    return false;
  end if;
  if v_alert.reported_at is not null and v_alert.reported_clean_run is not distinct from v_clean.id then
    return false;  -- this streak was reported already
  end if;

  update private.reconciliation_alerts
     set reported_clean_run = v_clean.id, reported_at = now();
  perform realtime.send(
    jsonb_build_object(
      'failing_runs', v_failing,
      'last_success_at', v_clean.finished_at,
      'last_run_at', v_last.finished_at,
      'last_errors', coalesce(v_last.error_detail, '[]'::jsonb) -> 0),
    'reconciliation_failing', 'admin', true);
  return true;
end;
$$;

-- Records one run of reconcile-payments: when it started, how many transactions it checked,
-- credited and marked failed, and its errors (p_errors, an array of {reference?, code, message}; at
-- most 100 kept). Then reports a failing streak (private.report_failing_reconciliation). Returns
-- {run_id, errors, alerted}. Called through public.record_reconciliation_run by service_role.
create or replace function api_private.record_reconciliation_run(
  p_started_at timestamptz,
  p_checked integer,
  p_credited integer,
  p_failed integer,
  p_errors jsonb
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_errors jsonb := case when jsonb_typeof(p_errors) = 'array' then p_errors else '[]'::jsonb end;
  v_run public.payment_reconciliation_runs%rowtype;
  v_alerted boolean;
begin
  -- One run recorded at a time, so a streak is counted over runs in their order.
  perform 1 from private.reconciliation_alerts for update;
  insert into public.payment_reconciliation_runs (started_at, checked, credited, failed, errors, error_detail)
  values (
    coalesce(p_started_at, now()), greatest(coalesce(p_checked, 0), 0), greatest(coalesce(p_credited, 0), 0),
    greatest(coalesce(p_failed, 0), 0), jsonb_array_length(v_errors),
    coalesce((select jsonb_agg(e.value order by e.ordinality)
                from jsonb_array_elements(v_errors) with ordinality e
               where e.ordinality <= 100), '[]'::jsonb)
  )
  returning * into v_run;
  v_alerted := private.report_failing_reconciliation();
  return jsonb_build_object('run_id', v_run.id, 'errors', v_run.errors, 'alerted', v_alerted);
end;
$$;

-- Records one run of reconcile-payments. See api_private.record_reconciliation_run. service_role only.
create or replace function public.record_reconciliation_run(
  p_started_at timestamptz,
  p_checked integer,
  p_credited integer,
  p_failed integer,
  p_errors jsonb default '[]'::jsonb
)
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select api_private.record_reconciliation_run(p_started_at, p_checked, p_credited, p_failed, p_errors);
$$;

-- Queues the HTTP call that runs a reconciliation: POST <project_url>/functions/v1/reconcile-payments
-- with the Vault secret reconcile_key (private.invoke_edge_function, 011), after reporting a
-- reconciliation that has stopped recording runs. Raises reconciler_not_configured (the cron run is
-- then recorded as failed) when Vault lacks project_url or reconcile_key. Returns the pg_net request
-- id. Called by the reconcile-payments job as postgres.
create or replace function private.invoke_reconcile_payments()
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

-- Privileges -----------------------------------------------------------------------------------------

revoke all on function
  api_private.payments_to_reconcile(integer),
  api_private.settle_payment(text, jsonb),
  api_private.record_reconciliation_run(timestamptz, integer, integer, integer, jsonb),
  public.payments_to_reconcile(integer),
  public.settle_payment(text, jsonb),
  public.record_reconciliation_run(timestamptz, integer, integer, integer, jsonb),
  private.report_failing_reconciliation(),
  private.invoke_reconcile_payments()
from public, anon, authenticated, service_role;
grant execute on function
  api_private.payments_to_reconcile(integer),
  api_private.settle_payment(text, jsonb),
  api_private.record_reconciliation_run(timestamptz, integer, integer, integer, jsonb),
  public.payments_to_reconcile(integer),
  public.settle_payment(text, jsonb),
  public.record_reconciliation_run(timestamptz, integer, integer, integer, jsonb)
to service_role;

select cron.schedule('reconcile-payments', '*/5 * * * *', 'select private.invoke_reconcile_payments()');
