-- Fantooo: the chat lifecycle (docs/lifecycle.md; docs/lifecycle.md explains it for client developers).
--
-- Every change of chats.status, chats.queued_at and chats.closed_at is written here, and nowhere
-- else, by these functions (the holder of a chat and its assignment time are the open
-- chat_assignments row, written here too):
--
--   idle -> waiting        a real user's message to an idle chat      messages_update_chat trigger
--   waiting -> assigned    an operator takes the oldest waiting chat  assign_chat_to_operator
--   assigned -> waiting    release, the real user is unanswered       release_and_reassign_chat,
--   assigned -> idle       release, nothing unanswered                sweep_idle_chats, deactivation
--   any open -> closed     the user, an admin, or 24 h of silence     close_chat, close_inactive_chats
--   closed -> idle         the user comes back to the profile         start_chat (README: reopen)
--
-- and the database refuses every other change, whoever attempts it (postgres, service_role, these
-- functions): the guard_status_transition trigger raises invalid_status_transition (SQLSTATE 23514,
-- 005_error_catalogue) naming the two statuses. An update that keeps the status is always allowed.
-- No further edge is needed: nothing answers a waiting chat (only its holder writes fictional
-- messages, and a waiting chat has none), so waiting never goes back to idle, and a chat is never
-- assigned without first waiting.
--
-- Lock order, shared with 007_message_charging so concurrent writers cannot deadlock: real_users
-- row, then chats row, then chat_assignments / operator_activity, then operators.
-- assign_chat_to_operator locks the operator first but never waits for a chat (FOR UPDATE SKIP
-- LOCKED). Every other function here locks the chat row before touching its assignment. Closing
-- never refunds; a close ends an open assignment with release_reason 'chat_closed'.
-- Refusals go through errors.raise_error (005): not_operator, operator_unavailable, at_capacity,
-- invalid_release_reason, forbidden, chat_not_held, chat_not_found, not_real_user,
-- profile_not_found, invalid_status_transition.

-- The guard -------------------------------------------------------------------------------------------

