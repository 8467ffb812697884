-- anon (a visitor without a session): nothing in the people, profile and chat tables can be read or written.
-- (Active credit_packages, readable by anon, belong to the payments tests.)
begin;
set local search_path = extensions, public;
select plan(58);
\ir fixtures/helpers.psql

create temporary table anon_tables (t text) on commit drop;
insert into anon_tables values
  ('admins'), ('real_users'), ('operators'), ('fictional_users'), ('fictional_user_guidelines'),
  ('chats'), ('messages'), ('message_authors'), ('favorites'), ('transactions'), ('chat_assignments'),
  ('operator_activity'), ('operator_stats');
grant select on anon_tables to anon;

-- one fixture row so that a leak would be visible
select tests.create_real_user('anon');
select tests.create_profile('Anon Fixture Profile', age => 30);

select tests.authenticate_as_anon();

select throws_ok(format('select * from public.%I', t), '42501', format('permission denied for table %s', t),
  format('anon cannot read %s', t)) from anon_tables order by t;
select throws_ok(format('insert into public.%I default values', t), '42501', format('permission denied for table %s', t),
  format('anon cannot insert into %s', t)) from anon_tables order by t;
select throws_ok(format('update public.%I set created_at = now()', t), '42501', format('permission denied for table %s', t),
  format('anon cannot update %s', t)) from anon_tables order by t;
select throws_ok(format('delete from public.%I', t), '42501', format('permission denied for table %s', t),
  format('anon cannot delete from %s', t)) from anon_tables order by t;

select throws_ok($$insert into public.real_users (id, display_name, age, gender, looking_for)
  values ('f1000000-0000-4000-8000-0000000000b2', 'Sneaky', 30, 'male', 'female')$$,
  '42501', 'permission denied for table real_users', 'anon cannot create a real user row');
select throws_ok('select public.is_admin()', '42501', 'permission denied for function is_admin',
  'anon cannot call is_admin');
select throws_ok('select public.is_operator()', '42501', 'permission denied for function is_operator',
  'anon cannot call is_operator');
select throws_ok('select public.is_real_user()', '42501', 'permission denied for function is_real_user',
  'anon cannot call is_real_user');

select tests.clear_authentication();
select is_empty($$
  select p.tablename || ': ' || p.policyname from pg_policies p
  where p.schemaname = 'public'
    and p.tablename in (select t from anon_tables)
    and (p.roles && array['anon', 'public']::name[])
$$, 'no policy on these tables applies to anon or public');
select is((select count(*)::int from public.real_users where id = tests.get_user_id('anon')), 1,
  'the fixture row anon could not read is there');
select * from finish();
rollback;
