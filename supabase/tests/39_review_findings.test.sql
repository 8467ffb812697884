-- Findings of an independent review (023_review_findings.sql; issue 16): avatar URLs must be under
-- the project's own Storage (Vault project_url) unless an admin sets another prefix, and are refused
-- when neither is known; a message without a settings row is refused, never written free; an account
-- has one persona (no real_users row for staff, no operators/admins row for a real user); the seed's
-- credit packages have fixed ids. Per persona, what is allowed and what is refused with its code.
begin;
set local search_path = extensions, public;
select plan(34);

\ir fixtures/personas.psql

-- The project URL the cron jobs read: set here (rolled back with the test) to a hosted one.
create function pg_temp.set_project_url(p_url text)
returns void
language plpgsql
as $$
begin
  delete from vault.secrets where name = 'project_url';
  if p_url is not null then
    perform vault.create_secret(p_url, 'project_url');
  end if;
end;
$$;

-- Avatar URLs: the project's Storage by default ---------------------------------------------------------

update public.settings set avatar_url_prefix = null;
select pg_temp.set_project_url('https://ref.supabase.co');

select tests.authenticate_as('f1000000-0000-4000-8000-000000000001');
select lives_ok($$update public.real_users set avatar_url = 'https://ref.supabase.co/storage/v1/object/public/avatars/alice.png'
  where id = 'f1000000-0000-4000-8000-000000000001'$$,
  'alice sets an avatar under the project''s Storage public path');
select throws_ok($$update public.real_users set avatar_url = 'https://img.test/alice.png' where id = 'f1000000-0000-4000-8000-000000000001'$$,
  '23514', 'invalid_avatar_url', 'with no prefix set, alice cannot set an avatar on another https host');
select throws_ok($$update public.real_users set avatar_url = 'https://ref.supabase.co/storage/v1/object/sign/avatars/alice.png'
  where id = 'f1000000-0000-4000-8000-000000000001'$$,
  '23514', 'invalid_avatar_url', 'nor one of the project that is not under its public Storage path');
select throws_ok($$update public.real_users set avatar_url = 'https://ref.supabase.co.evil.test/storage/v1/object/public/a.png'
  where id = 'f1000000-0000-4000-8000-000000000001'$$,
  '23514', 'invalid_avatar_url', 'nor one on a host that only starts like the project''s');
select lives_ok($$update public.real_users set avatar_url = null where id = 'f1000000-0000-4000-8000-000000000001'$$,
  'alice may clear her avatar');
select tests.authenticate_as('f4000000-0000-4000-8000-000000000001');
select throws_ok($$insert into public.real_users (id, display_name, age, gender, looking_for, avatar_url)
  values ('f4000000-0000-4000-8000-000000000001', 'Nora T', 28, 'female', 'male', 'https://img.test/nora.png')$$,
  '23514', 'invalid_avatar_url', 'nora cannot sign up with an avatar elsewhere');

select tests.authenticate_as('f3000000-0000-4000-8000-000000000001');
select lives_ok($$update public.fictional_users set avatar_url = 'https://ref.supabase.co/storage/v1/object/public/profiles/fa.png'
  where id = 'f5000000-0000-4000-8000-000000000001'$$,
  'adam gives a profile an avatar under the project''s Storage');
select throws_ok($$update public.fictional_users set avatar_url = 'https://img.test/fa.png' where id = 'f5000000-0000-4000-8000-000000000001'$$,
  '23514', 'invalid_avatar_url', 'adam cannot give a profile an avatar elsewhere while no prefix is set');
select tests.authenticate_as_service_role();
select throws_ok($$update public.fictional_users set avatar_url = 'https://img.test/fb.png' where id = 'f5000000-0000-4000-8000-000000000002'$$,
  '23514', 'invalid_avatar_url', 'service_role is held to the default too');

-- An admin allows another prefix: then that prefix, and only it.
select tests.authenticate_as('f3000000-0000-4000-8000-000000000001');
select lives_ok($$update public.settings set avatar_url_prefix = 'https://cdn.example.com/avatars/'$$,
  'adam sets another prefix');
