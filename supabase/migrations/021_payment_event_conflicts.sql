-- Payment events that a correctly signed delivery can carry but apply_paystack_event could not take
-- (docs/rules.md "Payments", docs/functions.md "paystack-webhook"). Each is now recorded for admins
-- and answered, never raised, so the webhook answers 200 and Paystack stops retrying:
--
--   * A Paystack transaction id already stored for another transaction (the unique
--     transactions.paystack_transaction_id) was a unique violation, a 500 on every retry: it is
--     recorded as paystack_id_conflict, with the other transaction in the detail.
--   * A value the database cannot hold (a paid_at offset beyond +/-15:59 or in the year 0000, a
--     number out of range for its column) was a cast error, a 500 on every retry, never recorded:
--     the event is recorded as unprocessable with the database's error.
--   * A charge.success was credited when requested_amount matched the price even if the amount
--     actually charged was lower (a partial debit): what was charged must now cover the price.
--
-- Both new outcomes are kept like amount and currency mismatches, under
-- <event>:<reference>:<outcome>:<md5 of the body>, so they never settle the reference: a later
-- correct event, a verify call or the reconciliation still credits it, once. No new object: the
-- function keeps its privileges (service_role only).

-- Paystack events: two more outcomes -----------------------------------------------------------------

alter table public.paystack_events drop constraint paystack_events_outcome_check;
alter table public.paystack_events add constraint paystack_events_outcome_check check (outcome in (
  'credited', 'duplicate', 'unknown_reference', 'amount_mismatch', 'currency_mismatch',
  'refunded', 'ignored', 'disputed', 'paystack_id_conflict', 'unprocessable'
));
comment on column public.paystack_events.outcome is
  'What the first delivery did: credited | duplicate (the transaction was already settled) | '
  'unknown_reference | amount_mismatch | currency_mismatch | paystack_id_conflict (Paystack''s '
  'transaction id is another transaction''s, named in detail) | unprocessable (a value the database '
  'cannot hold; detail has the error) (these five credit nothing; the reference can still be settled) '
  '| refunded | disputed (see payment_disputes) | ignored.';
comment on column public.paystack_events.dedupe_key is
  '<event>:<reference> (Paystack sends no event id); refunds and disputes: <event>:<Paystack id>; '
  'a mismatched or conflicting charge.success: charge.success:<reference>:<outcome>:<md5 of the body>; '
  'an unprocessable event: <event>:<reference or md5-<md5>>:unprocessable:<md5 of the body>; events '
  'naming no reference use an md5 of the body.';

-- Paystack events -------------------------------------------------------------------------------------

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
