-- Avatar URLs (check_avatar_url on real_users and fictional_users): https only, no user info, no
-- path climbing out, at most 2,048 characters; under the project's own Storage public path (Vault
-- project_url) unless an admin sets another prefix in settings, and refused when neither is known.
-- Inserts and updates alike, for every persona, service_role and a trusted caller (a seed).
begin;
set local search_path = extensions, public;
select plan(32);
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

-- https only; while no prefix is set, nothing outside the project's Storage -------------------------

select tests.authenticate_as('alice');
select throws_ok($$update public.real_users set avatar_url = 'http://img.test/a.png' where id = tests.get_user_id('alice')$$,
  '23514', 'invalid_avatar_url', 'a real user cannot set an http avatar');
select throws_ok($$update public.real_users set avatar_url = 'javascript:alert(1)' where id = tests.get_user_id('alice')$$,
  '23514', 'invalid_avatar_url', 'nor a javascript: one');
select throws_ok($$update public.real_users set avatar_url = 'https://user@evil.test/a.png' where id = tests.get_user_id('alice')$$,
  '23514', 'invalid_avatar_url', 'nor one with user info');
select throws_ok($$update public.real_users set avatar_url = 'https://img.test/alice.png' where id = tests.get_user_id('alice')$$,
  '23514', 'invalid_avatar_url', 'an https avatar outside the project''s Storage is refused while no other prefix is set');
select tests.clear_authentication();
update public.settings set avatar_url_prefix = 'https://ref.supabase.co/storage/v1/object/public/avatars/';
select tests.authenticate_as('alice');
select throws_ok($$update public.real_users set avatar_url = 'https://img.test/alice2.png' where id = tests.get_user_id('alice')$$,
  '23514', 'invalid_avatar_url', 'with a Storage URL set, another https host is refused');
select throws_ok($$update public.real_users set avatar_url = 'https://ref.supabase.co/storage/v1/object/public/avatars/../private/x.png' where id = tests.get_user_id('alice')$$,
  '23514', 'invalid_avatar_url', 'and so is a path that climbs out of it');
select lives_ok($$update public.real_users set avatar_url = 'https://ref.supabase.co/storage/v1/object/public/avatars/alice.png' where id = tests.get_user_id('alice')$$,
  'an avatar under the Storage URL is accepted');
select lives_ok($$update public.real_users set bio = 'new bio' where id = tests.get_user_id('alice')$$,
  'an update that leaves the avatar alone is not checked again');
select throws_ok($$insert into public.real_users (id, display_name, age, gender, looking_for, avatar_url) values
  (tests.get_user_id('alice'), 'x', 30, 'female', 'male', 'https://img.test/x.png')$$,
  '23514', 'invalid_avatar_url', 'the check applies to inserts too');
select tests.authenticate_as('adam');
select throws_ok($$insert into public.fictional_users (name, age, gender, avatar_url) values ('Avatar Test', 30, 'male', 'https://img.test/p.png')$$,
  '23514', 'invalid_avatar_url', 'an admin cannot give a profile an avatar outside the Storage URL');
select throws_ok($$update public.fictional_users set avatar_url = 'http://ref.supabase.co/storage/v1/object/public/avatars/p.png' where id = tests.get_profile_id('Test Fa')$$,
  '23514', 'invalid_avatar_url', 'nor an http one');
select tests.authenticate_as_service_role();
select throws_ok($$update public.fictional_users set avatar_url = 'https://img.test/p.png' where id = tests.get_profile_id('Test Fa')$$,
  '23514', 'invalid_avatar_url', 'service_role is held to it too');
select tests.authenticate_as('adam');
select throws_ok($$update public.settings set avatar_url_prefix = 'http://ref.supabase.co/'$$,
  '23514', null, 'the Storage URL itself must be https');

select tests.clear_authentication();
-- Avatar URLs: the project's Storage by default ---------------------------------------------------------

update public.settings set avatar_url_prefix = null;
select pg_temp.set_project_url('https://ref.supabase.co');

select tests.authenticate_as('alice');
select lives_ok($$update public.real_users set avatar_url = 'https://ref.supabase.co/storage/v1/object/public/avatars/alice.png'
  where id = tests.get_user_id('alice')$$,
  'alice sets an avatar under the project''s Storage public path');
select throws_ok($$update public.real_users set avatar_url = 'https://img.test/alice.png' where id = tests.get_user_id('alice')$$,
  '23514', 'invalid_avatar_url', 'with no prefix set, alice cannot set an avatar on another https host');
