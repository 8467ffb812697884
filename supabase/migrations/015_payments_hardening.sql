-- Payments hardening (SPEC 12; docs/rules.md "Payments"): what an independent review of 010_payments
-- found, fixed in the database.
--
--   * A signed charge.success whose amount or currency does not match is recorded but no longer uses
--     up the dedupe key charge.success:<reference>: a later matching event, or a verify call, still
--     credits the purchase, once. Mismatches are kept under
--     charge.success:<reference>:<outcome>:<md5 of the stored body> (a replay of the same mismatched
--     body is a duplicate of it).
--   * "Customer pays the fees": the amount checked is data.requested_amount when Paystack sends it,
--     else data.amount.
--   * Refunds: the dedupe key is refund.processed:<refund id> (data.id); each refund takes back
--     credits in proportion to the amount refunded, rounded up (cumulatively, so that several partial
--     refunds never take back more than the purchase granted), never below 0 (the shortfall is
--     recorded as in 010). transactions.refunded_amount is what has been refunded so far; the status
--     becomes refunded once the whole price is.
--   * Disputes: charge.dispute.create (outcome disputed) flags the purchase and its buyer for admins
--     in public.payment_disputes (admins read it; real users do not).
--   * Abuse limits, enforced here so that several function instances cannot both pass: at most 10
--     pending checkouts per user per hour (start_checkout) and one verify call per reference every
--     5 seconds (start_payment_verify), both PT429 rate_limited, whose detail ends with
--     "try again in N seconds" (credits-checkout turns N into a Retry-After header).
--   * transactions.raw_event (Paystack internals) is no longer filled: the settling event is the
--     paystack_events row (admins only) with this transaction_id and outcome credited. Why not column
--     privileges: PostgREST's select=* expands to every column, so one column that real users may not
--     read makes select=* fail for them (and for admins, who are the same database role). Keeping the
--     column, always null (a check says so), keeps select=* and the schema of SPEC 2 as they were.
--
-- Security model as in 013: start_checkout and start_payment_verify, which clients call, are security
-- invoker wrappers in public over security definer bodies in api_private (013's schema), each body
-- checking its caller; apply_paystack_event stays the service role's only.

insert into errors.catalogue (code, sqlstate, http_status, message) values
  ('transaction_not_found', 'PT404', 404, 'You have no transaction with this reference.'),
  ('rate_limited', 'PT429', 429, 'Too many requests: try again later.');

-- Transactions: refunds so far, raw_event no longer filled ------------------------------------------

alter table public.transactions
  add column refunded_amount integer not null default 0 check (refunded_amount >= 0);
comment on column public.transactions.refunded_amount is
  'Subunits refunded so far (the sum of the processed refunds, at most amount). The status becomes '
  'refunded once the whole amount is; a partly refunded purchase stays success.';

-- What raw_event held is in paystack_events already (the credited row of this transaction).
update public.transactions t set raw_event = null where t.raw_event is not null;
alter table public.transactions
  add constraint transactions_raw_event_unused check (raw_event is null);
comment on column public.transactions.raw_event is
  'Always null since 015: the event that settled the transaction is the paystack_events row with '
  'this transaction_id and outcome credited (readable by admins only, unlike this table).';

comment on column public.transactions.credits_reversed is
  'On refunds: credits taken back from the user so far (at most what was left of the balance).';
comment on column public.transactions.refund_shortfall is
  'On refunds: credits the refunds should have taken back but could not, because the user had '
  'already spent them (balance never goes below zero). Shown to admins.';

-- Paystack events: the disputed outcome, mismatches re-keyed -----------------------------------------

alter table public.paystack_events drop constraint paystack_events_outcome_check;
alter table public.paystack_events add constraint paystack_events_outcome_check check (outcome in (
  'credited', 'duplicate', 'unknown_reference', 'amount_mismatch', 'currency_mismatch',
  'refunded', 'ignored', 'disputed'
));
comment on column public.paystack_events.outcome is
  'What the first delivery did: credited | duplicate (the transaction was already settled) | '
  'unknown_reference | amount_mismatch | currency_mismatch (nothing credited; the reference can '
  'still be settled) | refunded | disputed (see payment_disputes) | ignored.';
comment on column public.paystack_events.dedupe_key is
  '<event>:<reference> (Paystack sends no event id); refunds and disputes: <event>:<Paystack id>; '
  'a mismatched charge.success: charge.success:<reference>:<outcome>:<md5 of the body>; events naming '
  'no reference use an md5 of the body.';

-- Mismatches recorded by 010 held charge.success:<reference> and blocked the purchase: free the key.
update public.paystack_events e
   set dedupe_key = e.dedupe_key || ':' || e.outcome || ':' || md5(e.payload::text)
 where e.event = 'charge.success' and e.outcome in ('amount_mismatch', 'currency_mismatch');

-- Disputes ------------------------------------------------------------------------------------------

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
  using ((select public.is_admin()));

-- Verify calls, one per reference every 5 seconds ----------------------------------------------------

create table private.payment_verify_calls (
  transaction_id uuid primary key references public.transactions (id) on delete cascade,
  last_called_at timestamptz not null
);
comment on table private.payment_verify_calls is
  'When credits-checkout/verify last asked Paystack about each transaction (start_payment_verify).';
revoke all on table private.payment_verify_calls from public, anon, authenticated, service_role;

-- Helpers -------------------------------------------------------------------------------------------

-- An amount in subunits as Paystack sends it (a whole number, or a string of digits); else null.
create or replace function private.paystack_subunits(p_value jsonb)
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
create or replace function private.paystack_id(p_value jsonb)
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
create or replace function private.refund_credits_due(p_credits integer, p_amount integer, p_refunded integer)
returns integer
language sql
immutable
set search_path = ''
as $$
  select least(p_credits, ceil(p_credits::numeric * greatest(p_refunded, 0) / p_amount))::integer;
$$;

-- Checkout --------------------------------------------------------------------------------------------

-- Starts a credit purchase for the calling real user (010's start_checkout, now with its limit): a
-- pending transaction for an active package with a server-made unique reference, copying the
-- package's price, currency and credits (bonus included). At most 10 of the caller's checkouts
-- created in the last hour may still be pending: the caller's real_users row is locked first, so
-- concurrent checkouts of one user are counted one after the other. Returns what credits-checkout
-- needs to call Paystack (reference, amount in subunits, currency, credits, email).
-- Refuses: callers without a real_users row (PT403 not_real_user) or with a deactivated one (PT403
-- account_inactive), an 11th pending checkout within the hour (PT429 rate_limited, the detail says
-- when to try again), unknown or inactive packages (PT404 package_not_found), accounts without an
-- email (PT400 email_required). Called through public.start_checkout by authenticated.
create or replace function api_private.start_checkout(p_package_id uuid)
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
create or replace function public.start_checkout(p_package_id uuid)
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
create or replace function api_private.start_payment_verify(p_reference text)
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
create or replace function public.start_payment_verify(p_reference text)
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select api_private.start_payment_verify(p_reference);
$$;

-- Paystack events -------------------------------------------------------------------------------------

-- Records one Paystack event and applies it, in one database transaction, exactly once.
--   * The transaction the event names is locked first, so the events of one purchase (and verify
--     calls) are applied one after the other. The event is then stored in paystack_events under its
--     dedupe key; a repeat of a known key only counts the delivery and answers 'duplicate'.
--   * charge.success (key charge.success:<reference>): checks data.requested_amount when present
--     (the customer paid the fees on top), else data.amount, and the currency, against what was
--     copied at checkout; on a match marks the transaction success with Paystack's id and paid_at and
--     adds its credits (bonus included, less what refunds already took back) to the buyer. Already
--     settled -> duplicate; no such reference -> unknown_reference. A mismatch credits nothing and is
--     kept for admins under charge.success:<reference>:<outcome>:<md5 of the body>, so the reference
--     can still be settled by a matching event or a verify call.
--   * refund.processed (key refund.processed:<refund id>, data.transaction_reference): adds the
--     refunded amount (all of it when absent) to refunded_amount and, if the purchase was credited,
--     takes back ceil(credits x refunded so far / amount) minus what earlier refunds took, never
--     below zero (what could not be taken back adds to refund_shortfall). The transaction is refunded
--     once the whole amount is; a refund of a fully refunded one is a duplicate.
--   * charge.dispute.create (key charge.dispute.create:<dispute id>, data.transaction.reference):
--     records the dispute in payment_disputes, flagging the purchase and its buyer for admins
--     (outcome disputed); credits are untouched.
--   * any other event: recorded as ignored (refund.* and charge.dispute.* keyed by their id).
-- p_payload is the stored copy of the event (the webhook sanitises what jsonb cannot hold);
-- p_reference the transaction reference it names (null when it names none); p_source is 'webhook' or
-- 'verify' (credits-checkout/verify after Paystack's transaction/verify said success).
-- Returns {outcome, event_id, transaction_id, status, credits_granted, credits_reversed}.
-- Refuses an event without a name or an object payload (PT400 invalid_event) and an unknown source
-- (PT400 invalid_source). Callable by service_role only (paystack-webhook, credits-checkout).
create or replace function public.apply_paystack_event(
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
  v_checked numeric;
  v_currency text;
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
    v_checked := coalesce(private.paystack_subunits(v_data -> 'requested_amount'),
                          private.paystack_subunits(v_data -> 'amount'));
    v_currency := upper(v_data ->> 'currency');
    if v_tx.status in ('success', 'refunded') then
      v_outcome := 'duplicate';
    elsif v_checked is distinct from v_tx.amount then
      v_outcome := 'amount_mismatch';
      v_detail := jsonb_build_object('expected_amount', v_tx.amount, 'received_amount', v_data -> 'amount');
      if private.paystack_subunits(v_data -> 'requested_amount') is not null then
        v_detail := v_detail || jsonb_build_object('received_requested_amount', v_data -> 'requested_amount');
      end if;
    elsif v_currency is distinct from v_tx.currency then
      v_outcome := 'currency_mismatch';
      v_detail := jsonb_build_object('expected_currency', v_tx.currency, 'received_currency', v_data -> 'currency');
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
    when p_event = 'charge.success' and v_outcome in ('amount_mismatch', 'currency_mismatch') then
      p_event || ':' || p_reference || ':' || v_outcome || ':' || md5(p_payload::text)
    when (p_event like 'refund.%' or p_event like 'charge.dispute.%')
         and private.paystack_id(v_data -> 'id') is not null then
      p_event || ':' || private.paystack_id(v_data -> 'id')
    else
      p_event || ':' || coalesce(p_reference, 'md5-' || md5(p_payload::text))
  end;

  insert into public.paystack_events (dedupe_key, event, reference, source, payload, outcome)
  values (v_key, p_event, p_reference, p_source, p_payload, 'ignored')
  on conflict (dedupe_key) do nothing
  returning id into v_event_id;

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

  if v_outcome = 'credited' then
    -- Refunds that came before the payment was confirmed have already taken their share.
    v_take := private.refund_credits_due(v_tx.credits, v_tx.amount, v_tx.refunded_amount);
    update public.transactions t
       set status = 'success',
           paystack_transaction_id = case
             when (v_data ->> 'id') ~ '^[0-9]{1,18}$' then (v_data ->> 'id')::bigint
           end,
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
    if private.paystack_subunits(v_data -> 'requested_amount') is not null then
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

  update public.paystack_events e
     set outcome = v_outcome, detail = v_detail, transaction_id = v_tx.id
   where e.id = v_event_id;

  select t.status into v_status from public.transactions t where t.id = v_tx.id;
  return jsonb_build_object(
    'outcome', v_outcome, 'event_id', v_event_id, 'transaction_id', v_tx.id, 'status', v_status,
    'credits_granted', v_granted, 'credits_reversed', v_reversed
  );
end;
$$;

-- Privileges ------------------------------------------------------------------------------------------

revoke all on function
  private.paystack_subunits(jsonb),
  private.paystack_id(jsonb),
  private.refund_credits_due(integer, integer, integer)
from public, anon, authenticated, service_role;

-- Checkout and verify: real users (authenticated). Each body checks its caller (auth.uid()).
revoke all on function
  api_private.start_checkout(uuid),
  api_private.start_payment_verify(text),
  public.start_checkout(uuid),
  public.start_payment_verify(text)
from public, anon, authenticated, service_role;
grant execute on function
  api_private.start_checkout(uuid),
  api_private.start_payment_verify(text),
  public.start_checkout(uuid),
  public.start_payment_verify(text)
to authenticated;
