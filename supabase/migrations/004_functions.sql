-- Fantooo: the business functions of the seed that read and account (docs/rules.md): who the
-- caller is, profile discovery, operator statistics and the operator console's view of a chat.
-- The chat queue itself (assign_chat_to_operator, release_and_reassign_chat) and every other change
-- of a chat's status live in 008_chat_lifecycle.sql.
--
-- These functions run as security definer (owner postgres) with an empty search_path and check the
-- caller themselves:
--   * a caller acts only for itself (auth.uid());
--   * admins (public.is_admin()) and trusted callers act for anyone. Trusted = a service_role JWT, or
--     a direct database session with no JWT claims at all (the postgres role: pg_cron jobs, the Edge
--     Functions' SUPABASE_DB_URL, pgTAP). See private.is_trusted_caller().
--
-- Refusals go through errors.raise_error (005_error_catalogue.sql; docs/errors.md lists every code):
-- not_operator, forbidden (42501, acting for someone else), operator_not_found, invalid_days,
-- chat_not_held, chat_not_found.

-- Caller identity ---------------------------------------------------------------------------------

-- True for trusted callers: a service_role JWT, or a direct database session that carries no JWT
-- claims and has not switched to an API role (postgres itself: cron jobs, server-side connections,
-- tests). Any request through the Data API carries claims, so it is trusted only with the service
-- role key. Internal helper for the functions below.
create or replace function private.is_trusted_caller()
returns boolean
language sql
stable
set search_path = ''
as $$
  select coalesce(auth.role() = 'service_role', false)
      or (
        auth.jwt() is null
        and current_setting('role') in ('none', 'postgres', 'service_role')
        and session_user::text <> 'authenticator'
      );
$$;

-- True when p_user_id is a row of public.operators (active or not). Internal helper.
create or replace function private.is_operator_id(p_user_id uuid)
returns boolean
language sql
stable
set search_path = ''
as $$
  select p_user_id is not null and exists (select 1 from public.operators o where o.id = p_user_id);
$$;

-- Raises 42501 unless the caller may act for p_operator_id: itself, an admin, or a trusted caller.
-- Raises PT403 not_operator when a non-admin, non-trusted caller is not an operator at all.
-- Internal helper.
create or replace function private.require_acting_for_operator(p_operator_id uuid)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if private.is_trusted_caller() or public.is_admin() then
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

-- Discovery -----------------------------------------------------------------------------------------

-- Active fictional profiles of the user's looking_for gender, with is_favorite for that user, in a
-- stable order (featured first, then name, then id: idx_fictional_active_gender), paged by p_limit
-- (1..100, default 20) and p_offset. Never returns personality guidelines. Callers: a real user for
-- itself (p_user_id defaults to the caller); admins and service_role for anyone; anyone else 42501.
-- An unknown user id yields no rows.
create or replace function public.get_available_fictional_profiles(
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
  if not (private.is_trusted_caller() or public.is_admin()) and v_user_id is distinct from auth.uid() then
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

-- Operator statistics ---------------------------------------------------------------------------------

-- Start of a calendar day in the business timezone (settings.timezone, 006; Africa/Nairobi by
-- default). Internal helper.
create or replace function private.day_start(p_date date)
returns timestamptz
language plpgsql
stable
set search_path = ''
as $$
declare
  v_tz text;
begin
  select s.timezone into v_tz from public.settings s;
  return p_date::timestamp at time zone coalesce(v_tz, 'Africa/Nairobi');
end;
$$;

-- An operator's numbers over [p_from, p_to): fictional messages it wrote, distinct chats assigned to
-- it, the average seconds from a real-user message to its answer (for each of its replies, measured
-- from the oldest real message since the previous fictional message; null without replies), and idle
-- incidents (its assignments released with idle_timeout). Internal helper.
create or replace function private.operator_stats_between(p_operator_id uuid, p_from timestamptz, p_to timestamptz)
returns table (messages_sent integer, chats_handled integer, avg_response_seconds numeric, idle_incidents integer)
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
    (select round(avg(extract(epoch from f.created_at - q.asked_at)), 2)
       from public.message_authors ma
       join public.messages f on f.id = ma.message_id
       cross join lateral (
         select min(r.created_at) as asked_at
           from public.messages r
          where r.chat_id = f.chat_id
            and r.sender_type = 'real'
            and r.created_at <= f.created_at
            and r.created_at > coalesce(
                  (select max(p.created_at) from public.messages p
                    where p.chat_id = f.chat_id and p.sender_type = 'fictional' and p.created_at < f.created_at),
                  '-infinity')
       ) q
      where ma.operator_id = p_operator_id
        and f.created_at >= p_from and f.created_at < p_to
        and q.asked_at is not null),
    (select count(*)::integer
       from public.chat_assignments a
      where a.operator_id = p_operator_id and a.release_reason = 'idle_timeout'
        and a.released_at >= p_from and a.released_at < p_to);
$$;

-- Recomputes and upserts one operator_stats row (operator, day in the business timezone). Internal
-- helper for update_operator_stats and the hourly roll-up (011).
create or replace function private.upsert_operator_stats(p_operator_id uuid, p_date date)
returns public.operator_stats
language plpgsql
set search_path = ''
as $$
declare
  v_row public.operator_stats;
begin
  insert into public.operator_stats as os
         (operator_id, stat_date, messages_sent, chats_handled, avg_response_seconds, idle_incidents)
  select p_operator_id, p_date, s.messages_sent, s.chats_handled, s.avg_response_seconds, s.idle_incidents
    from private.operator_stats_between(p_operator_id, private.day_start(p_date), private.day_start(p_date + 1)) s
  on conflict (operator_id, stat_date) do update
     set messages_sent = excluded.messages_sent,
         chats_handled = excluded.chats_handled,
         avg_response_seconds = excluded.avg_response_seconds,
         idle_incidents = excluded.idle_incidents
  returning os.* into v_row;
  return v_row;
end;
$$;

-- Recomputes the operator's operator_stats row for p_date (default: today in the business timezone)
-- and returns it. Callers: an operator for itself, admins and service_role for any operator; an
-- operator for another operator 42501. Unknown operator id: PT404 operator_not_found.
create or replace function public.update_operator_stats(p_operator_id uuid, p_date date default null)
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
--    "idle_incidents", "per_day": [{"date", "messages_sent", "chats_handled", "avg_response_seconds",
--    "idle_incidents"}, ... oldest first, one entry per day]}
-- The top-level numbers are totals over the whole period (avg_response_seconds averaged over every
-- reply, null when none). Callers as for update_operator_stats (another operator: 42501).
create or replace function public.get_operator_performance_stats(p_operator_id uuid, p_days integer default 7)
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
    'idle_incidents', v_total.idle_incidents,
    'per_day', coalesce(v_per_day, '[]'::jsonb));
