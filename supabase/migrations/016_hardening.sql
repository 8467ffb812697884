-- Fantooo: hardening after an independent security review (SPEC 5 and 12; docs/rules.md "Hardening").
--
--   * Advisors (splinter 0028/0029: no security definer function in an exposed schema executable by
--     anon or authenticated). The persona helpers is_admin(), is_operator() and is_real_user() move
--     to api_private (not exposed by the Data API; API roles have usage on it since 013). Policies
--     name functions by oid, so every policy that calls them (003, 006, 009, 010, 011, 013, 014, 015)
--     follows the move without being rewritten; the function bodies that named them as text are
--     rewritten here. public keeps is_admin(), is_operator() and is_real_user() as security invoker
--     RPCs over them (admin-accounts asks /rpc/is_admin). The older definer RPCs of 004, 006 and 008
--     (assign_chat_to_operator, release_and_reassign_chat, get_available_fictional_profiles,
--     update_operator_stats, get_operator_performance_stats, get_chat_with_details,
--     operator_heartbeat, message_price) move to api_private as they are (same oid, grants and
--     body) and public gets security invoker wrappers of the same names, arguments and volatility:
--     the pattern of 013 and 014. What stays security definer in public is executable by
--     service_role only (apply_paystack_event, mark_transaction_failed).
--   * Operators no longer read real_users: the real user panel is get_chat_with_details' real_user
--     (id, display_name, age, gender, bio, avatar_url; no email, credits or activity times).
--   * A 'completed' release of a chat whose real user is unanswered (queued_at set) counts as a
--     reassignment (private.release_chat, 008); only a release that counts can flag, as before.
--   * Messages are refused by the charging trigger (007) under the row locks it takes, never left to
--     the insert policy's older snapshot: a real user's message to a closed chat is 42501
--     chat_closed, from a deactivated account 42501 account_deactivated; an operator's answer to a
--     chat it no longer holds (the sweep, a close or a release got the chat first) PT404
--     chat_not_held. Nothing is written, so nothing is written uncharged.
--   * avatar_url of real_users and fictional_users: https only and, when settings.avatar_url_prefix
--     is set (the Storage public URL), starting with it; else 23514 invalid_avatar_url, whoever
--     writes it.
--   * Account deletion: transactions and credit_adjustments (money records) keep their rows with
--     real_user_id set to null; chats, messages and favorites go with the user (cascade, as before);
--     payment_disputes already set null (015).
--   * Real users read profiles without who created them: fictional_users.created_by stays (select=*
--     and SPEC 2's schema unchanged) but is always null; the creating admin is kept in
--     fictional_user_creators, readable by admins only (the way 001 keeps personality_guidelines
--     apart and 015 retired transactions.raw_event).
--
-- Lock order, shared by every function that writes a chat's lifecycle (007, 008, 013, 014 and the
-- bodies below), so that concurrent writers wait for one another and never deadlock:
--   1. the person's row: the operator's (operators) for operator work, the real user's (real_users)
--      for real-user work; no transaction takes both;
--   2. the chat's row (chats, select ... for update);
--   3. its chat_assignments and operator_activity rows.
-- An update of operators locks that row before its triggers run, so deactivation (008) and an
-- operator going offline (014) are operator -> chats by nature; assign_chat_to_operator takes the
-- operator and then a chat FOR UPDATE SKIP LOCKED. So an operator's answer (the charging trigger
-- below) and its heartbeat lock the operator first and then the chat: an admin deactivating an
-- operator that is writing waits for it (or it for the admin) instead of deadlocking. The idle sweep
-- (014) takes chats and then operators FOR UPDATE SKIP LOCKED and never waits for either.
--
-- Refusals go through errors.raise_error (005): invalid_avatar_url, chat_closed,
-- account_deactivated, chat_not_held (and those of the bodies rewritten here, unchanged).

insert into errors.catalogue (code, sqlstate, http_status, message) values
  ('invalid_avatar_url', '23514', 400,
   'An avatar URL must be an https URL (under the project''s Storage URL when one is configured).'),
  ('chat_closed', '42501', 403, 'This chat is closed: nothing more can be written in it.'),
  ('account_deactivated', '42501', 403, 'This account is deactivated and can no longer write.');

-- Persona helpers out of public ----------------------------------------------------------------------