select tests.authenticate_as('f1000000-0000-4000-8000-000000000001');
select lives_ok($$update public.real_users set avatar_url = 'https://cdn.example.com/avatars/alice.png' where id = 'f1000000-0000-4000-8000-000000000001'$$,
  'alice sets an avatar under the prefix the admin set');
select throws_ok($$update public.real_users set avatar_url = 'https://ref.supabase.co/storage/v1/object/public/avatars/alice.png'
  where id = 'f1000000-0000-4000-8000-000000000001'$$,
  '23514', 'invalid_avatar_url', 'and no longer one under the default Storage path');
select lives_ok($$update public.real_users set avatar_url = 'https://cdn.example.com/avatars/' || repeat('a', 2048 - 32)
  where id = 'f1000000-0000-4000-8000-000000000001'$$, 'an avatar URL of 2,048 characters is accepted');
select throws_ok($$update public.real_users set avatar_url = 'https://cdn.example.com/avatars/' || repeat('a', 100000)
  where id = 'f1000000-0000-4000-8000-000000000001'$$,
  '23514', 'invalid_avatar_url', 'a 100 KB avatar URL is refused');
select tests.authenticate_as('f2000000-0000-4000-8000-000000000001');
select results_eq($$with changed as (update public.settings set avatar_url_prefix = null returning 1) select count(*)::int from changed$$,
  $$values (0)$$, 'olga cannot change the prefix (the update policy leaves her no row)');
select tests.authenticate_as('f1000000-0000-4000-8000-000000000001');
select results_eq($$with changed as (update public.settings set avatar_url_prefix = null returning 1) select count(*)::int from changed$$,
  $$values (0)$$, 'nor can alice');

-- Neither known: fail closed.
select tests.clear_authentication();
update public.settings set avatar_url_prefix = null;
select pg_temp.set_project_url(null);
select tests.authenticate_as('f1000000-0000-4000-8000-000000000001');
select throws_ok($$update public.real_users set avatar_url = 'https://ref.supabase.co/storage/v1/object/public/avatars/alice2.png'
  where id = 'f1000000-0000-4000-8000-000000000001'$$,
  '23514', 'invalid_avatar_url', 'with no prefix and no project_url in Vault, every avatar is refused');
select tests.clear_authentication();
select pg_temp.set_project_url('http://127.0.0.1:54321');
select tests.authenticate_as('f1000000-0000-4000-8000-000000000001');
select throws_ok($$update public.real_users set avatar_url = 'https://img.test/alice2.png' where id = 'f1000000-0000-4000-8000-000000000001'$$,
  '23514', 'invalid_avatar_url', 'and so with a plain-http project URL (the local stack: no Storage to point at)');
select tests.clear_authentication();
select throws_ok($$insert into public.fictional_users (name, age, gender, avatar_url) values ('Avatar Seed', 30, 'male', 'https://img.test/s.png')$$,
  '23514', 'invalid_avatar_url', 'a trusted caller (a seed) is held to it too');

-- A message without a settings row ---------------------------------------------------------------------

delete from public.settings;
select tests.authenticate_as('f1000000-0000-4000-8000-000000000001');
select throws_ok($$insert into public.messages (chat_id, sender_type, content) values ('f6000000-0000-4000-8000-000000000001', 'real', 'free?')$$,
  'PT500', 'pricing_not_configured', 'without the settings row, alice''s message is refused, not written free');
select tests.clear_authentication();
select results_eq($$select credits from public.real_users where id = 'f1000000-0000-4000-8000-000000000001'$$,
  $$values (10)$$, 'her credits are untouched');
select is_empty($$select 1 from public.messages where content = 'free?'$$, 'and nothing was written');
select throws_ok($$insert into public.messages (chat_id, sender_type, content) values ('f6000000-0000-4000-8000-000000000003', 'real', 'seeded')$$,
  'PT500', 'pricing_not_configured', 'a trusted caller''s real message is refused too');
