-- Hardening (016_hardening.sql; docs/rules.md "Hardening"): what an independent security review
-- found. No security definer function in an exposed schema is executable by anon or authenticated
-- (splinter 0028/0029); operators read no real_users row; a completed release of an unanswered chat
-- counts; messages to closed chats or from deactivated accounts are refused by the charging trigger
-- with their own codes; avatar URLs are https (under the Storage URL when set); deleting an account
-- keeps its money records; real users never see who created a profile.
begin;
set local search_path = extensions, public;
select plan(44);

\ir fixtures/personas.psql

-- Advisors: splinter 0028/0029, ported ---------------------------------------------------------------
-- The lints read PostgREST's db-schemas from the pgrst.db_schemas setting; the project exposes
-- public (supabase/config.toml [api] schemas) when it is not set.
select is_empty($$
  select n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
    from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
   where p.prosecdef
     and (has_function_privilege('anon', p.oid, 'execute')
          or has_function_privilege('authenticated', p.oid, 'execute'))
     and n.nspname = any (array(
           select trim(s) from unnest(string_to_array(
             coalesce(nullif(current_setting('pgrst.db_schemas', true), ''), 'public'), ',')) s))
$$, 'no security definer function in an exposed schema is executable by anon or authenticated (splinter 0028/0029)');

select results_eq($$
  select p.proname::text collate "default", n.nspname::text collate "default", p.prosecdef
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where p.proname in ('is_admin', 'is_operator', 'is_real_user') and p.prosecdef
   order by 1
$$, $$values ('is_admin', 'api_private', true), ('is_operator', 'api_private', true), ('is_real_user', 'api_private', true)$$,
  'the persona helpers are security definer functions in api_private, which the Data API does not expose');
select is_empty($$
  select p.polrelid::regclass::text || ': ' || p.polname
    from pg_policy p
    join pg_depend d on d.classid = 'pg_policy'::regclass and d.objid = p.oid and d.refclassid = 'pg_proc'::regclass
    join pg_proc f on f.oid = d.refobjid
   where f.pronamespace = 'public'::regnamespace
$$, 'no policy calls a function in public');
select results_eq($$
  select p.proname::text collate "default", p.prosecdef
    from pg_proc p
   where p.pronamespace = 'public'::regnamespace
     and p.proname in ('assign_chat_to_operator', 'release_and_reassign_chat', 'get_available_fictional_profiles',
                       'update_operator_stats', 'get_operator_performance_stats', 'get_chat_with_details',
                       'operator_heartbeat', 'message_price', 'is_admin', 'is_operator', 'is_real_user')
   order by 1
$$, $$values ('assign_chat_to_operator', false), ('get_available_fictional_profiles', false),
             ('get_chat_with_details', false), ('get_operator_performance_stats', false), ('is_admin', false),
             ('is_operator', false), ('is_real_user', false), ('message_price', false), ('operator_heartbeat', false),
             ('release_and_reassign_chat', false), ('update_operator_stats', false)$$,
  'every RPC keeps its name in public, as a security invoker entry point');

-- Operators never read real_users ---------------------------------------------------------------------

select tests.authenticate_as('f2000000-0000-4000-8000-000000000001');
select is_empty('select * from public.real_users', 'olga reads no real_users row, not even the user of the chat she holds');
select is_empty($$select * from public.chats c join public.real_users r on r.id = c.real_user_id$$,
  'nor through a join from her chat');
select is((select array_agg(k order by k) from jsonb_object_keys(
    public.get_chat_with_details('f6000000-0000-4000-8000-000000000001') -> 'real_user') k),
  array['age', 'avatar_url', 'bio', 'display_name', 'gender', 'id'],
  'her real user panel is get_chat_with_details: id, display_name, age, gender, bio, avatar_url only');
select tests.authenticate_as('f1000000-0000-4000-8000-000000000001');
select results_eq('select id from public.real_users', $$values ('f1000000-0000-4000-8000-000000000001'::uuid)$$,
  'a real user still reads its own row');
select tests.authenticate_as('f3000000-0000-4000-8000-000000000001');
select ok((select count(*) from public.real_users where id::text like 'f1000000%') = 2, 'an admin still reads every real user');

-- Messages refused under the charging trigger's locks --------------------------------------------------

select tests.authenticate_as('f1000000-0000-4000-8000-000000000001');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values ('f6000000-0000-4000-8000-000000000002', 'real', 'hello again')$$,
  '42501', 'chat_closed', 'a message to a closed chat: 42501 chat_closed');
select throws_ok($$select public.send_message('f6000000-0000-4000-8000-000000000002', 'via rpc')$$,
  '42501', 'chat_closed', 'the same through send_message');
