-- Security definer code out of the Data API's reach (splinter lints 0028/0029, ported): no security
-- definer function in an exposed schema is executable by anon or authenticated; the persona helpers
-- are definer functions in api_private; no policy calls a function in public; every RPC clients call
-- keeps its name in public as a security invoker entry point.
begin;
set local search_path = extensions, public;
select plan(4);

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

select * from finish();
rollback;
