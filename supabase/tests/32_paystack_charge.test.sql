-- apply_paystack_event() for charge.success: credits exactly once, only on a matching amount and
-- currency, records every event, and only the service role may call it; only admins read events.
begin;
set local search_path = extensions, public;
select plan(40);
\ir fixtures/helpers.psql

select tests.create_real_user('paz', credits => 3, email => 'payer@example.com');
select tests.create_operator('oli');
select tests.create_admin('abe');
insert into public.transactions (real_user_id, reference, package_id, amount, currency, credits, status)
select tests.get_user_id('paz'), ref, (select id from public.credit_packages where name = 'Popular'),
       45000, 'KES', 55, status
from (values ('ref-32-ok', 'pending'), ('ref-32-amount', 'pending'), ('ref-32-currency', 'pending'),
             ('ref-32-case', 'pending'), ('ref-32-failed', 'failed')) as v (ref, status);

-- Builds a charge.success body the way Paystack sends it.
create function pg_temp.charge(p_reference text, p_amount jsonb, p_currency text, p_id bigint)
returns jsonb language sql as $$
  select jsonb_build_object('event', 'charge.success', 'data', jsonb_build_object(
    'id', p_id, 'status', 'success', 'reference', p_reference, 'amount', p_amount,
    'currency', p_currency, 'paid_at', '2025-03-01T10:15:00.000Z',
    'customer', jsonb_build_object('email', 'payer@example.com')));
$$;

-- Schema and privileges ---------------------------------------------------------------------------
select has_table('public', 'paystack_events', 'paystack_events exists');
select col_is_unique('public', 'paystack_events', 'dedupe_key', 'paystack_events.dedupe_key is unique');
select ok((select relrowsecurity from pg_class where oid = 'public.paystack_events'::regclass),
  'paystack_events has row level security on');
select function_privs_are('public', 'apply_paystack_event', array['text', 'jsonb', 'text', 'text'],
  'authenticated', array[]::text[], 'authenticated cannot execute apply_paystack_event');
select function_privs_are('public', 'apply_paystack_event', array['text', 'jsonb', 'text', 'text'],
  'anon', array[]::text[], 'anon cannot execute apply_paystack_event');
select function_privs_are('public', 'apply_paystack_event', array['text', 'jsonb', 'text', 'text'],
  'service_role', array['EXECUTE'], 'service_role can execute apply_paystack_event');
select throws_ok(
  $$insert into public.paystack_events (dedupe_key, event, payload, outcome) values ('x:y', 'x', '{}', 'paid')$$,
  '23514', null, 'an outcome outside the documented list is refused'
);

-- A matching charge.success credits the buyer once ------------------------------------------------
select tests.authenticate_as_service_role();
select results_eq(
  $$select r ->> 'outcome', (r ->> 'credits_granted')::int, r ->> 'status'
      from (select public.apply_paystack_event('charge.success',
          pg_temp.charge('ref-32-ok', '45000', 'KES', 9000001), 'ref-32-ok', 'webhook') as r) s$$,
  $$values ('credited'::text, 55, 'success'::text)$$,
  'a charge.success with the checkout amount and currency credits the transaction''s credits'
);
select tests.clear_authentication();
select results_eq(
  $$select credits from public.real_users where id = tests.get_user_id('paz')$$,
  array[58], 'the buyer''s balance grew by the credits bought, bonus included'
);
select results_eq(
  $$select status, paystack_transaction_id, paid_at, raw_event is null from public.transactions where reference = 'ref-32-ok'$$,
  $$values ('success'::text, 9000001::bigint, '2025-03-01T10:15:00Z'::timestamptz, true)$$,
  'the transaction is marked success with Paystack''s id and paid_at (the event stays in paystack_events)'
);
select results_eq(
  $$select event, reference, source, outcome, deliveries, transaction_id = (select id from public.transactions where reference = 'ref-32-ok')
      from public.paystack_events where dedupe_key = 'charge.success:ref-32-ok'$$,
  $$values ('charge.success'::text, 'ref-32-ok'::text, 'webhook'::text, 'credited'::text, 1, true)$$,
  'the event is recorded under <event>:<reference> with its outcome and transaction'
);

