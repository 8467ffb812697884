-- Abuse limits kept in the database: 10 pending checkouts per user per hour (start_checkout), one
-- verify call per reference every 5 seconds (start_payment_verify), refused with PT429 rate_limited
-- and a retry time; only the buyer may verify a transaction. Per persona: anon, the buyer, another
-- real user, an admin.
begin;
set local search_path = extensions, public;
select plan(17);
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

-- Checkout limit: 10 pending checkouts per user per hour ---------------------------------------------
select function_privs_are('public', 'start_checkout', array['uuid'], 'anon', array[]::text[],
  'anon cannot execute start_checkout');
select is((select prosecdef from pg_proc where oid = 'public.start_checkout(uuid)'::regprocedure), false,
  'start_checkout, which clients call, is security invoker');
select tests.authenticate_as('hedy');
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
select is((select count(*)::int from public.transactions where real_user_id = tests.get_user_id('hedy')),
  10, 'the refused checkout wrote nothing');
update public.transactions set created_at = now() - interval '61 minutes'
 where real_user_id = tests.get_user_id('hedy') and reference = (
   select reference from public.transactions where real_user_id = tests.get_user_id('hedy') limit 1);
select tests.authenticate_as('hedy');
select lives_ok(
  $$select public.start_checkout((select id from public.credit_packages where name = 'Starter'))$$,
  'once a pending checkout is over an hour old, another may start'
);
select tests.clear_authentication();
update public.transactions set status = 'failed'
 where real_user_id = tests.get_user_id('hedy') and created_at = now();
select tests.authenticate_as('hedy');
select lives_ok(
  $$select public.start_checkout((select id from public.credit_packages where name = 'Starter'))$$,
  'checkouts that are no longer pending do not count'
);
select tests.authenticate_as('hugo');
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
select tests.authenticate_as('hana');
select results_eq(
  $$select r ->> 'reference', r ->> 'status' from (select public.start_payment_verify('ref-34-fees-short') as r) s$$,
  $$values ('ref-34-fees-short'::text, 'pending'::text)$$,
  'the buyer may verify its own transaction'
);
select throws_ok($$select public.start_payment_verify('ref-34-fees-short')$$, 'PT429', 'rate_limited',
  'a second verify of the same reference within 5 seconds is refused');
select lives_ok($$select public.start_payment_verify('ref-34-amount')$$,
  'another reference has its own 5 seconds');
select tests.authenticate_as('hugo');
select throws_ok($$select public.start_payment_verify('ref-34-fees')$$, 'PT404', 'transaction_not_found',
  'another real user cannot verify (nor learn of) the buyer''s transaction');
select tests.authenticate_as('hal');
select throws_ok($$select public.start_payment_verify('ref-34-fees')$$, 'PT404', 'transaction_not_found',
  'verify is only for the buyer, admins included');
select tests.clear_authentication();
update private.payment_verify_calls set last_called_at = now() - interval '5 seconds';
select tests.authenticate_as('hana');
select lives_ok($$select public.start_payment_verify('ref-34-fees-short')$$,
  'after 5 seconds the buyer may verify again');
select tests.clear_authentication();

select * from finish();
rollback;