-- True when a chat may go from status p_from to p_to (the edges in the file header; same status
-- always). Used by the guard trigger below.
create or replace function private.chat_status_transition_allowed(p_from text, p_to text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select p_from = p_to
      or (p_from, p_to) in (
           ('idle', 'waiting'),
           ('waiting', 'assigned'),
           ('assigned', 'waiting'),
           ('assigned', 'idle'),
           ('idle', 'closed'),
           ('waiting', 'closed'),
           ('assigned', 'closed'),
           ('closed', 'idle'));
$$;

-- Refuses (invalid_status_transition, 23514) an update of a chat whose status change is not an edge
-- of the lifecycle, whoever makes it. Trigger function only; security definer because the roles
-- that may update chats (service_role among them) have no access to the private schema.
create or replace function private.guard_status_transition()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if not private.chat_status_transition_allowed(old.status, new.status) then
    perform errors.raise_error('invalid_status_transition',
      format('A chat cannot go from %s to %s.', old.status, new.status));
  end if;
  return new;
end;
$$;

create trigger guard_status_transition
  before update on public.chats
  for each row when (old.status is distinct from new.status)
  execute function private.guard_status_transition();

-- idle -> waiting: messages ---------------------------------------------------------------------------

-- Keeps chats.message_count and last_message_at, and moves the lifecycle (docs/lifecycle.md): a real
-- message to an idle chat makes it waiting with queued_at = the message time; to a waiting or
-- assigned chat it changes no status and queued_at keeps the oldest unanswered message (set if it
-- was empty). A fictional message answers everything before it: queued_at is cleared (except on a
-- waiting chat, which nobody holds). Trigger function only.
create or replace function private.update_chat_on_message()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.chats c
     set message_count = c.message_count + 1,
         last_message_at = greatest(c.last_message_at, new.created_at),
         status = case when new.sender_type = 'real' and c.status = 'idle' then 'waiting' else c.status end,
         queued_at = case
                       when c.status = 'closed' then c.queued_at
                       when new.sender_type = 'real' and c.status = 'idle' then new.created_at
                       when new.sender_type = 'real' then coalesce(c.queued_at, new.created_at)
                       when c.status = 'waiting' then c.queued_at
                       else null
                     end
   where c.id = new.chat_id;
  return null;
end;
$$;

create trigger messages_update_chat
  after insert on public.messages
  for each row execute function private.update_chat_on_message();

-- waiting -> assigned -> waiting | idle: the queue ----------------------------------------------------

-- Ends the open assignment of a chat and puts the chat back in the queue: 'waiting' (keeping
-- queued_at, i.e. its place) when the real user's last message is unanswered (queued_at is set),
-- else 'idle'. Releases other than 'completed' count in reassignment_count; the third one flags the
-- chat for review (it stays assignable), and so does each one after an admin cleared the flag. The caller must already hold the chat row lock
-- (select ... for update), which is what serialises releases, closes and sweeps of one chat.
-- Returns null when nothing was held, false when released, true when released and newly flagged.
-- Internal helper for release_and_reassign_chat, the idle sweep and operator deactivation.
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
  v_count := v_chat.reassignment_count + case when p_reason = 'completed' then 0 else 1 end;
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

-- Gives the operator the waiting chat with the oldest queued_at and returns its id; NULL when no chat
-- waits. Guarantees: the operator is active and 'available' (else PT409 operator_unavailable) and
-- holds fewer than max_concurrent_chats open assignments (else PT409 at_capacity). The operator row
-- is locked first, so concurrent calls for one operator run one after another and cannot exceed its
-- capacity; the chat is taken FOR UPDATE SKIP LOCKED, so concurrent operators never take the same
-- chat (the partial unique index on chat_assignments makes that a hard guarantee too). Records the
-- open chat_assignments row and the operator_activity row. Callers: an operator for itself
-- (p_operator_id defaults to the caller), admins and service_role for any operator.
create or replace function public.assign_chat_to_operator(p_operator_id uuid default null)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_operator_id uuid := coalesce(p_operator_id, auth.uid());
  v_operator public.operators%rowtype;
  v_held integer;
  v_chat_id uuid;
begin
  perform private.require_acting_for_operator(v_operator_id);

  select * into v_operator from public.operators o where o.id = v_operator_id for update;
  if not found then
    perform errors.raise_error('not_operator', 'No operator has this id.');
  end if;
  if not v_operator.is_active or v_operator.status <> 'available' then
    perform errors.raise_error('operator_unavailable',
      format('The operator is %s; only active, available operators take chats.',
             case when v_operator.is_active then v_operator.status else 'deactivated' end));
  end if;

  select count(*) into v_held
    from public.chat_assignments a
   where a.operator_id = v_operator_id and a.released_at is null;
  if v_held >= v_operator.max_concurrent_chats then
    perform errors.raise_error('at_capacity',
      format('The operator already holds %s of %s chats.', v_held, v_operator.max_concurrent_chats));
  end if;

  select c.id into v_chat_id
    from public.chats c
   where c.status = 'waiting'
   order by c.queued_at, c.id
   limit 1
     for update skip locked;
  if v_chat_id is null then
    return null;
  end if;

  update public.chats c set status = 'assigned' where c.id = v_chat_id;
  insert into public.chat_assignments (chat_id, operator_id, assigned_at)
  values (v_chat_id, v_operator_id, now());
  insert into public.operator_activity (operator_id, chat_id, assigned_at, last_activity_at)
  values (v_operator_id, v_chat_id, now(), now());
  update public.operators o set last_activity_at = now() where o.id = v_operator_id;

  return v_chat_id;
end;
$$;

-- Ends the open assignment of a chat and requeues it (see private.release_chat). Returns true.
-- Reasons and who may use them (docs/rules.md):
--   completed, operator_offline  the operator holding the chat (else PT404 chat_not_held)
--   admin                        admins (else 42501)
--   idle_timeout                 service_role / the idle sweep only (else 42501)
-- Trusted callers may use any reason. Any other reason: PT400 invalid_release_reason. A chat nobody
-- holds: PT404 chat_not_held. Non-operators using an operator reason: PT403 not_operator.
create or replace function public.release_and_reassign_chat(p_chat_id uuid, p_reason text)
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
    elsif p_reason = 'admin' and not public.is_admin() then
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

-- assigned -> waiting | idle: the idle sweep and deactivated operators --------------------------------

-- Releases, with reason idle_timeout, every assignment whose holder's last activity
-- (operator_activity.last_activity_at) is older than settings.idle_timeout; each release counts as
-- an idle incident of that operator and may flag the chat (private.release_chat). Chats are
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
    perform errors.raise_error('forbidden', 'Only the idle sweeper runs this.');
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

  -- The health record admins watch (011_cron_schedules): a sweep that stops succeeding leaves it behind.
  update public.sweeper_status
     set last_success_at = now(), last_released = v_released, last_flagged = v_newly_flagged,
         last_duration_ms = (extract(epoch from clock_timestamp() - now()) * 1000)::integer,
         runs = runs + 1, updated_at = now()
   where id;

  return jsonb_build_object('released', v_released, 'flagged', v_newly_flagged);
end;
$$;

-- Deactivating an operator hands its chats back to the queue. An inactive operator takes no new
-- chat and may not write (the insert policy on messages wants an active operator), so the chats it
-- still held would stay 'assigned' to someone who can no longer answer, and its console's heartbeats
-- would keep the idle sweep away from them. When is_active turns false, every chat it holds is
-- released with reason 'admin' (deactivation is an admin's act): back to 'waiting' in its old place
-- when the real user waits for an answer, else 'idle'. Its status becomes 'offline'.

-- Sets status 'offline' on the row being deactivated. Trigger function only.
create or replace function private.set_deactivated_operator_offline()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.status := 'offline';
  return new;
end;
$$;

-- Releases (reason 'admin') every chat held by the operator just deactivated. Chat rows are locked
-- in id order after the operator row (the order assign_chat_to_operator uses), as
-- private.release_chat requires. Trigger function only; runs as its owner so that the admin's
-- update can end assignments no API role may write.
create or replace function private.release_chats_of_deactivated_operator()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_chat_id uuid;
begin
  for v_chat_id in
    select c.id
      from public.chats c
      join public.chat_assignments a on a.chat_id = c.id and a.released_at is null
     where a.operator_id = new.id
     order by c.id
       for update of c
  loop
    perform private.release_chat(v_chat_id, 'admin');
  end loop;
  return null;
end;
$$;

create trigger set_deactivated_operator_offline
  before update of is_active on public.operators
  for each row when (old.is_active and not new.is_active)
  execute function private.set_deactivated_operator_offline();

create trigger release_chats_of_deactivated_operator
  after update of is_active on public.operators
  for each row when (old.is_active and not new.is_active)
  execute function private.release_chats_of_deactivated_operator();

-- any open status -> closed ---------------------------------------------------------------------------

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

-- Closes a chat for good (docs/rules.md): by its real user (close_reason 'user') or by an admin or
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
  return private.close_locked_chat(p_chat_id, v_reason);
end;
$$;

-- Closes (close_reason 'inactivity') every open chat with no message for settings.inactivity_timeout
-- (24 hours): by last_message_at, or by created_at for a chat that never had one. Skips chats locked
-- by someone else (the next run gets them). Returns how many it closed. Called hourly by pg_cron
-- (011) as postgres; not callable through the API.
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

-- closed -> idle: coming back to a profile ------------------------------------------------------------

-- chats is unique on (real_user_id, fictional_user_id) (docs/data-api.md) and nobody writes in a closed
-- chat (docs/rules.md): without a way back, a user whose chat was closed (by themself, an admin or
-- the inactivity job) could never write to that profile again. start_chat is the way back. The
-- direct insert into chats (003's policy) still works for a first chat.

-- Returns the id of the calling real user's chat with an active profile: the existing one (a
-- closed chat is reopened as idle, its history kept, its closing stamps cleared), or a new idle
-- chat. Callers: signed-in real users, for themselves. Refusals: not_real_user (also for a caller
-- with no JWT), profile_not_found.
create or replace function public.start_chat(p_fictional_user_id uuid)
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

  insert into public.chats as c (real_user_id, fictional_user_id)
  values (v_user_id, p_fictional_user_id)
  on conflict (real_user_id, fictional_user_id) do update
    set status = 'idle', closed_at = null, close_reason = null, queued_at = null
    where c.status = 'closed'
  returning c.id into v_chat_id;

  if v_chat_id is null then -- the chat exists and is open: nothing to change
    select c.id into v_chat_id
      from public.chats c
     where c.real_user_id = v_user_id and c.fictional_user_id = p_fictional_user_id;
  end if;
  return v_chat_id;
end;
$$;

-- Privileges ------------------------------------------------------------------------------------------

revoke all on function
  private.chat_status_transition_allowed(text, text),
  private.guard_status_transition(),
  private.update_chat_on_message(),
  private.release_chat(uuid, text),
  private.set_deactivated_operator_offline(),
  private.release_chats_of_deactivated_operator(),
  private.close_locked_chat(uuid, text),
  private.close_inactive_chats()
from public, anon, authenticated, service_role;

revoke execute on function
  public.assign_chat_to_operator(uuid),
  public.release_and_reassign_chat(uuid, text),
  public.sweep_idle_chats(),
  public.close_chat(uuid),
  public.start_chat(uuid)
from public, anon, authenticated, service_role;

grant execute on function
  public.assign_chat_to_operator(uuid),
  public.release_and_reassign_chat(uuid, text),
  public.close_chat(uuid)
to authenticated, service_role;
grant execute on function public.sweep_idle_chats() to service_role;
grant execute on function public.start_chat(uuid) to authenticated;