select tests.clear_authentication();
update public.real_users set is_active = false where id = 'f1000000-0000-4000-8000-000000000002';
select tests.authenticate_as('f1000000-0000-4000-8000-000000000002');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values ('f6000000-0000-4000-8000-000000000003', 'real', 'still here?')$$,
  '42501', 'account_deactivated', 'a message from a deactivated account: 42501 account_deactivated');
select tests.clear_authentication();
update public.real_users set is_active = true where id = 'f1000000-0000-4000-8000-000000000002';
select tests.authenticate_as('f2000000-0000-4000-8000-000000000001');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values ('f6000000-0000-4000-8000-000000000003', 'fictional', 'still mine?')$$,
  'PT404', 'chat_not_held', 'an operator''s answer to a chat it does not hold: PT404 chat_not_held');
select lives_ok($$insert into public.messages (chat_id, sender_type, content)
  values ('f6000000-0000-4000-8000-000000000001', 'fictional', 'Fa answers')$$,
  'the holder still answers');
select tests.clear_authentication();
select results_eq($$select count(*)::int from public.messages where content in ('hello again', 'via rpc', 'still here?', 'still mine?')$$,
  $$values (0)$$, 'nothing refused was written');

-- A completed release of an unanswered chat counts --------------------------------------------------

update public.chats set queued_at = now(), reassignment_count = 0 where id = 'f6000000-0000-4000-8000-000000000001';
select tests.authenticate_as('f2000000-0000-4000-8000-000000000001');
select ok(public.release_and_reassign_chat('f6000000-0000-4000-8000-000000000001', 'completed'),
  'olga completes the chat while alice waits for an answer');
select tests.clear_authentication();
select results_eq($$select status, reassignment_count, flagged_for_review from public.chats where id = 'f6000000-0000-4000-8000-000000000001'$$,
  $$values ('waiting'::text, 1, false)$$, 'it goes back to the queue and counts as a reassignment');
-- the third counting release flags it
update public.chats set status = 'assigned', reassignment_count = 2 where id = 'f6000000-0000-4000-8000-000000000001';
insert into public.chat_assignments (chat_id, operator_id) values ('f6000000-0000-4000-8000-000000000001', 'f2000000-0000-4000-8000-000000000001');
select tests.authenticate_as('f2000000-0000-4000-8000-000000000001');
select ok(public.release_and_reassign_chat('f6000000-0000-4000-8000-000000000001', 'completed'), 'olga completes it again, still unanswered');
select tests.clear_authentication();
select results_eq($$select reassignment_count, flagged_for_review, flag_reason from public.chats where id = 'f6000000-0000-4000-8000-000000000001'$$,
  $$values (3, true, 'reassigned 3 times'::text)$$, 'the third such release flags it');
-- an answered chat: completing it does not count
update public.chats set status = 'assigned', queued_at = null, reassignment_count = 0, flagged_for_review = false, flag_reason = null
 where id = 'f6000000-0000-4000-8000-000000000001';
insert into public.chat_assignments (chat_id, operator_id) values ('f6000000-0000-4000-8000-000000000001', 'f2000000-0000-4000-8000-000000000001');
select tests.authenticate_as('f2000000-0000-4000-8000-000000000001');
select ok(public.release_and_reassign_chat('f6000000-0000-4000-8000-000000000001', 'completed'), 'olga completes an answered chat');
select tests.clear_authentication();
select results_eq($$select status, reassignment_count from public.chats where id = 'f6000000-0000-4000-8000-000000000001'$$,
  $$values ('idle'::text, 0)$$, 'an answered chat completed does not count');

-- avatar_url -----------------------------------------------------------------------------------------

select tests.authenticate_as('f1000000-0000-4000-8000-000000000001');
select throws_ok($$update public.real_users set avatar_url = 'http://img.test/a.png' where id = 'f1000000-0000-4000-8000-000000000001'$$,
  '23514', 'invalid_avatar_url', 'a real user cannot set an http avatar');
select throws_ok($$update public.real_users set avatar_url = 'javascript:alert(1)' where id = 'f1000000-0000-4000-8000-000000000001'$$,
  '23514', 'invalid_avatar_url', 'nor a javascript: one');
select throws_ok($$update public.real_users set avatar_url = 'https://user@evil.test/a.png' where id = 'f1000000-0000-4000-8000-000000000001'$$,
  '23514', 'invalid_avatar_url', 'nor one with user info');
select throws_ok($$update public.real_users set avatar_url = 'https://img.test/alice.png' where id = 'f1000000-0000-4000-8000-000000000001'$$,
  '23514', 'invalid_avatar_url', 'an https avatar outside the project''s Storage is refused while no other prefix is set (039)');