select tests.authenticate_as('f2000000-0000-4000-8000-000000000001');
select lives_ok($$insert into public.messages (chat_id, sender_type, content) values ('f6000000-0000-4000-8000-000000000001', 'fictional', 'still here')$$,
  'an operator''s answer costs nothing and is still written');
select tests.clear_authentication();
insert into public.settings (id) values (true);
select tests.authenticate_as('f1000000-0000-4000-8000-000000000001');
select lives_ok($$insert into public.messages (chat_id, sender_type, content) values ('f6000000-0000-4000-8000-000000000001', 'real', 'priced again')$$,
  'with the settings row back, alice writes again');

-- One persona per account --------------------------------------------------------------------------------

select tests.clear_authentication();
update public.operators set is_active = false where id = 'f2000000-0000-4000-8000-000000000001';
select tests.authenticate_as('f2000000-0000-4000-8000-000000000001');
select throws_ok($$insert into public.real_users (id, display_name, age, gender, looking_for)
  values ('f2000000-0000-4000-8000-000000000001', 'Olga as user', 30, 'female', 'male')$$,
  'PT409', 'persona_conflict', 'a deactivated operator cannot become a real user');
select tests.authenticate_as('f2000000-0000-4000-8000-000000000002');
select throws_ok($$insert into public.real_users (id, display_name, age, gender, looking_for)
  values ('f2000000-0000-4000-8000-000000000002', 'Omar as user', 30, 'male', 'female')$$,
  '42501', 'new row violates row-level security policy for table "real_users"', 'an active operator is still refused by the insert policy');
select tests.authenticate_as('f3000000-0000-4000-8000-000000000001');
select throws_ok($$insert into public.operators (id, name) values ('f1000000-0000-4000-8000-000000000001', 'Alice as operator')$$,
  'PT409', 'persona_conflict', 'adam cannot make a real user an operator');
select throws_ok($$insert into public.admins (id, name) values ('f1000000-0000-4000-8000-000000000002', 'Bob as admin')$$,
  'PT409', 'persona_conflict', 'nor an admin');
select tests.authenticate_as_service_role();
select throws_ok($$insert into public.real_users (id, display_name, age, gender, looking_for)
  values ('f3000000-0000-4000-8000-000000000001', 'Adam as user', 40, 'male', 'female')$$,
  'PT409', 'persona_conflict', 'service_role cannot give an admin a real_users row');
select throws_ok($$insert into public.operators (id, name) values ('f1000000-0000-4000-8000-000000000002', 'Bob as operator')$$,
  'PT409', 'persona_conflict', 'nor make a real user an operator');
select tests.clear_authentication();
insert into auth.users (id, aud, role, email) values
  ('f9000000-0000-4000-8000-000000000001', 'authenticated', 'authenticated', 'new.staff.t@fantooo.local');
select tests.authenticate_as('f3000000-0000-4000-8000-000000000001');
select lives_ok($$insert into public.operators (id, name) values ('f9000000-0000-4000-8000-000000000001', 'New Staff')$$,
  'adam adds an operator for an account with no other persona');
select tests.authenticate_as('f4000000-0000-4000-8000-000000000001');
select lives_ok($$insert into public.real_users (id, display_name, age, gender, looking_for)
  values ('f4000000-0000-4000-8000-000000000001', 'Nora T', 28, 'female', 'male')$$,
  'nora, signed up with no persona, creates her real user row');

-- The seed's credit packages have fixed ids ---------------------------------------------------------------

select tests.clear_authentication();
select results_eq($$select name, id from public.credit_packages
                    where name in ('Starter', 'Popular', 'Value', 'Premium') order by price$$,
  $$values ('Starter'::text, 'e0000000-0000-4000-8000-000000000001'::uuid),
           ('Popular', 'e0000000-0000-4000-8000-000000000002'),
           ('Value', 'e0000000-0000-4000-8000-000000000003'),
           ('Premium', 'e0000000-0000-4000-8000-000000000004')$$,
  'the four packages of the seed keep the same ids across db:reset');

select * from finish();
rollback;
