-- Starting, or coming back to, a chat with a profile.
--
-- chats is unique on (real_user_id, fictional_user_id) (SPEC section 2), and nobody writes in a
-- closed chat (SPEC section 5). Without a way back, a user whose chat was closed (by themself, an
-- admin or the 24-hour inactivity job) could never write to that profile again. start_chat is the
-- way back: it returns the pair's one chat, reopening it when closed. The direct insert into chats
-- (003's policy) still works for a first chat; clients that may meet a closed chat call this.
--
-- Error contract (as 004): PT403 not_real_user, PT404 profile_not_found, 42501 for anon.

-- Returns the id of the calling real user's chat with an active profile: the existing one (a
-- closed chat is reopened as idle, its history kept, its closing stamps cleared), or a new idle
-- chat. Callers: signed-in real users, for themselves.
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
    raise exception using errcode = 'PT403', message = 'not_real_user',
      detail = 'Only a signed-in, active real user starts a chat.';
  end if;
  if not exists (
    select 1 from public.fictional_users f where f.id = p_fictional_user_id and f.is_active
  ) then
    raise exception using errcode = 'PT404', message = 'profile_not_found',
      detail = 'No active profile has this id.';
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

revoke execute on function public.start_chat(uuid) from public, anon, authenticated, service_role;
grant execute on function public.start_chat(uuid) to authenticated;