end;
$$;

-- Console view of a chat -------------------------------------------------------------------------------

-- The operator console's view of one chat (docs/rules.md), as jsonb: the chat's own fields at the top
-- level (id, status, queued_at, last_message_at, message_count, reassignment_count,
-- flagged_for_review, plus flag_reason, created_at, closed_at, close_reason), "assignment" (the
-- current holder: operator_id, assigned_at, last_activity_at; null when nobody holds it),
-- "real_user" (id, display_name, age, gender, bio, avatar_url), "fictional_user" (id, name, age,
-- gender, bio, avatar_url, interests, personality_guidelines) and "messages" (the newest 50, oldest
-- first: id, sender_type, content, created_at). Callers: the operator holding the chat (another
-- operator: PT404 chat_not_held), admins and service_role (unknown chat: PT404 chat_not_found);
-- anyone else PT403 not_operator.
create or replace function public.get_chat_with_details(p_chat_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_result jsonb;
begin
  if not (private.is_trusted_caller() or public.is_admin()) then
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

-- Operator activity -----------------------------------------------------------------------------------

-- An operator's sign of life in a chat it holds: refreshes operator_activity.last_activity_at (which
-- keeps the idle sweep away) and operators.last_activity_at; returns the new time. Errors: not_operator,
-- chat_not_held. Callers: operators (the assign-chat/heartbeat route).
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
    perform errors.raise_error('not_operator', 'Only operators send heartbeats.');
  end if;
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

-- Privileges ------------------------------------------------------------------------------------------

revoke all on function
  private.is_trusted_caller(),
  private.is_operator_id(uuid),
  private.require_acting_for_operator(uuid),
  private.day_start(date),
  private.operator_stats_between(uuid, timestamptz, timestamptz),
  private.upsert_operator_stats(uuid, date)
from public, anon, authenticated, service_role;

revoke execute on function
  public.get_available_fictional_profiles(uuid, integer, integer),
  public.update_operator_stats(uuid, date),
  public.get_operator_performance_stats(uuid, integer),
  public.get_chat_with_details(uuid)
from public, anon, authenticated, service_role;

grant execute on function
  public.get_available_fictional_profiles(uuid, integer, integer),
  public.update_operator_stats(uuid, date),
  public.get_operator_performance_stats(uuid, integer),
  public.get_chat_with_details(uuid)
to authenticated, service_role;

revoke execute on function public.operator_heartbeat(uuid) from public, anon, authenticated, service_role;
grant execute on function public.operator_heartbeat(uuid) to authenticated;