-- Replays change nothing --------------------------------------------------------------------------
select tests.authenticate_as_service_role();
select results_eq(
  $$select public.apply_paystack_event('charge.success',
      pg_temp.charge('ref-32-ok', '45000', 'KES', 9000001), 'ref-32-ok', 'webhook') ->> 'outcome'$$,
  array['duplicate'], 'a replayed charge.success answers duplicate'
);
select results_eq(
  $$select public.apply_paystack_event('charge.success',
      pg_temp.charge('ref-32-ok', '45000', 'KES', 9000001), 'ref-32-ok', 'verify') ->> 'outcome'$$,
  array['duplicate'], 'a verify after the webhook credited answers duplicate'
);
select tests.clear_authentication();
select results_eq(
  $$select credits from public.real_users where id = tests.get_user_id('paz')$$,
  array[58], 'replays credit nothing'
);
select results_eq(
  $$select count(*)::int, max(deliveries), min(outcome) from public.paystack_events where reference = 'ref-32-ok'$$,
  $$values (1, 3, 'credited'::text)$$,
  'replays are counted on the one event row, which keeps its first outcome'
);

-- Unknown reference -------------------------------------------------------------------------------
select tests.authenticate_as_service_role();
select results_eq(
  $$select public.apply_paystack_event('charge.success',
      pg_temp.charge('ref-32-nobody', '45000', 'KES', 9000002), 'ref-32-nobody', 'webhook') ->> 'outcome'$$,
  array['unknown_reference'], 'a charge.success for an unknown reference answers unknown_reference'
);
select tests.clear_authentication();
select results_eq(
  $$select outcome, transaction_id from public.paystack_events where dedupe_key = 'charge.success:ref-32-nobody'$$,
  $$values ('unknown_reference'::text, null::uuid)$$,
  'the unknown reference is recorded for admins'
);

-- Amount and currency mismatches credit nothing ---------------------------------------------------
select tests.authenticate_as_service_role();
select results_eq(
  $$select public.apply_paystack_event('charge.success',
      pg_temp.charge('ref-32-amount', '4500', 'KES', 9000003), 'ref-32-amount', 'webhook') ->> 'outcome'$$,
  array['amount_mismatch'], 'a charge.success for less than the checkout price answers amount_mismatch'
);
select results_eq(
  $$select public.apply_paystack_event('charge.success',
      pg_temp.charge('ref-32-currency', '45000', 'NGN', 9000004), 'ref-32-currency', 'webhook') ->> 'outcome'$$,
  array['currency_mismatch'], 'a charge.success in another currency answers currency_mismatch'
);
select tests.clear_authentication();
select results_eq(
  $$select credits from public.real_users where id = tests.get_user_id('paz')$$,
  array[58], 'mismatched charges credit nothing'
);
select results_eq(
  $$select reference, status, paystack_transaction_id from public.transactions
     where reference in ('ref-32-amount', 'ref-32-currency') order by reference$$,
  $$values ('ref-32-amount'::text, 'pending'::text, null::bigint), ('ref-32-currency', 'pending', null)$$,
  'mismatched transactions stay pending'
);
select results_eq(
  $$select outcome, detail from public.paystack_events where reference in ('ref-32-amount', 'ref-32-currency') order by reference$$,
  $$values ('amount_mismatch'::text, '{"expected_amount": 45000, "received_amount": 4500}'::jsonb),
           ('currency_mismatch', '{"expected_currency": "KES", "received_currency": "NGN"}')$$,
  'mismatches are recorded with what was expected and received'
);
select tests.authenticate_as_service_role();
select results_eq(
  $$select public.apply_paystack_event('charge.success',
      pg_temp.charge('ref-32-amount', '45000', 'KES', 9000003), 'ref-32-amount', 'webhook') ->> 'outcome'$$,
  array['credited'], 'a matching delivery after a mismatch still credits the reference'
);

