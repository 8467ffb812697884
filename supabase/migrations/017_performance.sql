-- Performance (issue 10; SPEC 13; bench/README.md): the same contracts, fewer round trips and
-- statements.
--
--   * public.assign_next_chat(): the calling operator takes the oldest waiting chat and gets its
--     get_chat_with_details in the same transaction, {"chat": <details> | null}. assign-chat answers
--     with one RPC: no failure between two transactions can leave an operator holding a chat it
--     never learnt about. assign_chat_to_operator and get_chat_with_details stay as they are.
--   * get_available_fictional_profiles reads the caller's looking_for first and compares it with
--     fictional_users.gender as a value, so idx_fictional_active_gender (002: gender, is_featured
--     desc, name, id where is_active) returns the page in order instead of a scan and sort of every
--     active profile; is_favorite is a primary-key probe of favorites per returned row (a scalar
--     subquery: an exists could be planned as a hashed subplan reading all the user's favourites).
--     Same rows, same order.
--   * sweep_idle_chats releases the idle assignments set-based: the idle chats are locked as before
--     (FOR UPDATE SKIP LOCKED, oldest activity first), then rechecked and released in one update of
--     their open assignments, one delete of their activity rows and one update of the chats, with
--     private.release_chat's rules for an idle_timeout release (every one counts; the third, and each
--     one after an admin cleared the flag, flags). The silent operators' part is unchanged.
--
-- Security model as in 016: a security invoker wrapper in public over a security definer body in
-- api_private. Refusals come from the functions it calls, through errors.raise_error (005).

-- One round trip for the operator console -------------------------------------------------------------

-- Assigns the oldest waiting chat to the caller (api_private.assign_chat_to_operator, 008) and
-- returns {"chat": get_chat_with_details(chat)} (004), or {"chat": null} when no chat waits, in one
-- transaction. Refuses as assign_chat_to_operator does for the caller itself: PT403 not_operator
-- (not an operator: real users, admins, service_role), PT409 operator_unavailable (deactivated, busy
-- or offline), PT409 at_capacity. Callers: operators (authenticated).
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

-- Takes the oldest waiting chat and returns its details. See api_private.assign_next_chat (017).
create function public.assign_next_chat()
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select api_private.assign_next_chat();
$$;

revoke all on function api_private.assign_next_chat(), public.assign_next_chat()
  from public, anon, authenticated, service_role;
grant execute on function api_private.assign_next_chat(), public.assign_next_chat() to authenticated;

-- Discovery in index order ----------------------------------------------------------------------------

-- Active profiles of the user's looking_for gender with is_favorite, as in 004 (see there). A real
-- user for itself; admins and service_role for anyone. The gender is read first, so the page comes
-- from idx_fictional_active_gender in order (017).
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
  v_looking_for text;
begin
  if not (private.is_trusted_caller() or api_private.is_admin()) and v_user_id is distinct from auth.uid() then
    perform errors.raise_error('forbidden',
      'A user may list profiles only for itself.');
  end if;

  -- Not a real user (or looking for nothing): no profiles, as the join of 004 gave.
  select r.looking_for into v_looking_for from public.real_users r where r.id = v_user_id;
  if v_looking_for is null then
    return;
  end if;

  return query
    select f.id, f.name, f.age, f.gender, f.bio, f.avatar_url, f.interests, f.is_featured, f.created_at,
           -- a scalar subquery (never hashed): one favorites primary-key probe per returned row,
           -- where exists (...) could become a hashed subplan reading all the user's favourites
           coalesce((
             select true from public.favorites fav
              where fav.real_user_id = v_user_id and fav.fictional_user_id = f.id
           ), false) as is_favorite
      from public.fictional_users f
     where f.is_active and f.gender = v_looking_for
     order by f.is_featured desc, f.name, f.id
     limit least(greatest(coalesce(p_limit, 20), 1), 100)
    offset greatest(coalesce(p_offset, 0), 0);
end;
$$;

-- A set-based idle sweep -------------------------------------------------------------------------------

-- The idle sweep, as in 014 (see there): releases with reason idle_timeout every assignment whose
-- holder's last activity in it is older than settings.idle_timeout, then sets 'offline' every active,
-- available operator with no sign of life for settings.presence_timeout, releasing what it still
-- holds with idle_timeout first. The idle chats are locked FOR UPDATE SKIP LOCKED (oldest activity
-- first), then rechecked and released by a few statements for all of them (017) instead of one
-- private.release_chat each; an idle_timeout release always counts in reassignment_count and flags
-- as private.release_chat does. Returns {"released": n, "flagged": m}. Callers: service_role (the
-- idle-sweeper Edge Function) and postgres; anyone else 42501.
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

  -- Idle assignments: lock their chats (another sweep's or a writer's are skipped).
  select coalesce(array_agg(l.id), '{}') into v_chats
    from (select c.id
            from public.operator_activity oa
            join public.chats c on c.id = oa.chat_id
           where oa.last_activity_at < v_cutoff
           order by oa.last_activity_at
             for update of c skip locked) l;

  if cardinality(v_chats) > 0 then
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
  end if;

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

-- The functions replaced here keep their grants (create or replace keeps them).
