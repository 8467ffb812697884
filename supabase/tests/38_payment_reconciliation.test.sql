-- Payment reconciliation (payments_to_reconcile and settle_payment): which transactions a run
-- takes, how each Paystack state settles them (credited exactly once through the webhook's SQL,
-- failed, or left pending until 24 hours), the record of each run and who reads it, the
-- failing-streak alert on the admin topic, the cron job and who may call what: the service role
-- only, anon and signed-in users nothing.
begin;
set local search_path = extensions, public;
select plan(42);
\ir fixtures/helpers.psql

select tests.create_real_user('rita', age => 31);
select tests.create_admin('rex');

-- Only this file's transactions are pending in this transaction.
update public.transactions set status = 'failed' where status = 'pending';
insert into public.transactions (real_user_id, reference, amount, currency, credits, created_at) values
  (tests.get_user_id('rita'), 'ref-38-paid', 45000, 'KES', 55, now() - interval '50 minutes'),
  (tests.get_user_id('rita'), 'ref-38-declined', 45000, 'KES', 55, now() - interval '40 minutes'),
  (tests.get_user_id('rita'), 'ref-38-abandoned', 45000, 'KES', 55, now() - interval '30 minutes'),
  (tests.get_user_id('rita'), 'ref-38-reversed', 45000, 'KES', 55, now() - interval '20 minutes'),
  (tests.get_user_id('rita'), 'ref-38-ongoing', 45000, 'KES', 55, now() - interval '15 minutes'),
  (tests.get_user_id('rita'), 'ref-38-stale', 45000, 'KES', 55, now() - interval '25 hours'),
  (tests.get_user_id('rita'), 'ref-38-unknown', 45000, 'KES', 55, now() - interval '12 minutes'),
  (tests.get_user_id('rita'), 'ref-38-recent', 45000, 'KES', 55, now() - interval '5 minutes');

-- Paystack's transaction/verify data for a reference in a state.
create function pg_temp.paystack(p_reference text, p_status text, p_amount int default 45000)
returns jsonb language sql as $$
  select jsonb_build_object('id', abs(hashtext(p_reference))::bigint, 'status', p_status,
    'reference', p_reference, 'amount', p_amount, 'currency', 'KES',
    'paid_at', case when p_status = 'success' then '2025-04-01T09:00:00Z' end);
$$;

-- Which transactions a run takes -------------------------------------------------------------------
select is(public.payments_to_reconcile(100),
  '["ref-38-stale", "ref-38-paid", "ref-38-declined", "ref-38-abandoned", "ref-38-reversed", "ref-38-ongoing", "ref-38-unknown"]'::jsonb,
  'pending for more than 10 minutes, oldest first; a recent checkout waits');
delete from private.reconciliation_checks; -- each call notes what it took; start again
select is(public.payments_to_reconcile(2), '["ref-38-stale", "ref-38-paid"]'::jsonb, 'at most p_limit');
delete from private.reconciliation_checks;
select is(jsonb_array_length(public.payments_to_reconcile(1000)), 7, 'and never more than 100 (capped)');

-- How each state settles -----------------------------------------------------------------------------
select is(public.settle_payment('ref-38-paid', pg_temp.paystack('ref-38-paid', 'success')),
  '{"reference": "ref-38-paid", "outcome": "credited", "status": "success", "credits_granted": 55}'::jsonb,
  'success: credited through apply_paystack_event');
select is((select credits from public.real_users where id = tests.get_user_id('rita')), 55,
  'the buyer has the credits');
select results_eq(
  $$select event, outcome, source, deliveries from public.paystack_events where reference = 'ref-38-paid'$$,
  $$values ('charge.success'::text, 'credited'::text, 'verify'::text, 1)$$,
  'recorded as the webhook records it, under the same dedupe key');
select is(public.apply_paystack_event('charge.success',
    jsonb_build_object('event', 'charge.success', 'data', pg_temp.paystack('ref-38-paid', 'success')), 'ref-38-paid') ->> 'outcome',
  'duplicate', 'a webhook arriving later is a duplicate');
select is(public.settle_payment('ref-38-paid', pg_temp.paystack('ref-38-paid', 'success')) ->> 'outcome', 'duplicate',
  'and so is another run');
