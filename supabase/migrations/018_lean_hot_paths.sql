-- Lean hot paths (issue 10 item 2; SPEC 13; bench/README.md): a charged message and an assignment
-- do the least work their rules need. Same contracts, refusals and lock order (016's header).
--
--   * One trigger path for a message. A before-insert trigger, private.apply_message(), does in one
--     function what four did (007's messages_charge and messages_update_operator, 008's
--     messages_update_chat, 016's refusals): the created_at stamp; for a real message the price, the
--     charge and the chat's counters and lifecycle, reading the chat once before the user's row lock
--     (to find the user) and once by the update that takes the chat's lock; for an operator's answer
--     the operator's counters (the update that takes its row lock first), the chat's counters under
--     the chat's lock, the holder check and the operator's activity. Only the author of a fictional
--     message (message_authors, 001) is written after the insert, as its foreign key needs the
--     message row, and record_message_author now fires only for fictional messages.
--   * chats.real_message_count: the chat's real-user messages, kept by that trigger in the update it
--     makes anyway; pricing reads it instead of counting messages (prior_real_messages).
--   * The helpers every policy and hot function calls (is_admin, is_operator, is_real_user,
--     is_trusted_caller, is_operator_id, chat_status_transition_allowed, time_in_window,
--     message_price, prior_real_messages) are plpgsql instead of sql, with the same bodies;
--     message_price's formula moves to private.price_under(settings row, ...), so the trigger,
--     which reads the settings row with the chat, does not read it again. A
--     function with `set search_path` is never inlined, and an sql one is parsed and planned again
--     in every statement that calls it; plpgsql keeps its plans for the session (bench/README.md,
--     "The floor of the two SQL paths"). The public RPC wrappers of the assignment are plpgsql too.
--   * assign_chat_to_operator: an operator assigning for itself is not checked twice (the lock of
--     its row is the operator check); the chat is dequeued and marked assigned in one statement.
--   * The insert policy on messages probes the chat (or the caller's open assignment of it) by key
--     instead of listing every chat of the caller.
--   * guard_real_user_update and guard_operator_update (003, 016) fire only when a column they guard
--     changes, not on every credit taken or activity touched.
--
-- Refusals, unchanged, go through errors.raise_error (005): insufficient_credits, chat_closed,
-- account_deactivated, chat_not_held, not_operator, operator_unavailable, at_capacity, forbidden.

-- The count that prices a message ------------------------------------------------------------------------

-- Counting a chat's real messages at every message read them all wherever the planner chose a scan
-- and sort over the index (a long chat, stale statistics); the chat row the message updates anyway
-- carries the count instead. Backfilled without touching updated_at.
alter table public.chats add column real_message_count integer not null default 0;
comment on column public.chats.real_message_count is
  'Real-user messages in the chat, kept by the message trigger (apply_message): what prices the next one.';
alter table public.chats disable trigger set_updated_at;
update public.chats c
   set real_message_count = m.n
  from (select chat_id, count(*)::integer as n from public.messages where sender_type = 'real' group by chat_id) m
 where m.chat_id = c.id;
alter table public.chats enable trigger set_updated_at;

-- Helpers in plpgsql ----------------------------------------------------------------------------------

-- True when the caller's JWT subject is an admin. Used by policies; callable by authenticated and
-- service_role.
create or replace function api_private.is_admin()
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return exists (select 1 from public.admins a where a.id = (select auth.uid()));
end;
$$;

-- True when the caller's JWT subject is an active operator. Used by policies; callable by
-- authenticated and service_role.
create or replace function api_private.is_operator()
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return exists (select 1 from public.operators o where o.id = (select auth.uid()) and o.is_active);
end;
$$;

-- True when the caller's JWT subject is an active (not deactivated) real user. Used by policies;
-- callable by authenticated and service_role.
create or replace function api_private.is_real_user()
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return exists (select 1 from public.real_users r where r.id = (select auth.uid()) and r.is_active);
end;
$$;

-- True for callers trusted with any operator's or user's work: service_role (its JWT or the
-- role), and the database owner connecting directly without a JWT (seeds, migrations, pg_cron).
-- Internal helper.
create or replace function private.is_trusted_caller()
returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
  return coalesce(auth.role() = 'service_role', false)
      or (
        auth.jwt() is null
        and current_setting('role') in ('none', 'postgres', 'service_role')
        and session_user::text <> 'authenticator'
      );
end;
$$;

-- True when p_user_id is a row of public.operators (active or not). Internal helper.
create or replace function private.is_operator_id(p_user_id uuid)
returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
  return p_user_id is not null and exists (select 1 from public.operators o where o.id = p_user_id);
end;
$$;

-- True when a chat may go from status p_from to p_to (the edges of 008's header; same status always).
-- Used by the guard trigger of 008.
create or replace function private.chat_status_transition_allowed(p_from text, p_to text)
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

-- True when local time p_time falls in [p_start, p_end); a window whose end is not after its start
-- wraps midnight (20:00-02:00), an empty window (start = end) contains nothing. Internal helper.
create or replace function private.time_in_window(p_time time, p_start time, p_end time)
returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  return case
           when p_start < p_end then p_time >= p_start and p_time < p_end
           when p_start > p_end then p_time >= p_start or p_time < p_end
           else false
         end;
end;
$$;

-- The price in credits of a real-user message under the given settings row (006's rules): 0 for the
-- first free_messages, else ceil(base_price x time-of-day factor x featured factor), at least 1.
-- Reads nothing, so the message trigger, which has the settings row from its first query, prices
-- without reading it again. Internal helper.
create function private.price_under(
  p_settings public.settings,
  p_prior_real_messages integer,
  p_at timestamptz,
  p_is_featured boolean
)
returns integer
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_local time;
begin
  if p_prior_real_messages < p_settings.free_messages then
    return 0;
  end if;
  v_local := (p_at at time zone p_settings.timezone)::time;
  return greatest(1, ceil(
           p_settings.base_price
           * case
               when private.time_in_window(v_local, p_settings.night_starts, p_settings.night_ends)
                 then p_settings.night_factor
               when private.time_in_window(v_local, p_settings.early_starts, p_settings.early_ends)
                 then p_settings.early_factor
               else 1
             end
           * case when p_is_featured then p_settings.featured_factor else 1 end
         ))::integer;
end;
$$;

revoke all on function private.price_under(public.settings, integer, timestamptz, boolean)
  from public, anon, authenticated, service_role;

-- The price in credits of a real-user message (006), under the current settings row; null without
-- one. Deterministic for a given settings row, so tests freeze time by passing p_at. Internal.
create or replace function private.message_price(p_prior_real_messages integer, p_at timestamptz, p_is_featured boolean)
returns integer
language plpgsql
stable
set search_path = ''
as $$
declare
  v_settings public.settings;
begin
  select * into v_settings from public.settings s where s.id;
  if not found then
    return null;
  end if;
  return private.price_under(v_settings, p_prior_real_messages, p_at, p_is_featured);
end;
$$;

-- How many real-user messages the chat already has, as far as pricing cares: chats.real_message_count
-- (018) up to settings.free_messages; 0 for an unknown chat. Internal helper of message_price.
create or replace function private.prior_real_messages(p_chat_id uuid)
returns integer
language plpgsql
stable
set search_path = ''
as $$
declare
  v_count integer;
begin
  select least(c.real_message_count, s.free_messages) into v_count
    from public.chats c, public.settings s
   where c.id = p_chat_id and s.id;
  return coalesce(v_count, 0);
end;
$$;

-- One trigger path for a message ------------------------------------------------------------------------

-- Everything a new message does before it is written (see the file header), under the lock order of
-- 016: the person's row (the real user's, or the answering operator's), then the chat's, then its
-- assignment and activity rows. A real message: the real user's row is locked, the chat's counters
-- and lifecycle move (idle -> waiting, queued_at the oldest unanswered message: 008) by the update
-- that locks the chat, and under those locks a deactivated account is refused (42501
-- account_deactivated), a closed chat too (42501 chat_closed), then the price (006) is taken or PT402
-- insufficient_credits. An operator's answer: the operator's counters (total_messages_sent,
-- last_activity_at) by the update that locks its row, the chat's counters (queued_at cleared unless
-- the chat is waiting), then, under those locks, PT404 chat_not_held unless it still holds the chat,
-- and its activity in the chat (operator_activity, which keeps the idle sweep away). Who may write is
-- the insert policy's business (003, 018); a row it refuses rolls all this back. Trusted callers
-- (seeds, tests) keep the created_at they give and are not refused. Trigger function only.
create function private.apply_message()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_trusted boolean := private.is_trusted_caller();
  v_caller uuid := auth.uid();
  v_chat record;
  v_credits integer;
  v_user_active boolean;
  v_status text;
  v_prior integer;
  v_price integer;
  v_operator boolean;
begin
  if not v_trusted then
    new.created_at := clock_timestamp();
  end if;
  new.credits_charged := 0;

  if new.sender_type <> 'real' then
    -- The operator's row first (an operator's answer), then the chat's.
    update public.operators o
       set total_messages_sent = o.total_messages_sent + 1,
           last_activity_at = now()
     where o.id = v_caller;
    v_operator := found;
    if not (v_operator or v_trusted) then
      return new; -- not an operator's answer: the insert policy refuses the row
    end if;
    update public.chats c
       set message_count = c.message_count + 1,
           last_message_at = greatest(c.last_message_at, new.created_at),
           queued_at = case when c.status in ('closed', 'waiting') then c.queued_at end
     where c.id = new.chat_id;
    if v_operator and not v_trusted then
      -- Under those locks the operator must still hold the chat: a sweep, close or release that
      -- got the chat first has taken it away, and the answer is refused.
      if not exists (
        select 1 from public.chat_assignments a
         where a.chat_id = new.chat_id and a.operator_id = v_caller and a.released_at is null
      ) then
        perform errors.raise_error('chat_not_held', 'The operator does not hold this chat (any more).');
      end if;
    end if;
    update public.operator_activity oa
       set last_activity_at = now()
     where oa.operator_id = v_caller and oa.chat_id = new.chat_id;
    return new;
  end if;

  -- The chat's user and profile, and the settings that price the message, in one read.
  select c.real_user_id, f.is_featured, s as settings into v_chat
    from public.chats c
    join public.fictional_users f on f.id = c.fictional_user_id
    cross join public.settings s
   where c.id = new.chat_id and s.id;
  if not found or (not v_trusted and v_chat.real_user_id is distinct from v_caller) then
    return new; -- the foreign key or the insert policy refuses the row
  end if;

  -- The real user's row, then the chat's. What they say now is what counts: the insert policy saw
  -- the statement's snapshot, from before any close or deactivation this insert waited for.
  select r.credits, r.is_active into v_credits, v_user_active
    from public.real_users r where r.id = v_chat.real_user_id
     for update;
  if not v_trusted and not v_user_active then
    perform errors.raise_error('account_deactivated');
  end if;
  update public.chats c
     set message_count = c.message_count + 1,
         real_message_count = c.real_message_count + 1,
         last_message_at = greatest(c.last_message_at, new.created_at),
         status = case when c.status = 'idle' then 'waiting' else c.status end,
         queued_at = case
                       when c.status = 'closed' then c.queued_at
                       when c.status = 'idle' then new.created_at
                       else coalesce(c.queued_at, new.created_at)
                     end
   where c.id = new.chat_id
  returning c.status, c.real_message_count - 1 into v_status, v_prior; -- 'closed' only when it was closed
  if not v_trusted and v_status = 'closed' then
    perform errors.raise_error('chat_closed');
  end if;

  v_price := private.price_under(v_chat.settings, v_prior, new.created_at, v_chat.is_featured);
  if v_credits < v_price then
    perform errors.raise_error('insufficient_credits',
      format('This message costs %s credits; the balance is %s.', v_price, v_credits));
  end if;
  if v_price > 0 then
    update public.real_users r set credits = r.credits - v_price where r.id = v_chat.real_user_id;
  end if;
  new.credits_charged := v_price;
  return new;
end;
$$;

revoke all on function private.apply_message() from public, anon, authenticated, service_role;

drop trigger messages_charge on public.messages;
drop trigger messages_update_chat on public.messages;
drop trigger messages_update_operator on public.messages;
drop function private.charge_message();
drop function private.update_chat_on_message();
drop function private.update_operator_on_message();

create trigger apply_message
  before insert on public.messages
  for each row execute function private.apply_message();

drop trigger record_message_author on public.messages;
create trigger record_message_author
  after insert on public.messages
  for each row when (new.sender_type = 'fictional')
  execute function private.record_message_author();

-- The insert policy by key --------------------------------------------------------------------------------

drop policy "real users write in own open chats, operators in held chats" on public.messages;
create policy "real users write in own open chats, operators in held chats" on public.messages
  for insert to authenticated
  with check (
    (
      sender_type = 'real'
      and (select api_private.is_real_user())
      and exists (
        select 1 from public.chats c
         where c.id = messages.chat_id and c.real_user_id = (select auth.uid()) and c.status <> 'closed'
      )
    )
    or (
      sender_type = 'fictional'
      and (select api_private.is_operator())
      and exists (
        select 1 from public.chat_assignments a
         where a.chat_id = messages.chat_id and a.released_at is null and a.operator_id = (select auth.uid())
      )
    )
  );

-- Guards that fire only when a guarded column changes -------------------------------------------------------

drop trigger guard_real_user_update on public.real_users;
create trigger guard_real_user_update
  before update on public.real_users
  for each row
  when (new.is_active is distinct from old.is_active
        or (new.display_name, new.age, new.gender, new.looking_for, new.bio, new.avatar_url, new.last_active_at)
           is distinct from
           (old.display_name, old.age, old.gender, old.looking_for, old.bio, old.avatar_url, old.last_active_at))
  execute function private.guard_real_user_update();

drop trigger guard_operator_update on public.operators;
create trigger guard_operator_update
  before update on public.operators
  for each row
  when ((new.max_concurrent_chats, new.is_active) is distinct from (old.max_concurrent_chats, old.is_active))
  execute function private.guard_operator_update();

-- The assignment ------------------------------------------------------------------------------------------

-- Gives the operator the oldest waiting chat and returns its id, or null when no chat waits; the
-- contract of 008 (see there): PT403 not_operator, PT409 operator_unavailable, PT409 at_capacity,
-- 42501 forbidden for an operator acting for another. The operator's row is locked first, so
-- concurrent calls for one operator run one after another and cannot exceed its capacity; the chat
-- is taken FOR UPDATE SKIP LOCKED and marked assigned in the same statement. last_activity_at is
-- touched only when a chat is assigned (asking is no sign of life: SPEC 11). Callers: an operator
-- for itself (p_operator_id defaults to the caller), admins and service_role for any.
create or replace function api_private.assign_chat_to_operator(p_operator_id uuid default null)
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
  v_held integer;
  v_chat_id uuid;
begin
  -- An operator acting for itself is checked by the lock below (its row must exist).
  if v_operator_id is null or v_operator_id is distinct from v_caller then
    perform private.require_acting_for_operator(v_operator_id);
  end if;

  select o.is_active, o.status, o.max_concurrent_chats into v_is_active, v_status, v_capacity
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
   where c.id = (select w.id
                   from public.chats w
                  where w.status = 'waiting'
                  order by w.queued_at, w.id
                  limit 1
                    for update skip locked)
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

-- Gives the operator the oldest waiting chat. See api_private.assign_chat_to_operator (018).
create or replace function public.assign_chat_to_operator(p_operator_id uuid default null)
returns uuid
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return api_private.assign_chat_to_operator(p_operator_id);
end;
$$;

-- Takes the oldest waiting chat and returns its details. See api_private.assign_next_chat (017).
create or replace function public.assign_next_chat()
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return api_private.assign_next_chat();
end;
$$;
