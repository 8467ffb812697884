-- Credit packages: the seeded offer, who reads which packages, and that only admins manage them.
begin;
set local search_path = extensions, public;
select plan(25);
\ir fixtures/helpers.psql

-- Fixtures: one real user, one operator, one admin; one inactive package.
select tests.create_real_user('pat', gender => 'male', looking_for => 'female');
select tests.create_operator('olga');
select tests.create_admin('ada');
insert into public.credit_packages (id, name, credits, price, is_active)
values ('30000000-0000-4000-8000-0000000000aa', 'Retired', 5, 5000, false);

-- Schema --------------------------------------------------------------------------------------------
select has_table('public', 'credit_packages', 'credit_packages exists');
select ok((select relrowsecurity from pg_class where oid = 'public.credit_packages'::regclass),
  'credit_packages has row level security on');
select fk_ok('public', 'transactions', 'package_id', 'public', 'credit_packages', 'id',
  'transactions.package_id references credit_packages');

select results_eq(
  $$select name, credits, bonus_credits, price, currency from public.credit_packages
    where is_active order by price$$,
  $$values ('Starter'::text, 10, 0, 10000, 'KES'::text), ('Popular', 50, 5, 45000, 'KES'),
           ('Value', 100, 15, 85000, 'KES'), ('Premium', 500, 100, 400000, 'KES')$$,
  'the migration offers the four packages of docs/rules.md, prices in cents of KES'
);

-- The seed's credit packages have fixed ids ---------------------------------------------------------------

select results_eq($$select name, id from public.credit_packages
                    where name in ('Starter', 'Popular', 'Value', 'Premium') order by price$$,
  $$values ('Starter'::text, 'e0000000-0000-4000-8000-000000000001'::uuid),
           ('Popular', 'e0000000-0000-4000-8000-000000000002'),
           ('Value', 'e0000000-0000-4000-8000-000000000003'),
           ('Premium', 'e0000000-0000-4000-8000-000000000004')$$,
  'the four packages of the seed keep the same ids across db:reset');

-- anon ----------------------------------------------------------------------------------------------
select tests.authenticate_as_anon();
select results_eq(
  $$select name from public.credit_packages order by price$$,
  array['Starter', 'Popular', 'Value', 'Premium'],
  'a visitor reads the active packages and not the inactive one'
);
select throws_ok(
  $$insert into public.credit_packages (name, credits, price) values ('Free', 1000, 1)$$,
  '42501', null, 'a visitor cannot add a package'
);
select throws_ok(
  $$update public.credit_packages set price = 1$$,
  '42501', null, 'a visitor cannot change prices'
);
select tests.clear_authentication();

-- real user -----------------------------------------------------------------------------------------
select tests.authenticate_as('pat');
select results_eq(
  $$select count(*)::int from public.credit_packages$$, array[4],
  'a real user reads the four active packages only'
);
select throws_ok(
  $$insert into public.credit_packages (name, credits, price) values ('Free', 1000, 1)$$,
  '42501', null, 'a real user cannot add a package'
);
update public.credit_packages set price = 1 where name = 'Premium';
delete from public.credit_packages where name = 'Starter';
select throws_ok(
  $$update public.credit_packages set id = gen_random_uuid() where name = 'Premium'$$,
  '42501', null, 'nobody can rewrite a package id through the API'
);
select tests.clear_authentication();
select results_eq(
  $$select price from public.credit_packages where name = 'Premium'$$, array[400000],
  'a real user''s price update changes nothing'
);
select results_eq(
  $$select count(*)::int from public.credit_packages where name = 'Starter'$$, array[1],
  'a real user''s delete removes nothing'
);

-- operator ------------------------------------------------------------------------------------------
select tests.authenticate_as('olga');
select results_eq(
  $$select count(*)::int from public.credit_packages$$, array[4],
  'an operator reads the active packages only'
);
select throws_ok(
  $$insert into public.credit_packages (name, credits, price) values ('Staff', 1000, 1)$$,
  '42501', null, 'an operator cannot add a package'
);
update public.credit_packages set is_active = false where name = 'Value';
select tests.clear_authentication();
select results_eq(
  $$select is_active from public.credit_packages where name = 'Value'$$, array[true],
  'an operator''s deactivation changes nothing'
);

-- admin ---------------------------------------------------------------------------------------------
select tests.authenticate_as('ada');
select results_eq(
  $$select count(*)::int from public.credit_packages$$, array[5],
  'an admin reads every package, inactive included'
);
select lives_ok(
  $$insert into public.credit_packages (name, credits, bonus_credits, price) values ('Weekend', 20, 2, 18000)$$,
  'an admin adds a package'
);
select lives_ok(
  $$update public.credit_packages set price = 390000 where name = 'Premium'$$,
  'an admin changes a price'
);
select lives_ok(
  $$update public.credit_packages set is_active = false where name = 'Weekend'$$,
  'an admin deactivates a package'
);
select throws_ok(
  $$insert into public.credit_packages (name, credits, price) values ('Broken', 0, 100)$$,
  '23514', null, 'a package without credits is refused'
);
select lives_ok(
  $$delete from public.credit_packages where name = 'Retired'$$,
  'an admin deletes a package nobody bought'
);
select tests.clear_authentication();
select results_eq(
  $$select name, price, is_active from public.credit_packages where name in ('Premium', 'Weekend', 'Retired') order by name$$,
  $$values ('Premium'::text, 390000, true), ('Weekend', 18000, false)$$,
  'the admin''s changes are stored'
);

-- A package that was bought cannot be deleted, and its later price change does not touch the sale.
insert into public.transactions (real_user_id, reference, package_id, amount, currency, credits)
select tests.get_user_id('pat'), 'fantooo-test-30', id, price, currency, credits + bonus_credits
from public.credit_packages where name = 'Popular';
select tests.authenticate_as('ada');
select throws_ok(
  $$delete from public.credit_packages where name = 'Popular'$$,
  '23503', null, 'an admin cannot delete a package that was bought (deactivate it instead)'
);
update public.credit_packages set price = 1 where name = 'Popular';
select tests.clear_authentication();
select results_eq(
  $$select amount, credits from public.transactions where reference = 'fantooo-test-30'$$,
  $$values (45000, 55)$$,
  'changing a package price never alters a purchase already made'
);

select * from finish();
rollback;
