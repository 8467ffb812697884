-- Fantooo: operator presence and chat moderation (docs/rules.md and docs/lifecycle.md; SPEC 11).
-- Both extend the chat lifecycle of 008_chat_lifecycle.sql and use its functions
-- (private.release_chat, private.close_locked_chat); no status transition is added.
--
-- Presence. An operator's status (available | busy | offline) is its own to set:
--   * setting itself 'offline' (its own JWT) releases every chat it holds with reason 'operator_offline', back to
--     the queue in place (private.release_chat: 'waiting' when the user is unanswered, else 'idle');
--     deactivation (008) still releases with 'admin';
--   * 'busy' keeps its chats and takes no new ones (008's assign_chat_to_operator);
--   * an 'available' operator with no sign of life for settings.presence_timeout (default 10
--     minutes) is set 'offline' by the idle sweep, which releases its chats with 'idle_timeout'. A
--     sign of life is operators.last_activity_at: kept by heartbeats, messages and assignments (004,
--     007, 008) and, from here, by the operator setting status 'available' (also when it already
--     is: the console's way to say "still here" while the queue is empty).
--
-- Moderation. Every close and reopen of a chat is kept in public.chat_closures (chat, by whom,
-- reason, time), readable by admins. A chat closed by an admin stays closed for its user:
-- start_chat answers PT403 chat_closed_by_admin instead of reopening it; an admin who closes a chat
-- its user (or the inactivity job) had already closed makes it an admin close; only an admin
-- reopens it (admin_reopen_chat).
--
-- Replaced here (the down script puts 008's bodies back): public.sweep_idle_chats,
-- public.close_chat and public.start_chat, now security invoker wrappers over security definer
-- bodies in api_private (013).

insert into errors.catalogue (code, sqlstate, http_status, message) values
  ('chat_closed_by_admin', 'PT403', 403, 'This chat was closed by the moderators and cannot be reopened.');

-- Presence ---------------------------------------------------------------------------------------------

alter table public.settings
  add column presence_timeout interval not null default interval '10 minutes'
    check (presence_timeout > interval '0');
comment on column public.settings.presence_timeout is
  'An available operator with no heartbeat, message or status update for this long is set offline '
  'by the idle sweep, which releases its chats with idle_timeout.';
grant update (presence_timeout) on table public.settings to authenticated;

-- Setting status 'available' is a sign of life: operators.last_activity_at = now(). Trigger
-- function only (runs as the caller; the column is not client-writable, a trigger may still set it).
create or replace function private.touch_available_operator()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.last_activity_at := now();
  return new;
end;
$$;

-- Releases, with reason 'operator_offline', every chat held by an operator that has just set itself
-- offline (its own JWT: SPEC 11 "an operator that sets itself offline"; not a deactivation, which
-- 008's trigger releases with 'admin'; an admin who edits an operator's status releases nothing: it
-- suspends the operator or reassigns its chats instead). Chat rows are locked in id order after the
-- operator row, as 008's deactivation does. Trigger function only; security definer because the
-- operator's own update cannot end assignments.
create or replace function private.release_chats_of_offline_operator()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_chat_id uuid;
begin
  if auth.uid() is distinct from new.id then
    return null;
  end if;
  for v_chat_id in
    select c.id
      from public.chats c
      join public.chat_assignments a on a.chat_id = c.id and a.released_at is null
     where a.operator_id = new.id
     order by c.id
       for update of c
  loop
    perform private.release_chat(v_chat_id, 'operator_offline');
  end loop;
  return null;
end;
$$;

create trigger touch_available_operator
  before update of status on public.operators
  for each row when (new.status = 'available')
  execute function private.touch_available_operator();

create trigger release_chats_of_offline_operator
  after update of status on public.operators
  for each row when (old.status <> 'offline' and new.status = 'offline' and old.is_active = new.is_active)
  execute function private.release_chats_of_offline_operator();

-- The idle sweep (008's, plus presence): releases with reason idle_timeout every assignment whose
-- holder's last activity in it is older than settings.idle_timeout, then sets 'offline' every active,
-- available operator with no sign of life for settings.presence_timeout, releasing what it still
-- holds with idle_timeout first (so the offline trigger above finds nothing to release). Chats and
-- operators are taken FOR UPDATE SKIP LOCKED and rechecked once locked, so two sweeps at once never
-- release a chat twice, and an operator busy in one of its chats right now is left for the next
-- sweep. Records the run in sweeper_status (011). Returns {"released": n, "flagged": m} as before
-- (the releases of silent operators' chats are counted in released). Callers: service_role (the idle-sweeper Edge Function) and postgres;
-- anyone else 42501.
create or replace function api_private.sweep_idle_chats()
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_cutoff timestamptz;
  v_presence_cutoff timestamptz;
  v_chat_id uuid;
  v_operator_id uuid;
  v_chats uuid[];
  v_held integer;
  v_flagged boolean;
  v_released integer := 0;
  v_newly_flagged integer := 0;
begin
  if not private.is_trusted_caller() then
    perform errors.raise_error('forbidden', 'Only the idle sweeper runs this.');
  end if;
  select now() - s.idle_timeout, now() - s.presence_timeout
    into v_cutoff, v_presence_cutoff
    from public.settings s;

  -- Idle assignments (as in 008).
  for v_chat_id in
    select c.id
      from public.operator_activity oa
      join public.chats c on c.id = oa.chat_id
     where oa.last_activity_at < v_cutoff
     order by oa.last_activity_at
       for update of c skip locked
  loop
    -- Recheck under the lock: another sweep or the operator may have released or refreshed it.
    continue when not exists (
      select 1
        from public.chat_assignments a
        join public.operator_activity oa on oa.chat_id = a.chat_id and oa.operator_id = a.operator_id
       where a.chat_id = v_chat_id and a.released_at is null and oa.last_activity_at < v_cutoff
    );
    v_flagged := private.release_chat(v_chat_id, 'idle_timeout');
    continue when v_flagged is null;
    v_released := v_released + 1;
    if v_flagged then
      v_newly_flagged := v_newly_flagged + 1;
    end if;
  end loop;

  -- Silent available operators (idx_operators_available).
  for v_operator_id in
    select o.id
      from public.operators o
     where o.status = 'available' and o.is_active
       and coalesce(o.last_activity_at, o.updated_at) < v_presence_cutoff
     order by o.id
  loop
    -- Lock order (008): its chats first, then the operator; skip it if any is locked elsewhere.
    select coalesce(array_agg(c.id order by c.id), '{}') into v_chats
      from (select c.id
              from public.chats c
              join public.chat_assignments a on a.chat_id = c.id and a.released_at is null
             where a.operator_id = v_operator_id
             order by c.id
               for update of c skip locked) c;
    select count(*) into v_held
      from public.chat_assignments a
     where a.operator_id = v_operator_id and a.released_at is null;
    continue when v_held <> cardinality(v_chats);
    perform 1
       from public.operators o
      where o.id = v_operator_id and o.status = 'available' and o.is_active
        and coalesce(o.last_activity_at, o.updated_at) < v_presence_cutoff
        for update skip locked;
    continue when not found;

    foreach v_chat_id in array v_chats loop
      v_flagged := private.release_chat(v_chat_id, 'idle_timeout');
      continue when v_flagged is null;
      v_released := v_released + 1;
      if v_flagged then
        v_newly_flagged := v_newly_flagged + 1;
      end if;
    end loop;
    update public.operators o set status = 'offline' where o.id = v_operator_id;
  end loop;

  -- The health record admins watch (011_cron_schedules): a sweep that stops succeeding leaves it behind.
  update public.sweeper_status
     set last_success_at = now(), last_released = v_released, last_flagged = v_newly_flagged,
         last_duration_ms = (extract(epoch from clock_timestamp() - now()) * 1000)::integer,
         runs = runs + 1, updated_at = now()
   where id;

  return jsonb_build_object('released', v_released, 'flagged', v_newly_flagged);
end;
$$;

-- The idle sweep. See api_private.sweep_idle_chats. service_role only.
create or replace function public.sweep_idle_chats()
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select api_private.sweep_idle_chats();
$$;

-- Moderation -------------------------------------------------------------------------------------------

create table public.chat_closures (
  id uuid primary key default gen_random_uuid(),
  chat_id uuid not null references public.chats (id) on delete cascade,
  event text not null check (event in ('closed', 'reopened')),
  reason text not null check (reason in ('user', 'admin', 'inactivity', 'system')),
  actor_id uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now()
);
comment on table public.chat_closures is
  'Every close and reopen of a chat: which chat, closed or reopened, why, by whom and when. Written '
  'by a trigger on chats; readable by admins only.';
comment on column public.chat_closures.reason is
  'closed: the close_reason (user, admin or inactivity; admin also when an admin takes over a close). '
  'reopened: user (start_chat), admin (admin_reopen_chat) or system (a trusted caller).';
comment on column public.chat_closures.actor_id is
  'Who did it (the JWT subject); null for the inactivity job and other server-side sessions.';

create index idx_chat_closures_chat_created on public.chat_closures (chat_id, created_at);
create index idx_chat_closures_actor on public.chat_closures (actor_id);

alter table public.chat_closures enable row level security;
revoke all on table public.chat_closures from anon, authenticated;
grant select on table public.chat_closures to authenticated;
grant select, insert, update, delete on table public.chat_closures to service_role;
create policy "admins read chat closures" on public.chat_closures
  for select to authenticated
  using ((select public.is_admin()));

-- Appends the chat_closures row of a close (status becomes closed, or a closed chat's close_reason
-- changes) or a reopen (closed -> idle). Trigger function only; security definer because no API role
-- writes chat_closures.
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
              when public.is_admin() then 'admin'
              when auth.uid() = new.real_user_id then 'user'
              else 'system'
            end,
            (select u.id from auth.users u where u.id = auth.uid()));
  end if;
  return null;
end;
$$;

create trigger record_chat_closure
  after update of status, close_reason on public.chats
  for each row
  when ((old.status = 'closed') <> (new.status = 'closed')
        or (new.status = 'closed' and old.close_reason is distinct from new.close_reason))
  execute function private.record_chat_closure();

-- Closes a chat for good (docs/rules.md): by its real user (close_reason 'user') or by an admin or
-- service_role ('admin'). Returns true when this call closed it, false when it was already closed.
-- An admin closing a chat its user or the inactivity job already closed makes it an admin close
-- (close_reason 'admin', so the user cannot reopen it) and gets true. No credits are refunded.
-- Errors: PT404 chat_not_found (unknown chat), 42501 forbidden (anyone else, operators included).
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
  if private.is_trusted_caller() or public.is_admin() then
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

-- Closes a chat. See api_private.close_chat. The chat's real user, admins and service_role.
create or replace function public.close_chat(p_chat_id uuid)
returns boolean
language sql
security invoker
set search_path = ''
as $$
  select api_private.close_chat(p_chat_id);
$$;

-- Returns the id of the calling real user's chat with an active profile: the existing one (a chat
-- its user or the inactivity job closed is reopened as idle, its history kept, its closing stamps
-- cleared), or a new idle chat. A chat an admin closed stays closed: PT403 chat_closed_by_admin.
-- Callers: signed-in real users, for themselves. Refusals: not_real_user (also for a caller with no
-- JWT), profile_not_found, chat_closed_by_admin.
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
  if v_user_id is null or not public.is_real_user() then
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

-- Starts or reopens a chat with a profile. See api_private.start_chat. Signed-in real users.
create or replace function public.start_chat(p_fictional_user_id uuid)
returns uuid
language sql
security invoker
set search_path = ''
as $$
  select api_private.start_chat(p_fictional_user_id);
$$;

-- Reopens (closed -> idle, history kept, closing stamps cleared) a closed chat, whoever closed it:
-- the way back from a moderation close. Returns true when this call reopened it, false when the chat
-- was open. Leaves an admin_actions row (013). Admins and service_role; anyone else 42501 forbidden;
-- unknown chat PT404 chat_not_found.
create or replace function api_private.admin_reopen_chat(p_chat_id uuid)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_chat public.chats%rowtype;
begin
  perform private.require_admin();
  select * into v_chat from public.chats c where c.id = p_chat_id for update;
  if not found then
    perform errors.raise_error('chat_not_found', 'No chat has this id.');
  end if;
  update public.chats c
     set status = 'idle', closed_at = null, close_reason = null, queued_at = null
   where c.id = p_chat_id and c.status = 'closed';
  perform private.record_admin_action('reopen_chat', 'chat', p_chat_id, jsonb_build_object(
    'was_closed', v_chat.status = 'closed',
    'close_reason', v_chat.close_reason,
    'closed_at', v_chat.closed_at));
  return v_chat.status = 'closed';
end;
$$;

-- Reopens a closed chat. See api_private.admin_reopen_chat. Admins and service_role.
create or replace function public.admin_reopen_chat(p_chat_id uuid)
returns boolean
language sql
security invoker
set search_path = ''
as $$
  select api_private.admin_reopen_chat(p_chat_id);
$$;

-- Privileges ------------------------------------------------------------------------------------------
-- public.sweep_idle_chats, close_chat and start_chat keep 008's grants (create or replace keeps them).

revoke all on function
  private.touch_available_operator(),
  private.release_chats_of_offline_operator(),
  private.record_chat_closure()
from public, anon, authenticated, service_role;

revoke all on function
  api_private.sweep_idle_chats(),
  api_private.close_chat(uuid),
  api_private.start_chat(uuid),
  api_private.admin_reopen_chat(uuid),
  public.admin_reopen_chat(uuid)
from public, anon, authenticated, service_role;

grant execute on function api_private.sweep_idle_chats() to service_role;
grant execute on function api_private.close_chat(uuid) to authenticated, service_role;
grant execute on function api_private.start_chat(uuid) to authenticated;
grant execute on function api_private.admin_reopen_chat(uuid), public.admin_reopen_chat(uuid)
  to anon, authenticated, service_role;
