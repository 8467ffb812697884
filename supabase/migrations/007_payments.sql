-- Fantooo: payments (docs/rules.md and docs/functions.md): credit packages, checkout, Paystack
-- events, refunds, disputes and the reconciliation of pending payments.
--
-- Flow: credits-checkout calls start_checkout as the real user (a pending transaction with the
-- package's price and credits copied, a server-made reference), then Paystack's
-- transaction/initialize; if Paystack fails it calls mark_transaction_failed. Paystack's webhook
-- (and the verify path of credits-checkout, and the reconciliation) hand every event to
-- apply_paystack_event, which records it once in paystack_events and, in the same database
-- transaction, credits, refunds or records a dispute. Credits are only ever granted there: clients
-- cannot write transactions or credits.
--
-- A declined card sends no webhook, and a webhook can be lost, so every 5 minutes pg_cron calls the
-- reconcile-payments Edge Function (the reconcile-payments job). It takes the transactions pending
-- for more than 10 minutes (payments_to_reconcile), asks Paystack's transaction/verify about each
-- and settles it with settle_payment: credited through apply_paystack_event (exactly once: a later
-- webhook is a duplicate) or marked failed. Each run is recorded in payment_reconciliation_runs;
-- three failing runs in a row, or no run recorded for 20 minutes, are reported once per failing
-- streak on the admin Realtime topic (reconciliation_failing).
--
-- Security model: the RPCs are security invoker wrappers in public over security definer bodies in
-- api_private; what stays security definer in public (apply_paystack_event,
-- mark_transaction_failed) is executable by service_role only.

-- Credit packages ----------------------------------------------------------------------------------

-- What a real user can buy. Everyone, anon included, reads the active packages (a public pricing
-- page); admins read all of them and manage them (each change is audited in admin_actions by
-- private.record_credit_package_change). A package's price and credits are copied onto the
-- transaction when a checkout starts, so changing or deactivating a package never alters a purchase
-- already made. A package that has been bought cannot be deleted (transactions keep pointing at it):
-- deactivate it instead.
create table public.credit_packages (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (char_length(name) between 1 and 50),
  credits integer not null check (credits > 0),
  bonus_credits integer not null default 0 check (bonus_credits >= 0),
  price integer not null check (price > 0),
  currency text not null default 'KES' check (currency ~ '^[A-Z]{3}$'),
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.credit_packages is
  'Credit bundles sold through Paystack. Readable by everyone while active; managed by admins.';
comment on column public.credit_packages.credits is 'Credits bought; the buyer receives credits + bonus_credits.';
comment on column public.credit_packages.bonus_credits is 'Extra credits granted on top of credits.';
comment on column public.credit_packages.price is
  'Price in currency subunits (cents), as Paystack expects: 45000 = 450.00 KES.';
comment on column public.credit_packages.is_active is
  'Only active packages are offered and can be bought; deactivate rather than delete.';

create trigger set_updated_at before update on public.credit_packages
  for each row execute function private.set_updated_at();

-- Pricing page order: `where is_active order by price`.
create index idx_credit_packages_active_price
  on public.credit_packages (price) where is_active;

-- The four packages of docs/rules.md (one credit is worth 10 KES; prices in cents), inserted here
-- rather than in seed.sql because production needs them too.
insert into public.credit_packages (name, credits, bonus_credits, price, currency)
values
  ('Starter', 10, 0, 10000, 'KES'),
  ('Popular', 50, 5, 45000, 'KES'),
  ('Value', 100, 15, 85000, 'KES'),
  ('Premium', 500, 100, 400000, 'KES')
on conflict (name) do nothing;

revoke all on table public.credit_packages from anon, authenticated;
grant select on table public.credit_packages to anon, authenticated;
grant select, insert, update, delete on table public.credit_packages to service_role;
grant insert (name, credits, bonus_credits, price, currency, is_active)
  on public.credit_packages to authenticated;
grant update (name, credits, bonus_credits, price, currency, is_active)
  on public.credit_packages to authenticated;
grant delete on public.credit_packages to authenticated;
alter table public.credit_packages enable row level security;

-- One select policy per role, so anon never needs is_admin() and the advisor's
-- multiple_permissive_policies stays quiet.
create policy "visitors read active packages" on public.credit_packages
  for select to anon
  using (is_active);

create policy "signed-in users read active packages, admins read all" on public.credit_packages
  for select to authenticated
  using (is_active or (select api_private.is_admin()));

create policy "admins add packages" on public.credit_packages
  for insert to authenticated
  with check ((select api_private.is_admin()));

create policy "admins update packages" on public.credit_packages
  for update to authenticated
  using ((select api_private.is_admin()))
  with check ((select api_private.is_admin()));

create policy "admins delete packages" on public.credit_packages
  for delete to authenticated
  using ((select api_private.is_admin()));

-- Transactions -------------------------------------------------------------------------------------

create table public.transactions (
  id uuid primary key default gen_random_uuid(),
  real_user_id uuid references public.real_users (id) on delete set null,
  reference text not null unique,
  package_id uuid references public.credit_packages (id) on delete restrict,
  amount integer not null check (amount > 0),
  currency text not null default 'KES' check (currency ~ '^[A-Z]{3}$'),
  credits integer not null check (credits > 0),
  status text not null default 'pending' check (status in ('pending', 'success', 'failed', 'refunded')),
  paystack_transaction_id bigint unique,
  paid_at timestamptz,
  raw_event jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  failure_reason text,
  refunded_at timestamptz,
  credits_reversed integer check (credits_reversed >= 0),
  refund_shortfall integer check (refund_shortfall >= 0),
  refunded_amount integer not null default 0 check (refunded_amount >= 0),
  check (status <> 'success' or paid_at is not null),
  constraint transactions_raw_event_unused check (raw_event is null)
);
comment on table public.transactions is
  'Credit purchases through Paystack. Written only by the payment functions (service_role / security definer).';
comment on column public.transactions.reference is 'Server-made Paystack reference; unique.';
comment on column public.transactions.package_id is
  'The credit package bought.';
comment on column public.transactions.amount is 'Price in currency subunits (cents), copied from the package at checkout.';
comment on column public.transactions.credits is 'Credits granted on success (bonus included), copied at checkout.';
comment on column public.transactions.real_user_id is
  'The buyer; null once the account was deleted (the purchase stays on the books).';
comment on column public.transactions.raw_event is
  'Always null: the event that settled the transaction is the paystack_events row with '
  'this transaction_id and outcome credited (readable by admins only, unlike this table).';
comment on column public.transactions.failure_reason is
  'Why the checkout failed before the user could pay (e.g. paystack_timeout); null otherwise.';
comment on column public.transactions.credits_reversed is
  'On refunds: credits taken back from the user so far (at most what was left of the balance).';
comment on column public.transactions.refund_shortfall is
  'On refunds: credits the refunds should have taken back but could not, because the user had '
  'already spent them (balance never goes below zero). Shown to admins.';
comment on column public.transactions.refunded_amount is
  'Subunits refunded so far (the sum of the processed refunds, at most amount). The status becomes '
  'refunded once the whole amount is; a partly refunded purchase stays success.';

create index idx_transactions_real_user_created on public.transactions (real_user_id, created_at desc);
create index idx_transactions_package_id on public.transactions (package_id);

-- The pending transactions the reconciliation reads, oldest first.
create index idx_transactions_pending_created_at on public.transactions (created_at, id)
  where status = 'pending';

create trigger set_updated_at before update on public.transactions
  for each row execute function private.set_updated_at();

revoke all on table public.transactions from anon, authenticated;
grant select on table public.transactions to authenticated;
grant select, insert, update, delete on table public.transactions to service_role;
alter table public.transactions enable row level security;

create policy "real users read own transactions, admins read all" on public.transactions
  for select to authenticated
  using (real_user_id = (select auth.uid()) or (select api_private.is_admin()));

-- Paystack events and disputes ---------------------------------------------------------------------

create table public.paystack_events (
  id uuid primary key default gen_random_uuid(),
  dedupe_key text not null unique,
  event text not null,
  reference text,
  source text not null default 'webhook' check (source in ('webhook', 'verify')),
  payload jsonb not null,
  outcome text not null check (outcome in (
    'credited', 'duplicate', 'unknown_reference', 'amount_mismatch', 'currency_mismatch',
    'refunded', 'ignored', 'disputed', 'paystack_id_conflict', 'unprocessable'
  )),
  detail jsonb not null default '{}'::jsonb,
  transaction_id uuid references public.transactions (id) on delete set null,
  deliveries integer not null default 1 check (deliveries >= 1),
  received_at timestamptz not null default now(),
  last_received_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.paystack_events is
  'Every Paystack event received (webhook) or confirmed by a verify call, once per dedupe_key, with '
  'what it did. Admins read it to follow up mismatches and refund shortfalls.';
comment on column public.paystack_events.dedupe_key is
  '<event>:<reference> (Paystack sends no event id); refunds and disputes: <event>:<Paystack id>; '
  'a mismatched or conflicting charge.success: charge.success:<reference>:<outcome>:<md5 of the body>; '
  'an unprocessable event: <event>:<reference or md5-<md5>>:unprocessable:<md5 of the body>; events '
  'naming no reference use an md5 of the body.';
comment on column public.paystack_events.source is
  'webhook = delivered by Paystack; verify = the paying user asked credits-checkout/verify and '
  'Paystack''s transaction/verify said success.';
comment on column public.paystack_events.outcome is
  'What the first delivery did: credited | duplicate (the transaction was already settled) | '
  'unknown_reference | amount_mismatch | currency_mismatch | paystack_id_conflict (Paystack''s '
  'transaction id is another transaction''s, named in detail) | unprocessable (a value the database '
  'cannot hold; detail has the error) (these five credit nothing; the reference can still be settled) '
  '| refunded | disputed (see payment_disputes) | ignored.';
comment on column public.paystack_events.detail is
  'Facts for admins: expected and received amount or currency on a mismatch, credits granted, '
  'credits reversed and shortfall on a refund.';
comment on column public.paystack_events.deliveries is
  'How many times this event arrived; repeats change nothing else.';

create trigger set_updated_at before update on public.paystack_events
  for each row execute function private.set_updated_at();

create index idx_paystack_events_transaction_id on public.paystack_events (transaction_id);

revoke all on table public.paystack_events from anon, authenticated;
grant select on table public.paystack_events to authenticated;
grant select, insert, update, delete on table public.paystack_events to service_role;
alter table public.paystack_events enable row level security;

create policy "admins read paystack events" on public.paystack_events
  for select to authenticated
  using ((select api_private.is_admin()));

create table public.payment_disputes (
  id uuid primary key default gen_random_uuid(),
  paystack_dispute_id text unique,
  transaction_id uuid references public.transactions (id) on delete set null,
  real_user_id uuid references public.real_users (id) on delete set null,
  reference text,
  status text,
  category text,
  refund_amount integer,
  currency text,
  event_id uuid references public.paystack_events (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.payment_disputes is
  'Chargebacks and disputes Paystack reported (charge.dispute.create), one row per dispute: the '
  'flag on the purchase (transaction_id) and on its buyer (real_user_id) for admins. Readable by '
  'admins only; written only by apply_paystack_event.';
comment on column public.payment_disputes.status is 'Paystack''s dispute status when it was opened.';
comment on column public.payment_disputes.event_id is 'The paystack_events row that opened it.';

create trigger set_updated_at before update on public.payment_disputes
  for each row execute function private.set_updated_at();

create index idx_payment_disputes_transaction_id on public.payment_disputes (transaction_id);
create index idx_payment_disputes_real_user_id on public.payment_disputes (real_user_id);
create index idx_payment_disputes_event_id on public.payment_disputes (event_id);

revoke all on table public.payment_disputes from anon, authenticated;
grant select on table public.payment_disputes to authenticated;
grant select, insert, update, delete on table public.payment_disputes to service_role;
alter table public.payment_disputes enable row level security;

create policy "admins read payment disputes" on public.payment_disputes
  for select to authenticated
  using ((select api_private.is_admin()));

create table private.payment_verify_calls (
  transaction_id uuid primary key references public.transactions (id) on delete cascade,
  last_called_at timestamptz not null
);
comment on table private.payment_verify_calls is
  'When credits-checkout/verify last asked Paystack about each transaction (start_payment_verify).';
revoke all on table private.payment_verify_calls from public, anon, authenticated, service_role;

-- Helpers ------------------------------------------------------------------------------------------

-- An amount in subunits as Paystack sends it (a whole number, or a string of digits); else null.
create function private.paystack_subunits(p_value jsonb)
returns numeric
language sql
immutable
set search_path = ''
as $$
  select case
    when jsonb_typeof(p_value) = 'number' and (p_value #>> '{}')::numeric >= 0
         and (p_value #>> '{}')::numeric = trunc((p_value #>> '{}')::numeric)
      then (p_value #>> '{}')::numeric
    when jsonb_typeof(p_value) = 'string' and (p_value #>> '{}') ~ '^[0-9]{1,15}$'
      then (p_value #>> '{}')::numeric
  end;
$$;

-- A Paystack object id (a number, or a short string of safe characters) as text; else null.
create function private.paystack_id(p_value jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select case
    when jsonb_typeof(p_value) in ('number', 'string') and (p_value #>> '{}') ~ '^[A-Za-z0-9_.=-]{1,64}$'
      then p_value #>> '{}'
  end;
$$;

-- Credits owed back after refunds totalling p_refunded of a purchase of p_amount granting p_credits:
-- in proportion, rounded up, never more than p_credits.
create function private.refund_credits_due(p_credits integer, p_amount integer, p_refunded integer)
returns integer
language sql
immutable
set search_path = ''
as $$
  select least(p_credits, ceil(p_credits::numeric * greatest(p_refunded, 0) / p_amount))::integer;
$$;

revoke all on function private.paystack_subunits(jsonb), private.paystack_id(jsonb), private.refund_credits_due(integer, integer, integer) from public, anon, authenticated, service_role;

-- Checkout and verify ------------------------------------------------------------------------------

-- Starts a credit purchase for the calling real user: a pending transaction for an active package
-- with a server-made unique reference, copying the package's price, currency and credits (bonus
-- included). At most 10 of the caller's checkouts created in the last hour may still be pending:
-- the caller's real_users row is locked first, so concurrent checkouts of one user are counted one
-- after the other. Returns what credits-checkout
-- needs to call Paystack (reference, amount in subunits, currency, credits, email).
-- Refuses: callers without a real_users row (PT403 not_real_user) or with a deactivated one (PT403
-- account_inactive), an 11th pending checkout within the hour (PT429 rate_limited, the detail says
-- when to try again), unknown or inactive packages (PT404 package_not_found), accounts without an
-- email (PT400 email_required). Called through public.start_checkout by authenticated.
create function api_private.start_checkout(p_package_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
  v_user public.real_users%rowtype;
  v_package public.credit_packages%rowtype;
  v_email text;
  v_tx public.transactions%rowtype;
  v_pending integer;
  v_oldest timestamptz;
begin
  select * into v_user from public.real_users r where r.id = v_uid for no key update;
  if not found then
    perform errors.raise_error('not_real_user', 'Only a real user buys credits.');
  end if;
  if not v_user.is_active then
    perform errors.raise_error('account_inactive');
  end if;

  select count(*), min(t.created_at) into v_pending, v_oldest
    from public.transactions t
   where t.real_user_id = v_uid and t.status = 'pending' and t.created_at > now() - interval '1 hour';
  if v_pending >= 10 then
    perform errors.raise_error('rate_limited', format(
      'At most 10 checkouts per hour may wait for payment: try again in %s seconds.',
      least(3600, greatest(1, ceil(extract(epoch from v_oldest + interval '1 hour' - now()))))::integer));
  end if;

  select * into v_package from public.credit_packages p where p.id = p_package_id and p.is_active;
  if not found then
    perform errors.raise_error('package_not_found');
  end if;

  v_email := coalesce(v_user.email, (select u.email from auth.users u where u.id = v_uid));
  if v_email is null then
    perform errors.raise_error('email_required');
  end if;

  -- Paystack references allow letters, digits, '-', '.' and '='.
  insert into public.transactions (real_user_id, reference, package_id, amount, currency, credits, status)
  values (
    v_uid,
    'fantooo-' || replace(gen_random_uuid()::text, '-', ''),
    v_package.id,
    v_package.price,
    v_package.currency,
    v_package.credits + v_package.bonus_credits,
    'pending'
  )
  returning * into v_tx;

  return jsonb_build_object(
    'transaction_id', v_tx.id,
    'reference', v_tx.reference,
    'amount', v_tx.amount,
    'currency', v_tx.currency,
    'credits', v_tx.credits,
    'email', v_email,
    'real_user_id', v_uid,
    'package', jsonb_build_object(
      'id', v_package.id,
      'name', v_package.name,
      'credits', v_package.credits,
      'bonus_credits', v_package.bonus_credits
    )
  );
end;
$$;

-- Starts a credit purchase for the calling real user. See api_private.start_checkout. Real users.
create function public.start_checkout(p_package_id uuid)
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select api_private.start_checkout(p_package_id);
$$;

-- Claims the right to ask Paystack about one of the caller's transactions (credits-checkout/verify):
-- at most once every 5 seconds per transaction, claimed in one statement (the upsert waits on the row
-- of a concurrent claim), so two function instances cannot both pass. Returns {transaction_id,
-- reference, status}. Refuses a reference that is not one of the caller's transactions (PT404
-- transaction_not_found) and a second call within 5 seconds (PT429 rate_limited, the detail says when
-- to try again). Called through public.start_payment_verify by authenticated.
create function api_private.start_payment_verify(p_reference text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_tx public.transactions%rowtype;
  v_claimed uuid;
  v_last timestamptz;
begin
  select * into v_tx from public.transactions t
   where t.reference = p_reference and t.real_user_id = auth.uid();
  if not found then
    perform errors.raise_error('transaction_not_found');
  end if;

  insert into private.payment_verify_calls as c (transaction_id, last_called_at)
  values (v_tx.id, now())
  on conflict (transaction_id) do update
     set last_called_at = excluded.last_called_at
   where c.last_called_at <= excluded.last_called_at - interval '5 seconds'
  returning c.transaction_id into v_claimed;

  if v_claimed is null then
    select c.last_called_at into v_last from private.payment_verify_calls c where c.transaction_id = v_tx.id;
    perform errors.raise_error('rate_limited', format(
      'Verify a payment at most every 5 seconds: try again in %s seconds.',
      least(5, greatest(1, ceil(extract(epoch from v_last + interval '5 seconds' - now()))))::integer));
  end if;

  return jsonb_build_object('transaction_id', v_tx.id, 'reference', v_tx.reference, 'status', v_tx.status);
end;
$$;

-- Claims a verify call for one of the caller's transactions. See api_private.start_payment_verify.
-- Real users.
create function public.start_payment_verify(p_reference text)
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select api_private.start_payment_verify(p_reference);
$$;

revoke all on function api_private.start_checkout(uuid), api_private.start_payment_verify(text), public.start_checkout(uuid), public.start_payment_verify(text) from public, anon, authenticated, service_role;
grant execute on function api_private.start_checkout(uuid), api_private.start_payment_verify(text), public.start_checkout(uuid), public.start_payment_verify(text) to authenticated;

-- Marks a still-pending transaction failed (Paystack could not initialize it), with the reason.
-- Returns true when it changed the transaction; settled transactions are never touched.
-- Callable by service_role only (credits-checkout).
create function public.mark_transaction_failed(p_reference text, p_reason text)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.transactions t
     set status = 'failed', failure_reason = left(p_reason, 200)
   where t.reference = p_reference and t.status = 'pending';
  return found;
end;
$$;

revoke all on function public.mark_transaction_failed(text, text) from public, anon, authenticated, service_role;
grant execute on function public.mark_transaction_failed(text, text) to service_role;

-- Paystack events ----------------------------------------------------------------------------------

-- Records one Paystack event and applies it, in one database transaction, exactly once.
--   * The transaction the event names is locked first, so the events of one purchase (and verify
--     calls) are applied one after the other. The event is then stored in paystack_events under its
--     dedupe key; a repeat of a known key only counts the delivery and answers 'duplicate'.
--   * charge.success (key charge.success:<reference>): credits only when what was actually charged
--     covers the price copied at checkout, in its currency: data.amount (what the customer was
--     charged) is at least the price, and data.requested_amount when Paystack sends it (what was
--     asked for: the price, the fees coming on top when the customer pays them), else data.amount, is
--     the price. So an amount above the price is accepted only with requested_amount equal to the
--     price, and an amount below it never is (a partial debit). On a match marks the transaction
--     success with Paystack's id and paid_at and adds its credits (bonus included, less what refunds
--     already took back) to the buyer. Already settled -> duplicate; no such reference ->
--     unknown_reference. A mismatch, or a Paystack id another transaction already holds
--     (paystack_id_conflict, that transaction in the detail), credits nothing and is kept for admins
--     under charge.success:<reference>:<outcome>:<md5 of the body>, so the reference can still be
--     settled by a correct event or a verify call.
--   * refund.processed (key refund.processed:<refund id>, data.transaction_reference): adds the
--     refunded amount (all of it when absent) to refunded_amount and, if the purchase was credited,
--     takes back ceil(credits x refunded so far / amount) minus what earlier refunds took, never
--     below zero (what could not be taken back adds to refund_shortfall). The transaction is refunded
--     once the whole amount is; a refund of a fully refunded one is a duplicate.
--   * charge.dispute.create (key charge.dispute.create:<dispute id>, data.transaction.reference):
--     records the dispute in payment_disputes, flagging the purchase and its buyer for admins
--     (outcome disputed); credits are untouched.
--   * any other event: recorded as ignored (refund.* and charge.dispute.* keyed by their id).
--   * Never raises for the values of an event: when recording or applying it meets a value the
--     database cannot hold (data exception) or a constraint (integrity violation), nothing of it is
--     kept and it is recorded as unprocessable, with the error, under
--     <event>:<reference>:unprocessable:<md5 of the body> (the reference stays open); a Paystack id
--     that a concurrent event gave another transaction first is a paystack_id_conflict, as above.
--     Other errors (lock timeouts, serialization failures, a database going down) still raise, so
--     the sender retries.
-- p_payload is the stored copy of the event (the webhook sanitises what jsonb cannot hold);
-- p_reference the transaction reference it names (null when it names none); p_source is 'webhook' or
-- 'verify' (credits-checkout/verify after Paystack's transaction/verify said success).
-- Returns {outcome, event_id, transaction_id, status, credits_granted, credits_reversed}.
-- Refuses an event without a name or an object payload (PT400 invalid_event) and an unknown source
-- (PT400 invalid_source). Callable by service_role only (paystack-webhook, credits-checkout).
create function public.apply_paystack_event(
  p_event text,
  p_payload jsonb,
  p_reference text default null,
  p_source text default 'webhook'
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_data jsonb;
  v_key text;
  v_event_id uuid;
  v_tx public.transactions%rowtype;
  v_tx_id uuid;
  v_paid numeric;
  v_requested numeric;
  v_currency text;
  v_paystack_id bigint;
  v_holder public.transactions%rowtype;
  v_outcome text := 'ignored';
  v_detail jsonb := '{}'::jsonb;
  v_status text;
  v_granted integer := 0;
  v_reversed integer := 0;
  v_shortfall integer := 0;
  v_balance integer;
  v_refund numeric;
  v_refunded integer;
  v_take integer;
  v_sqlstate text;
  v_error text;
  v_constraint text;
begin
  if coalesce(btrim(p_event), '') = '' or p_payload is null or jsonb_typeof(p_payload) <> 'object' then
    perform errors.raise_error('invalid_event');
  end if;
  if p_source is null or p_source not in ('webhook', 'verify') then
    perform errors.raise_error('invalid_source');
  end if;

  v_data := case when jsonb_typeof(p_payload -> 'data') = 'object' then p_payload -> 'data' else '{}'::jsonb end;

  if p_reference is not null and p_event in ('charge.success', 'refund.processed', 'charge.dispute.create') then
    select * into v_tx from public.transactions t where t.reference = p_reference for update;
    if not found then
      v_outcome := 'unknown_reference';
    end if;
  end if;

  -- What the event would do, decided under the lock.
  if p_event = 'charge.success' and v_tx.id is not null then
    v_paid := private.paystack_subunits(v_data -> 'amount');
    v_requested := private.paystack_subunits(v_data -> 'requested_amount');
    v_currency := upper(v_data ->> 'currency');
    v_paystack_id := case when (v_data ->> 'id') ~ '^[0-9]{1,18}$' then (v_data ->> 'id')::bigint end;
    if v_paystack_id is not null then
      select * into v_holder from public.transactions t
       where t.paystack_transaction_id = v_paystack_id and t.id <> v_tx.id;
    end if;
    if v_tx.status in ('success', 'refunded') then
      v_outcome := 'duplicate';
    -- What was charged covers the price: amount (charged) >= price, and requested_amount (asked for;
    -- amount is above it by the fees when the customer pays them, below it after a partial debit),
    -- else amount, = price.
    elsif coalesce(v_requested, v_paid) is distinct from v_tx.amount or v_paid is null or v_paid < v_tx.amount then
      v_outcome := 'amount_mismatch';
      v_detail := jsonb_build_object('expected_amount', v_tx.amount, 'received_amount', v_data -> 'amount');
      if v_requested is not null then
        v_detail := v_detail || jsonb_build_object('received_requested_amount', v_data -> 'requested_amount');
      end if;
    elsif v_currency is distinct from v_tx.currency then
      v_outcome := 'currency_mismatch';
      v_detail := jsonb_build_object('expected_currency', v_tx.currency, 'received_currency', v_data -> 'currency');
    elsif v_holder.id is not null then
      v_outcome := 'paystack_id_conflict';
      v_detail := jsonb_build_object('paystack_transaction_id', v_paystack_id,
        'conflicting_transaction_id', v_holder.id, 'conflicting_reference', v_holder.reference);
    else
      v_outcome := 'credited';
    end if;
  elsif p_event = 'refund.processed' and v_tx.id is not null then
    v_currency := upper(v_data ->> 'currency');
    if v_tx.status = 'refunded' then
      v_outcome := 'duplicate';
    elsif v_currency is not null and v_currency <> v_tx.currency then
      v_outcome := 'currency_mismatch';
      v_detail := jsonb_build_object('expected_currency', v_tx.currency, 'received_currency', v_data -> 'currency');
    else
      v_outcome := 'refunded';
    end if;
  elsif p_event = 'charge.dispute.create' and v_tx.id is not null then
    v_outcome := 'disputed';
  end if;

  v_key := case
    when p_event = 'charge.success' and v_outcome in ('amount_mismatch', 'currency_mismatch', 'paystack_id_conflict') then
      p_event || ':' || p_reference || ':' || v_outcome || ':' || md5(p_payload::text)
    when (p_event like 'refund.%' or p_event like 'charge.dispute.%')
         and private.paystack_id(v_data -> 'id') is not null then
      p_event || ':' || private.paystack_id(v_data -> 'id')
    else
      p_event || ':' || coalesce(p_reference, 'md5-' || md5(p_payload::text))
  end;

  -- Recorded and applied together: an error of the values below undoes both (the handler).
  begin
    insert into public.paystack_events (dedupe_key, event, reference, source, payload, outcome)
    values (v_key, p_event, p_reference, p_source, p_payload, 'ignored')
    on conflict (dedupe_key) do nothing
    returning id into v_event_id;

    if v_event_id is null then
      null; -- a repeat of a known key: its delivery is counted after this block

    elsif v_outcome = 'credited' then
      -- Refunds that came before the payment was confirmed have already taken their share.
      v_take := private.refund_credits_due(v_tx.credits, v_tx.amount, v_tx.refunded_amount);
      update public.transactions t
         set status = 'success',
             paystack_transaction_id = v_paystack_id,
             paid_at = coalesce((v_data ->> 'paid_at')::timestamptz, now()),
             failure_reason = null,
             credits_reversed = case when v_take > 0 then coalesce(t.credits_reversed, 0) + v_take
                                     else t.credits_reversed end
       where t.id = v_tx.id;
      v_granted := v_tx.credits - v_take;
      update public.real_users r
         set credits = r.credits + v_granted
       where r.id = v_tx.real_user_id;
      v_detail := jsonb_build_object('credits_granted', v_granted);
      if v_requested is not null then
        v_detail := v_detail || jsonb_build_object('amount_paid', v_data -> 'amount');
      end if;

    elsif v_outcome = 'refunded' then
      v_refund := private.paystack_subunits(v_data -> 'amount');
      v_refunded := least(v_tx.amount, v_tx.refunded_amount + coalesce(v_refund, v_tx.amount))::integer;
      if v_tx.status = 'success' then
        v_take := private.refund_credits_due(v_tx.credits, v_tx.amount, v_refunded)
                - private.refund_credits_due(v_tx.credits, v_tx.amount, v_tx.refunded_amount);
        select r.credits into v_balance from public.real_users r where r.id = v_tx.real_user_id for update;
        v_reversed := least(v_take, coalesce(v_balance, 0));
        v_shortfall := v_take - v_reversed;
        update public.real_users r
           set credits = r.credits - v_reversed
         where r.id = v_tx.real_user_id;
      end if;
      update public.transactions t
         set refunded_amount = v_refunded,
             status = case when v_refunded >= t.amount then 'refunded' else t.status end,
             refunded_at = now(),
             credits_reversed = coalesce(t.credits_reversed, 0) + v_reversed,
             refund_shortfall = coalesce(t.refund_shortfall, 0) + v_shortfall
       where t.id = v_tx.id;
      v_detail := jsonb_build_object(
        'credits_reversed', v_reversed, 'refund_shortfall', v_shortfall,
        'refund_amount', v_data -> 'amount', 'refunded_amount', v_refunded,
        'previous_status', v_tx.status
      );

    elsif v_outcome = 'disputed' then
      insert into public.payment_disputes (
        paystack_dispute_id, transaction_id, real_user_id, reference, status, category, refund_amount,
        currency, event_id
      ) values (
        private.paystack_id(v_data -> 'id'), v_tx.id, v_tx.real_user_id, p_reference,
        left(v_data ->> 'status', 100), left(v_data ->> 'category', 100),
        private.paystack_subunits(v_data -> 'refund_amount')::integer,
        left(upper(v_data ->> 'currency'), 3), v_event_id
      )
      on conflict (paystack_dispute_id) do nothing;
      v_detail := jsonb_build_object('dispute_id', private.paystack_id(v_data -> 'id'),
        'transaction_status', v_tx.status);
    end if;

    if v_event_id is not null then
      update public.paystack_events e
         set outcome = v_outcome, detail = v_detail, transaction_id = v_tx.id
       where e.id = v_event_id;
    end if;
  exception when data_exception or integrity_constraint_violation then
    -- Nothing of the block is kept, the event row included. A Paystack id that another transaction
    -- took first (its event committed after the check above) is a conflict; anything else a value the
    -- database cannot hold. Either is kept under a key of its own, so the reference stays open.
    get stacked diagnostics v_sqlstate = returned_sqlstate, v_error = message_text,
                            v_constraint = constraint_name;
    v_granted := 0;
    v_reversed := 0;
    if v_constraint = 'transactions_paystack_transaction_id_key' then
      select * into v_holder from public.transactions t
       where t.paystack_transaction_id = v_paystack_id and t.id <> v_tx.id;
      v_outcome := 'paystack_id_conflict';
      v_detail := jsonb_build_object('paystack_transaction_id', v_paystack_id,
        'conflicting_transaction_id', v_holder.id, 'conflicting_reference', v_holder.reference);
    else
      v_detail := jsonb_build_object('error', v_error, 'sqlstate', v_sqlstate, 'would_have_been', v_outcome);
      v_outcome := 'unprocessable';
    end if;
    v_key := p_event || ':' || coalesce(p_reference, 'md5-' || md5(p_payload::text)) || ':' || v_outcome
             || ':' || md5(p_payload::text);
    insert into public.paystack_events (dedupe_key, event, reference, source, payload, outcome, detail, transaction_id)
    values (v_key, p_event, p_reference, p_source, p_payload, v_outcome, v_detail, v_tx.id)
    on conflict (dedupe_key) do nothing
    returning id into v_event_id;
  end;

  if v_event_id is null then
    update public.paystack_events e
       set deliveries = e.deliveries + 1, last_received_at = now()
     where e.dedupe_key = v_key
    returning e.id, e.transaction_id into v_event_id, v_tx_id;
    return jsonb_build_object(
      'outcome', 'duplicate', 'event_id', v_event_id, 'transaction_id', v_tx_id,
      'status', (select t.status from public.transactions t where t.id = v_tx_id),
      'credits_granted', 0, 'credits_reversed', 0
    );
  end if;

  select t.status into v_status from public.transactions t where t.id = v_tx.id;
  return jsonb_build_object(
    'outcome', v_outcome, 'event_id', v_event_id, 'transaction_id', v_tx.id, 'status', v_status,
    'credits_granted', v_granted, 'credits_reversed', v_reversed
  );
end;
$$;

revoke all on function public.apply_paystack_event(text, jsonb, text, text) from public, anon, authenticated, service_role;
grant execute on function public.apply_paystack_event(text, jsonb, text, text) to service_role;

-- Reconciliation -----------------------------------------------------------------------------------

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

revoke all on table public.payment_reconciliation_runs from public, anon, authenticated, service_role;
grant select on table public.payment_reconciliation_runs to authenticated;
grant select, insert, update, delete on table public.payment_reconciliation_runs to service_role;
alter table public.payment_reconciliation_runs enable row level security;

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

-- When the reconciliation last asked Paystack about each pending transaction, so that the
-- transactions Paystack keeps answering unhelpfully (an amount that never matches, a reference it
-- keeps failing on) go to the back of the next run instead of taking its 100 places for ever.
create table private.reconciliation_checks (
  transaction_id uuid primary key references public.transactions (id) on delete cascade,
  checked_at timestamptz not null
);
revoke all on table private.reconciliation_checks from public, anon, authenticated, service_role;

-- The references of up to p_limit (1 to 100) transactions pending for more than 10 minutes: those
-- never checked first, then the ones checked longest ago, oldest checkout first; each is noted as
-- checked now. Before that, a transaction still pending a day after its checkout that the
-- reconciliation has already asked about at least once is marked failed (failure_reason
-- 'expired', SPEC 16), whatever Paystack said: a later matching charge.success or verify still
-- credits it, once. Called through public.payments_to_reconcile by service_role.
create function api_private.payments_to_reconcile(p_limit integer)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_references jsonb;
begin
  update public.transactions t
     set status = 'failed', failure_reason = 'expired'
   where t.status = 'pending' and t.created_at < now() - interval '24 hours'
     and exists (select 1 from private.reconciliation_checks c where c.transaction_id = t.id);

  with picked as (
    select t.id, t.reference, t.created_at
      from public.transactions t
      left join private.reconciliation_checks c on c.transaction_id = t.id
     where t.status = 'pending' and t.created_at < now() - interval '10 minutes'
     order by c.checked_at nulls first, t.created_at, t.id
     limit least(greatest(coalesce(p_limit, 100), 1), 100)
  ), noted as (
    insert into private.reconciliation_checks (transaction_id, checked_at)
    select p.id, now() from picked p
    on conflict (transaction_id) do update set checked_at = excluded.checked_at
  )
  select coalesce(jsonb_agg(p.reference order by p.created_at, p.id), '[]'::jsonb)
    into v_references
    from picked p;
  return v_references;
end;
$$;

-- The references reconcile-payments checks next. See api_private.payments_to_reconcile.
-- service_role only.
create function public.payments_to_reconcile(p_limit integer default 100)
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
create function api_private.settle_payment(p_reference text, p_transaction jsonb)
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
create function public.settle_payment(p_reference text, p_transaction jsonb)
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
create function private.report_failing_reconciliation()
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
create function api_private.record_reconciliation_run(
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
create function public.record_reconciliation_run(
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

revoke all on function api_private.payments_to_reconcile(integer), api_private.settle_payment(text, jsonb), api_private.record_reconciliation_run(timestamptz, integer, integer, integer, jsonb), public.payments_to_reconcile(integer), public.settle_payment(text, jsonb), public.record_reconciliation_run(timestamptz, integer, integer, integer, jsonb) from public, anon, authenticated, service_role;
grant execute on function api_private.payments_to_reconcile(integer), api_private.settle_payment(text, jsonb), api_private.record_reconciliation_run(timestamptz, integer, integer, integer, jsonb), public.payments_to_reconcile(integer), public.settle_payment(text, jsonb), public.record_reconciliation_run(timestamptz, integer, integer, integer, jsonb) to service_role;

revoke all on function private.report_failing_reconciliation() from public, anon, authenticated, service_role;