select is((select credits from public.real_users where id = tests.get_user_id('rita')), 55,
  'credited exactly once');

select is(public.settle_payment('ref-38-declined', pg_temp.paystack('ref-38-declined', 'failed')) ->> 'outcome', 'failed',
  'failed at Paystack: failed');
select is(public.settle_payment('ref-38-abandoned', pg_temp.paystack('ref-38-abandoned', 'abandoned')) ->> 'outcome', 'failed',
  'abandoned for more than 10 minutes: failed');
select is(public.settle_payment('ref-38-reversed', pg_temp.paystack('ref-38-reversed', 'reversed')) ->> 'outcome', 'failed',
  'reversed: failed');
select is(public.settle_payment('ref-38-ongoing', pg_temp.paystack('ref-38-ongoing', 'ongoing')) ->> 'outcome', 'pending',
  'still processing within 24 hours: left pending');
select is(public.settle_payment('ref-38-stale', pg_temp.paystack('ref-38-stale', 'ongoing')) ->> 'outcome', 'failed',
  'still processing after 24 hours: failed');
select is(public.settle_payment('ref-38-unknown', null) ->> 'outcome', 'failed',
  'unknown to Paystack after 10 minutes: failed');
select is(public.settle_payment('ref-38-recent', pg_temp.paystack('ref-38-recent', 'abandoned')) ->> 'outcome', 'pending',
  'abandoned within its first 10 minutes (nobody paid yet): left pending');
select is(public.settle_payment('ref-38-recent', pg_temp.paystack('ref-38-recent', 'failed')) ->> 'outcome', 'failed',
  'a declined card fails at once, whatever its age');
select results_eq(
  $$select reference, status, failure_reason from public.transactions where reference like 'ref-38-%' order by reference$$,
  $$values ('ref-38-abandoned'::text, 'failed'::text, 'paystack_abandoned'::text),
           ('ref-38-declined', 'failed', 'paystack_failed'),
           ('ref-38-ongoing', 'pending', null),
           ('ref-38-paid', 'success', null),
           ('ref-38-recent', 'failed', 'paystack_failed'),
           ('ref-38-reversed', 'failed', 'paystack_reversed'),
           ('ref-38-stale', 'failed', 'expired'),
           ('ref-38-unknown', 'failed', 'paystack_not_found')$$,
  'every transaction as its Paystack state says');
select is(public.settle_payment('ref-38-paid', pg_temp.paystack('ref-38-paid', 'failed')) ->> 'outcome', 'already_settled',
  'a settled transaction is never marked failed');
select is(public.settle_payment('ref-38-declined', pg_temp.paystack('ref-38-declined', 'success')) ->> 'outcome', 'credited',
  'a failed one is still credited if Paystack later says it was paid');
select is(public.settle_payment('ref-38-nobody', null) ->> 'outcome', 'unknown_reference', 'an unknown reference changes nothing');
select is(public.payments_to_reconcile(100), '["ref-38-ongoing"]'::jsonb, 'only what Paystack still processes is left');

-- Nothing stays pending for ever, and nothing blocks the others -----------------------------------------
-- ref-38-ongoing was checked just now (the call above); stuck was checked a minute before; fresh never.
insert into public.transactions (real_user_id, reference, amount, currency, credits, created_at) values
  (tests.get_user_id('rita'), 'ref-38-stuck', 45000, 'KES', 55, now() - interval '60 minutes'),
  (tests.get_user_id('rita'), 'ref-38-fresh', 45000, 'KES', 55, now() - interval '20 minutes'),
  (tests.get_user_id('rita'), 'ref-38-old-mismatch', 45000, 'KES', 55, now() - interval '25 hours'),
  (tests.get_user_id('rita'), 'ref-38-old-unchecked', 45000, 'KES', 55, now() - interval '26 hours');
insert into private.reconciliation_checks (transaction_id, checked_at)
select id, now() - interval '1 minute' from public.transactions where reference in ('ref-38-stuck', 'ref-38-old-mismatch');
select is(public.payments_to_reconcile(1), '["ref-38-old-unchecked"]'::jsonb,
  'a transaction never asked about comes first');
