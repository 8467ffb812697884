-- Checkout: start_checkout() for the calling real user, mark_transaction_failed() for the
-- service role, and that nobody writes transactions or credits directly.
begin;
set local search_path = extensions, public;
select plan(26);
\ir fixtures/helpers.psql

select tests.create_real_user('bea', email => 'buyer@example.com');
select tests.create_real_user('ben', gender => 'male', looking_for => 'female');
select tests.create_real_user('gus', gender => 'male', looking_for => 'female', active => false);
select tests.create_operator('oto');
select tests.create_admin('ana');
insert into public.credit_packages (id, name, credits, price, is_active)
values ('31000000-0000-4000-8000-0000000000aa', 'Old offer', 7, 7000, false);

select function_privs_are('public', 'start_checkout', array['uuid'], 'anon', array[]::text[],
  'anon cannot execute start_checkout');
select function_privs_are('public', 'start_checkout', array['uuid'], 'authenticated', array['EXECUTE'],
  'authenticated can execute start_checkout');
select function_privs_are('public', 'mark_transaction_failed', array['text', 'text'], 'authenticated',
  array[]::text[], 'authenticated cannot execute mark_transaction_failed');
select function_privs_are('public', 'mark_transaction_failed', array['text', 'text'], 'service_role',
  array['EXECUTE'], 'service_role can execute mark_transaction_failed');

-- The buyer starts two checkouts (Popular: 50 + 5 bonus for 450 KES).
select tests.authenticate_as('bea');
create temp table checkout_result on commit drop as
select public.start_checkout((select id from public.credit_packages where name = 'Popular')) as r
union all
select public.start_checkout((select id from public.credit_packages where name = 'Popular'));
select tests.clear_authentication();
grant select on checkout_result to service_role;

select results_eq(
  $$select r ->> 'amount', r ->> 'currency', r ->> 'credits', r ->> 'email', r -> 'package' ->> 'name'
    from checkout_result limit 1$$,
  $$values ('45000', 'KES', '55', 'buyer@example.com', 'Popular')$$,
  'start_checkout returns the package price in cents, its currency, credits with bonus and the email'
);
select results_eq(
  $$select t.real_user_id, t.amount, t.currency, t.credits, t.status, t.package_id = p.id
      from public.transactions t join checkout_result c on t.reference = c.r ->> 'reference'
      join public.credit_packages p on p.name = 'Popular'
     limit 1$$,
  $$values (tests.get_user_id('bea'), 45000, 'KES'::text, 55, 'pending'::text, true)$$,
  'the pending transaction belongs to the caller and copies price, currency and credits of the package'
);
select ok(
  (select count(distinct r ->> 'reference') = 2 from checkout_result),
  'each checkout gets its own reference'
);
select ok(
  (select bool_and((r ->> 'reference') ~ '^[A-Za-z0-9.=-]+$') from checkout_result),
  'references use only characters Paystack accepts'
);

-- Later price changes never alter the pending purchase.
update public.credit_packages set price = 99900, bonus_credits = 0 where name = 'Popular';
select results_eq(
  $$select distinct t.amount, t.credits from public.transactions t
      join checkout_result c on t.reference = c.r ->> 'reference'$$,
  $$values (45000, 55)$$,
  'a package price change after checkout leaves the transaction as it was'
);

-- The buyer reads its own transactions, not another buyer's; cannot write them.
select tests.authenticate_as('ben');
select is_empty(
  $$select 1 from public.transactions where real_user_id = tests.get_user_id('bea')$$,
  'another real user cannot read the buyer''s transactions'
);
select tests.authenticate_as('bea');
select results_eq(
  $$select count(*)::int from public.transactions$$, array[2],
  'the buyer reads its own transactions'
);
select throws_ok(
  $$update public.transactions set status = 'success'$$,
  '42501', null, 'the buyer cannot mark its transaction paid'
);
select throws_ok(
  $$insert into public.transactions (real_user_id, reference, amount, currency, credits, status)
    values (tests.get_user_id('bea'), 'forged', 1, 'KES', 1000, 'success')$$,
  '42501', null, 'the buyer cannot insert a transaction'
);
select throws_ok(
  $$update public.real_users set credits = 1000 where id = tests.get_user_id('bea')$$,
  '42501', null, 'the buyer cannot set its own credits'
);
select throws_ok(
  $$select public.mark_transaction_failed((select reference from public.transactions limit 1), 'x')$$,
  '42501', null, 'the buyer cannot call mark_transaction_failed'
);
select throws_ok(
  $$select public.apply_paystack_event('charge.success', '{}'::jsonb, 'x', 'webhook')$$,
  '42501', null, 'the buyer cannot call apply_paystack_event'
);

-- Refused checkouts.
select throws_ok(
  $$select public.start_checkout('31000000-0000-4000-8000-0000000000aa')$$,
  'PT404', 'package_not_found', 'an inactive package cannot be bought'
);
select throws_ok(
  $$select public.start_checkout(gen_random_uuid())$$,
  'PT404', 'package_not_found', 'an unknown package cannot be bought'
);
select tests.authenticate_as('oto');
select throws_ok(
  $$select public.start_checkout((select id from public.credit_packages where name = 'Starter'))$$,
  'PT403', 'not_real_user', 'an operator cannot buy credits'
);
select tests.authenticate_as('ana');
select throws_ok(
  $$select public.start_checkout((select id from public.credit_packages where name = 'Starter'))$$,
  'PT403', 'not_real_user', 'an admin cannot buy credits'
);
select tests.authenticate_as('gus');
select throws_ok(
  $$select public.start_checkout((select id from public.credit_packages where name = 'Starter'))$$,
  'PT403', 'account_inactive', 'a deactivated real user cannot buy credits'
);
select tests.authenticate_as_anon();
select throws_ok(
  $$select public.start_checkout((select id from public.credit_packages where name = 'Starter'))$$,
  '42501', null, 'a visitor cannot start a checkout'
);
select tests.clear_authentication();

-- mark_transaction_failed: pending -> failed once, settled transactions untouched.
select tests.authenticate_as_service_role();
select results_eq(
  $$select public.mark_transaction_failed((select r ->> 'reference' from checkout_result limit 1), 'paystack_timeout')$$,
  array[true], 'the service role marks a pending checkout failed'
);
select results_eq(
  $$select public.mark_transaction_failed((select r ->> 'reference' from checkout_result limit 1), 'again')$$,
  array[false], 'marking it failed again changes nothing'
);
select tests.clear_authentication();
select results_eq(
  $$select status, failure_reason from public.transactions where reference = (select r ->> 'reference' from checkout_result limit 1)$$,
  $$values ('failed'::text, 'paystack_timeout'::text)$$,
  'the failed transaction keeps the reason'
);
update public.transactions set status = 'success', paid_at = now()
 where reference = (select r ->> 'reference' from checkout_result offset 1 limit 1);
select tests.authenticate_as_service_role();
select results_eq(
  $$select public.mark_transaction_failed((select r ->> 'reference' from checkout_result offset 1 limit 1), 'late')$$,
  array[false], 'a paid transaction is never marked failed'
);
select tests.clear_authentication();

select * from finish();
rollback;
