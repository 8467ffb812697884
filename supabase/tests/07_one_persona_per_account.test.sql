-- One persona per account (refuse_second_persona): no real_users row for staff, no operators or
-- admins row for a real user, whoever inserts it (the account itself, an admin, service_role), with
-- PT409 persona_conflict; an account with no persona yet may get one.
begin;
set local search_path = extensions, public;
select plan(8);
\ir fixtures/personas.psql

-- One persona per account --------------------------------------------------------------------------------

select tests.clear_authentication();
update public.operators set is_active = false where id = tests.get_user_id('olga');
select tests.authenticate_as('olga');
select throws_ok($$insert into public.real_users (id, display_name, age, gender, looking_for)
  values (tests.get_user_id('olga'), 'Olga as user', 30, 'female', 'male')$$,
  'PT409', 'persona_conflict', 'a deactivated operator cannot become a real user');
select tests.authenticate_as('omar');
select throws_ok($$insert into public.real_users (id, display_name, age, gender, looking_for)
  values (tests.get_user_id('omar'), 'Omar as user', 30, 'male', 'female')$$,
  '42501', 'new row violates row-level security policy for table "real_users"', 'an active operator is still refused by the insert policy');
select tests.authenticate_as('adam');
select throws_ok($$insert into public.operators (id, name) values (tests.get_user_id('alice'), 'Alice as operator')$$,
  'PT409', 'persona_conflict', 'adam cannot make a real user an operator');
select throws_ok($$insert into public.admins (id, name) values (tests.get_user_id('bob'), 'Bob as admin')$$,
  'PT409', 'persona_conflict', 'nor an admin');
select tests.authenticate_as_service_role();
select throws_ok($$insert into public.real_users (id, display_name, age, gender, looking_for)
  values (tests.get_user_id('adam'), 'Adam as user', 40, 'male', 'female')$$,
  'PT409', 'persona_conflict', 'service_role cannot give an admin a real_users row');
select throws_ok($$insert into public.operators (id, name) values (tests.get_user_id('bob'), 'Bob as operator')$$,
  'PT409', 'persona_conflict', 'nor make a real user an operator');
select tests.clear_authentication();
select tests.create_auth_user('new_staff');
select tests.authenticate_as('adam');
select lives_ok($$insert into public.operators (id, name) values (tests.get_user_id('new_staff'), 'New Staff')$$,
  'adam adds an operator for an account with no other persona');
select tests.authenticate_as('nora');
select lives_ok($$insert into public.real_users (id, display_name, age, gender, looking_for)
  values (tests.get_user_id('nora'), 'Nora T', 28, 'female', 'male')$$,
  'nora, signed up with no persona, creates her real user row');

select * from finish();
rollback;
