-- What a Paystack charge must carry to credit a purchase (apply_paystack_event): an amount or
-- currency mismatch is recorded for admins under its own key and does not block the reference (a
-- later correct event or verify call still credits it, once); when the customer pays the fees,
-- requested_amount is what is checked against the price.
begin;
set local search_path = extensions, public;
select plan(14);
\ir fixtures/helpers.psql

select tests.create_real_user('hana');
select tests.create_real_user('hugo', gender => 'male', looking_for => 'female');
select tests.create_real_user('hedy');
select tests.create_admin('hal');
select tests.create_operator('hop');
insert into public.transactions (real_user_id, reference, amount, currency, credits) values
  (tests.get_user_id('hana'), 'ref-34-amount', 45000, 'KES', 55),
  (tests.get_user_id('hana'), 'ref-34-currency', 45000, 'KES', 55),
  (tests.get_user_id('hana'), 'ref-34-fees', 45000, 'KES', 55),
  (tests.get_user_id('hana'), 'ref-34-fees-short', 45000, 'KES', 55),
  (tests.get_user_id('hana'), 'ref-34-partial', 100000, 'KES', 115),
  (tests.get_user_id('hugo'), 'ref-34-spent', 100000, 'KES', 115),
  (tests.get_user_id('hugo'), 'ref-34-disputed', 45000, 'KES', 55);

-- A charge.success body as Paystack sends it; p_extra is merged into data.
create function pg_temp.charge(p_reference text, p_amount int, p_currency text default 'KES',
  p_extra jsonb default '{}')
returns jsonb language sql as $$
  select jsonb_build_object('event', 'charge.success', 'data', jsonb_build_object(
    'id', abs(hashtext(p_reference))::bigint, 'status', 'success',
    'reference', p_reference, 'amount', p_amount, 'currency', p_currency,
    'paid_at', '2025-04-01T09:00:00Z') || p_extra);
$$;
create function pg_temp.apply(p_body jsonb, p_source text default 'webhook')
returns jsonb language sql as $$
  select public.apply_paystack_event(p_body ->> 'event', p_body,
    coalesce(p_body #>> '{data,reference}', p_body #>> '{data,transaction_reference}',
             p_body #>> '{data,transaction,reference}'), p_source);
$$;
create function pg_temp.credits(p_user uuid) returns int language sql as $$
  select credits from public.real_users where id = p_user;
$$;

-- A mismatch is recorded but does not block the reference ------------------------------------------
select tests.authenticate_as_service_role();
select is(pg_temp.apply(pg_temp.charge('ref-34-amount', 4500)) ->> 'outcome', 'amount_mismatch',
  'a charge.success for the wrong amount is an amount_mismatch');
select is(pg_temp.apply(pg_temp.charge('ref-34-amount', 4500)) ->> 'outcome', 'duplicate',
  'the same mismatched body again is a duplicate of it');
select is(pg_temp.apply(pg_temp.charge('ref-34-amount', 45000)) ->> 'outcome', 'credited',
  'a later matching charge.success for the same reference credits it');
select is(pg_temp.apply(pg_temp.charge('ref-34-amount', 45000), 'verify') ->> 'outcome', 'duplicate',
  'a verify call after that credits nothing more');
select is(pg_temp.apply(pg_temp.charge('ref-34-currency', 45000, 'NGN')) ->> 'outcome', 'currency_mismatch',
  'a charge.success in another currency is a currency_mismatch');
select is(pg_temp.apply(pg_temp.charge('ref-34-currency', 45000), 'verify') ->> 'outcome', 'credited',
  'a verify call confirming the right currency then credits the reference');
select is(pg_temp.apply(pg_temp.charge('ref-34-currency', 45000)) ->> 'outcome', 'duplicate',
  'and the matching webhook arriving after it is a duplicate');
select tests.clear_authentication();
select is(pg_temp.credits(tests.get_user_id('hana')), 110,
  'the two purchases were credited once each (55 + 55)');
select results_eq(
  $$select outcome, deliveries, dedupe_key like 'charge.success:ref-34-amount:amount_mismatch:%'
      from public.paystack_events where reference = 'ref-34-amount' order by received_at, outcome$$,
  $$values ('amount_mismatch'::text, 2, true), ('credited', 2, false)$$,
  'the mismatch is kept for admins under its own key; the credited event holds charge.success:<reference>'
);
select is((select detail from public.paystack_events where reference = 'ref-34-amount' and outcome = 'amount_mismatch'),
  '{"expected_amount": 45000, "received_amount": 4500}'::jsonb, 'the mismatch records what was expected and received');

-- The customer pays the fees: requested_amount is checked -------------------------------------------
select tests.authenticate_as_service_role();
select is(pg_temp.apply(pg_temp.charge('ref-34-fees', 45678, 'KES', '{"requested_amount": 45000}')) ->> 'outcome',
  'credited', 'amount above the price with requested_amount equal to it is credited');
select is(pg_temp.apply(pg_temp.charge('ref-34-fees-short', 45000, 'KES', '{"requested_amount": "40000"}')) ->> 'outcome',
  'amount_mismatch', 'a requested_amount below the price is a mismatch even when amount matches');
select tests.clear_authentication();
select is((select detail from public.paystack_events where reference = 'ref-34-fees'),
  '{"credits_granted": 55, "amount_paid": 45678}'::jsonb, 'the credited event records what the customer paid');
select is((select status from public.transactions where reference = 'ref-34-fees-short'), 'pending',
  'the short purchase stays pending');

select * from finish();
rollback;
