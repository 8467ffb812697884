-- apply_paystack_event() for refund.processed: the purchase is marked refunded and its credits are
-- taken back once, never below zero, with any shortfall recorded.
begin;
set local search_path = extensions, public;
select plan(19);
\ir fixtures/helpers.psql

select tests.create_real_user('sam', gender => 'male', looking_for => 'female');
select tests.create_real_user('sia');
insert into public.transactions (real_user_id, reference, amount, currency, credits) values
  (tests.get_user_id('sam'), 'ref-33-spent', 45000, 'KES', 55),
  (tests.get_user_id('sia'), 'ref-33-kept', 85000, 'KES', 115),
  (tests.get_user_id('sia'), 'ref-33-unpaid', 10000, 'KES', 10),
  (tests.get_user_id('sia'), 'ref-33-currency', 10000, 'KES', 10);

create function pg_temp.charge(p_reference text, p_amount int, p_id bigint)
returns jsonb language sql as $$
  select jsonb_build_object('event', 'charge.success', 'data', jsonb_build_object(
    'id', p_id, 'status', 'success', 'reference', p_reference, 'amount', p_amount,
    'currency', 'KES', 'paid_at', '2025-03-02T08:00:00Z'));
$$;
-- A refund.processed body as Paystack sends it (amount as a digit string, reference of the charge).
create function pg_temp.refund(p_reference text, p_amount int, p_currency text default 'KES')
returns jsonb language sql as $$
  select jsonb_build_object('event', 'refund.processed', 'data', jsonb_build_object(
    'status', 'processed', 'transaction_reference', p_reference, 'amount', p_amount::text,
    'currency', p_currency));
$$;

-- Both buyers are credited; Sam then spends 50 of his 55 credits, Sia keeps hers (+ 20 she had).
select tests.authenticate_as_service_role();
do $$
begin
  perform public.apply_paystack_event('charge.success',
      pg_temp.charge('ref-33-spent', 45000, 3300001), 'ref-33-spent');
  perform public.apply_paystack_event('charge.success',
      pg_temp.charge('ref-33-kept', 85000, 3300002), 'ref-33-kept');
  perform public.apply_paystack_event('charge.success',
      pg_temp.charge('ref-33-currency', 10000, 3300003), 'ref-33-currency');
end
$$;
select tests.clear_authentication();
update public.real_users set credits = 5 where id = tests.get_user_id('sam');
update public.real_users set credits = credits + 20 where id = tests.get_user_id('sia');

-- Refund of a purchase whose credits are still there -----------------------------------------------
select tests.authenticate_as_service_role();
select results_eq(
  $$select r ->> 'outcome', (r ->> 'credits_reversed')::int, r ->> 'status'
      from (select public.apply_paystack_event('refund.processed',
          pg_temp.refund('ref-33-kept', 85000), 'ref-33-kept') as r) s$$,
  $$values ('refunded'::text, 115, 'refunded'::text)$$,
  'refund.processed takes back all the credits of the purchase'
);
select tests.clear_authentication();
select results_eq(
  $$select credits from public.real_users where id = tests.get_user_id('sia')$$,
  array[30], 'the buyer keeps only the credits that did not come from the refunded purchase'
);
select results_eq(
  $$select status, credits_reversed, refund_shortfall, refunded_at is not null, paid_at is not null
      from public.transactions where reference = 'ref-33-kept'$$,
  $$values ('refunded'::text, 115, 0, true, true)$$,
  'the transaction is refunded with no shortfall and keeps its payment date'
);

