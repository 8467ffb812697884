-- Undoes 014_presence_and_moderation.sql: puts back 008's bodies of public.sweep_idle_chats,
-- public.close_chat and public.start_chat (security definer in public, as 008 made them; their
-- grants never changed), drops admin_reopen_chat, the api_private bodies, the presence and
-- moderation triggers and their functions, public.chat_closures (its rows, policy and grants go with
-- it), settings.presence_timeout (its column grant goes with it) and the catalogue row it added.

begin;

-- 008's bodies, verbatim ------------------------------------------------------------------------------

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

drop function public.admin_reopen_chat(uuid);
drop function api_private.admin_reopen_chat(uuid);
drop function api_private.start_chat(uuid);
drop function api_private.close_chat(uuid);
drop function api_private.sweep_idle_chats();

-- Moderation -------------------------------------------------------------------------------------------

drop trigger record_chat_closure on public.chats;
drop function private.record_chat_closure();
drop table public.chat_closures;

-- Presence ---------------------------------------------------------------------------------------------

drop trigger release_chats_of_offline_operator on public.operators;
drop trigger touch_available_operator on public.operators;
drop function private.release_chats_of_offline_operator();
drop function private.touch_available_operator();

alter table public.settings drop column presence_timeout;

delete from errors.catalogue where code = 'chat_closed_by_admin';

commit;
