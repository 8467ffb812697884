-- Fantooo: the chat-queue business functions of the seed (SPEC sections 3, 6 and 9).
--
-- Who holds a chat is the open chat_assignments row (001); these functions are the only writers of
-- chat_assignments, operator_activity and the lifecycle columns of chats. They run as security
-- definer (owner postgres) with an empty search_path and check the caller themselves:
--   * a caller acts only for itself (auth.uid());
--   * admins (public.is_admin()) and trusted callers act for anyone. Trusted = a service_role JWT, or
--     a direct database session with no JWT claims at all (the postgres role: pg_cron jobs, the Edge
--     Functions' SUPABASE_DB_URL, pgTAP). See private.is_trusted_caller().
--
-- Error contract (PostgREST turns SQLSTATE PTxyz into HTTP status xyz; the message is the
-- snake_case code clients switch on, the detail is human text):
--   PT403 not_operator          the caller (or the operator named by an admin) is not an operator
--   PT409 operator_unavailable  the operator is deactivated or its status is not 'available'
--   PT409 at_capacity           the operator already holds max_concurrent_chats chats
--   PT404 chat_not_held         the caller does not hold the chat (or nobody holds it)
--   PT404 chat_not_found        no such chat (or not one the caller may see)
--   PT404 operator_not_found    stats asked for an id that is not an operator (admins/service only)
--   42501 forbidden             acting for someone else / a release reason the caller may not use
--   22023 invalid_release_reason, invalid_days
-- 006 adds PT402 insufficient_credits (message charging).

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
    raise exception using errcode = 'PT403', message = 'not_operator',
      detail = 'Only operators (or admins) may do this.';
  end if;
  if p_operator_id is distinct from auth.uid() then
    raise exception using errcode = '42501', message = 'forbidden',
      detail = 'An operator may act only for itself.';
  end if;
end;
$$;

-- Ends the open assignment of a chat and puts the chat back in the queue: 'waiting' (keeping
-- queued_at, i.e. its place) when the real user's last message is unanswered (queued_at is set),
-- else 'idle'. Releases other than 'completed' count in reassignment_count; the third one flags the
-- chat for review (it stays assignable). The caller must already hold the chat row lock
-- (select ... for update), which is what serialises releases, closes and sweeps of one chat.
-- Returns null when nothing was held, false when released, true when released and newly flagged.
-- Internal helper for release_and_reassign_chat and the idle sweep (007).
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
  v_flag := not v_chat.flagged_for_review and v_count >= 3;

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

-- Chat queue ----------------------------------------------------------------------------------------

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
    raise exception using errcode = 'PT403', message = 'not_operator',
      detail = 'No operator has this id.';
  end if;
  if not v_operator.is_active or v_operator.status <> 'available' then
    raise exception using errcode = 'PT409', message = 'operator_unavailable',
      detail = format('The operator is %s; only active, available operators take chats.',
                      case when v_operator.is_active then v_operator.status else 'deactivated' end);
  end if;

  select count(*) into v_held
    from public.chat_assignments a
   where a.operator_id = v_operator_id and a.released_at is null;
  if v_held >= v_operator.max_concurrent_chats then
    raise exception using errcode = 'PT409', message = 'at_capacity',
      detail = format('The operator already holds %s of %s chats.', v_held, v_operator.max_concurrent_chats);
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
-- Reasons and who may use them (SPEC section 9):
--   completed, operator_offline  the operator holding the chat (else PT404 chat_not_held)
--   admin                        admins (else 42501)
--   idle_timeout                 service_role / the idle sweep only (else 42501)
-- Trusted callers may use any reason. Any other reason: 22023 invalid_release_reason. A chat nobody
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
    raise exception using errcode = '22023', message = 'invalid_release_reason',
      detail = 'reason must be completed, idle_timeout, operator_offline or admin.';
  end if;
  if not v_trusted then
    if p_reason = 'idle_timeout' then
      raise exception using errcode = '42501', message = 'forbidden',
        detail = 'idle_timeout releases come only from the idle sweep.';
    elsif p_reason = 'admin' and not public.is_admin() then
      raise exception using errcode = '42501', message = 'forbidden',
        detail = 'Only admins release with reason admin.';
    elsif p_reason in ('completed', 'operator_offline') and not private.is_operator_id(auth.uid()) then
      raise exception using errcode = 'PT403', message = 'not_operator',
        detail = 'Only the operator holding a chat releases it with this reason.';
    end if;
  end if;

  -- Lock the chat first: every writer of a chat's lifecycle takes this lock before the assignment.
  perform 1 from public.chats c where c.id = p_chat_id for update;

  select a.operator_id into v_holder
    from public.chat_assignments a
   where a.chat_id = p_chat_id and a.released_at is null;
  if v_holder is null
     or (not v_trusted and p_reason in ('completed', 'operator_offline') and v_holder <> auth.uid()) then
    raise exception using errcode = 'PT404', message = 'chat_not_held',
      detail = 'The caller does not hold this chat.';
  end if;

  perform private.release_chat(p_chat_id, p_reason);
  return true;
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
    raise exception using errcode = '42501', message = 'forbidden',
      detail = 'A user may list profiles only for itself.';
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

-- Start of a calendar day in the business timezone (settings.timezone, 005; Africa/Nairobi by
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
-- helper for update_operator_stats and the hourly roll-up (010).
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
    raise exception using errcode = 'PT404', message = 'operator_not_found', detail = 'No operator has this id.';
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
    raise exception using errcode = 'PT404', message = 'operator_not_found', detail = 'No operator has this id.';
  end if;
  if p_days is null or p_days < 1 or p_days > 366 then
    raise exception using errcode = '22023', message = 'invalid_days', detail = 'p_days must be between 1 and 366.';
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

-- The operator console's view of one chat (SPEC section 9), as jsonb: the chat's own fields at the top
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
      raise exception using errcode = 'PT403', message = 'not_operator',
        detail = 'Only operators and admins read chat details.';
    end if;
    if not exists (
      select 1 from public.chat_assignments a
       where a.chat_id = p_chat_id and a.operator_id = auth.uid() and a.released_at is null
    ) then
      raise exception using errcode = 'PT404', message = 'chat_not_held',
        detail = 'The caller does not hold this chat.';
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
    raise exception using errcode = 'PT404', message = 'chat_not_found', detail = 'No chat has this id.';
  end if;
  return v_result;
end;
$$;

-- Privileges ------------------------------------------------------------------------------------------

revoke all on function
  private.is_trusted_caller(),
  private.is_operator_id(uuid),
  private.require_acting_for_operator(uuid),
  private.release_chat(uuid, text),
  private.day_start(date),
  private.operator_stats_between(uuid, timestamptz, timestamptz),
  private.upsert_operator_stats(uuid, date)
from public, anon, authenticated, service_role;

revoke execute on function
  public.assign_chat_to_operator(uuid),
  public.release_and_reassign_chat(uuid, text),
  public.get_available_fictional_profiles(uuid, integer, integer),
  public.update_operator_stats(uuid, date),
  public.get_operator_performance_stats(uuid, integer),
  public.get_chat_with_details(uuid)
from public, anon, authenticated, service_role;

grant execute on function
  public.assign_chat_to_operator(uuid),
  public.release_and_reassign_chat(uuid, text),
  public.get_available_fictional_profiles(uuid, integer, integer),
  public.update_operator_stats(uuid, date),
  public.get_operator_performance_stats(uuid, integer),
  public.get_chat_with_details(uuid)
to authenticated, service_role;
