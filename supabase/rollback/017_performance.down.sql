-- Undoes 017_performance.sql: drops public.assign_next_chat and its api_private body;
-- api_private.get_available_fictional_profiles gets its 016 body back and api_private.sweep_idle_chats
-- its 014 body (grants unchanged: create or replace keeps them).

begin;

drop function public.assign_next_chat();
drop function api_private.assign_next_chat();

-- 016's get_available_fictional_profiles, as 016 wrote it.

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

-- 014's sweep_idle_chats, as 014 wrote it.

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


commit;
