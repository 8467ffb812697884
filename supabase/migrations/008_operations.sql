-- Fantooo: operations (docs/rules.md; SPEC 11): operator statistics, the admin RPCs and their audit
-- trail, operator presence and chat moderation.
--
--   admin_clear_flag(chat)                   clears flagged_for_review and flag_reason
--   admin_reassign_chat(chat, operator)      releases the chat from its holder (reason admin) and
--                                            assigns it to that operator
--   admin_set_operator_active(operator, b)   (de)activates an operator; deactivation releases its
--                                            chats (reason admin) and sets it offline (the triggers on
--                                            operators.is_active)
--   admin_adjust_credits(user, delta, why)   adds or removes credits, never below 0, with a reason
--   admin_reopen_chat(chat)                  reopens a closed chat, whoever closed it
--   get_admin_dashboard()                    queue, long waits, operators, flags, today's money and
--                                            reply times, the sweep
--
-- Who may call them: admins and trusted callers (service_role, or a database session without JWT
-- claims: private.is_trusted_caller). Everyone else, anon included, gets 42501 forbidden and nothing
-- changes. Every call that passes that check leaves one admin_actions row (admin_id null for
-- service_role), written in the same transaction as the change; so does every change of
-- credit_packages, and of the routing languages (operators.languages, fictional_users.language),
-- through the Data API.
--
-- Presence. An operator's status (available | busy | offline) is its own to set:
--   * setting itself 'offline' (its own JWT) releases every chat it holds with reason
--     'operator_offline', back to the queue in place; deactivation still releases with 'admin';
--   * 'busy' keeps its chats and takes no new ones (assign_chat_to_operator);
--   * an 'available' operator with no sign of life for settings.presence_timeout is set 'offline' by
--     the idle sweep, which releases its chats with 'idle_timeout'. A sign of life is
--     operators.last_activity_at: kept by heartbeats, messages and assignments, and by the operator
--     setting status 'available' (also when it already is: the console's way to say "still here"
--     while the queue is empty).
--
-- Moderation. Every close and reopen of a chat is kept in chat_closures (chat, by whom, reason,
-- time), readable by admins. A chat closed by an admin stays closed for its user: start_chat answers
-- PT403 chat_closed_by_admin instead of reopening it; an admin who closes a chat its user (or the
-- inactivity job) had already closed makes it an admin close; only an admin reopens it
-- (admin_reopen_chat).

-- Operator statistics ------------------------------------------------------------------------------

