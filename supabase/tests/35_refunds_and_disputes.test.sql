-- Refunds and disputes (apply_paystack_event): partial refunds take back credits in proportion,
-- each refund once, never below a zero balance (the shortfall is recorded); a dispute flags the
-- purchase and its buyer for admins and takes back nothing by itself. Who reads what, per persona:
-- the buyer, another real user, an operator, an admin, anon; real users never read Paystack's event
-- on their transactions.
begin;
set local search_path = extensions, public;
select plan(28);
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
create function pg_temp.credits(p_user uuid) returns int language sql as $$
  select credits from public.real_users where id = p_user;
$$;

-- hana's three earlier purchases of 55 credits (ref-34-amount, ref-34-currency, ref-34-fees).
update public.real_users set credits = 165 where id = tests.get_user_id('hana');

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
select is(pg_temp.credits(tests.get_user_id('hana')), 165,
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
update public.real_users set credits = 10 where id = tests.get_user_id('hugo');
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
select is(pg_temp.credits(tests.get_user_id('hugo')), 0, 'the balance stops at zero');

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
  $$values ('D-77'::text, tests.get_user_id('hugo'), 'ref-34-disputed'::text,
            'awaiting-merchant-feedback'::text, 'fraud'::text, 45000, true, true)$$,
  'the dispute flags the purchase and its buyer, once'
);
select is(pg_temp.credits(tests.get_user_id('hugo')), 55, 'a dispute takes back no credits by itself');

-- Who reads what ------------------------------------------------------------------------------------
select tests.authenticate_as('hugo');
select is_empty($$select 1 from public.payment_disputes$$, 'the disputing buyer does not read the dispute flags');
select results_eq(
  $$select count(*)::int, count(raw_event)::int from (select * from public.transactions) t$$,
  $$values (2, 0)$$, 'a real user reads its own transactions with select *, without Paystack''s event'
);
select tests.authenticate_as('hana');
select is_empty($$select 1 from public.payment_disputes$$, 'another real user does not read them either');
select tests.authenticate_as('hop');
select is_empty($$select 1 from public.payment_disputes$$, 'nor does an operator');
select tests.authenticate_as('hal');
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

select * from finish();
rollback;
