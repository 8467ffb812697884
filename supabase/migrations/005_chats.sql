-- Fantooo: chats and their lifecycle (docs/lifecycle.md explains it for client developers).
--
-- A chat is one conversation between a real user and a fictional profile; its real user reads it, so
-- it holds no operator data. Who holds it is the open chat_assignments row (released_at is null; at
-- most one per chat, chat_assignments_one_open_per_chat), the holder's last activity in it is
-- operator_activity. Every change of chats.status, queued_at and closed_at is written by the
-- functions here, and by the message trigger (private.apply_message) for idle -> waiting:
--
--   idle -> waiting        a real user's message to an idle chat      private.apply_message
--   waiting -> assigned    an operator takes a waiting chat in one of assign_chat_to_operator
--                          its languages: the one it let go of within
--                          settings.continuity_window, else the oldest
--   assigned -> waiting    release, the real user is unanswered       release_and_reassign_chat,
--   assigned -> idle       release, nothing unanswered                sweep_idle_chats, deactivation,
--                                                                     an operator going offline
--   any open -> closed     the user, an admin, or 24 h of silence     close_chat, close_inactive_chats
--   closed -> idle         the user comes back to the profile         start_chat (README: reopen)
--
-- and the database refuses every other change, whoever attempts it (postgres, service_role, these
-- functions): the guard_status_transition trigger raises invalid_status_transition (23514) naming
-- the two statuses. An update that keeps the status is always allowed. Nothing answers a waiting
-- chat (only its holder writes fictional messages, and a waiting chat has none), so waiting never
-- goes back to idle, and a chat is never assigned without first waiting. Closing never refunds; a
-- close ends an open assignment with release_reason 'chat_closed'.
--
-- Lock order, shared by every function that writes a chat's lifecycle, so that concurrent writers
-- wait for one another and never deadlock:
--   1. the person's row: the operator's (operators) for operator work, the real user's (real_users)
--      for real-user work; no transaction takes both;
--   2. the chat's row (chats, select ... for update);
--   3. its chat_assignments and operator_activity rows.
-- An update of operators locks that row before its triggers run, so deactivation and an operator
-- going offline are operator -> chats by nature; assign_chat_to_operator takes the operator and then
-- a chat FOR UPDATE SKIP LOCKED. The idle sweep takes chats and then operators FOR UPDATE SKIP
-- LOCKED and never waits for either.
--
-- Security model: what clients call in public is a security invoker wrapper over a security definer
-- body of the same name in api_private, which checks its caller itself.

-- Tables -------------------------------------------------------------------------------------------