create table public.operator_stats (
  operator_id uuid not null references public.operators (id) on delete cascade,
  stat_date date not null,
  messages_sent integer not null default 0 check (messages_sent >= 0),
  chats_handled integer not null default 0 check (chats_handled >= 0),
  avg_response_seconds numeric(12, 2) check (avg_response_seconds >= 0),
  idle_incidents integer not null default 0 check (idle_incidents >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  first_reply_seconds numeric(12, 2) check (first_reply_seconds >= 0),
  primary key (operator_id, stat_date)
);
comment on column public.operator_stats.avg_response_seconds is
  'Average seconds from a real-user message to the operator''s answer that day; null when none.';
comment on column public.operator_stats.first_reply_seconds is
  'Median seconds the real user waited for the operator''s first reply (from the oldest unanswered '
  'real-user message to the first fictional message after it), over that day''s replies; null when none.';

create trigger set_updated_at before update on public.operator_stats
  for each row execute function private.set_updated_at();

revoke all on table public.operator_stats from anon, authenticated;
grant select on table public.operator_stats to authenticated;
grant select, insert, update, delete on table public.operator_stats to service_role;
alter table public.operator_stats enable row level security;

create policy "operators read own stats, admins read all" on public.operator_stats
  for select to authenticated
  using (operator_id = (select auth.uid()) or (select api_private.is_admin()));

-- When the wait a fictional message at p_at in p_chat_id answers began: the oldest real-user message
-- since the previous fictional message (null when the message answers nothing: a second reply).
-- Internal helper of the reply-time figures (operator stats, the admin dashboard).
create function private.first_reply_asked_at(p_chat_id uuid, p_at timestamptz)
returns timestamptz
language sql
stable
set search_path = ''
as $$
  select min(r.created_at)
    from public.messages r
   where r.chat_id = p_chat_id
     and r.sender_type = 'real'
     and r.created_at <= p_at
     and r.created_at > coalesce(
           (select max(p.created_at) from public.messages p
             where p.chat_id = p_chat_id and p.sender_type = 'fictional' and p.created_at < p_at),
           '-infinity');
$$;

-- An operator's numbers over [p_from, p_to): fictional messages it wrote, distinct chats assigned to
-- it, the average and the median seconds from a real-user message to its answer (for each of its first
-- replies: a fictional message measured from the oldest real message since the previous fictional
-- message; null without replies), and idle incidents (its assignments released with idle_timeout).
-- Internal helper.
create function private.operator_stats_between(p_operator_id uuid, p_from timestamptz, p_to timestamptz)
returns table (messages_sent integer, chats_handled integer, avg_response_seconds numeric, idle_incidents integer,
               first_reply_seconds numeric)
language sql
stable
set search_path = ''
as $$
  select
    (select count(*)::integer
       from public.message_authors ma
       join public.messages m on m.id = ma.message_id
      where ma.operator_id = p_operator_id and m.created_at >= p_from and m.created_at < p_to),
    (select count(distinct a.chat_id)::integer
       from public.chat_assignments a
      where a.operator_id = p_operator_id and a.assigned_at >= p_from and a.assigned_at < p_to),
    r.avg_seconds,
    (select count(*)::integer
       from public.chat_assignments a
      where a.operator_id = p_operator_id and a.release_reason = 'idle_timeout'
        and a.released_at >= p_from and a.released_at < p_to),
    r.median_seconds
  from (
    select round(avg(w.seconds), 2) as avg_seconds,
           round((percentile_cont(0.5) within group (order by w.seconds))::numeric, 2) as median_seconds
      from (select extract(epoch from f.created_at - q.asked_at) as seconds
              from public.message_authors ma
              join public.messages f on f.id = ma.message_id
              cross join lateral private.first_reply_asked_at(f.chat_id, f.created_at) q(asked_at)
             where ma.operator_id = p_operator_id
               and f.created_at >= p_from and f.created_at < p_to
               and q.asked_at is not null) w
  ) r;
$$;

-- Recomputes and upserts one operator_stats row (operator, day in the business timezone). Internal
-- helper of update_operator_stats and the hourly roll-up (private.rollup_operator_stats).
create function private.upsert_operator_stats(p_operator_id uuid, p_date date)
returns public.operator_stats
language plpgsql
set search_path = ''
as $$
declare
  v_row public.operator_stats;
begin
  insert into public.operator_stats as os
         (operator_id, stat_date, messages_sent, chats_handled, avg_response_seconds, idle_incidents,
          first_reply_seconds)
  select p_operator_id, p_date, s.messages_sent, s.chats_handled, s.avg_response_seconds, s.idle_incidents,
         s.first_reply_seconds
    from private.operator_stats_between(p_operator_id, private.day_start(p_date), private.day_start(p_date + 1)) s
  on conflict (operator_id, stat_date) do update
     set messages_sent = excluded.messages_sent,
         chats_handled = excluded.chats_handled,
         avg_response_seconds = excluded.avg_response_seconds,
         idle_incidents = excluded.idle_incidents,
         first_reply_seconds = excluded.first_reply_seconds
  returning os.* into v_row;
  return v_row;
end;
$$;

-- Refreshes operator_stats for today and yesterday (business timezone) for every operator that had
-- an assignment or wrote a message in that span. Returns the number of rows written. Run hourly by
-- the operator-stats-rollup pg_cron job as postgres.
create function private.rollup_operator_stats()
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_today date;
  v_rows integer := 0;
  v_operator_id uuid;
  v_day date;
begin
  v_today := (now() at time zone coalesce((select s.timezone from public.settings s), 'Africa/Nairobi'))::date;
  for v_operator_id in
    select a.operator_id from public.chat_assignments a
     where a.assigned_at >= private.day_start(v_today - 1)
        or a.released_at >= private.day_start(v_today - 1)
    union
    select ma.operator_id from public.message_authors ma
     where ma.operator_id is not null and ma.created_at >= private.day_start(v_today - 1)
  loop
    foreach v_day in array array[v_today - 1, v_today] loop
      perform private.upsert_operator_stats(v_operator_id, v_day);
      v_rows := v_rows + 1;
    end loop;
  end loop;
  return v_rows;
end;
$$;

revoke all on function private.first_reply_asked_at(uuid, timestamptz), private.operator_stats_between(uuid, timestamptz, timestamptz), private.upsert_operator_stats(uuid, date), private.rollup_operator_stats() from public, anon, authenticated, service_role;

-- Recomputes the operator's operator_stats row for p_date (default: today in the business timezone)
-- and returns it. Callers: an operator for itself, admins and service_role for any operator; an
-- operator for another operator 42501. Unknown operator id: PT404 operator_not_found.
create function api_private.update_operator_stats(p_operator_id uuid, p_date date default null)
returns public.operator_stats
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_tz text;
begin
  perform private.require_acting_for_operator(p_operator_id);
  if not private.is_operator_id(p_operator_id) then
    perform errors.raise_error('operator_not_found');
  end if;
  select s.timezone into v_tz from public.settings s;
  return private.upsert_operator_stats(
    p_operator_id,
    coalesce(p_date, (now() at time zone coalesce(v_tz, 'Africa/Nairobi'))::date));
end;
$$;

-- The operator's performance over the last p_days days (1..366, default 7; today in the business
-- timezone included), computed live from messages and assignments:
--   {"operator_id", "from", "to", "days", "messages_sent", "chats_handled", "avg_response_seconds",
--    "first_reply_seconds", "idle_incidents", "per_day": [{"date", "messages_sent", "chats_handled",
--    "avg_response_seconds", "first_reply_seconds", "idle_incidents"}, ... oldest first, one entry per
--    day]}
-- The top-level numbers are totals over the whole period (avg_response_seconds averaged over every
-- first reply, first_reply_seconds their median; null when none; per day, that day's). Callers as for update_operator_stats (another operator: 42501).
create function api_private.get_operator_performance_stats(p_operator_id uuid, p_days integer default 7)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_tz text;
  v_today date;
  v_from date;
  v_total record;
  v_per_day jsonb;
begin
  perform private.require_acting_for_operator(p_operator_id);
  if not private.is_operator_id(p_operator_id) then
    perform errors.raise_error('operator_not_found');
  end if;
  if p_days is null or p_days < 1 or p_days > 366 then
    perform errors.raise_error('invalid_days', 'p_days must be between 1 and 366.');
  end if;

  select s.timezone into v_tz from public.settings s;
  v_today := (now() at time zone coalesce(v_tz, 'Africa/Nairobi'))::date;
  v_from := v_today - (p_days - 1);

  select * into v_total
    from private.operator_stats_between(p_operator_id, private.day_start(v_from), private.day_start(v_today + 1));

  select jsonb_agg(
           jsonb_build_object(
             'date', d.day,
             'messages_sent', s.messages_sent,
             'chats_handled', s.chats_handled,
             'avg_response_seconds', s.avg_response_seconds,
             'first_reply_seconds', s.first_reply_seconds,
             'idle_incidents', s.idle_incidents)
           order by d.day)
    into v_per_day
    from generate_series(v_from, v_today, interval '1 day') as g(ts)
    cross join lateral (select g.ts::date as day) d
    cross join lateral private.operator_stats_between(
      p_operator_id, private.day_start(d.day), private.day_start(d.day + 1)) s;

  return jsonb_build_object(
    'operator_id', p_operator_id,
    'from', v_from,
    'to', v_today,
    'days', p_days,
    'messages_sent', v_total.messages_sent,
    'chats_handled', v_total.chats_handled,
    'avg_response_seconds', v_total.avg_response_seconds,
    'first_reply_seconds', v_total.first_reply_seconds,
    'idle_incidents', v_total.idle_incidents,
    'per_day', coalesce(v_per_day, '[]'::jsonb));
end;
$$;

-- Recomputes an operator's stats row for a day. See api_private.update_operator_stats.
create function public.update_operator_stats(p_operator_id uuid, p_date date default null)
returns public.operator_stats
language sql
security invoker
set search_path = ''
as $$
  select * from api_private.update_operator_stats(p_operator_id, p_date);
$$;

-- An operator's performance over the last days. See api_private.get_operator_performance_stats.
create function public.get_operator_performance_stats(p_operator_id uuid, p_days integer default 7)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select api_private.get_operator_performance_stats(p_operator_id, p_days);
$$;

revoke all on function api_private.update_operator_stats(uuid, date), api_private.get_operator_performance_stats(uuid, integer), public.update_operator_stats(uuid, date), public.get_operator_performance_stats(uuid, integer) from public, anon, authenticated, service_role;
grant execute on function api_private.update_operator_stats(uuid, date), api_private.get_operator_performance_stats(uuid, integer), public.update_operator_stats(uuid, date), public.get_operator_performance_stats(uuid, integer) to authenticated, service_role;

-- The audit trail and credit adjustments -----------------------------------------------------------

create table public.admin_actions (
  id uuid primary key default gen_random_uuid(),
  admin_id uuid references public.admins (id) on delete set null,
  action text not null check (action in (
    'clear_flag', 'reassign_chat', 'set_operator_active', 'adjust_credits', 'reopen_chat',
    'create_package', 'update_package', 'delete_package', 'create_operator', 'create_admin',
    'set_operator_languages', 'set_profile_language')),
  target_type text not null check (target_type in ('chat', 'operator', 'real_user', 'credit_package', 'admin',
                                                   'fictional_user')),
  target_id uuid not null,
  details jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
comment on table public.admin_actions is
  'Audit trail: one row per admin operation (admin RPCs, credit package changes, staff accounts created '
  'by admin-accounts). Append-only; readable by admins only.';
comment on column public.admin_actions.admin_id is
  'The admin who acted; null when a trusted caller (service_role, a server-side session) did.';
comment on column public.admin_actions.target_id is 'The id of the row acted on, of the kind target_type names.';
comment on column public.admin_actions.details is
  'What changed, per action (for example the previous flag reason, the operators a chat moved between, '
  'a credit delta and the balance after).';

create index idx_admin_actions_admin_created on public.admin_actions (admin_id, created_at);
create index idx_admin_actions_target on public.admin_actions (target_id, created_at);

create table public.credit_adjustments (
  id uuid primary key default gen_random_uuid(),
  real_user_id uuid references public.real_users (id) on delete set null,
  delta integer not null check (delta <> 0),
  reason text not null check (char_length(btrim(reason)) between 1 and 500),
  balance_after integer not null check (balance_after >= 0),
  created_at timestamptz not null default now()
);
comment on table public.credit_adjustments is
  'Credits added or removed by an admin (admin_adjust_credits), with the reason. The user reads its own '
  'history; admins read all. Who made an adjustment is in admin_actions (admins only).';
comment on column public.credit_adjustments.delta is 'Credits added (positive) or removed (negative).';
comment on column public.credit_adjustments.balance_after is 'The user''s balance right after the adjustment.';
comment on column public.credit_adjustments.real_user_id is
  'Whose credits were adjusted; null once the account was deleted (the adjustment stays on the books).';

create index idx_credit_adjustments_user_created on public.credit_adjustments (real_user_id, created_at);

revoke all on table public.admin_actions from anon, authenticated;
grant select on table public.admin_actions to authenticated;
grant select, insert, update, delete on table public.admin_actions to service_role;
alter table public.admin_actions enable row level security;
revoke all on table public.credit_adjustments from anon, authenticated;
grant select on table public.credit_adjustments to authenticated;
grant select, insert, update, delete on table public.credit_adjustments to service_role;
alter table public.credit_adjustments enable row level security;

create policy "admins read admin actions" on public.admin_actions
  for select to authenticated
  using ((select api_private.is_admin()));
create policy "real users read own credit adjustments, admins read all" on public.credit_adjustments
  for select to authenticated
  using (real_user_id = (select auth.uid()) or (select api_private.is_admin()));

-- Raises 42501 forbidden unless the caller is an admin or a trusted caller. Internal helper.
create function private.require_admin()
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

-- Appends the admin_actions row of an operation: the calling admin (null for a trusted caller), the
-- action, its target and details. Internal helper; the caller runs as owner.
create function private.record_admin_action(
  p_action text, p_target_type text, p_target_id uuid, p_details jsonb default '{}'::jsonb
)
returns void
language sql
set search_path = ''
as $$
  insert into public.admin_actions (admin_id, action, target_type, target_id, details)
  values (
    (select a.id from public.admins a where a.id = auth.uid()),
    p_action, p_target_type, p_target_id, coalesce(p_details, '{}'::jsonb));
$$;

revoke all on function private.require_admin(), private.record_admin_action(text, text, uuid, jsonb) from public, anon, authenticated, service_role;

-- Admins manage credit_packages through the Data API (its policies and column grants). Each insert,
-- update or delete leaves an admin_actions row naming the package and what changed. Trigger function
-- only; security definer because admins cannot write admin_actions themselves.
create function private.record_credit_package_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.record_admin_action('create_package', 'credit_package', new.id, to_jsonb(new));
  elsif tg_op = 'UPDATE' then
    perform private.record_admin_action('update_package', 'credit_package', new.id,
      jsonb_build_object('before', to_jsonb(old), 'after', to_jsonb(new)));
  else
    perform private.record_admin_action('delete_package', 'credit_package', old.id, to_jsonb(old));
  end if;
  return null;
end;
$$;

create trigger record_credit_package_change
  after insert or update or delete on public.credit_packages
  for each row execute function private.record_credit_package_change();

revoke all on function private.record_credit_package_change() from public, anon, authenticated, service_role;

-- Admins set the routing languages through the Data API (operators.languages,
-- fictional_users.language; only admins may: guard_operator_update and the profiles' policies). Each
-- change leaves an admin_actions row with the languages before and after. Trigger function only;
-- security definer because admins cannot write admin_actions themselves.
create function private.record_language_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_table_name = 'operators' then
    perform private.record_admin_action('set_operator_languages', 'operator', new.id,
      jsonb_build_object('before', to_jsonb(old.languages), 'after', to_jsonb(new.languages)));
  else
    perform private.record_admin_action('set_profile_language', 'fictional_user', new.id,
      jsonb_build_object('before', old.language, 'after', new.language));
  end if;
  return null;
end;
$$;

create trigger record_language_change
  after update of languages on public.operators
  for each row when (new.languages is distinct from old.languages)
  execute function private.record_language_change();
create trigger record_language_change
  after update of language on public.fictional_users
  for each row when (new.language is distinct from old.language)
  execute function private.record_language_change();

revoke all on function private.record_language_change() from public, anon, authenticated, service_role;

-- The admin RPCs: definer bodies -------------------------------------------------------------------

-- Clears a chat's review flag (flagged_for_review false, flag_reason null); reassignment_count stays
-- as history. Returns true when the chat was flagged. Admins and trusted callers; unknown chat PT404
-- chat_not_found.
create function api_private.admin_clear_flag(p_chat_id uuid)
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
     set flagged_for_review = false, flag_reason = null
   where c.id = p_chat_id and c.flagged_for_review;
  perform private.record_admin_action('clear_flag', 'chat', p_chat_id, jsonb_build_object(
    'was_flagged', v_chat.flagged_for_review,
    'flag_reason', v_chat.flag_reason,
    'reassignment_count', v_chat.reassignment_count));
  return v_chat.flagged_for_review;
end;
$$;

-- Gives a chat whose real user waits for an answer to p_operator_id: the current holder (if any) is
-- released with reason 'admin' (private.release_chat: the chat goes back to 'waiting' in its old
-- place, counts a reassignment and may be flagged), then the chat is assigned to the operator
-- (private.assign_locked_chat). Locks in the order every other writer of a chat uses: the
-- operator's row, then the chat's, then its assignment and activity rows. Returns {"chat_id",
-- "operator_id", "previous_operator_id", "flagged"}. A chat the operator already holds is left as
-- it is. Refusals, all before anything changes: forbidden (not an admin), PT404 chat_not_found /
-- operator_not_found, PT409 chat_not_waiting (idle, closed, or held and answered: it returns to the
-- queue when its user writes), PT409 operator_unavailable (deactivated, busy or offline), PT409
-- at_capacity.
create function api_private.admin_reassign_chat(p_chat_id uuid, p_operator_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_chat public.chats%rowtype;
  v_holder uuid;
  v_operator public.operators%rowtype;
  v_held integer;
  v_flagged boolean := false;
  v_result jsonb;
begin
  perform private.require_admin();

  -- Lock order: the operator's row, then the chat's. The chat is looked up first,
  -- unlocked, only so that an unknown chat is still refused before an unknown operator.
  perform 1 from public.chats c where c.id = p_chat_id;
  if not found then
    perform errors.raise_error('chat_not_found', 'No chat has this id.');
  end if;
  select * into v_operator from public.operators o where o.id = p_operator_id for update;
  if not found then
    perform errors.raise_error('operator_not_found');
  end if;

  select * into v_chat from public.chats c where c.id = p_chat_id for update;
  if not found then
    perform errors.raise_error('chat_not_found', 'No chat has this id.');
  end if;
  select a.operator_id into v_holder
    from public.chat_assignments a
   where a.chat_id = p_chat_id and a.released_at is null;
  if v_chat.status not in ('waiting', 'assigned') or v_chat.queued_at is null then
    perform errors.raise_error('chat_not_waiting',
      format('The chat is %s%s; only a chat whose user waits for an answer is reassigned.',
             v_chat.status, case when v_chat.status = 'assigned' then ' and answered' else '' end));
  end if;

  if v_holder is distinct from p_operator_id then
    if not v_operator.is_active or v_operator.status <> 'available' then
      perform errors.raise_error('operator_unavailable',
        format('The operator is %s; only active, available operators take chats.',
               case when v_operator.is_active then v_operator.status else 'deactivated' end));
    end if;
    -- An operator only ever writes in its languages, whoever hands it the chat.
    if not (v_chat.language = any (v_operator.languages)) then
      perform errors.raise_error('operator_unavailable',
        format('The operator does not write %s, the language of this chat.', v_chat.language));
    end if;
    select count(*) into v_held
      from public.chat_assignments a
     where a.operator_id = p_operator_id and a.released_at is null;
    if v_held >= v_operator.max_concurrent_chats then
      perform errors.raise_error('at_capacity',
        format('The operator already holds %s of %s chats.', v_held, v_operator.max_concurrent_chats));
    end if;

    if v_holder is not null then
      v_flagged := coalesce(private.release_chat(p_chat_id, 'admin'), false);
    end if;
    perform private.assign_locked_chat(p_chat_id, p_operator_id);
  end if;

  v_result := jsonb_build_object(
    'chat_id', p_chat_id,
    'operator_id', p_operator_id,
    'previous_operator_id', v_holder,
    'flagged', v_flagged);
  perform private.record_admin_action('reassign_chat', 'chat', p_chat_id,
    v_result || jsonb_build_object('unchanged', v_holder is not distinct from p_operator_id));
  return v_result;
end;
$$;

-- Activates or suspends an operator. Suspension (p_active false) goes through the triggers on
-- operators.is_active: every chat the operator holds is released with reason 'admin' (back to the
-- queue in its old place, or idle) and the operator becomes 'offline'. Reactivation leaves it
-- offline until it sets itself available. Returns {"operator_id", "is_active", "status",
-- "released"}. Refusals: forbidden, PT404 operator_not_found, PT400 invalid_argument (p_active null).
create function api_private.admin_set_operator_active(p_operator_id uuid, p_active boolean)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_operator public.operators%rowtype;
  v_held integer;
  v_result jsonb;
begin
  perform private.require_admin();
  if p_active is null then
    perform errors.raise_error('invalid_argument', 'p_active must be true or false.');
  end if;
  select * into v_operator from public.operators o where o.id = p_operator_id for update;
  if not found then
    perform errors.raise_error('operator_not_found');
  end if;
  select count(*) into v_held
    from public.chat_assignments a
   where a.operator_id = p_operator_id and a.released_at is null;

  update public.operators o set is_active = p_active where o.id = p_operator_id
  returning jsonb_build_object(
    'operator_id', o.id,
    'is_active', o.is_active,
    'status', o.status,
    'released', case when v_operator.is_active and not p_active then v_held else 0 end)
  into v_result;

  perform private.record_admin_action('set_operator_active', 'operator', p_operator_id,
    v_result || jsonb_build_object('was_active', v_operator.is_active));
  return v_result;
end;
$$;

-- Adds (p_delta > 0) or removes (p_delta < 0) credits of a real user, with a reason (required), and
-- records it in credit_adjustments. The balance never goes below 0. Returns {"adjustment_id",
-- "real_user_id", "delta", "balance"}. Refusals: forbidden, PT400 reason_required, PT400
-- invalid_argument (delta null or 0), PT404 real_user_not_found, PT409
-- insufficient_credits_to_remove.
create function api_private.admin_adjust_credits(p_user_id uuid, p_delta integer, p_reason text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_credits integer;
  v_adjustment_id uuid;
  v_result jsonb;
begin
  perform private.require_admin();
  if p_reason is null or btrim(p_reason) = '' then
    perform errors.raise_error('reason_required', 'Say why the credits are adjusted (p_reason).');
  end if;
  if p_delta is null or p_delta = 0 then
    perform errors.raise_error('invalid_argument', 'p_delta must be a non-zero number of credits.');
  end if;
  if char_length(btrim(p_reason)) > 500 then
    perform errors.raise_error('invalid_argument', 'p_reason must be at most 500 characters.');
  end if;

  -- Lock order: the real user's row first; message charging takes the same lock.
  select r.credits into v_credits from public.real_users r where r.id = p_user_id for update;
  if not found then
    perform errors.raise_error('real_user_not_found');
  end if;
  if v_credits + p_delta < 0 then
    perform errors.raise_error('insufficient_credits_to_remove',
      format('The user has %s credits; %s cannot be removed.', v_credits, -p_delta));
  end if;

  update public.real_users r set credits = r.credits + p_delta where r.id = p_user_id;
  insert into public.credit_adjustments (real_user_id, delta, reason, balance_after)
  values (p_user_id, p_delta, btrim(p_reason), v_credits + p_delta)
  returning id into v_adjustment_id;

  v_result := jsonb_build_object(
    'adjustment_id', v_adjustment_id,
    'real_user_id', p_user_id,
    'delta', p_delta,
    'balance', v_credits + p_delta);
  perform private.record_admin_action('adjust_credits', 'real_user', p_user_id,
    v_result || jsonb_build_object('reason', btrim(p_reason), 'balance_before', v_credits));
  return v_result;
end;
$$;

-- The admin dashboard, as jsonb:
--   queue_length          waiting chats
--   oldest_wait_seconds   whole seconds the oldest waiting chat has waited (by queued_at); null when
--                         nothing waits
--   waiting_over_max      chats whose real user has waited for a reply longer than settings.max_wait
--                         (waiting, or assigned and still unanswered: queued_at older than that)
--   operators_by_status   active operators by status: {"available": n, "busy": n, "offline": n}
--   assigned_chats        chats held now
--   flagged_chats         chats flagged for review
--   revenue_today         paid purchases of today (paid_at), in subunits by currency: {"KES": 45000}
--                         (refunded purchases are left out)
--   credits_sold_today    credits (bonus included) of those purchases
--   credits_spent_today   credits charged for messages written today
--   idle_incidents_today  assignments released with idle_timeout today
--   p95_first_reply_seconds_today  95th percentile of the seconds real users waited for a first reply
--                         (private.first_reply_asked_at), over today's replies; null when none
--   last_sweep_at         the last successful idle sweep (sweeper_status.last_success_at)
--   business_day, timezone  the day these figures are for, in settings.timezone
-- "Today" is the business day in settings.timezone (private.day_start). Admins and trusted
-- callers; anyone else 42501 forbidden. Records nothing: it changes nothing.
create function api_private.get_admin_dashboard()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_tz text;
  v_today date;
  v_from timestamptz;
  v_to timestamptz;
  v_max_wait interval;
begin
  perform private.require_admin();
  select s.timezone, s.max_wait into v_tz, v_max_wait from public.settings s;
  v_tz := coalesce(v_tz, 'Africa/Nairobi');
  v_today := (now() at time zone v_tz)::date;
  v_from := private.day_start(v_today);
  v_to := private.day_start(v_today + 1);

  return jsonb_build_object(
    'queue_length', (select count(*) from public.chats c where c.status = 'waiting'),
    'oldest_wait_seconds', (
      select floor(extract(epoch from now() - min(c.queued_at)))::bigint
        from public.chats c where c.status = 'waiting'),
    'waiting_over_max', (
      select count(*) from public.chats c
       where c.status in ('waiting', 'assigned') and c.queued_at < now() - v_max_wait),
    'operators_by_status', (
      select jsonb_build_object(
               'available', count(*) filter (where o.status = 'available'),
               'busy', count(*) filter (where o.status = 'busy'),
               'offline', count(*) filter (where o.status = 'offline'))
        from public.operators o where o.is_active),
    'assigned_chats', (select count(*) from public.chats c where c.status = 'assigned'),
    'flagged_chats', (select count(*) from public.chats c where c.flagged_for_review),
    'revenue_today', (
      select coalesce(jsonb_object_agg(r.currency, r.amount), '{}'::jsonb)
        from (select t.currency, sum(t.amount)::bigint as amount
                from public.transactions t
               where t.status = 'success' and t.paid_at >= v_from and t.paid_at < v_to
               group by t.currency) r),
    'credits_sold_today', (
      select coalesce(sum(t.credits), 0)::bigint
        from public.transactions t
       where t.status = 'success' and t.paid_at >= v_from and t.paid_at < v_to),
    'credits_spent_today', (
      select coalesce(sum(m.credits_charged), 0)::bigint
        from public.messages m
       where m.credits_charged > 0 and m.created_at >= v_from and m.created_at < v_to),
    'idle_incidents_today', (
      select count(*)
        from public.chat_assignments a
       where a.release_reason = 'idle_timeout' and a.released_at >= v_from and a.released_at < v_to),
    'p95_first_reply_seconds_today', (
      select round((percentile_cont(0.95) within group (
               order by extract(epoch from f.created_at - q.asked_at)))::numeric, 2)
        from public.messages f
        cross join lateral private.first_reply_asked_at(f.chat_id, f.created_at) q(asked_at)
       where f.sender_type = 'fictional' and f.created_at >= v_from and f.created_at < v_to
         and q.asked_at is not null),
    'last_sweep_at', (select s.last_success_at from public.sweeper_status s),
    'business_day', v_today,
    'timezone', v_tz);
end;
$$;

-- Reopens (closed -> idle, history kept, closing stamps cleared) a closed chat, whoever closed it:
-- the way back from a moderation close. Returns true when this call reopened it, false when the chat
-- was open. Leaves an admin_actions row. Admins and service_role; anyone else 42501 forbidden;
-- unknown chat PT404 chat_not_found.
create function api_private.admin_reopen_chat(p_chat_id uuid)
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

-- The admin RPCs: what clients call (security invoker wrappers) ------------------------------------

-- Clears a chat's review flag. See api_private.admin_clear_flag. Admins and service_role.
create function public.admin_clear_flag(p_chat_id uuid)
returns boolean
language sql
security invoker
set search_path = ''
as $$
  select api_private.admin_clear_flag(p_chat_id);
$$;

-- Releases a chat from its holder (reason admin) and assigns it to p_operator_id. See
-- api_private.admin_reassign_chat. Admins and service_role.
create function public.admin_reassign_chat(p_chat_id uuid, p_operator_id uuid)
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select api_private.admin_reassign_chat(p_chat_id, p_operator_id);
$$;

-- Activates or suspends an operator. See api_private.admin_set_operator_active. Admins and service_role.
-- p_active defaults to null so that a call without it is refused with invalid_argument, not PGRST202.
create function public.admin_set_operator_active(p_operator_id uuid, p_active boolean default null)
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select api_private.admin_set_operator_active(p_operator_id, p_active);
$$;

-- Adds or removes a real user's credits, with a reason. See api_private.admin_adjust_credits. Admins
-- and service_role. p_reason defaults to null so that a call without it reaches the function and is
-- refused with reason_required (PostgREST would otherwise answer 404 PGRST202: no such function).
create function public.admin_adjust_credits(p_user_id uuid, p_delta integer, p_reason text default null)
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select api_private.admin_adjust_credits(p_user_id, p_delta, p_reason);
$$;

-- The admin dashboard. See api_private.get_admin_dashboard. Admins and service_role.
create function public.get_admin_dashboard()
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select api_private.get_admin_dashboard();
$$;

-- Reopens a closed chat. See api_private.admin_reopen_chat. Admins and service_role.
create function public.admin_reopen_chat(p_chat_id uuid)
returns boolean
language sql
security invoker
set search_path = ''
as $$
  select api_private.admin_reopen_chat(p_chat_id);
$$;

-- The bodies and their wrappers are executable by every API role: each body answers anyone but an
-- admin or service_role with 42501 forbidden (SPEC 11), anon included.

revoke all on function api_private.admin_clear_flag(uuid), api_private.admin_reassign_chat(uuid, uuid), api_private.admin_set_operator_active(uuid, boolean), api_private.admin_adjust_credits(uuid, integer, text), api_private.admin_reopen_chat(uuid), api_private.get_admin_dashboard(), public.admin_clear_flag(uuid), public.admin_reassign_chat(uuid, uuid), public.admin_set_operator_active(uuid, boolean), public.admin_adjust_credits(uuid, integer, text), public.admin_reopen_chat(uuid), public.get_admin_dashboard() from public, anon, authenticated, service_role;
grant execute on function api_private.admin_clear_flag(uuid), api_private.admin_reassign_chat(uuid, uuid), api_private.admin_set_operator_active(uuid, boolean), api_private.admin_adjust_credits(uuid, integer, text), api_private.admin_reopen_chat(uuid), api_private.get_admin_dashboard(), public.admin_clear_flag(uuid), public.admin_reassign_chat(uuid, uuid), public.admin_set_operator_active(uuid, boolean), public.admin_adjust_credits(uuid, integer, text), public.admin_reopen_chat(uuid), public.get_admin_dashboard() to anon, authenticated, service_role;

-- Presence -----------------------------------------------------------------------------------------

-- Setting status 'available' is a sign of life: operators.last_activity_at = now(). Trigger
-- function only (runs as the caller; the column is not client-writable, a trigger may still set it).
create function private.touch_available_operator()
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
-- releases with 'admin'; an admin who edits an operator's status releases nothing: it suspends the
-- operator or reassigns its chats instead). Chat rows are locked in id order after the operator row,
-- as deactivation does. Trigger function only; security definer because the operator's own update
-- cannot end assignments.
create function private.release_chats_of_offline_operator()
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

revoke all on function private.touch_available_operator(), private.release_chats_of_offline_operator() from public, anon, authenticated, service_role;

create trigger touch_available_operator
  before update of status on public.operators
  for each row when (new.status = 'available')
  execute function private.touch_available_operator();

create trigger release_chats_of_offline_operator
  after update of status on public.operators
  for each row when (old.status <> 'offline' and new.status = 'offline' and old.is_active = new.is_active)
  execute function private.release_chats_of_offline_operator();

-- Moderation ---------------------------------------------------------------------------------------

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

revoke all on table public.chat_closures from anon, authenticated;
grant select on table public.chat_closures to authenticated;
grant select, insert, update, delete on table public.chat_closures to service_role;
alter table public.chat_closures enable row level security;

create policy "admins read chat closures" on public.chat_closures
  for select to authenticated
  using ((select api_private.is_admin()));

-- Appends the chat_closures row of a close (status becomes closed, or a closed chat's close_reason
-- changes) or a reopen (closed -> idle). Trigger function only; security definer because no API role
-- writes chat_closures.
create function private.record_chat_closure()
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

create trigger record_chat_closure
  after update of status, close_reason on public.chats
  for each row
  when ((old.status = 'closed') <> (new.status = 'closed')
        or (new.status = 'closed' and old.close_reason is distinct from new.close_reason))
  execute function private.record_chat_closure();

revoke all on function private.record_chat_closure() from public, anon, authenticated, service_role;
