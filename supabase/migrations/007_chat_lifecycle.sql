-- Fantooo: closing chats, the idle sweep and operator heartbeats (SPEC sections 3, 7 and 9).
--
-- Every function here locks the chat row before touching its assignment (the lock order of 004/006).
-- Closing never refunds. A close ends an open assignment with release_reason 'chat_closed'.
-- Errors: PT404 chat_not_found, PT404 chat_not_held, PT403 not_operator, 42501 forbidden.

-- Closes a chat whose row the caller has locked: status closed, closed_at, close_reason, the open
-- assignment (if any) ended with 'chat_closed' and its activity row removed. Returns false when the
-- chat was already closed. Internal helper.
create or replace function private.close_locked_chat(p_chat_id uuid, p_reason text)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  update public.chat_assignments a
     set released_at = now(), release_reason = 'chat_closed'
   where a.chat_id = p_chat_id and a.released_at is null;
  delete from public.operator_activity oa where oa.chat_id = p_chat_id;
  update public.chats c
     set status = 'closed', closed_at = now(), close_reason = p_reason, queued_at = null
   where c.id = p_chat_id and c.status <> 'closed';
  return found;
end;
$$;

-- Closes a chat for good (SPEC section 9): by its real user (close_reason 'user') or by an admin or
-- service_role ('admin'). Returns true when this call closed it, false when it was already closed.
-- No credits are refunded. Errors: PT404 chat_not_found (unknown chat), 42501 forbidden (anyone
-- else, operators included).
create or replace function public.close_chat(p_chat_id uuid)
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
    raise exception using errcode = 'PT404', message = 'chat_not_found', detail = 'No chat has this id.';
  end if;
  if private.is_trusted_caller() or public.is_admin() then
    v_reason := 'admin';
  elsif v_real_user_id = auth.uid() then
    v_reason := 'user';
  else
    raise exception using errcode = '42501', message = 'forbidden',
      detail = 'Only the chat''s real user or an admin closes a chat.';
  end if;
  return private.close_locked_chat(p_chat_id, v_reason);
end;
$$;

-- Releases, with reason idle_timeout, every assignment whose holder's last activity
-- (operator_activity.last_activity_at) is older than settings.idle_timeout; each release counts as
-- an idle incident of that operator and may flag the chat (004 private.release_chat). Chats are
-- taken FOR UPDATE SKIP LOCKED and rechecked once locked, so two sweeps at once never release a chat
-- twice and a chat being answered right now is left alone. Returns {"released": n, "flagged": m}.
-- Callers: service_role (the idle-sweeper Edge Function) and postgres; anyone else 42501.
create or replace function public.sweep_idle_chats()
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_cutoff timestamptz;
  v_chat_id uuid;
  v_flagged boolean;
  v_released integer := 0;
  v_newly_flagged integer := 0;
begin
  if not private.is_trusted_caller() then
    raise exception using errcode = '42501', message = 'forbidden', detail = 'Only the idle sweeper runs this.';
  end if;
  select now() - s.idle_timeout into v_cutoff from public.settings s;

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

  -- The health record admins watch (010): a sweep that stops succeeding leaves it behind.
  update public.sweeper_status
     set last_success_at = now(), last_released = v_released, last_flagged = v_newly_flagged,
         last_duration_ms = (extract(epoch from clock_timestamp() - now()) * 1000)::integer,
         runs = runs + 1, updated_at = now()
   where id;

  return jsonb_build_object('released', v_released, 'flagged', v_newly_flagged);
end;
$$;

-- An operator's sign of life in a chat it holds: refreshes operator_activity.last_activity_at (which
-- keeps the idle sweep away) and operators.last_activity_at; returns the new time. Errors: PT403
-- not_operator, PT404 chat_not_held. Callers: operators (the assign-chat/heartbeat route).
create or replace function public.operator_heartbeat(p_chat_id uuid)
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
    raise exception using errcode = 'PT403', message = 'not_operator', detail = 'Only operators send heartbeats.';
  end if;
  update public.operator_activity oa
     set last_activity_at = now()
   where oa.operator_id = v_operator_id and oa.chat_id = p_chat_id
  returning oa.last_activity_at into v_at;
  if v_at is null then
    raise exception using errcode = 'PT404', message = 'chat_not_held', detail = 'The caller does not hold this chat.';
  end if;
  update public.operators o set last_activity_at = now() where o.id = v_operator_id;
  return v_at;
end;
$$;

-- Closes (close_reason 'inactivity') every open chat with no message for settings.inactivity_timeout
-- (24 hours): by last_message_at, or by created_at for a chat that never had one. Skips chats locked
-- by someone else (the next run gets them). Returns how many it closed. Called hourly by pg_cron
-- (010) as postgres; not callable through the API.
create or replace function private.close_inactive_chats()
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_cutoff timestamptz;
  v_chat_id uuid;
  v_closed integer := 0;
begin
  select now() - s.inactivity_timeout into v_cutoff from public.settings s;
  for v_chat_id in
    select c.id
      from public.chats c
     where c.status <> 'closed'
       and (c.last_message_at < v_cutoff or (c.last_message_at is null and c.created_at < v_cutoff))
       for update skip locked
  loop
    if private.close_locked_chat(v_chat_id, 'inactivity') then
      v_closed := v_closed + 1;
    end if;
  end loop;
  return v_closed;
end;
$$;

revoke all on function
  private.close_locked_chat(uuid, text),
  private.close_inactive_chats()
from public, anon, authenticated, service_role;

revoke execute on function
  public.close_chat(uuid),
  public.sweep_idle_chats(),
  public.operator_heartbeat(uuid)
from public, anon, authenticated, service_role;

grant execute on function public.close_chat(uuid) to authenticated, service_role;
grant execute on function public.operator_heartbeat(uuid) to authenticated;
grant execute on function public.sweep_idle_chats() to service_role;