select results_eq(
  $$select reference, status, failure_reason from public.transactions
     where reference in ('ref-38-old-mismatch', 'ref-38-old-unchecked') order by reference$$,
  $$values ('ref-38-old-mismatch'::text, 'failed'::text, 'expired'::text), ('ref-38-old-unchecked', 'pending', null)$$,
  'pending a day after checkout and asked about already (say Paystack keeps reporting the wrong amount): failed; never asked yet: asked first');
select is(public.payments_to_reconcile(1), '["ref-38-fresh"]'::jsonb, 'then the others never asked about');
select is(public.payments_to_reconcile(1), '["ref-38-stuck"]'::jsonb,
  'then those asked about longest ago: a reference Paystack keeps failing on goes to the back');
select is(public.payments_to_reconcile(100), '["ref-38-stuck", "ref-38-fresh", "ref-38-ongoing"]'::jsonb,
  'every pending one still has its turn (asked about at the same time: oldest checkout first)');
select is((select status from public.transactions where reference = 'ref-38-old-unchecked'), 'failed',
  'once asked about and still pending a day after checkout, it is failed at the next run');

-- The record of each run and the failing-streak alert ------------------------------------------------
delete from public.payment_reconciliation_runs;
update private.reconciliation_alerts set reported_at = null, reported_clean_run = null;
select is(public.record_reconciliation_run(now(), 3, 1, 2, '[]') ->> 'alerted', 'false', 'a clean run alerts nothing');
select is(public.record_reconciliation_run(now(), 0, 0, 0,
    '[{"reference": "ref-38-ongoing", "code": "paystack_error", "message": "Paystack refused the request."}]') ->> 'alerted',
  'false', 'one failing run alerts nothing');
select is(public.record_reconciliation_run(now(), 0, 0, 0, '[{"code": "paystack_timeout", "message": "x"}]') ->> 'alerted',
  'false', 'nor two');
select is(public.record_reconciliation_run(now(), 0, 0, 0, '[{"code": "paystack_timeout", "message": "x"}]') ->> 'alerted',
  'true', 'the third failing run in a row alerts');
select results_eq(
  $$select topic, event, private, payload ->> 'failing_runs', payload -> 'last_errors' ->> 'code'
      from realtime.messages where event = 'reconciliation_failing'$$,
  $$values ('admin'::text, 'reconciliation_failing'::text, true, '3'::text, 'paystack_timeout'::text)$$,
  'on the admin topic, as a private broadcast');
select is(public.record_reconciliation_run(now(), 0, 0, 0, '[{"code": "paystack_timeout", "message": "x"}]') ->> 'alerted',
  'false', 'once per failing streak');
select is(public.record_reconciliation_run(now(), 1, 0, 0, '[]') ->> 'alerted', 'false', 'a clean run ends the streak');

select tests.authenticate_as('rex');
select results_eq($$select count(*)::integer, sum(errors)::integer from public.payment_reconciliation_runs$$,
  $$values (6, 4)$$, 'an admin reads every run');
select tests.authenticate_as('rita');
select is_empty($$select * from public.payment_reconciliation_runs$$, 'a real user reads none');
select throws_ok($$select public.settle_payment('ref-38-ongoing', null)$$, '42501', null,
  'and may not settle a payment');
select tests.authenticate_as_anon();
select throws_ok($$select public.payments_to_reconcile(100)$$, '42501', null, 'anon calls nothing');
select tests.authenticate_as_service_role();
select lives_ok($$select public.payments_to_reconcile(100)$$, 'the service role (reconcile-payments) calls the RPCs');
select results_eq($$select count(*)::integer from public.payment_reconciliation_runs$$, $$values (6)$$,
  'and reads the runs');
select tests.clear_authentication();

-- The cron job ---------------------------------------------------------------------------------------
select results_eq(
  $$select schedule, command, active, username from cron.job where jobname = 'reconcile-payments'$$,
  $$values ('*/5 * * * *'::text, 'select private.invoke_reconcile_payments()'::text, true, 'postgres'::text)$$,
  'reconcile-payments runs every 5 minutes, as postgres');

select * from finish();
rollback;
