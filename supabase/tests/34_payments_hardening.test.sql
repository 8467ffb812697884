-- 015_payments_hardening: a mismatch does not block its reference, requested_amount is what is
-- checked, partial refunds take back credits in proportion, disputes flag the purchase and its buyer
-- for admins, checkout and verify are limited in the database, and real users no longer read
-- Paystack's event on their transactions. Per persona where it matters: the buyer, another real
-- user, an admin, anon.
begin;
set local search_path = extensions, public;
select plan(59);
\ir fixtures/authenticate.psql

insert into auth.users (id, email) values
  ('34000000-0000-4000-8000-000000000001', 'hardened-buyer@example.com'),
  ('34000000-0000-4000-8000-000000000002', 'hardened-other@example.com'),
  ('34000000-0000-4000-8000-000000000003', 'hardened-admin@fantooo.local'),
  ('34000000-0000-4000-8000-000000000004', 'hardened-shopper@example.com'),
  ('34000000-0000-4000-8000-000000000005', 'hardened-operator@fantooo.local');
insert into public.real_users (id, display_name, age, gender, looking_for, credits) values
  ('34000000-0000-4000-8000-000000000001', 'Hana', 31, 'female', 'male', 0),
  ('34000000-0000-4000-8000-000000000002', 'Hugo', 33, 'male', 'female', 0),
  ('34000000-0000-4000-8000-000000000004', 'Hedy', 27, 'female', 'male', 0);
insert into public.admins (id, name) values ('34000000-0000-4000-8000-000000000003', 'Hal');
insert into public.operators (id, name) values ('34000000-0000-4000-8000-000000000005', 'Hop');
insert into public.transactions (real_user_id, reference, amount, currency, credits) values
  ('34000000-0000-4000-8000-000000000001', 'ref-34-amount', 45000, 'KES', 55),
  ('34000000-0000-4000-8000-000000000001', 'ref-34-currency', 45000, 'KES', 55),
  ('34000000-0000-4000-8000-000000000001', 'ref-34-fees', 45000, 'KES', 55),
  ('34000000-0000-4000-8000-000000000001', 'ref-34-fees-short', 45000, 'KES', 55),
  ('34000000-0000-4000-8000-000000000001', 'ref-34-partial', 100000, 'KES', 115),
  ('34000000-0000-4000-8000-000000000002', 'ref-34-spent', 100000, 'KES', 115),
  ('34000000-0000-4000-8000-000000000002', 'ref-34-disputed', 45000, 'KES', 55);

-- A charge.success body as Paystack sends it; p_extra is merged into data.
create function pg_temp.charge(p_reference text, p_amount int, p_currency text default 'KES',
  p_extra jsonb default '{}')
returns jsonb language sql as $$
  select jsonb_build_object('event', 'charge.success', 'data', jsonb_build_object(
    'id', abs(hashtext(p_reference))::bigint, 'status', 'success',
    'reference', p_reference, 'amount', p_amount, 'currency', p_currency,
    'paid_at', '2025-04-01T09:00:00Z') || p_extra);
$$;
create function pg_temp.refund(p_reference text, p_id int, p_amount int)
returns jsonb language sql as $$
  select jsonb_build_object('event', 'refund.processed', 'data', jsonb_build_object(
    'id', p_id, 'status', 'processed', 'transaction_reference', p_reference,
    'amount', p_amount::text, 'currency', 'KES'));
$$;
create function pg_temp.dispute(p_reference text, p_id text)
returns jsonb language sql as $$
  select jsonb_build_object('event', 'charge.dispute.create', 'data', jsonb_build_object(
    'id', p_id, 'status', 'awaiting-merchant-feedback', 'category', 'fraud',
    'refund_amount', 45000, 'currency', 'KES',
    'transaction', jsonb_build_object('id', 99, 'reference', p_reference, 'amount', 45000)));
