-- apply_paystack_event and the events a correctly signed delivery can still carry: a Paystack
-- transaction id another purchase already holds (paystack_id_conflict), an amount charged below the
-- price although requested_amount matches it (amount_mismatch), and values the database cannot hold
-- (unprocessable). Each is recorded for admins under its own key and answered, never raised, and the
-- reference stays open: a later correct event or a verify call still credits it, once.
begin;
set local search_path = extensions, public;
select plan(42);
\ir fixtures/helpers.psql

select tests.create_real_user('cora');
select tests.create_real_user('cato', gender => 'male', looking_for => 'female');
insert into public.transactions (real_user_id, reference, amount, currency, credits) values
  (tests.get_user_id('cora'), 'ref-37-first', 45000, 'KES', 55),
  (tests.get_user_id('cato'), 'ref-37-second', 45000, 'KES', 55),
  (tests.get_user_id('cora'), 'ref-37-short', 45000, 'KES', 55),
  (tests.get_user_id('cora'), 'ref-37-unpaid', 45000, 'KES', 55),
  (tests.get_user_id('cora'), 'ref-37-fees', 45000, 'KES', 55),
  (tests.get_user_id('cato'), 'ref-37-offset', 45000, 'KES', 55),
  (tests.get_user_id('cato'), 'ref-37-year', 45000, 'KES', 55),
  (tests.get_user_id('cato'), 'ref-37-disputed', 45000, 'KES', 55),
  (tests.get_user_id('cato'), 'ref-37-reconciled', 45000, 'KES', 55);

-- A charge.success body as Paystack sends it, with Paystack's transaction id p_id; p_extra is
-- merged into data.
create function pg_temp.charge(p_reference text, p_id bigint, p_amount int default 45000,
  p_extra jsonb default '{}')
returns jsonb language sql as $$
  select jsonb_build_object('event', 'charge.success', 'data', jsonb_build_object(
    'id', p_id, 'status', 'success', 'reference', p_reference, 'amount', p_amount,
    'currency', 'KES', 'paid_at', '2025-04-01T09:00:00Z') || p_extra);
$$;
create function pg_temp.dispute(p_reference text, p_id text, p_refund_amount jsonb)
returns jsonb language sql as $$
  select jsonb_build_object('event', 'charge.dispute.create', 'data', jsonb_build_object(
    'id', p_id, 'status', 'awaiting-merchant-feedback', 'category', 'fraud',
    'refund_amount', p_refund_amount, 'currency', 'KES',
    'transaction', jsonb_build_object('id', 99, 'reference', p_reference, 'amount', 45000)));
