-- get_available_fictional_profiles: active profiles of the user's looking_for gender, with
-- is_favorite, in a stable order (featured first, then name, then id), paged; a user lists only for
-- itself, admins and service_role for anyone.
begin;
set local search_path = extensions, public;
select plan(22);
\ir fixtures/helpers.psql

-- Fixture (as postgres). Real users lena (looking for women) and mark (looking for men),
-- operator olga, admin adam. Profiles: four active women (one featured), one
-- deactivated woman, one man. Lena has favourited Beth.
select tests.create_admin('adam');
select tests.create_operator('olga');
select tests.create_real_user('lena', age => 29, gender => 'male', looking_for => 'female');
select tests.create_real_user('mark', age => 35);
select tests.create_profile('Twelve Zara', age => 24, gender => 'female', featured => true, guidelines => 'secret twelve');
select tests.create_profile('Twelve Amy', age => 27, gender => 'female');
select tests.create_profile('Twelve Beth', age => 31, gender => 'female');
select tests.create_profile('Twelve Cleo', age => 22, gender => 'female', active => false);
select tests.create_profile('Twelve Dora', age => 38, gender => 'female');
select tests.create_profile('Twelve Max', age => 33);
insert into public.favorites (real_user_id, fictional_user_id) values
  (tests.get_user_id('lena'), tests.get_profile_id('Twelve Beth'));
-- Lena ----------------------------------------------------------------------------------------------------
select tests.authenticate_as('lena');

select results_eq(
  $$select name from public.get_available_fictional_profiles(tests.get_user_id('lena'), 100, 0)
     where name like 'Twelve %'$$,
  $$values ('Twelve Zara'::text), ('Twelve Amy'), ('Twelve Beth'), ('Twelve Dora')$$,
  'active profiles of the looked-for gender, featured first, then by name');
select is_empty(
  $$select 1 from public.get_available_fictional_profiles(tests.get_user_id('lena'), 100, 0)
     where gender <> 'female' or id = tests.get_profile_id('Twelve Cleo')$$,
  'no profile of the other gender and no deactivated profile');
select results_eq(
  $$select name, is_favorite from public.get_available_fictional_profiles(tests.get_user_id('lena'), 100, 0)
     where name like 'Twelve %'$$,
  $$values ('Twelve Zara'::text, false), ('Twelve Amy', false), ('Twelve Beth', true), ('Twelve Dora', false)$$,
  'is_favorite marks lena''s favourites only');
select results_eq(
  $$select name from public.get_available_fictional_profiles(null, 100, 0) where name like 'Twelve %'$$,
  $$values ('Twelve Zara'::text), ('Twelve Amy'), ('Twelve Beth'), ('Twelve Dora')$$,
  'without a user id the caller lists for itself');
select results_eq(
  $$select id from public.get_available_fictional_profiles(tests.get_user_id('lena'), 100, 0)$$,
  $$select id from public.get_available_fictional_profiles(tests.get_user_id('lena'), 100, 0)$$,
  'the order is stable between calls');

-- Paging: every page of 2 concatenated equals the full list, without overlap.
select results_eq(
  $$select id from (
      select p.id, 1 as page, row_number() over () as pos from public.get_available_fictional_profiles(tests.get_user_id('lena'), 2, 0) p
      union all
      select p.id, 2, row_number() over () from public.get_available_fictional_profiles(tests.get_user_id('lena'), 2, 2) p
      union all
      select p.id, 3, row_number() over () from public.get_available_fictional_profiles(tests.get_user_id('lena'), 2, 4) p
      union all
      select p.id, 4, row_number() over () from public.get_available_fictional_profiles(tests.get_user_id('lena'), 100, 6) p
    ) pages order by page, pos$$,
  $$select id from public.get_available_fictional_profiles(tests.get_user_id('lena'), 100, 0)$$,
  'pages of 2 follow each other without gaps or overlap');
select is((select count(*)::integer from public.get_available_fictional_profiles(tests.get_user_id('lena'), 2, 0)),
  2, 'p_limit caps the page size');
select is((select count(*)::integer from public.get_available_fictional_profiles(tests.get_user_id('lena'), 1000, 0)),
  (select count(*)::integer from public.get_available_fictional_profiles(tests.get_user_id('lena'), 100, 0)),
  'p_limit is capped at 100');
select is((select count(*)::integer from public.get_available_fictional_profiles(tests.get_user_id('lena'), 100, 100000)),
  0, 'an offset past the end returns nothing');

select throws_ok(
  $$select * from public.get_available_fictional_profiles(tests.get_user_id('mark'), 10, 0)$$,
  '42501', 'forbidden', 'lena cannot list profiles for mark');

-- Olga (operator) ------------------------------------------------------------------------------------------
select tests.authenticate_as('olga');
select throws_ok(
  $$select * from public.get_available_fictional_profiles(tests.get_user_id('lena'), 10, 0)$$,
  '42501', 'forbidden', 'an operator cannot list for a real user');
select is_empty($$select * from public.get_available_fictional_profiles(null, 10, 0)$$,
  'an operator has no looking_for: nothing for itself');

-- Adam (admin) and service_role act for anyone -----------------------------------------------------------
select tests.authenticate_as('adam');
select results_eq(
  $$select name from public.get_available_fictional_profiles(tests.get_user_id('mark'), 100, 0)
     where name like 'Twelve %'$$,
  $$values ('Twelve Max'::text)$$,
  'an admin lists for mark: the men');

select tests.authenticate_as_service_role();
select results_eq(
  $$select name from public.get_available_fictional_profiles(tests.get_user_id('lena'), 100, 0)
     where name like 'Twelve %'$$,
  $$values ('Twelve Zara'::text), ('Twelve Amy'), ('Twelve Beth'), ('Twelve Dora')$$,
  'service_role lists for lena');

-- Anon --------------------------------------------------------------------------------------------------------
select tests.authenticate_as_anon();
select throws_ok(
  $$select * from public.get_available_fictional_profiles(tests.get_user_id('lena'), 10, 0)$$,
  '42501', 'permission denied for function get_available_fictional_profiles', 'anon cannot call it');

select tests.clear_authentication();
select is(
  (select proargnames[4:] from pg_proc
    where oid = 'public.get_available_fictional_profiles(uuid, integer, integer)'::regprocedure),
  array['id', 'name', 'age', 'gender', 'bio', 'avatar_url', 'interests', 'is_featured', 'created_at', 'is_favorite'],
  'the result columns carry no operator-only guidance');

-- Profiles without their creator ----------------------------------------------------------------------

select tests.authenticate_as('adam');
select lives_ok($$insert into public.fictional_users (id, name, age, gender) values (tests.get_profile_id('Made By Adam'), 'Made By Adam', 30, 'male')$$,
  'adam creates a profile');
select results_eq($$select created_by from public.fictional_user_creators where fictional_user_id = tests.get_profile_id('Made By Adam')$$,
  $$values (tests.get_user_id('adam'))$$, 'admins read who created it in fictional_user_creators');
select tests.authenticate_as('mark');
select lives_ok('select * from public.fictional_users', 'select=* on profiles works for a real user');
select results_eq($$select count(*)::int from public.fictional_users where created_by is not null$$, $$values (0)$$,
  'a real user sees no creator on any profile');
select is_empty('select * from public.fictional_user_creators', 'and reads nothing of fictional_user_creators');
select tests.clear_authentication();
select throws_ok($$update public.fictional_users set created_by = tests.get_user_id('adam') where id = tests.get_profile_id('Twelve Zara')$$,
  '23514', null, 'fictional_users.created_by stays null, even for postgres');

select * from finish();
rollback;
