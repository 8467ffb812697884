-- get_available_fictional_profiles: active profiles of the user's looking_for gender, with
-- is_favorite, in a stable order (featured first, then name, then id), paged; a user lists only for
-- itself, admins and service_role for anyone.
begin;
set local search_path = extensions, public;
select plan(16);
\ir fixtures/authenticate.psql

-- Fixture (as postgres). Real users lena 12..01 (looking for women) and mark 12..02 (looking for men),
-- operator olga 12..b1, admin adam 12..e1. Profiles: four active women (one featured), one
-- deactivated woman, one man. Lena has favourited Beth.
insert into auth.users (id, email) values
  ('12000000-0000-4000-8000-000000000001', 'lena.12@example.com'),
  ('12000000-0000-4000-8000-000000000002', 'mark.12@example.com'),
  ('12000000-0000-4000-8000-0000000000b1', 'olga.12@fantooo.local'),
  ('12000000-0000-4000-8000-0000000000e1', 'adam.12@fantooo.local');
insert into public.admins (id, name) values ('12000000-0000-4000-8000-0000000000e1', 'Adam');
insert into public.operators (id, name) values ('12000000-0000-4000-8000-0000000000b1', 'Olga');
insert into public.real_users (id, display_name, age, gender, looking_for) values
  ('12000000-0000-4000-8000-000000000001', 'Lena', 29, 'male', 'female'),
  ('12000000-0000-4000-8000-000000000002', 'Mark', 35, 'female', 'male');
insert into public.fictional_users (id, name, age, gender, is_active, is_featured) values
  ('12000000-0000-4000-8000-0000000000a1', 'Twelve Zara', 24, 'female', true, true),
  ('12000000-0000-4000-8000-0000000000a2', 'Twelve Amy', 27, 'female', true, false),
  ('12000000-0000-4000-8000-0000000000a3', 'Twelve Beth', 31, 'female', true, false),
  ('12000000-0000-4000-8000-0000000000a4', 'Twelve Cleo', 22, 'female', false, false),
  ('12000000-0000-4000-8000-0000000000a5', 'Twelve Dora', 38, 'female', true, false),
  ('12000000-0000-4000-8000-0000000000a6', 'Twelve Max', 33, 'male', true, false);
insert into public.fictional_user_guidelines (fictional_user_id, personality_guidelines) values
  ('12000000-0000-4000-8000-0000000000a1', 'secret twelve');
insert into public.favorites (real_user_id, fictional_user_id) values
  ('12000000-0000-4000-8000-000000000001', '12000000-0000-4000-8000-0000000000a3');
-- Lena ----------------------------------------------------------------------------------------------------
select tests.authenticate_as('12000000-0000-4000-8000-000000000001');

select results_eq(
  $$select name from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000001', 100, 0)
     where name like 'Twelve %'$$,
  $$values ('Twelve Zara'::text), ('Twelve Amy'), ('Twelve Beth'), ('Twelve Dora')$$,
  'active profiles of the looked-for gender, featured first, then by name');
select is_empty(
  $$select 1 from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000001', 100, 0)
     where gender <> 'female' or id = '12000000-0000-4000-8000-0000000000a4'$$,
  'no profile of the other gender and no deactivated profile');
select results_eq(
  $$select name, is_favorite from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000001', 100, 0)
     where name like 'Twelve %'$$,
  $$values ('Twelve Zara'::text, false), ('Twelve Amy', false), ('Twelve Beth', true), ('Twelve Dora', false)$$,
  'is_favorite marks lena''s favourites only');
select results_eq(
  $$select name from public.get_available_fictional_profiles(null, 100, 0) where name like 'Twelve %'$$,
  $$values ('Twelve Zara'::text), ('Twelve Amy'), ('Twelve Beth'), ('Twelve Dora')$$,
  'without a user id the caller lists for itself');
select results_eq(
  $$select id from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000001', 100, 0)$$,
  $$select id from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000001', 100, 0)$$,
  'the order is stable between calls');

-- Paging: every page of 2 concatenated equals the full list, without overlap.
select results_eq(
  $$select id from (
      select p.id, 1 as page, row_number() over () as pos from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000001', 2, 0) p
      union all
      select p.id, 2, row_number() over () from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000001', 2, 2) p
      union all
      select p.id, 3, row_number() over () from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000001', 2, 4) p
      union all
      select p.id, 4, row_number() over () from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000001', 100, 6) p
    ) pages order by page, pos$$,
  $$select id from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000001', 100, 0)$$,
  'pages of 2 follow each other without gaps or overlap');
select is((select count(*)::integer from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000001', 2, 0)),
  2, 'p_limit caps the page size');
select is((select count(*)::integer from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000001', 1000, 0)),
  (select count(*)::integer from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000001', 100, 0)),
  'p_limit is capped at 100');
select is((select count(*)::integer from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000001', 100, 100000)),
  0, 'an offset past the end returns nothing');

select throws_ok(
  $$select * from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000002', 10, 0)$$,
  '42501', 'forbidden', 'lena cannot list profiles for mark');

-- Olga (operator) ------------------------------------------------------------------------------------------
select tests.authenticate_as('12000000-0000-4000-8000-0000000000b1');
select throws_ok(
  $$select * from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000001', 10, 0)$$,
  '42501', 'forbidden', 'an operator cannot list for a real user');
select is_empty($$select * from public.get_available_fictional_profiles(null, 10, 0)$$,
  'an operator has no looking_for: nothing for itself');

-- Adam (admin) and service_role act for anyone -----------------------------------------------------------
select tests.authenticate_as('12000000-0000-4000-8000-0000000000e1');
select results_eq(
  $$select name from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000002', 100, 0)
     where name like 'Twelve %'$$,
  $$values ('Twelve Max'::text)$$,
  'an admin lists for mark: the men');

select tests.authenticate_as_service_role();
select results_eq(
  $$select name from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000001', 100, 0)
     where name like 'Twelve %'$$,
  $$values ('Twelve Zara'::text), ('Twelve Amy'), ('Twelve Beth'), ('Twelve Dora')$$,
  'service_role lists for lena');

-- Anon --------------------------------------------------------------------------------------------------------
select tests.authenticate_as_anon();
select throws_ok(
  $$select * from public.get_available_fictional_profiles('12000000-0000-4000-8000-000000000001', 10, 0)$$,
  '42501', 'permission denied for function get_available_fictional_profiles', 'anon cannot call it');

select tests.clear_authentication();
select is(
  (select proargnames[4:] from pg_proc
    where oid = 'public.get_available_fictional_profiles(uuid, integer, integer)'::regprocedure),
  array['id', 'name', 'age', 'gender', 'bio', 'avatar_url', 'interests', 'is_featured', 'created_at', 'is_favorite'],
  'the result columns carry no operator-only guidance');

select * from finish();
rollback;