alter function public.is_admin() set schema api_private;
alter function public.is_operator() set schema api_private;
alter function public.is_real_user() set schema api_private;

-- True when the caller is an admin. See api_private.is_admin (what policies call). The RPC of that
-- question for clients (admin-accounts asks it with the caller's token).
create function public.is_admin()
returns boolean
language sql
stable
security invoker
set search_path = ''
as $$
  select api_private.is_admin();
$$;

-- True when the caller is an active operator. See api_private.is_operator.
create function public.is_operator()
returns boolean
language sql
stable
security invoker
set search_path = ''
as $$
  select api_private.is_operator();
$$;

-- True when the caller is an active real user. See api_private.is_real_user.
create function public.is_real_user()
returns boolean
language sql
stable
security invoker
set search_path = ''
as $$
  select api_private.is_real_user();
$$;

revoke all on function public.is_admin(), public.is_operator(), public.is_real_user()
  from public, anon, authenticated, service_role;
grant execute on function public.is_admin(), public.is_operator(), public.is_real_user()
  to authenticated, service_role;

-- The bodies that named the helpers in public (003, 004, 013, 014), unchanged but for that.

-- Refuses (forbidden, 42501) API callers who change what only admins may change on real_users, as in
-- 003 (see there). Trigger function only.
create or replace function private.guard_real_user_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user not in ('anon', 'authenticated') then
    return new;
  end if;
  if new.is_active is distinct from old.is_active and not api_private.is_admin() then
    perform errors.raise_error('forbidden', 'Only admins may activate or deactivate a real user.');
  end if;
  if old.id is distinct from auth.uid()
     and (new.display_name, new.age, new.gender, new.looking_for, new.bio, new.avatar_url, new.last_active_at)
         is distinct from
         (old.display_name, old.age, old.gender, old.looking_for, old.bio, old.avatar_url, old.last_active_at) then
    perform errors.raise_error('forbidden', 'Only the user may edit its own profile.');
  end if;
  return new;
end;
$$;

-- Refuses (forbidden, 42501) non-admin API callers who change an operator's capacity or activation,
-- as in 003. Trigger function only.
create or replace function private.guard_operator_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user in ('anon', 'authenticated')
     and (new.max_concurrent_chats, new.is_active) is distinct from (old.max_concurrent_chats, old.is_active)
     and not api_private.is_admin() then
    perform errors.raise_error('forbidden', 'Only admins may change max_concurrent_chats or is_active.');
  end if;
  return new;
end;
$$;

-- Raises unless the caller may act for p_operator_id (itself, an admin, a trusted caller), as in 004.
-- Internal helper.
create or replace function private.require_acting_for_operator(p_operator_id uuid)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if private.is_trusted_caller() or api_private.is_admin() then
    return;
  end if;
  if not private.is_operator_id(auth.uid()) then
    perform errors.raise_error('not_operator');
  end if;
  if p_operator_id is distinct from auth.uid() then
    perform errors.raise_error('forbidden',
      'An operator may act only for itself.');
  end if;
end;
$$;

-- Raises 42501 forbidden unless the caller is an admin or a trusted caller, as in 013. Internal helper.
create or replace function private.require_admin()
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if not (private.is_trusted_caller() or api_private.is_admin()) then
    perform errors.raise_error('forbidden', 'Only admins may do this.');
  end if;
end;
$$;

-- Appends the chat_closures row of a close or reopen, as in 014. Trigger function only.
create or replace function private.record_chat_closure()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.status = 'closed' then
    insert into public.chat_closures (chat_id, event, reason, actor_id)
    values (new.id, 'closed', coalesce(new.close_reason, 'system'),
            (select u.id from auth.users u where u.id = auth.uid()));
  else
    insert into public.chat_closures (chat_id, event, reason, actor_id)
    values (new.id, 'reopened',
            case
              when api_private.is_admin() then 'admin'
              when auth.uid() = new.real_user_id then 'user'
              else 'system'
            end,
            (select u.id from auth.users u where u.id = auth.uid()));
  end if;
  return null;
end;
$$;

-- Closes a chat for good, as in 014 (see there): the chat's real user, admins and service_role.
create or replace function api_private.close_chat(p_chat_id uuid)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_real_user_id uuid;
  v_reason text;
begin
  select c.real_user_id into v_real_user_id from public.chats c where c.id = p_chat_id for update;
  if not found then
    perform errors.raise_error('chat_not_found', 'No chat has this id.');
  end if;
  if private.is_trusted_caller() or api_private.is_admin() then
    v_reason := 'admin';
  elsif v_real_user_id = auth.uid() then
    v_reason := 'user';
  else
    perform errors.raise_error('forbidden',
      'Only the chat''s real user or an admin closes a chat.');
  end if;
  if private.close_locked_chat(p_chat_id, v_reason) then
    return true;
  end if;
  if v_reason = 'admin' then
    update public.chats c set close_reason = 'admin'
     where c.id = p_chat_id and c.status = 'closed' and c.close_reason is distinct from 'admin';
    return found;
  end if;
  return false;
end;
$$;

-- Starts or reopens the calling real user's chat with a profile, as in 014 (see there).
create or replace function api_private.start_chat(p_fictional_user_id uuid)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user_id uuid := auth.uid();
  v_chat_id uuid;
begin
  if v_user_id is null or not api_private.is_real_user() then
    perform errors.raise_error('not_real_user',
      'Only a signed-in, active real user starts a chat.');
  end if;
  if not exists (
    select 1 from public.fictional_users f where f.id = p_fictional_user_id and f.is_active
  ) then
    perform errors.raise_error('profile_not_found');
  end if;
  if exists (
    select 1 from public.chats c
     where c.real_user_id = v_user_id and c.fictional_user_id = p_fictional_user_id
       and c.status = 'closed' and c.close_reason = 'admin'
  ) then
    perform errors.raise_error('chat_closed_by_admin');
  end if;

  insert into public.chats as c (real_user_id, fictional_user_id)
  values (v_user_id, p_fictional_user_id)
  on conflict (real_user_id, fictional_user_id) do update
    set status = 'idle', closed_at = null, close_reason = null, queued_at = null
    where c.status = 'closed' and c.close_reason is distinct from 'admin'
  returning c.id into v_chat_id;

  if v_chat_id is null then -- the chat exists and is open (or was closed by an admin meanwhile)
    select c.id into v_chat_id
      from public.chats c
     where c.real_user_id = v_user_id and c.fictional_user_id = p_fictional_user_id
       and c.status <> 'closed';
    if v_chat_id is null then
      perform errors.raise_error('chat_closed_by_admin');
    end if;
  end if;
  return v_chat_id;
end;
$$;

-- Definer RPCs out of public: bodies in api_private, invoker wrappers in public ----------------------

alter function public.assign_chat_to_operator(uuid) set schema api_private;
alter function public.release_and_reassign_chat(uuid, text) set schema api_private;
alter function public.get_available_fictional_profiles(uuid, integer, integer) set schema api_private;
alter function public.update_operator_stats(uuid, date) set schema api_private;
alter function public.get_operator_performance_stats(uuid, integer) set schema api_private;
alter function public.get_chat_with_details(uuid) set schema api_private;
alter function public.operator_heartbeat(uuid) set schema api_private;
alter function public.message_price(uuid, timestamptz) set schema api_private;

-- The bodies that named the persona helpers in public (004, 006, 008), unchanged but for that; the
-- heartbeat (004) now locks the operator's row and then the chat's (the lock order above).

-- Ends the open assignment of a chat and requeues it, as in 008 (see there for reasons and callers).
create or replace function api_private.release_and_reassign_chat(p_chat_id uuid, p_reason text)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_trusted boolean := private.is_trusted_caller();
  v_holder uuid;
begin
  if p_reason is null or p_reason not in ('completed', 'idle_timeout', 'operator_offline', 'admin') then
    perform errors.raise_error('invalid_release_reason');
  end if;
  if not v_trusted then
    if p_reason = 'idle_timeout' then
      perform errors.raise_error('forbidden',
        'idle_timeout releases come only from the idle sweep.');
    elsif p_reason = 'admin' and not api_private.is_admin() then
      perform errors.raise_error('forbidden', 'Only admins release with reason admin.');
    elsif p_reason in ('completed', 'operator_offline') and not private.is_operator_id(auth.uid()) then
      perform errors.raise_error('not_operator',
        'Only the operator holding a chat releases it with this reason.');
    end if;
  end if;

  -- Lock the chat first: every writer of a chat's lifecycle takes this lock before the assignment.
  perform 1 from public.chats c where c.id = p_chat_id for update;

  select a.operator_id into v_holder
    from public.chat_assignments a
   where a.chat_id = p_chat_id and a.released_at is null;
  if v_holder is null
     or (not v_trusted and p_reason in ('completed', 'operator_offline') and v_holder <> auth.uid()) then
    perform errors.raise_error('chat_not_held');
  end if;

  perform private.release_chat(p_chat_id, p_reason);
  return true;
end;
$$;

-- Active profiles of the user's looking_for gender with is_favorite, as in 004 (see there). A real
-- user for itself; admins and service_role for anyone.
create or replace function api_private.get_available_fictional_profiles(
  p_user_id uuid default null,
  p_limit integer default 20,
  p_offset integer default 0
)
returns table (
  id uuid,
  name text,
  age integer,
  gender text,
  bio text,
  avatar_url text,
  interests text[],
  is_featured boolean,
  created_at timestamptz,
  is_favorite boolean
)
language plpgsql
stable
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_user_id uuid := coalesce(p_user_id, auth.uid());
begin
  if not (private.is_trusted_caller() or api_private.is_admin()) and v_user_id is distinct from auth.uid() then
    perform errors.raise_error('forbidden',
      'A user may list profiles only for itself.');
  end if;

  return query
    select f.id, f.name, f.age, f.gender, f.bio, f.avatar_url, f.interests, f.is_featured, f.created_at,
           exists (
             select 1 from public.favorites fav
              where fav.real_user_id = r.id and fav.fictional_user_id = f.id
           ) as is_favorite
      from public.real_users r
      join public.fictional_users f on f.is_active and f.gender = r.looking_for
     where r.id = v_user_id
     order by f.is_featured desc, f.name, f.id
     limit least(greatest(coalesce(p_limit, 20), 1), 100)
    offset greatest(coalesce(p_offset, 0), 0);
end;
$$;

-- The operator console's view of one chat, as in 004 (see there): the holder, admins and
-- service_role. Its real_user is id, display_name, age, gender, bio and avatar_url only.
create or replace function api_private.get_chat_with_details(p_chat_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_result jsonb;
begin
  if not (private.is_trusted_caller() or api_private.is_admin()) then
    if not private.is_operator_id(auth.uid()) then
      perform errors.raise_error('not_operator',
        'Only operators and admins read chat details.');
    end if;
    if not exists (
      select 1 from public.chat_assignments a
       where a.chat_id = p_chat_id and a.operator_id = auth.uid() and a.released_at is null
    ) then
      perform errors.raise_error('chat_not_held');
    end if;
  end if;

  select jsonb_build_object(
           'id', c.id,
           'status', c.status,
           'queued_at', c.queued_at,
           'last_message_at', c.last_message_at,
           'message_count', c.message_count,
           'reassignment_count', c.reassignment_count,
           'flagged_for_review', c.flagged_for_review,
           'flag_reason', c.flag_reason,
           'created_at', c.created_at,
           'closed_at', c.closed_at,
           'close_reason', c.close_reason,
           'assignment', (
             select jsonb_build_object(
                      'operator_id', a.operator_id,
                      'assigned_at', a.assigned_at,
                      'last_activity_at', oa.last_activity_at)
               from public.chat_assignments a
               left join public.operator_activity oa on oa.chat_id = a.chat_id and oa.operator_id = a.operator_id
              where a.chat_id = c.id and a.released_at is null),
           'real_user', jsonb_build_object(
             'id', r.id,
             'display_name', r.display_name,
             'age', r.age,
             'gender', r.gender,
             'bio', r.bio,
             'avatar_url', r.avatar_url),
           'fictional_user', jsonb_build_object(
             'id', f.id,
             'name', f.name,
             'age', f.age,
             'gender', f.gender,
             'bio', f.bio,
             'avatar_url', f.avatar_url,
             'interests', to_jsonb(f.interests),
             'personality_guidelines', g.personality_guidelines),
           'messages', coalesce((
             select jsonb_agg(
                      jsonb_build_object(
                        'id', m.id,
                        'sender_type', m.sender_type,
                        'content', m.content,
                        'created_at', m.created_at)
                      order by m.created_at, m.id)
               from (
                 select mm.id, mm.sender_type, mm.content, mm.created_at
                   from public.messages mm
                  where mm.chat_id = c.id
                  order by mm.created_at desc, mm.id desc
                  limit 50
               ) m), '[]'::jsonb))
    into v_result
    from public.chats c
    join public.real_users r on r.id = c.real_user_id
    join public.fictional_users f on f.id = c.fictional_user_id
    left join public.fictional_user_guidelines g on g.fictional_user_id = f.id
   where c.id = p_chat_id;

  if v_result is null then
    perform errors.raise_error('chat_not_found', 'No chat has this id.');
  end if;
  return v_result;
end;
$$;

-- What the next real-user message in a chat would cost, as in 006: the chat's real user, admins and
-- service_role; anyone else PT404 chat_not_found.
create or replace function api_private.message_price(p_chat_id uuid, p_at timestamptz default now())
returns integer
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_real_user_id uuid;
  v_is_featured boolean;
  v_prior integer;
begin
  select c.real_user_id, f.is_featured into v_real_user_id, v_is_featured
    from public.chats c
    join public.fictional_users f on f.id = c.fictional_user_id
   where c.id = p_chat_id;
  if not found
     or not (v_real_user_id = auth.uid() or private.is_trusted_caller() or api_private.is_admin()) then
    perform errors.raise_error('chat_not_found', 'No such chat for this caller.');
  end if;
  v_prior := private.prior_real_messages(p_chat_id);
  return private.message_price(v_prior, coalesce(p_at, now()), v_is_featured);
end;
$$;

-- An operator's sign of life in a chat it holds (004): refreshes operator_activity.last_activity_at
-- and operators.last_activity_at under the operator's and the chat's row locks (in that order);
-- returns the new time. Errors: not_operator, chat_not_held. Callers: operators.
create or replace function api_private.operator_heartbeat(p_chat_id uuid)
returns timestamptz
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_operator_id uuid := auth.uid();
  v_at timestamptz;
begin
  if not private.is_operator_id(v_operator_id) then
    perform errors.raise_error('not_operator', 'Only operators send heartbeats.');
  end if;
  -- Lock order (016): the operator's row, then the chat's. The idle sweep takes the chat row (FOR
  -- UPDATE SKIP LOCKED) and rechecks the activity under it, so a sweep either released the chat
  -- before this heartbeat (chat_not_held) or sees the heartbeat and leaves the chat alone.
  perform 1 from public.operators o where o.id = v_operator_id for no key update;
  perform 1 from public.chats c where c.id = p_chat_id for update;
  update public.operator_activity oa
     set last_activity_at = now()
   where oa.operator_id = v_operator_id and oa.chat_id = p_chat_id
  returning oa.last_activity_at into v_at;
  if v_at is null then
    perform errors.raise_error('chat_not_held');
  end if;
  update public.operators o set last_activity_at = now() where o.id = v_operator_id;
  return v_at;
end;
$$;

-- The RPCs clients call, as security invoker wrappers of the bodies above (same names, arguments,
-- defaults, results and volatility as before; what each guarantees is said above its body in 004,
-- 006 and 008). Grants as before.

-- Gives the operator the oldest waiting chat. See api_private.assign_chat_to_operator (008).
create function public.assign_chat_to_operator(p_operator_id uuid default null)
returns uuid
language sql
security invoker
set search_path = ''
as $$
  select api_private.assign_chat_to_operator(p_operator_id);
$$;

-- Ends the open assignment of a chat and requeues it. See api_private.release_and_reassign_chat (008).
create function public.release_and_reassign_chat(p_chat_id uuid, p_reason text)
returns boolean
language sql
security invoker
set search_path = ''
as $$
  select api_private.release_and_reassign_chat(p_chat_id, p_reason);
$$;

-- Active profiles for a real user, with is_favorite. See api_private.get_available_fictional_profiles (004).
create function public.get_available_fictional_profiles(
  p_user_id uuid default null,
  p_limit integer default 20,
  p_offset integer default 0
)
returns table (
  id uuid,
  name text,
  age integer,
  gender text,
  bio text,
  avatar_url text,
  interests text[],
  is_featured boolean,
  created_at timestamptz,
  is_favorite boolean
)
language sql
stable
security invoker
set search_path = ''
as $$
  select * from api_private.get_available_fictional_profiles(p_user_id, p_limit, p_offset);
$$;

-- Recomputes an operator's stats row for a day. See api_private.update_operator_stats (004).
create function public.update_operator_stats(p_operator_id uuid, p_date date default null)
returns public.operator_stats
language sql
security invoker
set search_path = ''
as $$
  select * from api_private.update_operator_stats(p_operator_id, p_date);
$$;

-- An operator's performance over the last days. See api_private.get_operator_performance_stats (004).
create function public.get_operator_performance_stats(p_operator_id uuid, p_days integer default 7)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select api_private.get_operator_performance_stats(p_operator_id, p_days);
$$;

-- The operator console's view of one chat. See api_private.get_chat_with_details (004).
create function public.get_chat_with_details(p_chat_id uuid)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select api_private.get_chat_with_details(p_chat_id);
$$;

-- An operator's sign of life in a chat it holds. See api_private.operator_heartbeat (004, 016).
create function public.operator_heartbeat(p_chat_id uuid)
returns timestamptz
language sql
security invoker
set search_path = ''
as $$
  select api_private.operator_heartbeat(p_chat_id);
$$;

-- What the next real-user message in a chat would cost. See api_private.message_price (006).
create function public.message_price(p_chat_id uuid, p_at timestamptz default now())
returns integer
language sql
stable
security invoker
set search_path = ''
as $$
  select api_private.message_price(p_chat_id, p_at);
$$;

revoke all on function
  public.assign_chat_to_operator(uuid),
  public.release_and_reassign_chat(uuid, text),
  public.get_available_fictional_profiles(uuid, integer, integer),
  public.update_operator_stats(uuid, date),
  public.get_operator_performance_stats(uuid, integer),
  public.get_chat_with_details(uuid),
  public.operator_heartbeat(uuid),
  public.message_price(uuid, timestamptz)
from public, anon, authenticated, service_role;
grant execute on function
  public.assign_chat_to_operator(uuid),
  public.release_and_reassign_chat(uuid, text),
  public.get_available_fictional_profiles(uuid, integer, integer),
  public.update_operator_stats(uuid, date),
  public.get_operator_performance_stats(uuid, integer),
  public.get_chat_with_details(uuid),
  public.message_price(uuid, timestamptz)
to authenticated, service_role;
grant execute on function public.operator_heartbeat(uuid) to authenticated;

-- Operators no longer read real_users ----------------------------------------------------------------

drop policy "users read own row, operators their chats' users, admins all" on public.real_users;
create policy "users read own row, admins read all" on public.real_users
  for select to authenticated
  using (id = (select auth.uid()) or (select api_private.is_admin()));

-- Messages refused under the locks of the charging trigger (007) ------------------------------------

-- Prices and charges a new message, as 007 does (see there), and refuses under the row locks it
-- takes what the insert policy would have refused on an older snapshot: a real user's message
-- from a deactivated account (42501 account_deactivated) or to a closed chat (42501 chat_closed),
-- and an operator's answer to a chat it does not hold (PT404 chat_not_held). Trusted callers (seeds,
-- tests) are not refused. Trigger function only.
create or replace function private.charge_message()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_trusted boolean := private.is_trusted_caller();
  v_caller uuid := auth.uid();
  v_real_user_id uuid;
  v_is_featured boolean;
  v_status text;
  v_credits integer;
  v_user_active boolean;
  v_prior integer;
  v_price integer;
begin
  if not v_trusted then
    new.created_at := clock_timestamp();
  end if;
  new.credits_charged := 0;

  if new.sender_type <> 'real' then
    -- An operator's answer: its row, then the chat's (the lock order of 016's header). Under those
    -- locks the operator must still hold the chat: a sweep, close or release that got the chat
    -- first has taken it away, and the answer is refused instead of landing in a chat it lost.
    if not v_trusted and private.is_operator_id(v_caller) then
      perform 1 from public.operators o where o.id = v_caller for no key update;
      perform 1 from public.chats c where c.id = new.chat_id for update;
      if not exists (
        select 1 from public.chat_assignments a
         where a.chat_id = new.chat_id and a.operator_id = v_caller and a.released_at is null
      ) then
        perform errors.raise_error('chat_not_held', 'The operator does not hold this chat (any more).');
      end if;
    end if;
    return new;
  end if;

  select c.real_user_id, f.is_featured into v_real_user_id, v_is_featured
    from public.chats c
    join public.fictional_users f on f.id = c.fictional_user_id
   where c.id = new.chat_id;
  if not found or (not v_trusted and v_real_user_id is distinct from v_caller) then
    return new; -- the foreign key or the insert policy refuses the row
  end if;

  -- Lock order: the real user's row, then the chat's. What they say now is what counts: the insert
  -- policy saw the statement's snapshot, from before any close or deactivation this insert waited for.
  select r.credits, r.is_active into v_credits, v_user_active
    from public.real_users r where r.id = v_real_user_id
     for update;
  select c.status into v_status from public.chats c where c.id = new.chat_id for update;
  if not v_trusted then
    if not v_user_active then
      perform errors.raise_error('account_deactivated');
    end if;
    if v_status = 'closed' then
      perform errors.raise_error('chat_closed');
    end if;
  end if;

  v_prior := private.prior_real_messages(new.chat_id);
  v_price := private.message_price(v_prior, new.created_at, v_is_featured);

  if v_credits < v_price then
    perform errors.raise_error('insufficient_credits',
      format('This message costs %s credits; the balance is %s.', v_price, v_credits));
  end if;
  if v_price > 0 then
    update public.real_users r set credits = r.credits - v_price where r.id = v_real_user_id;
  end if;
  new.credits_charged := v_price;
  return new;
end;
$$;


-- A 'completed' release of an unanswered chat counts (008's release_chat) ----------------------------

-- Ends the open assignment of a chat and puts the chat back in the queue, as 008 does (see there):
-- 'waiting' in its place when the real user is unanswered, else 'idle'. Every release but a
-- 'completed' one of an answered chat counts in reassignment_count; only a release that counts can
-- flag (the third, and each one after an admin cleared the flag). The caller holds the chat row lock.
-- Returns null when nothing was held, false when released, true when released and newly flagged.
-- Internal helper.
create or replace function private.release_chat(p_chat_id uuid, p_reason text)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  v_operator_id uuid;
  v_chat public.chats%rowtype;
  v_count integer;
  v_flag boolean;
begin
  update public.chat_assignments a
     set released_at = now(), release_reason = p_reason
   where a.chat_id = p_chat_id and a.released_at is null
  returning a.operator_id into v_operator_id;
  if not found then
    return null;
  end if;

  delete from public.operator_activity oa where oa.chat_id = p_chat_id;

  select * into v_chat from public.chats c where c.id = p_chat_id;
  -- Every release counts as a reassignment but a 'completed' one of an answered chat: a chat its
  -- holder "completes" while its real user waits (queued_at set) is a chat handed back unanswered.
  v_count := v_chat.reassignment_count
             + case when p_reason = 'completed' and v_chat.queued_at is null then 0 else 1 end;
  -- Only a release that counts can flag: a flag an admin cleared stays cleared until the chat is
  -- reassigned again, not until its next answered release.
  v_flag := not v_chat.flagged_for_review and v_count > v_chat.reassignment_count and v_count >= 3;

  update public.chats c
     set status = case
                    when c.status = 'closed' then 'closed'
                    when c.queued_at is not null then 'waiting'
                    else 'idle'
                  end,
         reassignment_count = v_count,
         flagged_for_review = c.flagged_for_review or v_flag,
         flag_reason = case
                         -- the chat's real user reads this text: say what happened, never who or why
                         when v_flag then format('reassigned %s times', v_count)
                         else c.flag_reason
                       end
   where c.id = p_chat_id;

  return v_flag;
end;
$$;

-- avatar_url: https only, under the Storage URL when one is set ---------------------------------------

alter table public.settings
  add column avatar_url_prefix text
    check (avatar_url_prefix ~ '^https://[^/?#@[:space:]]+(/[^[:space:]]*)?$');
comment on column public.settings.avatar_url_prefix is
  'The project''s Storage public URL (for example https://<ref>.supabase.co/storage/v1/object/public/avatars/). '
  'When set, every avatar_url written must start with it; when null, any https URL is accepted.';
grant update (avatar_url_prefix) on table public.settings to authenticated;

-- Refuses (invalid_avatar_url, 23514) an avatar_url that is not an https URL (a host, no user info,
-- no white space, no . or .. path segment) or, when settings.avatar_url_prefix is set, does not start
-- with it. Checked when a row is inserted with an avatar and when an update changes it, whoever
-- writes (API roles, service_role, functions). Null clears the avatar. Trigger function only;
-- security definer because API roles do not all read settings.
create or replace function private.check_avatar_url()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_prefix text;
begin
  if new.avatar_url is null or (tg_op = 'UPDATE' and new.avatar_url is not distinct from old.avatar_url) then
    return new;
  end if;
  if new.avatar_url !~ '^https://[^/?#@[:space:]]+(/[^[:space:]]*)?$'
     or new.avatar_url ~ '/\.\.?(/|[?#]|$)' then
    perform errors.raise_error('invalid_avatar_url', 'An avatar URL must be an https URL.');
  end if;
  select s.avatar_url_prefix into v_prefix from public.settings s;
  if v_prefix is not null and left(new.avatar_url, length(v_prefix)) <> v_prefix then
    perform errors.raise_error('invalid_avatar_url',
      format('An avatar URL must start with %s.', v_prefix));
  end if;
  return new;
end;
$$;

create trigger check_avatar_url
  before insert or update of avatar_url on public.real_users
  for each row execute function private.check_avatar_url();
create trigger check_avatar_url
  before insert or update of avatar_url on public.fictional_users
  for each row execute function private.check_avatar_url();

-- Account deletion keeps the money records ------------------------------------------------------------

alter table public.transactions
  alter column real_user_id drop not null,
  drop constraint transactions_real_user_id_fkey,
  add constraint transactions_real_user_id_fkey
    foreign key (real_user_id) references public.real_users (id) on delete set null;
comment on column public.transactions.real_user_id is
  'The buyer; null once the account was deleted (the purchase stays on the books).';

alter table public.credit_adjustments
  alter column real_user_id drop not null,
  drop constraint credit_adjustments_real_user_id_fkey,
  add constraint credit_adjustments_real_user_id_fkey
    foreign key (real_user_id) references public.real_users (id) on delete set null;
comment on column public.credit_adjustments.real_user_id is
  'Whose credits were adjusted; null once the account was deleted (the adjustment stays on the books).';

-- Profiles without their creator ----------------------------------------------------------------------

create table public.fictional_user_creators (
  fictional_user_id uuid primary key
    references public.fictional_users (id) on delete cascade deferrable initially deferred,
  created_by uuid references public.admins (id) on delete set null,
  created_at timestamptz not null default now()
);
comment on table public.fictional_user_creators is
  'Which admin created each profile (the documented column fictional_users.created_by), kept apart so '
  'that real users, who read fictional_users, never see it. Admins only. The reference to '
  'fictional_users is checked at commit, because the row is written while the profile is inserted.';

create index idx_fictional_user_creators_created_by on public.fictional_user_creators (created_by);

alter table public.fictional_user_creators enable row level security;
revoke all on table public.fictional_user_creators from anon, authenticated;
grant select on table public.fictional_user_creators to authenticated;
grant select, insert, update, delete on table public.fictional_user_creators to service_role;
create policy "admins read profile creators" on public.fictional_user_creators
  for select to authenticated
  using ((select api_private.is_admin()));

insert into public.fictional_user_creators (fictional_user_id, created_by, created_at)
select f.id, f.created_by, f.created_at from public.fictional_users f where f.created_by is not null;
alter table public.fictional_users disable trigger set_updated_at;
update public.fictional_users f set created_by = null where f.created_by is not null;
alter table public.fictional_users enable trigger set_updated_at;
alter table public.fictional_users
  add constraint fictional_users_created_by_unused check (created_by is null);
comment on column public.fictional_users.created_by is
  'Always null since 016: the creating admin is in fictional_user_creators (admins only).';

-- Records the creator of a new profile in fictional_user_creators: the admin whose JWT inserts it, or
-- the created_by a trusted caller (seed, service_role) gives; fictional_users.created_by is left
-- null. Trigger function only; security definer because no API role writes fictional_user_creators.
create or replace function private.stamp_fictional_user_creator()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_creator uuid := case when private.is_trusted_caller() then new.created_by else auth.uid() end;
begin
  new.created_by := null;
  if v_creator is not null and exists (select 1 from public.admins a where a.id = v_creator) then
    insert into public.fictional_user_creators (fictional_user_id, created_by)
    values (new.id, v_creator)
    on conflict (fictional_user_id) do update set created_by = excluded.created_by;
  end if;
  return new;
end;
$$;

-- Privileges ------------------------------------------------------------------------------------------
-- The functions replaced here keep their grants (create or replace and set schema keep them).

revoke all on function private.check_avatar_url() from public, anon, authenticated, service_role;