-- Normalisation and failed checkouts --------------------------------------------------------------
select results_eq(
  $$select public.apply_paystack_event('charge.success',
      pg_temp.charge('ref-32-case', '"45000"', 'kes', 9000005), 'ref-32-case', 'webhook') ->> 'outcome'$$,
  array['credited'], 'an amount sent as digits and a lowercase currency still match'
);
select results_eq(
  $$select public.apply_paystack_event('charge.success',
      pg_temp.charge('ref-32-failed', '45000', 'KES', 9000006), 'ref-32-failed', 'verify') ->> 'outcome'$$,
  array['credited'], 'money received for a checkout marked failed is still credited'
);
select tests.clear_authentication();
select results_eq(
  $$select credits from public.real_users where id = tests.get_user_id('paz')$$,
  array[223], 'the late matching delivery and those two purchases added 55 credits each'
);
select results_eq(
  $$select status, failure_reason, (select source from public.paystack_events e where e.reference = t.reference)
      from public.transactions t where reference = 'ref-32-failed'$$,
  $$values ('success'::text, null::text, 'verify'::text)$$,
  'the failed checkout is now success and the event records that it came from verify'
);

-- Other events and bad input ----------------------------------------------------------------------
select tests.authenticate_as_service_role();
select results_eq(
  $$select public.apply_paystack_event('transfer.success',
      '{"event": "transfer.success", "data": {"amount": 100}}'::jsonb, null, 'webhook') ->> 'outcome'$$,
  array['ignored'], 'an event we do not handle is recorded as ignored'
);
select results_eq(
  $$select public.apply_paystack_event('transfer.success',
      '{"event": "transfer.success", "data": {"amount": 100}}'::jsonb, null, 'webhook') ->> 'outcome'$$,
  array['duplicate'], 'the same body again is a duplicate (dedupe on the body when there is no reference)'
);
select results_eq(
  $$select public.apply_paystack_event('subscription.create',
      '{"event": "subscription.create", "data": {"reference": "SUB_1"}}'::jsonb, 'SUB_1', 'webhook') ->> 'outcome'$$,
  array['ignored'], 'an unhandled event naming a reference is ignored too'
);
select throws_ok(
  $$select public.apply_paystack_event('', '{}'::jsonb, 'x', 'webhook')$$,
  'PT400', 'invalid_event', 'an event without a name is refused'
);
select throws_ok(
  $$select public.apply_paystack_event('charge.success', '{}'::jsonb, 'x', 'client')$$,
  'PT400', 'invalid_source', 'an unknown source is refused'
);
select tests.clear_authentication();
select results_eq(
  $$select count(*)::int from public.paystack_events where event in ('transfer.success', 'subscription.create')$$,
  array[2], 'ignored events are recorded once each'
);

-- Who reads events and who may apply them ----------------------------------------------------------
select tests.authenticate_as('paz');
select is_empty($$select 1 from public.paystack_events$$, 'the buyer cannot read Paystack events');
select throws_ok(
  $$select public.apply_paystack_event('charge.success',
      pg_temp.charge('ref-32-amount', '45000', 'KES', 1), 'ref-32-amount', 'webhook')$$,
  '42501', null, 'the buyer cannot credit itself through apply_paystack_event'
);
select tests.authenticate_as('oli');
select is_empty($$select 1 from public.paystack_events$$, 'an operator cannot read Paystack events');
select tests.authenticate_as('abe');
select results_eq(
  $$select count(*)::int from public.paystack_events$$, array[9],
  'an admin reads every recorded event'
);
select throws_ok(
  $$select public.apply_paystack_event('charge.success',
      pg_temp.charge('ref-32-amount', '45000', 'KES', 1), 'ref-32-amount', 'webhook')$$,
  '42501', null, 'an admin cannot call apply_paystack_event either'
);
select throws_ok(
  $$update public.paystack_events set outcome = 'credited'$$,
  '42501', null, 'an admin cannot rewrite an event'
);
select tests.authenticate_as_anon();
select throws_ok($$select 1 from public.paystack_events$$, '42501', null, 'a visitor cannot read Paystack events');
select tests.clear_authentication();

select * from finish();
rollback;