$$;
create function pg_temp.apply(p_body jsonb, p_source text default 'webhook')
returns jsonb language sql as $$
  select public.apply_paystack_event(p_body ->> 'event', p_body,
    coalesce(p_body #>> '{data,reference}', p_body #>> '{data,transaction_reference}',
             p_body #>> '{data,transaction,reference}'), p_source);
$$;
-- The DETAIL of the error a statement raises.
create function pg_temp.detail_of(p_sql text) returns text language plpgsql as $$
declare
  v_detail text;
begin
  execute p_sql;
  return null;
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return v_detail;
end;
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
select is(pg_temp.credits('34000000-0000-4000-8000-000000000001'), 110,
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

-- Partial refunds ------------------------------------------------------------------------------------
select tests.authenticate_as_service_role();
select is(pg_temp.apply(pg_temp.charge('ref-34-partial', 100000)) ->> 'outcome', 'credited',
  'the 100,000 purchase of 115 credits is credited');
select results_eq(
  $$select r ->> 'outcome', (r ->> 'credits_reversed')::int, r ->> 'status'
      from (select pg_temp.apply(pg_temp.refund('ref-34-partial', 501, 30000)) as r) s$$,
  $$values ('refunded'::text, 35, 'success'::text)$$,
  'a refund of 30% takes back ceil(115 x 0.3) = 35 credits; the purchase stays success'
);
select results_eq(
  $$select (pg_temp.apply(pg_temp.refund('ref-34-partial', 502, 30000)) ->> 'credits_reversed')::int$$,
  array[34], 'a second, different refund of 30% is applied too (69 owed in all, 35 already taken)'
);
select is(pg_temp.apply(pg_temp.refund('ref-34-partial', 502, 30000)) ->> 'outcome', 'duplicate',
  'a replay of the second refund (same refund id) is a duplicate');
select results_eq(
  $$select r ->> 'outcome', (r ->> 'credits_reversed')::int, r ->> 'status'
      from (select pg_temp.apply(pg_temp.refund('ref-34-partial', 503, 40000)) as r) s$$,
  $$values ('refunded'::text, 46, 'refunded'::text)$$,
  'the last 40% takes back the remaining 46 credits and the purchase is refunded'
);
select is(pg_temp.apply(pg_temp.refund('ref-34-partial', 504, 1000)) ->> 'outcome', 'duplicate',
  'a refund of a fully refunded purchase changes nothing');
select tests.clear_authentication();
select is(pg_temp.credits('34000000-0000-4000-8000-000000000001'), 165,
  'the buyer has 110 + 55 credits again: all 115 of the refunded purchase were taken back');
select results_eq(
  $$select status, refunded_amount, credits_reversed, refund_shortfall, refunded_at is not null
      from public.transactions where reference = 'ref-34-partial'$$,
  $$values ('refunded'::text, 100000, 115, 0, true)$$,
  'the transaction records the amount refunded and the credits taken back'
);
select results_eq(
  $$select dedupe_key from public.paystack_events where event = 'refund.processed' and reference = 'ref-34-partial' order by dedupe_key$$,
  $$values ('refund.processed:501'::text), ('refund.processed:502'), ('refund.processed:503'), ('refund.processed:504')$$,
  'each refund is recorded under refund.processed:<refund id>'
);

-- A partial refund after the credits were spent: never below zero, shortfall recorded --------------
select tests.authenticate_as_service_role();
select is(pg_temp.apply(pg_temp.charge('ref-34-spent', 100000)) ->> 'outcome', 'credited', 'Hugo buys 115 credits');
select tests.clear_authentication();
update public.real_users set credits = 10 where id = '34000000-0000-4000-8000-000000000002';
select tests.authenticate_as_service_role();
select results_eq(
  $$select (pg_temp.apply(pg_temp.refund('ref-34-spent', 601, 50000)) ->> 'credits_reversed')::int$$,
  array[10], 'half refunded owes 58 credits; only the 10 left are taken back'
);
select tests.clear_authentication();
select results_eq(
  $$select status, refunded_amount, credits_reversed, refund_shortfall from public.transactions where reference = 'ref-34-spent'$$,
  $$values ('success'::text, 50000, 10, 48)$$,
  'the shortfall of 48 credits is recorded'
);
select is(pg_temp.credits('34000000-0000-4000-8000-000000000002'), 0, 'the balance stops at zero');

-- Disputes ------------------------------------------------------------------------------------------
select tests.authenticate_as_service_role();
select is(pg_temp.apply(pg_temp.charge('ref-34-disputed', 45000)) ->> 'outcome', 'credited', 'Hugo buys 55 credits');
select is(pg_temp.apply(pg_temp.dispute('ref-34-disputed', 'D-77')) ->> 'outcome', 'disputed',
  'charge.dispute.create answers disputed');
select is(pg_temp.apply(pg_temp.dispute('ref-34-disputed', 'D-77')) ->> 'outcome', 'duplicate',
  'its replay is a duplicate');
select is(pg_temp.apply(pg_temp.dispute('ref-34-nobody', 'D-78')) ->> 'outcome', 'unknown_reference',
  'a dispute about an unknown reference is recorded as unknown_reference');
select tests.clear_authentication();
select results_eq(
  $$select d.paystack_dispute_id, d.real_user_id, d.reference, d.status, d.category, d.refund_amount,
           d.transaction_id = t.id, d.event_id = e.id
      from public.payment_disputes d
      join public.transactions t on t.reference = 'ref-34-disputed'
      join public.paystack_events e on e.dedupe_key = 'charge.dispute.create:D-77'$$,
  $$values ('D-77'::text, '34000000-0000-4000-8000-000000000002'::uuid, 'ref-34-disputed'::text,
            'awaiting-merchant-feedback'::text, 'fraud'::text, 45000, true, true)$$,
  'the dispute flags the purchase and its buyer, once'
);
select is(pg_temp.credits('34000000-0000-4000-8000-000000000002'), 55, 'a dispute takes back no credits by itself');

-- Who reads what ------------------------------------------------------------------------------------
select tests.authenticate_as('34000000-0000-4000-8000-000000000002');
select is_empty($$select 1 from public.payment_disputes$$, 'the disputing buyer does not read the dispute flags');
select results_eq(
  $$select count(*)::int, count(raw_event)::int from (select * from public.transactions) t$$,
  $$values (2, 0)$$, 'a real user reads its own transactions with select *, without Paystack''s event'
);
select tests.authenticate_as('34000000-0000-4000-8000-000000000001');
select is_empty($$select 1 from public.payment_disputes$$, 'another real user does not read them either');
select tests.authenticate_as('34000000-0000-4000-8000-000000000005');
select is_empty($$select 1 from public.payment_disputes$$, 'nor does an operator');
select tests.authenticate_as('34000000-0000-4000-8000-000000000003');
select results_eq($$select paystack_dispute_id from public.payment_disputes$$, array['D-77'],
  'an admin reads the dispute flags');
select results_eq(
  $$select payload #>> '{data,reference}' from public.paystack_events e
     where e.transaction_id = (select id from public.transactions where reference = 'ref-34-disputed')
       and e.outcome = 'credited'$$,
  array['ref-34-disputed'], 'an admin reads the event that settled a transaction in paystack_events'
);
select throws_ok($$update public.payment_disputes set status = 'resolved'$$, '42501', null,
  'an admin cannot rewrite a dispute');
select tests.authenticate_as_anon();
select throws_ok($$select 1 from public.payment_disputes$$, '42501', null, 'a visitor cannot read disputes');
select tests.clear_authentication();
select throws_ok($$update public.transactions set raw_event = '{}' where reference = 'ref-34-fees'$$, '23514', null,
  'raw_event stays empty (the event lives in paystack_events)');

-- Checkout limit: 10 pending checkouts per user per hour ---------------------------------------------
select function_privs_are('public', 'start_checkout', array['uuid'], 'anon', array[]::text[],
  'anon cannot execute start_checkout');
select is((select prosecdef from pg_proc where oid = 'public.start_checkout(uuid)'::regprocedure), false,
  'start_checkout, which clients call, is security invoker');
select tests.authenticate_as('34000000-0000-4000-8000-000000000004');
select results_eq(
  $$select count(public.start_checkout((select id from public.credit_packages where name = 'Starter')))::int
      from generate_series(1, 10)$$,
  array[10], 'a real user may have 10 checkouts pending within the hour'
);
select throws_ok(
  $$select public.start_checkout((select id from public.credit_packages where name = 'Starter'))$$,
  'PT429', 'rate_limited', 'the 11th within the hour is refused with rate_limited'
);
select matches(
  pg_temp.detail_of($$select public.start_checkout((select id from public.credit_packages where name = 'Starter'))$$),
  'try again in [0-9]+ seconds\.$', 'the refusal says when to try again (credits-checkout''s Retry-After)'
);
select tests.clear_authentication();
select is((select count(*)::int from public.transactions where real_user_id = '34000000-0000-4000-8000-000000000004'),
  10, 'the refused checkout wrote nothing');
update public.transactions set created_at = now() - interval '61 minutes'
 where real_user_id = '34000000-0000-4000-8000-000000000004' and reference = (
   select reference from public.transactions where real_user_id = '34000000-0000-4000-8000-000000000004' limit 1);
select tests.authenticate_as('34000000-0000-4000-8000-000000000004');
select lives_ok(
  $$select public.start_checkout((select id from public.credit_packages where name = 'Starter'))$$,
  'once a pending checkout is over an hour old, another may start'
);
select tests.clear_authentication();
update public.transactions set status = 'failed'
 where real_user_id = '34000000-0000-4000-8000-000000000004' and created_at = now();
select tests.authenticate_as('34000000-0000-4000-8000-000000000004');
select lives_ok(
  $$select public.start_checkout((select id from public.credit_packages where name = 'Starter'))$$,
  'checkouts that are no longer pending do not count'
);
select tests.authenticate_as('34000000-0000-4000-8000-000000000002');
select lives_ok(
  $$select public.start_checkout((select id from public.credit_packages where name = 'Starter'))$$,
  'another real user is not limited by the first one''s checkouts'
);

-- Verify limit: one call per reference every 5 seconds ----------------------------------------------
select tests.clear_authentication();
select function_privs_are('public', 'start_payment_verify', array['text'], 'anon', array[]::text[],
  'anon cannot execute start_payment_verify');
select function_privs_are('public', 'start_payment_verify', array['text'], 'authenticated', array['EXECUTE'],
  'authenticated can execute start_payment_verify');
select tests.authenticate_as('34000000-0000-4000-8000-000000000001');
select results_eq(
  $$select r ->> 'reference', r ->> 'status' from (select public.start_payment_verify('ref-34-fees-short') as r) s$$,
  $$values ('ref-34-fees-short'::text, 'pending'::text)$$,
  'the buyer may verify its own transaction'
);
select throws_ok($$select public.start_payment_verify('ref-34-fees-short')$$, 'PT429', 'rate_limited',
  'a second verify of the same reference within 5 seconds is refused');
select lives_ok($$select public.start_payment_verify('ref-34-amount')$$,
  'another reference has its own 5 seconds');
select tests.authenticate_as('34000000-0000-4000-8000-000000000002');
select throws_ok($$select public.start_payment_verify('ref-34-fees')$$, 'PT404', 'transaction_not_found',
  'another real user cannot verify (nor learn of) the buyer''s transaction');
select tests.authenticate_as('34000000-0000-4000-8000-000000000003');
select throws_ok($$select public.start_payment_verify('ref-34-fees')$$, 'PT404', 'transaction_not_found',
  'verify is only for the buyer, admins included');
select tests.clear_authentication();
update private.payment_verify_calls set last_called_at = now() - interval '5 seconds';
select tests.authenticate_as('34000000-0000-4000-8000-000000000001');
select lives_ok($$select public.start_payment_verify('ref-34-fees-short')$$,
  'after 5 seconds the buyer may verify again');
select tests.clear_authentication();

select * from finish();
rollback;