-- Refund after the credits were spent: never below zero, shortfall recorded ------------------------
select tests.authenticate_as_service_role();
select results_eq(
  $$select public.apply_paystack_event('refund.processed',
      pg_temp.refund('ref-33-spent', 45000), 'ref-33-spent') ->> 'outcome'$$,
  array['refunded'], 'a refund of a partly spent purchase is applied'
);
select tests.clear_authentication();
select results_eq(
  $$select credits from public.real_users where id = tests.get_user_id('sam')$$,
  array[0], 'the balance goes to zero, never below'
);
select results_eq(
  $$select status, credits_reversed, refund_shortfall from public.transactions where reference = 'ref-33-spent'$$,
  $$values ('refunded'::text, 5, 50)$$,
  'the credits already spent are recorded as the shortfall'
);
select results_eq(
  $$select outcome, detail ->> 'credits_reversed', detail ->> 'refund_shortfall'
      from public.paystack_events where dedupe_key = 'refund.processed:ref-33-spent'$$,
  $$values ('refunded'::text, '5'::text, '50'::text)$$,
  'the refund event records what was reversed and the shortfall for admins'
);

-- Replays --------------------------------------------------------------------------------------------
select tests.authenticate_as_service_role();
select results_eq(
  $$select public.apply_paystack_event('refund.processed',
      pg_temp.refund('ref-33-kept', 85000), 'ref-33-kept') ->> 'outcome'$$,
  array['duplicate'], 'a replayed refund answers duplicate'
);
select results_eq(
  $$select public.apply_paystack_event('charge.success',
      pg_temp.charge('ref-33-kept', 85000, 3300002), 'ref-33-kept') ->> 'outcome'$$,
  array['duplicate'], 'a late charge.success replay after the refund credits nothing'
);
select tests.clear_authentication();
select results_eq(
  $$select credits from public.real_users where id = tests.get_user_id('sia')$$,
  array[30], 'replays do not change the balance'
);

-- Refund of a checkout that was never credited -------------------------------------------------------
select tests.authenticate_as_service_role();
select results_eq(
  $$select public.apply_paystack_event('refund.processed',
      pg_temp.refund('ref-33-unpaid', 10000), 'ref-33-unpaid') ->> 'outcome'$$,
  array['refunded'], 'a refund for a checkout never credited marks it refunded'
);
select results_eq(
  $$select public.apply_paystack_event('charge.success',
      pg_temp.charge('ref-33-unpaid', 10000, 3300004), 'ref-33-unpaid') ->> 'outcome'$$,
  array['duplicate'], 'a charge.success arriving after its refund credits nothing'
);
select tests.clear_authentication();
select results_eq(
  $$select status, credits_reversed, refund_shortfall from public.transactions where reference = 'ref-33-unpaid'$$,
  $$values ('refunded'::text, 0, 0)$$,
  'nothing is taken back for a purchase that was never credited'
);
select results_eq(
  $$select credits from public.real_users where id = tests.get_user_id('sia')$$,
  array[30], 'the balance is untouched by the uncredited refund'
);

-- Refused refunds -----------------------------------------------------------------------------------
select tests.authenticate_as_service_role();
select results_eq(
  $$select public.apply_paystack_event('refund.processed',
      pg_temp.refund('ref-33-nobody', 100), 'ref-33-nobody') ->> 'outcome'$$,
  array['unknown_reference'], 'a refund for an unknown reference answers unknown_reference'
);
select results_eq(
  $$select public.apply_paystack_event('refund.processed',
      pg_temp.refund('ref-33-currency', 10000, 'USD'), 'ref-33-currency') ->> 'outcome'$$,
  array['currency_mismatch'], 'a refund in another currency answers currency_mismatch'
);
select tests.clear_authentication();
select results_eq(
  $$select status, credits_reversed from public.transactions where reference = 'ref-33-currency'$$,
  $$values ('success'::text, null::int)$$,
  'the mismatched refund leaves the purchase as it was'
);
select results_eq(
  $$select credits from public.real_users where id = tests.get_user_id('sia')$$,
  array[30], 'and takes back nothing'
);

select tests.authenticate_as('sia');
select throws_ok(
  $$select public.apply_paystack_event('refund.processed',
      pg_temp.refund('ref-33-currency', 10000), 'ref-33-currency')$$,
  '42501', null, 'a real user cannot trigger a refund'
);
select tests.clear_authentication();

select * from finish();
rollback;