$$;
create function pg_temp.apply(p_body jsonb, p_source text default 'webhook')
returns jsonb language sql as $$
  select public.apply_paystack_event(p_body ->> 'event', p_body,
    coalesce(p_body #>> '{data,reference}', p_body #>> '{data,transaction,reference}'), p_source);
$$;
create function pg_temp.credits(p_user uuid) returns int language sql as $$
  select credits from public.real_users where id = p_user;
$$;
create function pg_temp.tx(p_reference text) returns public.transactions language sql as $$
  select * from public.transactions where reference = p_reference;
$$;

-- A Paystack id another transaction holds ----------------------------------------------------------
select tests.authenticate_as_service_role();
select is(pg_temp.apply(pg_temp.charge('ref-37-first', 3700001)) ->> 'outcome', 'credited',
  'the first purchase is credited and holds Paystack id 3700001');
select lives_ok($$select pg_temp.apply(pg_temp.charge('ref-37-second', 3700001))$$,
  'a signed charge.success carrying the id of another transaction does not raise');
select tests.clear_authentication();
select results_eq(
  $$select outcome, deliveries, dedupe_key like 'charge.success:ref-37-second:paystack_id_conflict:%',
           transaction_id = (pg_temp.tx('ref-37-second')).id
      from public.paystack_events where reference = 'ref-37-second'$$,
  $$values ('paystack_id_conflict'::text, 1, true, true)$$,
  'it is recorded as paystack_id_conflict, on its purchase, under a key of its own');
select is((select detail from public.paystack_events where reference = 'ref-37-second'),
  jsonb_build_object('paystack_transaction_id', 3700001,
    'conflicting_transaction_id', (pg_temp.tx('ref-37-first')).id, 'conflicting_reference', 'ref-37-first'),
  'the detail names the Paystack id and the transaction that already holds it');
select is((pg_temp.tx('ref-37-second')).status, 'pending', 'the conflicting purchase stays pending');
select is((pg_temp.tx('ref-37-first')).paystack_transaction_id, 3700001::bigint,
  'the first purchase keeps its Paystack id');
select is(pg_temp.credits(tests.get_user_id('cato')), 0, 'nothing is credited');

select tests.authenticate_as_service_role();
select is(pg_temp.apply(pg_temp.charge('ref-37-second', 3700001)) ->> 'outcome', 'duplicate',
  'the same conflicting body again is a duplicate of it');
select is(pg_temp.apply(pg_temp.charge('ref-37-second', 3700002)) ->> 'outcome', 'credited',
  'a later correct charge.success for the reference credits it');
select is(pg_temp.apply(pg_temp.charge('ref-37-second', 3700002), 'verify') ->> 'outcome', 'duplicate',
  'and a verify call after it credits nothing more');
select tests.clear_authentication();
select is(pg_temp.credits(tests.get_user_id('cato')), 55, 'the purchase is credited once');
select results_eq(
  $$select outcome, deliveries from public.paystack_events where reference = 'ref-37-second' order by outcome$$,
  $$values ('credited'::text, 2), ('paystack_id_conflict', 2)$$,
  'the conflict stays for admins beside the event that settled the purchase');

-- What was charged must cover the price ------------------------------------------------------------
select tests.authenticate_as_service_role();
select is(pg_temp.apply(pg_temp.charge('ref-37-short', 3700003, 40000, '{"requested_amount": 45000}')) ->> 'outcome',
  'amount_mismatch', 'requested_amount equal to the price but amount charged below it is an amount_mismatch');
select tests.clear_authentication();
select is((select detail from public.paystack_events where reference = 'ref-37-short'),
  '{"expected_amount": 45000, "received_amount": 40000, "received_requested_amount": 45000}'::jsonb,
  'the mismatch records the price, what was charged and what was requested');
select is(pg_temp.credits(tests.get_user_id('cora')), 55, 'nothing more is credited');
select is((pg_temp.tx('ref-37-short')).status, 'pending', 'the short purchase stays pending');
select tests.authenticate_as_service_role();
select is(pg_temp.apply(pg_temp.charge('ref-37-short', 3700003, 45000, '{"requested_amount": 45000}'), 'verify') ->> 'outcome',
  'credited', 'a verify call that finds the full amount paid then credits it');
select is(pg_temp.apply(pg_temp.charge('ref-37-unpaid', 3700004, 45000, '{"amount": null, "requested_amount": 45000}')) ->> 'outcome',
  'amount_mismatch', 'a requested_amount equal to the price with no amount charged is an amount_mismatch');
select is(pg_temp.apply(pg_temp.charge('ref-37-fees', 3700005, 45001, '{"requested_amount": "45000"}')) ->> 'outcome',
  'credited', 'an amount above the price with requested_amount equal to it (the fees) is credited');
select is(pg_temp.apply(pg_temp.charge('ref-37-unpaid', 3700004, 45001)) ->> 'outcome', 'amount_mismatch',
  'an amount above the price without requested_amount is still an amount_mismatch');
select tests.clear_authentication();
select is(pg_temp.credits(tests.get_user_id('cora')), 165, 'the short and the fee-paying purchases are credited once each');

-- Values the database cannot hold ------------------------------------------------------------------
select tests.authenticate_as_service_role();
select lives_ok($$select pg_temp.apply(pg_temp.charge('ref-37-offset', 3700006, 45000, '{"paid_at": "2025-04-01T09:00:00+16:00"}'))$$,
  'a paid_at with an offset of +16:00 does not raise');
select lives_ok($$select pg_temp.apply(pg_temp.charge('ref-37-year', 3700007, 45000, '{"paid_at": "0000-01-01T00:00:00Z"}'))$$,
  'nor does a paid_at in the year 0000');
select tests.clear_authentication();
select results_eq(
  $$select reference, outcome, dedupe_key like 'charge.success:' || reference || ':unprocessable:%',
           detail ->> 'sqlstate', detail ->> 'would_have_been', transaction_id = (pg_temp.tx(reference)).id
      from public.paystack_events where reference in ('ref-37-offset', 'ref-37-year') order by reference$$,
  $$values ('ref-37-offset'::text, 'unprocessable'::text, true, '22009'::text, 'credited'::text, true),
           ('ref-37-year', 'unprocessable', true, '22008', 'credited', true)$$,
  'each is recorded as unprocessable with the database''s error, under a key of its own');
select matches((select detail ->> 'error' from public.paystack_events where reference = 'ref-37-offset'),
  'time zone displacement out of range', 'the detail says what the database could not hold');
select is(pg_temp.credits(tests.get_user_id('cato')), 55, 'nothing is credited for them');
select results_eq(
  $$select status, paid_at, paystack_transaction_id from public.transactions where reference = 'ref-37-offset'$$,
  $$values ('pending'::text, null::timestamptz, null::bigint)$$,
  'the purchase is left exactly as it was (nothing of the failed write is kept)');
select tests.authenticate_as_service_role();
select is(pg_temp.apply(pg_temp.charge('ref-37-offset', 3700006, 45000, '{"paid_at": "2025-04-01T09:00:00+16:00"}')) ->> 'outcome',
  'duplicate', 'the same unprocessable body again is a duplicate of it');
select is(pg_temp.apply(pg_temp.charge('ref-37-offset', 3700006), 'verify') ->> 'outcome', 'credited',
  'a verify call with a usable paid_at then credits the purchase');
select is(pg_temp.apply(pg_temp.charge('ref-37-offset', 3700006)) ->> 'outcome', 'duplicate',
  'and the correct webhook after it is a duplicate');
select tests.clear_authentication();
select is(pg_temp.credits(tests.get_user_id('cato')), 110, 'credited once');
select results_eq(
  $$select outcome, deliveries from public.paystack_events where reference = 'ref-37-offset' order by outcome$$,
  $$values ('credited'::text, 2), ('unprocessable', 2)$$,
  'the unprocessable event stays for admins beside the one that settled the purchase');

select tests.authenticate_as_service_role();
select is(pg_temp.apply(pg_temp.charge('ref-37-disputed', 3700008)) ->> 'outcome', 'credited', 'a purchase to dispute');
select is(pg_temp.apply(pg_temp.dispute('ref-37-disputed', 'DSP_37_big', '"999999999999999"')) ->> 'outcome', 'unprocessable',
  'a dispute whose refund_amount does not fit an integer is unprocessable, not raised');
select tests.clear_authentication();
select is((select detail ->> 'sqlstate' from public.paystack_events where reference = 'ref-37-disputed' and outcome = 'unprocessable'),
  '22003', 'recorded with the database''s error (numeric value out of range)');
select is((select count(*)::int from public.payment_disputes where reference = 'ref-37-disputed'), 0,
  'nothing of it is kept in payment_disputes');
select tests.authenticate_as_service_role();
select is(pg_temp.apply(pg_temp.dispute('ref-37-disputed', 'DSP_37_big', '45000')) ->> 'outcome', 'disputed',
  'the same dispute with a usable amount is recorded as disputed (its key was left free)');
select tests.clear_authentication();

-- Through settle_payment (credits-checkout/verify and reconcile-payments) ----------------------------
select tests.authenticate_as_service_role();
select is(public.settle_payment('ref-37-reconciled',
    (pg_temp.charge('ref-37-reconciled', 3700001) -> 'data')) ->> 'outcome', 'paystack_id_conflict',
  'Paystack''s verify answer with an id another purchase holds is a paystack_id_conflict');
select is(public.settle_payment('ref-37-reconciled',
    (pg_temp.charge('ref-37-reconciled', 3700009, 45000, '{"paid_at": "2025-04-01T09:00:00-16:30"}') -> 'data')),
  '{"reference": "ref-37-reconciled", "outcome": "unprocessable", "status": "pending", "credits_granted": 0}'::jsonb,
  'and one with an unusable paid_at is unprocessable, leaving the purchase pending');
select is(public.settle_payment('ref-37-reconciled', (pg_temp.charge('ref-37-reconciled', 3700009) -> 'data')) ->> 'outcome',
  'credited', 'a usable answer then credits it');
select tests.clear_authentication();

-- Who may call it, and what outcome may be recorded ---------------------------------------------------
select ok(has_function_privilege('service_role', 'public.apply_paystack_event(text, jsonb, text, text)', 'execute')
      and not has_function_privilege('authenticated', 'public.apply_paystack_event(text, jsonb, text, text)', 'execute')
      and not has_function_privilege('anon', 'public.apply_paystack_event(text, jsonb, text, text)', 'execute'),
  'apply_paystack_event stays the service role''s only');
select throws_ok(
  $$insert into public.paystack_events (dedupe_key, event, payload, outcome) values ('t:37', 't', '{}', 'lost')$$,
  '23514', null, 'an outcome outside the list is refused');

select * from finish();
rollback;
