-- Payments: checkout, Paystack events, crediting and refunds (docs/rules.md and docs/functions.md).
--
-- Flow: credits-checkout calls start_checkout() as the real user (pending transaction with the
-- package's price and credits copied, server-made reference), then Paystack's
-- transaction/initialize; if Paystack fails it calls mark_transaction_failed(). Paystack's webhook
-- (and the verify path of credits-checkout) hand every event to apply_paystack_event(), which
-- records it once in paystack_events and, in the same database transaction, credits or refunds.
-- Credits are only ever granted there: clients cannot write transactions or credits (003).

-- Refund bookkeeping on transactions (table from 001) -----------------------------------------------

alter table public.transactions
  add column failure_reason text,
  add column refunded_at timestamptz,
  add column credits_reversed integer check (credits_reversed >= 0),
  add column refund_shortfall integer check (refund_shortfall >= 0);
comment on column public.transactions.failure_reason is
  'Why the checkout failed before the user could pay (e.g. paystack_timeout); null otherwise.';
comment on column public.transactions.credits_reversed is
  'On refund: credits taken back from the user (at most what was left of the balance).';
comment on column public.transactions.refund_shortfall is
  'On refund: credits granted by this purchase that could not be taken back because the user had '
  'already spent them (balance never goes below zero). Shown to admins.';

-- Paystack events -----------------------------------------------------------------------------------

create table public.paystack_events (
  id uuid primary key default gen_random_uuid(),
  dedupe_key text not null unique,
  event text not null,
  reference text,
  source text not null default 'webhook' check (source in ('webhook', 'verify')),
  payload jsonb not null,
  outcome text not null check (outcome in (
    'credited', 'duplicate', 'unknown_reference', 'amount_mismatch', 'currency_mismatch',
    'refunded', 'ignored'
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
  '<event>:<reference> (Paystack sends no event id); events naming no reference use an md5 of the body.';
comment on column public.paystack_events.source is
  'webhook = delivered by Paystack; verify = the paying user asked credits-checkout/verify and '
  'Paystack''s transaction/verify said success.';
comment on column public.paystack_events.outcome is
  'What the first delivery did: credited | duplicate (the transaction was already settled) | '
  'unknown_reference | amount_mismatch | currency_mismatch (nothing credited) | refunded | ignored.';
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
  using ((select public.is_admin()));

-- Functions -----------------------------------------------------------------------------------------

-- Starts a credit purchase for the calling real user: creates a pending transaction for an active
-- package with a server-made unique reference, copying the package's price, currency and credits
-- (bonus included) so that later package changes never alter it. Returns what credits-checkout
-- needs to call Paystack (reference, amount in subunits, currency, credits, email).
-- Refuses: callers without a real_users row (PT403 not_real_user) or with a deactivated one (PT403
-- account_inactive), unknown or inactive packages (PT404 package_not_found), accounts without an
-- email (PT400 email_required). Callable by authenticated (real users).
create or replace function public.start_checkout(p_package_id uuid)
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
begin
  select * into v_user from public.real_users r where r.id = v_uid;
  if not found then
    perform errors.raise_error('not_real_user', 'Only a real user buys credits.');
  end if;
  if not v_user.is_active then
    perform errors.raise_error('account_inactive');
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

-- Marks a still-pending transaction failed (Paystack could not initialize it), with the reason.
-- Returns true when it changed the transaction; settled transactions are never touched.
-- Callable by service_role only (credits-checkout).
create or replace function public.mark_transaction_failed(p_reference text, p_reason text)
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

-- Records one Paystack event and applies it, in one database transaction, exactly once.
--   * The event is stored in paystack_events under dedupe_key <event>:<reference>; a repeat of a
--     known key only counts the delivery and answers 'duplicate' (concurrent repeats wait on the
--     unique key, so exactly one delivery does the work).
--   * charge.success: under a row lock on the transaction with that reference, checks the amount
--     (subunits) and currency against what was copied at checkout; on a match marks it success
--     with Paystack's id and paid_at and adds the transaction's credits (bonus included) to the
--     buyer. Already settled -> duplicate; no such reference -> unknown_reference; mismatches
--     credit nothing and are kept for admins.
--   * refund.processed (data.transaction_reference): marks the transaction refunded and takes back
--     its credits from the buyer, never below zero; what could not be taken back is recorded as
--     refund_shortfall. A refund reverses the whole purchase (Fantooo refunds whole purchases).
--   * any other event: recorded as ignored.
-- p_payload is the event body as received; p_reference the transaction reference it names (null
-- when it names none); p_source is 'webhook' or 'verify' (credits-checkout/verify after Paystack's
-- transaction/verify said success).
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
  v_key text;
  v_event_id uuid;
  v_tx public.transactions%rowtype;
  v_tx_id uuid;
  v_data jsonb;
  v_amount numeric;
  v_currency text;
  v_outcome text := 'ignored';
  v_detail jsonb := '{}'::jsonb;
  v_status text;
  v_granted integer := 0;
  v_reversed integer := 0;
  v_shortfall integer := 0;
  v_balance integer;
begin
  if coalesce(btrim(p_event), '') = '' or p_payload is null or jsonb_typeof(p_payload) <> 'object' then
    perform errors.raise_error('invalid_event');
  end if;
  if p_source is null or p_source not in ('webhook', 'verify') then
    perform errors.raise_error('invalid_source');
  end if;

  v_data := coalesce(p_payload -> 'data', '{}'::jsonb);
  v_key := p_event || ':' || coalesce(p_reference, 'md5-' || md5(p_payload::text));

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

  if p_event in ('charge.success', 'refund.processed') then
    select * into v_tx from public.transactions t where t.reference = p_reference for update;
    if not found then
      v_outcome := 'unknown_reference';
    end if;
  end if;

  if p_event = 'charge.success' and v_tx.id is not null then
    v_amount := case
      when jsonb_typeof(v_data -> 'amount') = 'number' then (v_data ->> 'amount')::numeric
      when (v_data ->> 'amount') ~ '^[0-9]{1,15}$' then (v_data ->> 'amount')::numeric
    end;
    v_currency := upper(v_data ->> 'currency');
    if v_tx.status in ('success', 'refunded') then
      v_outcome := 'duplicate';
    elsif v_amount is distinct from v_tx.amount then
      v_outcome := 'amount_mismatch';
      v_detail := jsonb_build_object('expected_amount', v_tx.amount, 'received_amount', v_data -> 'amount');
    elsif v_currency is distinct from v_tx.currency then
      v_outcome := 'currency_mismatch';
      v_detail := jsonb_build_object('expected_currency', v_tx.currency, 'received_currency', v_data -> 'currency');
    else
      update public.transactions t
         set status = 'success',
             paystack_transaction_id = case
               when (v_data ->> 'id') ~ '^[0-9]{1,18}$' then (v_data ->> 'id')::bigint
             end,
             paid_at = coalesce((v_data ->> 'paid_at')::timestamptz, now()),
             failure_reason = null,
             raw_event = p_payload
       where t.id = v_tx.id;
      update public.real_users r
         set credits = r.credits + v_tx.credits
       where r.id = v_tx.real_user_id;
      v_granted := v_tx.credits;
      v_outcome := 'credited';
      v_detail := jsonb_build_object('credits_granted', v_granted);
    end if;

  elsif p_event = 'refund.processed' and v_tx.id is not null then
    v_currency := upper(v_data ->> 'currency');
    if v_tx.status = 'refunded' then
      v_outcome := 'duplicate';
    elsif v_currency is not null and v_currency <> v_tx.currency then
      v_outcome := 'currency_mismatch';
      v_detail := jsonb_build_object('expected_currency', v_tx.currency, 'received_currency', v_data -> 'currency');
    else
      if v_tx.status = 'success' then
        select r.credits into v_balance from public.real_users r where r.id = v_tx.real_user_id for update;
        v_reversed := least(v_tx.credits, v_balance);
        v_shortfall := v_tx.credits - v_reversed;
        update public.real_users r
           set credits = r.credits - v_reversed
         where r.id = v_tx.real_user_id;
      end if;
      update public.transactions t
         set status = 'refunded', refunded_at = now(),
             credits_reversed = v_reversed, refund_shortfall = v_shortfall
       where t.id = v_tx.id;
      v_outcome := 'refunded';
      v_detail := jsonb_build_object(
        'credits_reversed', v_reversed, 'refund_shortfall', v_shortfall,
        'refund_amount', v_data -> 'amount', 'previous_status', v_tx.status
      );
    end if;
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

revoke execute on function public.start_checkout(uuid) from public, anon, authenticated, service_role;
revoke execute on function public.mark_transaction_failed(text, text) from public, anon, authenticated, service_role;
revoke execute on function public.apply_paystack_event(text, jsonb, text, text) from public, anon, authenticated, service_role;
grant execute on function public.start_checkout(uuid) to authenticated;
grant execute on function public.mark_transaction_failed(text, text) to service_role;
grant execute on function public.apply_paystack_event(text, jsonb, text, text) to service_role;
