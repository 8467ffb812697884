-- Undoes 021_payment_event_conflicts.sql: public.apply_paystack_event gets back the body it had before
-- (a Paystack id another transaction holds raises a unique violation again, a value the database
-- cannot hold raises its error, and requested_amount equal to the price credits whatever amount was
-- charged), and paystack_events its outcome check and comments. Events recorded as
-- paystack_id_conflict or unprocessable become ignored (their detail and keys stay; the keys never
-- block a reference).

begin;

update public.paystack_events e set outcome = 'ignored' where e.outcome in ('paystack_id_conflict', 'unprocessable');
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

commit;