create table public.chats (
  id uuid primary key default gen_random_uuid(),
  real_user_id uuid not null default auth.uid() references public.real_users (id) on delete cascade,
  fictional_user_id uuid not null references public.fictional_users (id) on delete cascade,
  status text not null default 'idle' check (status in ('waiting', 'assigned', 'idle', 'closed')),
  queued_at timestamptz,
  last_message_at timestamptz,
  message_count integer not null default 0 check (message_count >= 0),
  reassignment_count integer not null default 0 check (reassignment_count >= 0),
  flagged_for_review boolean not null default false,
  flag_reason text,
  closed_at timestamptz,
  close_reason text check (close_reason in ('user', 'admin', 'inactivity')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  real_message_count integer not null default 0,
  language text not null default 'en',
  unique (real_user_id, fictional_user_id),
  check (status <> 'waiting' or queued_at is not null)
);
comment on table public.chats is
  'One conversation between a real user and a fictional profile. Readable by its real user, so it holds '
  'no operator data: the current holder is the open chat_assignments row.';
comment on column public.chats.status is
  'idle -> waiting (real user wrote) -> assigned (an operator holds it) -> idle/waiting on release; closed is final.';
comment on column public.chats.queued_at is
  'When the oldest unanswered real-user message arrived; the assignment queue is ordered by it.';
comment on column public.chats.reassignment_count is 'Releases other than completed; at 3 the chat is flagged.';
comment on column public.chats.flag_reason is
  'Shown to admins; the chat''s real user can read it too, so it must never name an operator.';
comment on column public.chats.language is
  'The profile''s language (fictional_users.language), copied when the chat is created and kept in step '
  'when an admin changes it (set_chat_language, copy_profile_language): the key of the assignment queue.';
comment on column public.chats.real_message_count is
  'Real-user messages in the chat, kept by the message trigger (apply_message): what prices the next one.';

-- Assignment queue: `where status = 'waiting' order by queued_at, id limit 1 for update skip locked`.
create index idx_chats_assignment_queue
  on public.chats (queued_at, id) where status = 'waiting';

-- The queue of one language: `where status = 'waiting' and language = $1 order by queued_at, id limit 1
-- for update skip locked`, once per language the operator writes (assign_chat_to_operator).
create index idx_chats_language_queue
  on public.chats (language, queued_at, id) where status = 'waiting';

-- Active chats: the hourly inactivity closer (`status <> 'closed' and (last_message_at < cutoff or
-- last_message_at is null and created_at < cutoff)`).
create index idx_chats_active_last_message
  on public.chats (last_message_at) where status <> 'closed';

-- Real users waiting for a reply (held or not): the wait alerts' minute job and the dashboard's
-- waiting_over_max (`status in ('waiting', 'assigned') and queued_at < now() - max_wait`); an
-- answered chat's queued_at is null, so the index holds only the unanswered.
create index idx_chats_unanswered
  on public.chats (queued_at) where status in ('waiting', 'assigned') and queued_at is not null;

create index idx_chats_fictional_user_id on public.chats (fictional_user_id);

create table public.chat_assignments (
  id uuid primary key default gen_random_uuid(),
  chat_id uuid not null references public.chats (id) on delete cascade,
  operator_id uuid not null references public.operators (id) on delete cascade,
  assigned_at timestamptz not null default now(),
  released_at timestamptz,
  release_reason text check (release_reason in ('completed', 'idle_timeout', 'operator_offline', 'admin', 'chat_closed')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((released_at is null) = (release_reason is null)),
  check (released_at is null or released_at >= assigned_at)
);
comment on table public.chat_assignments is
  'History of who held which chat. The open row (released_at is null) is the current holder '
  '(the documented column chats.assigned_operator_id / assigned_at); at most one open row per chat.';
comment on column public.chat_assignments.release_reason is
  'completed | idle_timeout (sweeper) | operator_offline | admin | chat_closed (the chat was closed while held).';

-- The database guarantee that a chat is never held by two operators at once.
create unique index chat_assignments_one_open_per_chat
  on public.chat_assignments (chat_id) where released_at is null;

create index idx_chat_assignments_chat_assigned on public.chat_assignments (chat_id, assigned_at);

create index idx_chat_assignments_operator_assigned on public.chat_assignments (operator_id, assigned_at);

-- RLS: "chats an operator holds now" (policies on chats, messages, real_users) and capacity counts.
create index idx_chat_assignments_open_by_operator
  on public.chat_assignments (operator_id, chat_id) where released_at is null;

-- Continuity: the chats an operator let go of lately (`operator_id = $1 and released_at > $2`).
create index idx_chat_assignments_operator_released
  on public.chat_assignments (operator_id, released_at) where released_at is not null;

-- The admin dashboard's idle incidents of the day, without reading every assignment.
create index idx_chat_assignments_idle_released
  on public.chat_assignments (released_at) where release_reason = 'idle_timeout';

create table public.operator_activity (
  operator_id uuid not null references public.operators (id) on delete cascade,
  chat_id uuid not null references public.chats (id) on delete cascade,
  assigned_at timestamptz not null default now(),
  last_activity_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (operator_id, chat_id),
  unique (chat_id)
);
comment on table public.operator_activity is
  'One row per currently held chat: the holder''s last activity in it, for idle detection. '
  'Removed when the chat is released.';

-- Idle detection: `from operator_activity where last_activity_at < now() - idle_timeout` (the holder's
-- last activity lives on operator_activity, not on chats).
create index idx_chats_idle_detection
  on public.operator_activity (last_activity_at);

-- The health of the idle sweep: one row, written by api_private.sweep_idle_chats on every successful
-- run. Admins read it.
create table public.sweeper_status (
  id boolean primary key default true check (id),
  last_success_at timestamptz,
  last_released integer not null default 0,
  last_flagged integer not null default 0,
  last_duration_ms integer not null default 0,
  runs bigint not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.sweeper_status is
  'The last successful idle sweep. A last_success_at older than a few minutes means the cron job '
  'is failing (for example 401 after a key rotation: update the Vault secret sweeper_key).';
insert into public.sweeper_status (id) values (true);

create trigger set_updated_at before update on public.chats
  for each row execute function private.set_updated_at();

-- A chat's language is its profile's: copied on insert (whatever the insert says) and rewritten on
-- every chat of a profile whose language an admin changes, so the assignment queue can be read one
-- language at a time from an index. Trigger functions only.
create function private.set_chat_language()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  select f.language into new.language from public.fictional_users f where f.id = new.fictional_user_id;
  new.language := coalesce(new.language, 'en'); -- an unknown profile: the foreign key refuses the row
  return new;
end;
$$;

create function private.copy_profile_language()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.chats c set language = new.language
   where c.fictional_user_id = new.id and c.language is distinct from new.language;
  return null;
end;
$$;

revoke all on function private.set_chat_language(), private.copy_profile_language() from public, anon, authenticated, service_role;

create trigger set_chat_language before insert on public.chats
  for each row execute function private.set_chat_language();
create trigger copy_profile_language after update of language on public.fictional_users
  for each row when (new.language is distinct from old.language)
  execute function private.copy_profile_language();
create trigger set_updated_at before update on public.chat_assignments
  for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.operator_activity
  for each row execute function private.set_updated_at();

-- Privileges and policies --------------------------------------------------------------------------

revoke all on table public.chats from anon, authenticated;
grant select on table public.chats to authenticated;
grant select, insert, update, delete on table public.chats to service_role;
grant insert (real_user_id, fictional_user_id) on public.chats to authenticated;
grant update (flagged_for_review, flag_reason) on public.chats to authenticated;
alter table public.chats enable row level security;

revoke all on table public.chat_assignments from anon, authenticated;
grant select on table public.chat_assignments to authenticated;
grant select, insert, update, delete on table public.chat_assignments to service_role;
alter table public.chat_assignments enable row level security;

revoke all on table public.operator_activity from anon, authenticated;
grant select on table public.operator_activity to authenticated;
grant select, insert, update, delete on table public.operator_activity to service_role;
alter table public.operator_activity enable row level security;

revoke all on table public.sweeper_status from anon, authenticated;
grant select on table public.sweeper_status to authenticated;
grant select, insert, update, delete on table public.sweeper_status to service_role;
alter table public.sweeper_status enable row level security;

create policy "real users read own chats, operators held chats, admins all" on public.chats
  for select to authenticated
  using (
    real_user_id = (select auth.uid())
    or (select api_private.is_admin())
    or id in (
      select a.chat_id from public.chat_assignments a
      where a.operator_id = (select auth.uid()) and a.released_at is null
    )
  );
create policy "real users start chats with active profiles" on public.chats
  for insert to authenticated
  with check (
    real_user_id = (select auth.uid())
    and (select api_private.is_real_user())
    and fictional_user_id in (select f.id from public.fictional_users f where f.is_active)
  );
create policy "admins clear flags" on public.chats
  for update to authenticated
  using ((select api_private.is_admin()))
  with check ((select api_private.is_admin()));

create policy "operators read own assignments, admins read all" on public.chat_assignments
  for select to authenticated
  using (operator_id = (select auth.uid()) or (select api_private.is_admin()));

create policy "operators read own activity, admins read all" on public.operator_activity
  for select to authenticated
  using (operator_id = (select auth.uid()) or (select api_private.is_admin()));

create policy "admins read the sweeper status" on public.sweeper_status
  for select to authenticated
  using ((select api_private.is_admin()));

-- The guard ----------------------------------------------------------------------------------------

-- True when a chat may go from status p_from to p_to (the edges in the file header; same status
-- always). Used by the guard trigger below.
create function private.chat_status_transition_allowed(p_from text, p_to text)
returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  return p_from = p_to
      or (p_from, p_to) in (
           ('idle', 'waiting'),
           ('waiting', 'assigned'),
           ('assigned', 'waiting'),
           ('assigned', 'idle'),
           ('idle', 'closed'),
           ('waiting', 'closed'),
           ('assigned', 'closed'),
           ('closed', 'idle'));
end;
$$;

-- Refuses (invalid_status_transition, 23514) an update of a chat whose status change is not an edge
-- of the lifecycle, whoever makes it. Trigger function only; security definer because the roles
-- that may update chats (service_role among them) have no access to the private schema.
create function private.guard_status_transition()
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

revoke all on function private.chat_status_transition_allowed(text, text), private.guard_status_transition() from public, anon, authenticated, service_role;

-- waiting -> assigned -> waiting | idle: the queue -------------------------------------------------

-- Ends the open assignment of a chat and puts the chat back in the queue: 'waiting' (keeping
-- queued_at, i.e. its place) when the real user's last message is unanswered (queued_at is set), else
-- 'idle'. Every release but a 'completed' one of an answered chat counts in reassignment_count (a
-- chat its holder "completes" while its real user waits is a chat handed back unanswered); only a
-- release that counts can flag: the third, and each one after an admin cleared the flag (the chat
-- stays assignable). The caller must already hold the chat row lock (select ... for update), which
-- is what serialises releases, closes and sweeps of one chat. Returns null when nothing was held,
-- false when released, true when released and newly flagged. Internal helper.
create function private.release_chat(p_chat_id uuid, p_reason text)
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

-- The waiting -> assigned step for one chat: the chat the caller has locked (select ... for update),
-- which is waiting, goes to p_operator_id, whose availability and capacity the caller has checked
-- under the operator's row lock. Records the open chat_assignments row and the operator_activity
-- row, as assign_chat_to_operator does. Internal helper of admin_reassign_chat.
create function private.assign_locked_chat(p_chat_id uuid, p_operator_id uuid)
returns void
language plpgsql
set search_path = ''
as $$
begin
  update public.chats c set status = 'assigned' where c.id = p_chat_id and c.status = 'waiting';
  if not found then
    perform errors.raise_error('chat_not_waiting');
  end if;
  insert into public.chat_assignments (chat_id, operator_id, assigned_at)
  values (p_chat_id, p_operator_id, now());
  insert into public.operator_activity (operator_id, chat_id, assigned_at, last_activity_at)
  values (p_operator_id, p_chat_id, now(), now());
  update public.operators o set last_activity_at = now() where o.id = p_operator_id;
end;
$$;

revoke all on function private.release_chat(uuid, text), private.assign_locked_chat(uuid, uuid) from public, anon, authenticated, service_role;

-- Gives the operator a waiting chat whose profile writes in one of its languages
-- (chats.language, the profile's, = any (operators.languages)) and returns its id; null when no such
-- chat waits. Which one (docs/rules.md, routing):
--   1. continuity: a chat this operator let go of (released completed, operator_offline or
--      chat_closed; not idle_timeout nor admin, whose rules are to take the chat away) less than
--      settings.continuity_window ago and that nobody was assigned since, oldest queued_at first;
--   2. else the eligible chat with the oldest queued_at.
-- Other operators are not held off a chat waiting for its previous operator: continuity is the
-- previous operator's first pick, never a reservation that would leave a paying user waiting.
-- Guarantees: the operator is active and 'available' (else PT409 operator_unavailable) and
-- holds fewer than max_concurrent_chats open assignments (else PT409 at_capacity). The operator row
-- is locked first, so concurrent calls for one operator run one after another and cannot exceed its
-- capacity; the chat is taken FOR UPDATE SKIP LOCKED and marked assigned in one statement (the second
-- pick runs only when the first finds nothing; it reads idx_chats_language_queue once per language,
-- so a backlog in other languages costs nothing, and for an operator of several languages it holds
-- the oldest waiting chat of each locked until it commits, which concurrent calls skip as they skip
-- any chat being assigned), so concurrent operators never take the same chat
-- (the partial unique index on chat_assignments makes that a hard guarantee too). Records the open
-- chat_assignments row and the operator_activity row. last_activity_at is touched only when a chat
-- is assigned (asking is no sign of life: SPEC 11).
-- Callers: an operator for itself (p_operator_id defaults to the caller; not an operator: PT403
-- not_operator), admins and service_role for any operator; an operator for another 42501.
create function api_private.assign_chat_to_operator(p_operator_id uuid default null)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_caller uuid := auth.uid();
  v_operator_id uuid := coalesce(p_operator_id, v_caller);
  v_is_active boolean;
  v_status text;
  v_capacity integer;
  v_languages text[];
  v_held integer;
  v_chat_id uuid;
begin
  -- An operator acting for itself is checked by the lock below (its row must exist).
  if v_operator_id is null or v_operator_id is distinct from v_caller then
    perform private.require_acting_for_operator(v_operator_id);
  end if;

  select o.is_active, o.status, o.max_concurrent_chats, o.languages
    into v_is_active, v_status, v_capacity, v_languages
    from public.operators o
   where o.id = v_operator_id
     for no key update;
  if not found then
    if v_operator_id = v_caller and not (private.is_trusted_caller() or api_private.is_admin()) then
      perform errors.raise_error('not_operator');
    end if;
    perform errors.raise_error('not_operator', 'No operator has this id.');
  end if;
  if not v_is_active or v_status <> 'available' then
    perform errors.raise_error('operator_unavailable',
      format('The operator is %s; only active, available operators take chats.',
             case when v_is_active then v_status else 'deactivated' end));
  end if;

  -- After the lock: a new snapshot sees every assignment committed for this operator before it.
  select count(*) into v_held
    from public.chat_assignments a
   where a.operator_id = v_operator_id and a.released_at is null;
  if v_held >= v_capacity then
    perform errors.raise_error('at_capacity',
      format('The operator already holds %s of %s chats.', v_held, v_capacity));
  end if;

  update public.chats c set status = 'assigned'
   where c.id = coalesce(
           (select w.id
              from public.chat_assignments a
              join public.chats w on w.id = a.chat_id
             where a.operator_id = v_operator_id
               and a.released_at > now() - (select s.continuity_window from public.settings s)
               and a.release_reason in ('completed', 'operator_offline', 'chat_closed')
               and w.status = 'waiting'
               and w.language = any (v_languages)
               and not exists (select 1 from public.chat_assignments n
                                where n.chat_id = a.chat_id and n.assigned_at > a.assigned_at)
             order by w.queued_at, w.id
             limit 1
               for update of w skip locked),
           (select w.id
              from unnest(v_languages) l (language)
              cross join lateral (select q.id, q.queued_at
                                    from public.chats q
                                   where q.status = 'waiting' and q.language = l.language
                                   order by q.queued_at, q.id
                                   limit 1
                                     for update skip locked) w
             order by w.queued_at, w.id
             limit 1))
  returning c.id into v_chat_id;
  if v_chat_id is null then
    return null;
  end if;

  insert into public.chat_assignments (chat_id, operator_id, assigned_at)
  values (v_chat_id, v_operator_id, now());
  insert into public.operator_activity (operator_id, chat_id, assigned_at, last_activity_at)
  values (v_operator_id, v_chat_id, now(), now());
  update public.operators o set last_activity_at = now() where o.id = v_operator_id;

  return v_chat_id;
end;
$$;

-- Gives the operator a waiting chat in its languages. See api_private.assign_chat_to_operator.
create function public.assign_chat_to_operator(p_operator_id uuid default null)
returns uuid
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return api_private.assign_chat_to_operator(p_operator_id);
end;
$$;

revoke all on function api_private.assign_chat_to_operator(uuid), public.assign_chat_to_operator(uuid) from public, anon, authenticated, service_role;
grant execute on function api_private.assign_chat_to_operator(uuid), public.assign_chat_to_operator(uuid) to authenticated, service_role;

-- Ends the open assignment of a chat and requeues it (see private.release_chat). Returns true.
-- Reasons and who may use them (docs/rules.md):
--   completed, operator_offline  the operator holding the chat (else PT404 chat_not_held)
--   admin                        admins (else 42501)
--   idle_timeout                 service_role / the idle sweep only (else 42501)
-- Trusted callers may use any reason. Any other reason: PT400 invalid_release_reason. A chat nobody
-- holds: PT404 chat_not_held. Non-operators using an operator reason: PT403 not_operator.
create function api_private.release_and_reassign_chat(p_chat_id uuid, p_reason text)
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

-- Ends the open assignment of a chat and requeues it. See api_private.release_and_reassign_chat.
create function public.release_and_reassign_chat(p_chat_id uuid, p_reason text)
returns boolean
language sql
security invoker
set search_path = ''
as $$
  select api_private.release_and_reassign_chat(p_chat_id, p_reason);
$$;

revoke all on function api_private.release_and_reassign_chat(uuid, text), public.release_and_reassign_chat(uuid, text) from public, anon, authenticated, service_role;
grant execute on function api_private.release_and_reassign_chat(uuid, text), public.release_and_reassign_chat(uuid, text) to authenticated, service_role;

-- The operator console's view of one chat (docs/rules.md), as jsonb: the chat's own fields at the top
-- level (id, status, queued_at, last_message_at, message_count, reassignment_count,
-- flagged_for_review, plus flag_reason, created_at, closed_at, close_reason), "assignment" (the
-- current holder: operator_id, assigned_at, last_activity_at; null when nobody holds it),
-- "real_user" (id, display_name, age, gender, bio, avatar_url: no email, credits or activity times),
-- "fictional_user" (id, name, age, gender, bio, avatar_url, interests, personality_guidelines) and
-- "messages" (the newest 50, oldest first: id, sender_type, content, created_at). Callers: the
-- operator holding the chat (another operator: PT404 chat_not_held), admins and service_role
-- (unknown chat: PT404 chat_not_found); anyone else PT403 not_operator.
create function api_private.get_chat_with_details(p_chat_id uuid)
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

-- The operator console's view of one chat. See api_private.get_chat_with_details.
create function public.get_chat_with_details(p_chat_id uuid)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select api_private.get_chat_with_details(p_chat_id);
$$;

revoke all on function api_private.get_chat_with_details(uuid), public.get_chat_with_details(uuid) from public, anon, authenticated, service_role;
grant execute on function api_private.get_chat_with_details(uuid), public.get_chat_with_details(uuid) to authenticated, service_role;

-- Assigns the oldest waiting chat to the caller (api_private.assign_chat_to_operator) and returns
-- {"chat": get_chat_with_details(chat)}, or {"chat": null} when no chat waits, in one transaction, so
-- no failure between two calls can leave an operator holding a chat it never learnt about. Refuses as
-- assign_chat_to_operator does for the caller itself: PT403 not_operator (not an operator: real
-- users, admins, service_role), PT409 operator_unavailable (deactivated, busy or offline), PT409
-- at_capacity. Callers: operators (authenticated).
create function api_private.assign_next_chat()
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_chat_id uuid;
begin
  v_chat_id := api_private.assign_chat_to_operator(auth.uid());
  if v_chat_id is null then
    return jsonb_build_object('chat', null);
  end if;
  return jsonb_build_object('chat', api_private.get_chat_with_details(v_chat_id));
end;
$$;

-- Takes the oldest waiting chat and returns its details. See api_private.assign_next_chat.
create function public.assign_next_chat()
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return api_private.assign_next_chat();
end;
$$;

revoke all on function api_private.assign_next_chat(), public.assign_next_chat() from public, anon, authenticated, service_role;
grant execute on function api_private.assign_next_chat(), public.assign_next_chat() to authenticated;

-- An operator's sign of life in a chat it holds: refreshes operator_activity.last_activity_at
-- and operators.last_activity_at under the operator's and the chat's row locks (in that order);
-- returns the new time. Errors: not_operator, chat_not_held. Callers: operators.
create function api_private.operator_heartbeat(p_chat_id uuid)
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
  -- Lock order: the operator's row, then the chat's. The idle sweep takes the chat row (FOR
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

-- An operator's sign of life in a chat it holds. See api_private.operator_heartbeat.
create function public.operator_heartbeat(p_chat_id uuid)
returns timestamptz
language sql
security invoker
set search_path = ''
as $$
  select api_private.operator_heartbeat(p_chat_id);
$$;

revoke all on function api_private.operator_heartbeat(uuid), public.operator_heartbeat(uuid) from public, anon, authenticated, service_role;
grant execute on function api_private.operator_heartbeat(uuid), public.operator_heartbeat(uuid) to authenticated;

-- assigned -> waiting | idle: the idle sweep and deactivated operators -----------------------------

-- The idle sweep: releases with reason idle_timeout every assignment whose holder's last activity in
-- it (operator_activity.last_activity_at) is older than settings.idle_timeout, then sets 'offline'
-- every active, available operator with no sign of life for settings.presence_timeout, releasing what
-- it still holds with idle_timeout first (so the offline trigger finds nothing to release). The idle
-- chats are locked FOR UPDATE SKIP LOCKED (oldest activity first), then rechecked and released by a
-- few statements for all of them; an idle_timeout release always counts in reassignment_count and
-- flags as private.release_chat does. Silent operators are taken FOR UPDATE SKIP LOCKED and
-- rechecked once locked, so two sweeps at once never release a chat twice, and an operator busy in
-- one of its chats right now is left for the next sweep. Records the run in sweeper_status. Returns
-- {"released": n, "flagged": m} (the releases of silent operators' chats are counted in released).
-- Callers: service_role (the idle-sweeper Edge Function) and postgres; anyone else 42501.
create function api_private.sweep_idle_chats()
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

  -- Idle assignments: lock their chats (another sweep's or a writer's are skipped).
  select coalesce(array_agg(l.id), '{}') into v_chats
    from (select c.id
            from public.operator_activity oa
            join public.chats c on c.id = oa.chat_id
           where oa.last_activity_at < v_cutoff
           order by oa.last_activity_at
             for update of c skip locked) l;

  if cardinality(v_chats) > 0 then
    -- Set-based, so the Realtime broadcasts of these statements go in bulk too: one insert per
    -- statement (broadcast_chat_released, broadcast_chat_changes_in_bulk), not one
    -- realtime.send per row.
    perform set_config('fantooo.broadcast_in_bulk', 'on', true);
    -- Recheck under the locks (another sweep or the operator may have released or refreshed one)
    -- and end the open assignments that are still idle.
    with released as (
      update public.chat_assignments a
         set released_at = now(), release_reason = 'idle_timeout'
        from public.operator_activity oa
       where a.chat_id = any (v_chats) and a.released_at is null
         and oa.chat_id = a.chat_id and oa.operator_id = a.operator_id
         and oa.last_activity_at < v_cutoff
      returning a.chat_id
    )
    select coalesce(array_agg(r.chat_id), '{}') into v_chats from released r;

    delete from public.operator_activity oa where oa.chat_id = any (v_chats);

    -- Back in the queue ('waiting' when the real user is unanswered, else 'idle'; closed stays
    -- closed); every idle release counts, and one that reaches 3 flags a chat not flagged already.
    with requeued as (
      update public.chats c
         set status = case
                        when c.status = 'closed' then 'closed'
                        when c.queued_at is not null then 'waiting'
                        else 'idle'
                      end,
             reassignment_count = c.reassignment_count + 1,
             flagged_for_review = c.flagged_for_review or b.reassignment_count + 1 >= 3,
             flag_reason = case
                             -- the chat's real user reads this text: say what happened, never who or why
                             when not b.flagged_for_review and b.reassignment_count + 1 >= 3
                               then format('reassigned %s times', b.reassignment_count + 1)
                             else c.flag_reason
                           end
        from public.chats b
       where c.id = any (v_chats) and b.id = c.id
      returning not b.flagged_for_review and b.reassignment_count + 1 >= 3 as newly_flagged
    )
    select count(*), count(*) filter (where q.newly_flagged)
      into v_released, v_newly_flagged
      from requeued q;
    perform set_config('fantooo.broadcast_in_bulk', '', true);
  end if;

  -- Silent available operators (idx_operators_available).
  for v_operator_id in
    select o.id
      from public.operators o
     where o.status = 'available' and o.is_active
       and coalesce(o.last_activity_at, o.updated_at) < v_presence_cutoff
     order by o.id
  loop
    -- Lock order: its chats first, then the operator; skip it if any is locked elsewhere.
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

  -- The health record admins watch (public.sweeper_status): a sweep that stops succeeding leaves it behind.
  update public.sweeper_status
     set last_success_at = now(), last_released = v_released, last_flagged = v_newly_flagged,
         last_duration_ms = (extract(epoch from clock_timestamp() - now()) * 1000)::integer,
         runs = runs + 1, updated_at = now()
   where id;

  return jsonb_build_object('released', v_released, 'flagged', v_newly_flagged);
end;
$$;

-- The idle sweep. See api_private.sweep_idle_chats. service_role only.
create function public.sweep_idle_chats()
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select api_private.sweep_idle_chats();
$$;

revoke all on function api_private.sweep_idle_chats(), public.sweep_idle_chats() from public, anon, authenticated, service_role;
grant execute on function api_private.sweep_idle_chats(), public.sweep_idle_chats() to service_role;

-- Deactivating an operator hands its chats back to the queue. An inactive operator takes no new
-- chat and may not write (the insert policy on messages wants an active operator), so the chats it
-- still held would stay 'assigned' to someone who can no longer answer, and its console's heartbeats
-- would keep the idle sweep away from them. When is_active turns false, every chat it holds is
-- released with reason 'admin' (deactivation is an admin's act): back to 'waiting' in its old place
-- when the real user waits for an answer, else 'idle'. Its status becomes 'offline'.

-- Sets status 'offline' on the row being deactivated. Trigger function only.
create function private.set_deactivated_operator_offline()
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
create function private.release_chats_of_deactivated_operator()
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

revoke all on function private.set_deactivated_operator_offline(), private.release_chats_of_deactivated_operator() from public, anon, authenticated, service_role;

create trigger set_deactivated_operator_offline
  before update of is_active on public.operators
  for each row when (old.is_active and not new.is_active)
  execute function private.set_deactivated_operator_offline();
create trigger release_chats_of_deactivated_operator
  after update of is_active on public.operators
  for each row when (old.is_active and not new.is_active)
  execute function private.release_chats_of_deactivated_operator();

-- any open status -> closed, closed -> idle --------------------------------------------------------

-- Closes a chat whose row the caller has locked: status closed, closed_at, close_reason, the open
-- assignment (if any) ended with 'chat_closed' and its activity row removed. Returns false when the
-- chat was already closed. Internal helper.
create function private.close_locked_chat(p_chat_id uuid, p_reason text)
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
-- An admin closing a chat its user or the inactivity job already closed makes it an admin close
-- (close_reason 'admin', so the user cannot reopen it) and gets true. No credits are refunded.
-- Errors: PT404 chat_not_found (unknown chat), 42501 forbidden (anyone else, operators included).
create function api_private.close_chat(p_chat_id uuid)
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

-- Closes a chat. See api_private.close_chat. The chat's real user, admins and service_role.
create function public.close_chat(p_chat_id uuid)
returns boolean
language sql
security invoker
set search_path = ''
as $$
  select api_private.close_chat(p_chat_id);
$$;

revoke all on function api_private.close_chat(uuid), public.close_chat(uuid) from public, anon, authenticated, service_role;
grant execute on function api_private.close_chat(uuid), public.close_chat(uuid) to authenticated, service_role;

-- Closes (close_reason 'inactivity') every open chat with no message for settings.inactivity_timeout
-- (24 hours): by last_message_at, or by created_at for a chat that never had one. Skips chats locked
-- by someone else (the next run gets them). Returns how many it closed. Called hourly by the
-- auto-close-inactive-chats pg_cron job as postgres; not callable through the API.
create function private.close_inactive_chats()
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

revoke all on function private.close_locked_chat(uuid, text), private.close_inactive_chats() from public, anon, authenticated, service_role;

-- Returns the id of the calling real user's chat with an active profile: the existing one (a chat
-- its user or the inactivity job closed is reopened as idle, its history kept, its closing stamps
-- cleared), or a new idle chat. A chat an admin closed stays closed: PT403 chat_closed_by_admin.
-- Callers: signed-in real users, for themselves. Refusals: not_real_user (also for a caller with no
-- JWT), profile_not_found, chat_closed_by_admin.
create function api_private.start_chat(p_fictional_user_id uuid)
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

-- Starts or reopens a chat with a profile. See api_private.start_chat. Signed-in real users.
create function public.start_chat(p_fictional_user_id uuid)
returns uuid
language sql
security invoker
set search_path = ''
as $$
  select api_private.start_chat(p_fictional_user_id);
$$;

revoke all on function api_private.start_chat(uuid), public.start_chat(uuid) from public, anon, authenticated, service_role;
grant execute on function api_private.start_chat(uuid), public.start_chat(uuid) to authenticated;