select throws_ok($$update public.real_users set avatar_url = 'https://ref.supabase.co/storage/v1/object/sign/avatars/alice.png'
  where id = tests.get_user_id('alice')$$,
  '23514', 'invalid_avatar_url', 'nor one of the project that is not under its public Storage path');
select throws_ok($$update public.real_users set avatar_url = 'https://ref.supabase.co.evil.test/storage/v1/object/public/a.png'
  where id = tests.get_user_id('alice')$$,
  '23514', 'invalid_avatar_url', 'nor one on a host that only starts like the project''s');
select lives_ok($$update public.real_users set avatar_url = null where id = tests.get_user_id('alice')$$,
  'alice may clear her avatar');
select tests.authenticate_as('nora');
select throws_ok($$insert into public.real_users (id, display_name, age, gender, looking_for, avatar_url)
  values (tests.get_user_id('nora'), 'Nora T', 28, 'female', 'male', 'https://img.test/nora.png')$$,
  '23514', 'invalid_avatar_url', 'nora cannot sign up with an avatar elsewhere');

select tests.authenticate_as('adam');
select lives_ok($$update public.fictional_users set avatar_url = 'https://ref.supabase.co/storage/v1/object/public/profiles/fa.png'
  where id = tests.get_profile_id('Test Fa')$$,
  'adam gives a profile an avatar under the project''s Storage');
select throws_ok($$update public.fictional_users set avatar_url = 'https://img.test/fa.png' where id = tests.get_profile_id('Test Fa')$$,
  '23514', 'invalid_avatar_url', 'adam cannot give a profile an avatar elsewhere while no prefix is set');
select tests.authenticate_as_service_role();
select throws_ok($$update public.fictional_users set avatar_url = 'https://img.test/fb.png' where id = tests.get_profile_id('Test Fb')$$,
  '23514', 'invalid_avatar_url', 'service_role is held to the default too');

-- An admin allows another prefix: then that prefix, and only it.
select tests.authenticate_as('adam');
select lives_ok($$update public.settings set avatar_url_prefix = 'https://cdn.example.com/avatars/'$$,
  'adam sets another prefix');
select tests.authenticate_as('alice');
select lives_ok($$update public.real_users set avatar_url = 'https://cdn.example.com/avatars/alice.png' where id = tests.get_user_id('alice')$$,
  'alice sets an avatar under the prefix the admin set');
select throws_ok($$update public.real_users set avatar_url = 'https://ref.supabase.co/storage/v1/object/public/avatars/alice.png'
  where id = tests.get_user_id('alice')$$,
  '23514', 'invalid_avatar_url', 'and no longer one under the default Storage path');
select lives_ok($$update public.real_users set avatar_url = 'https://cdn.example.com/avatars/' || repeat('a', 2048 - 32)
  where id = tests.get_user_id('alice')$$, 'an avatar URL of 2,048 characters is accepted');
select throws_ok($$update public.real_users set avatar_url = 'https://cdn.example.com/avatars/' || repeat('a', 100000)
  where id = tests.get_user_id('alice')$$,
  '23514', 'invalid_avatar_url', 'a 100 KB avatar URL is refused');
select tests.authenticate_as('olga');
select results_eq($$with changed as (update public.settings set avatar_url_prefix = null returning 1) select count(*)::int from changed$$,
  $$values (0)$$, 'olga cannot change the prefix (the update policy leaves her no row)');
select tests.authenticate_as('alice');
select results_eq($$with changed as (update public.settings set avatar_url_prefix = null returning 1) select count(*)::int from changed$$,
  $$values (0)$$, 'nor can alice');

-- Neither known: fail closed.
select tests.clear_authentication();
update public.settings set avatar_url_prefix = null;
select pg_temp.set_project_url(null);
select tests.authenticate_as('alice');
select throws_ok($$update public.real_users set avatar_url = 'https://ref.supabase.co/storage/v1/object/public/avatars/alice2.png'
  where id = tests.get_user_id('alice')$$,
  '23514', 'invalid_avatar_url', 'with no prefix and no project_url in Vault, every avatar is refused');
select tests.clear_authentication();
select pg_temp.set_project_url('http://127.0.0.1:54321');
select tests.authenticate_as('alice');
select throws_ok($$update public.real_users set avatar_url = 'https://img.test/alice2.png' where id = tests.get_user_id('alice')$$,
  '23514', 'invalid_avatar_url', 'and so with a plain-http project URL (the local stack: no Storage to point at)');
select tests.clear_authentication();
select throws_ok($$insert into public.fictional_users (name, age, gender, avatar_url) values ('Avatar Seed', 30, 'male', 'https://img.test/s.png')$$,
  '23514', 'invalid_avatar_url', 'a trusted caller (a seed) is held to it too');

select * from finish();
rollback;