select tests.clear_authentication();
update public.settings set avatar_url_prefix = 'https://ref.supabase.co/storage/v1/object/public/avatars/';
select tests.authenticate_as('f1000000-0000-4000-8000-000000000001');
select throws_ok($$update public.real_users set avatar_url = 'https://img.test/alice2.png' where id = 'f1000000-0000-4000-8000-000000000001'$$,
  '23514', 'invalid_avatar_url', 'with a Storage URL set, another https host is refused');
select throws_ok($$update public.real_users set avatar_url = 'https://ref.supabase.co/storage/v1/object/public/avatars/../private/x.png' where id = 'f1000000-0000-4000-8000-000000000001'$$,
  '23514', 'invalid_avatar_url', 'and so is a path that climbs out of it');
select lives_ok($$update public.real_users set avatar_url = 'https://ref.supabase.co/storage/v1/object/public/avatars/alice.png' where id = 'f1000000-0000-4000-8000-000000000001'$$,
  'an avatar under the Storage URL is accepted');
select lives_ok($$update public.real_users set bio = 'new bio' where id = 'f1000000-0000-4000-8000-000000000001'$$,
  'an update that leaves the avatar alone is not checked again');
select throws_ok($$insert into public.real_users (id, display_name, age, gender, looking_for, avatar_url) values
  ('f1000000-0000-4000-8000-000000000001', 'x', 30, 'female', 'male', 'https://img.test/x.png')$$,
  '23514', 'invalid_avatar_url', 'the check applies to inserts too');
select tests.authenticate_as('f3000000-0000-4000-8000-000000000001');
select throws_ok($$insert into public.fictional_users (name, age, gender, avatar_url) values ('Avatar Test', 30, 'male', 'https://img.test/p.png')$$,
  '23514', 'invalid_avatar_url', 'an admin cannot give a profile an avatar outside the Storage URL');
select throws_ok($$update public.fictional_users set avatar_url = 'http://ref.supabase.co/storage/v1/object/public/avatars/p.png' where id = 'f5000000-0000-4000-8000-000000000001'$$,
  '23514', 'invalid_avatar_url', 'nor an http one');
select tests.authenticate_as_service_role();
select throws_ok($$update public.fictional_users set avatar_url = 'https://img.test/p.png' where id = 'f5000000-0000-4000-8000-000000000001'$$,
  '23514', 'invalid_avatar_url', 'service_role is held to it too');
select tests.authenticate_as('f3000000-0000-4000-8000-000000000001');
select throws_ok($$update public.settings set avatar_url_prefix = 'http://ref.supabase.co/'$$,
  '23514', null, 'the Storage URL itself must be https');

-- Account deletion keeps the money records ----------------------------------------------------------

select tests.clear_authentication();
insert into public.credit_adjustments (real_user_id, delta, reason, balance_after)
values ('f1000000-0000-4000-8000-000000000001', 5, 'goodwill', 15);
select lives_ok($$delete from auth.users where id = 'f1000000-0000-4000-8000-000000000001'$$,
  'deleting the account of a user with a purchase and an adjustment succeeds');
select results_eq($$select real_user_id, status from public.transactions where reference = 'test-ref-alice'$$,
  $$values (null::uuid, 'success'::text)$$, 'its purchase stays, with the user id set to null');
select results_eq($$select real_user_id, delta from public.credit_adjustments where reason = 'goodwill'$$,
  $$values (null::uuid, 5)$$, 'its credit adjustment stays, with the user id set to null');
select is_empty($$select 1 from public.chats where real_user_id = 'f1000000-0000-4000-8000-000000000001'$$,
  'its chats go with it');

-- Profiles without their creator ----------------------------------------------------------------------

select tests.authenticate_as('f3000000-0000-4000-8000-000000000001');
select lives_ok($$insert into public.fictional_users (id, name, age, gender) values ('f5000000-0000-4000-8000-0000000000c1', 'Made By Adam', 30, 'male')$$,
  'adam creates a profile');
select results_eq($$select created_by from public.fictional_user_creators where fictional_user_id = 'f5000000-0000-4000-8000-0000000000c1'$$,
  $$values ('f3000000-0000-4000-8000-000000000001'::uuid)$$, 'admins read who created it in fictional_user_creators');
select tests.authenticate_as('f1000000-0000-4000-8000-000000000002');
select lives_ok('select * from public.fictional_users', 'select=* on profiles works for a real user');
select results_eq($$select count(*)::int from public.fictional_users where created_by is not null$$, $$values (0)$$,
  'a real user sees no creator on any profile');
select is_empty('select * from public.fictional_user_creators', 'and reads nothing of fictional_user_creators');
select tests.clear_authentication();
select throws_ok($$update public.fictional_users set created_by = 'f3000000-0000-4000-8000-000000000001' where id = 'f5000000-0000-4000-8000-000000000001'$$,
  '23514', null, 'fictional_users.created_by stays null, even for postgres');

select * from finish();
rollback;
