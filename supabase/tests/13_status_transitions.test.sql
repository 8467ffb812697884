-- The lifecycle guard (the guard_status_transition trigger on chats): a chat's status changes only
-- along the edges of docs/lifecycle.md plus the reopen of start_chat, whoever updates it. Every
-- pair of statuses is tried, as the superuser and as service_role (both bypass RLS and have every
-- column privilege), from the table below: allowed changes go through, every other one is refused
-- with SQLSTATE 23514 and the message invalid_status_transition, and leaves the status as it was.
begin;
set local search_path = extensions, public;
select plan(36);
\ir fixtures/helpers.psql

-- Every (from, to) pair of the four statuses, and whether the lifecycle allows it.
create temporary table transitions (n integer primary key, from_status text, to_status text, allowed boolean)
  on commit drop;
insert into transitions (n, from_status, to_status, allowed) values
  (1, 'idle', 'idle', true),
  (2, 'idle', 'waiting', true),          -- a real user writes
  (3, 'idle', 'assigned', false),        -- only a waiting chat is assigned
  (4, 'idle', 'closed', true),
  (5, 'waiting', 'idle', false),         -- a waiting chat is answered only once assigned
  (6, 'waiting', 'waiting', true),
  (7, 'waiting', 'assigned', true),      -- assign_chat_to_operator
  (8, 'waiting', 'closed', true),
  (9, 'assigned', 'idle', true),         -- release, nothing unanswered
  (10, 'assigned', 'waiting', true),     -- release, the real user waits
  (11, 'assigned', 'assigned', true),
  (12, 'assigned', 'closed', true),
  (13, 'closed', 'idle', true),          -- start_chat reopens
  (14, 'closed', 'waiting', false),
  (15, 'closed', 'assigned', false),
  (16, 'closed', 'closed', true);
grant select on transitions to service_role;

-- One chat per pair and per role: n for the superuser, 16 + n for service_role.
select tests.create_real_user('rhea');
select tests.create_profile('Twenty-three ' || n) from generate_series(1, 32) n;
select tests.create_chat('rhea', 'Twenty-three ' || (t.n + r.offset_n), status => t.from_status,
         queued_at => case when t.from_status = 'waiting' then now() - interval '1 minute' end)
  from transitions t cross join (values (0), (16)) r(offset_n);

select has_trigger('public', 'chats', 'guard_status_transition', 'chats has the lifecycle guard');

-- As the superuser -------------------------------------------------------------------------------------
select tests.clear_authentication();
select case
         when t.allowed then lives_ok(
           format($$update public.chats set status = %L, queued_at = coalesce(queued_at, now())
                     where id = tests.get_chat_id('rhea', 'Twenty-three %s')$$, t.to_status, t.n),
           format('the superuser may move a chat from %s to %s', t.from_status, t.to_status))
         else throws_ok(
           format($$update public.chats set status = %L, queued_at = coalesce(queued_at, now())
                     where id = tests.get_chat_id('rhea', 'Twenty-three %s')$$, t.to_status, t.n),
           '23514', 'invalid_status_transition',
           format('not even the superuser moves a chat from %s to %s', t.from_status, t.to_status))
       end
  from transitions t
 order by t.n;
select results_eq(
  $$select c.status from public.chats c
      join transitions t on c.id = tests.get_chat_id('rhea', 'Twenty-three ' || t.n)
     order by t.n$$,
  $$select case when allowed then to_status else from_status end from transitions order by n$$,
  'the superuser''s allowed changes took effect and the refused ones changed nothing');

-- As service_role -------------------------------------------------------------------------------------
select tests.authenticate_as_service_role();
select case
         when t.allowed then lives_ok(
           format($$update public.chats set status = %L, queued_at = coalesce(queued_at, now())
                     where id = tests.get_chat_id('rhea', 'Twenty-three %s')$$, t.to_status, t.n + 16),
           format('service_role may move a chat from %s to %s', t.from_status, t.to_status))
         else throws_ok(
           format($$update public.chats set status = %L, queued_at = coalesce(queued_at, now())
                     where id = tests.get_chat_id('rhea', 'Twenty-three %s')$$, t.to_status, t.n + 16),
           '23514', 'invalid_status_transition',
           format('service_role cannot move a chat from %s to %s', t.from_status, t.to_status))
       end
  from transitions t
 order by t.n;
select tests.clear_authentication();
select results_eq(
  $$select c.status from public.chats c
      join transitions t on c.id = tests.get_chat_id('rhea', 'Twenty-three ' || (t.n + 16))
     order by t.n$$,
  $$select case when allowed then to_status else from_status end from transitions order by n$$,
  'service_role''s allowed changes took effect and the refused ones changed nothing');

-- The refusal names both statuses in its detail --------------------------------------------------------
do $$
declare
  v_state text;
  v_detail text;
begin
  update public.chats set status = 'waiting' where id = tests.get_chat_id('rhea', 'Twenty-three 15');
exception when others then
  get stacked diagnostics v_state = returned_sqlstate, v_detail = pg_exception_detail;
  perform set_config('tests.refusal', v_state || ' ' || v_detail, true);
end
$$;
select is(current_setting('tests.refusal', true), '23514 A chat cannot go from closed to waiting.',
  'the refusal says which change was refused (SQLSTATE 23514, detail from -> to)');

select * from finish();
rollback;
