-- Undoes 016_hardening.sql: puts fictional_users.created_by back from fictional_user_creators and
-- drops that table (its rows, policy and index go with it); the foreign keys of transactions and
-- credit_adjustments back to 001's and 013's (not null again: this fails while a row of a deleted
-- account is left, which the old schema cannot hold); drops the avatar_url check and
-- settings.avatar_url_prefix (its column grant goes with it); puts back 007's charging trigger, 008's
-- release_chat, 003's policy on real_users, the RPCs of 004, 006 and 008 as security definer
-- functions in public (moved back, so their oids and grants are as before, with their old bodies),
-- the persona helpers in public (moved back; the policies follow them) and the bodies that named them
-- (003, 004, 013, 014), verbatim; deletes the catalogue rows it added.

begin;

-- Profiles and their creator --------------------------------------------------------------------------

create or replace function private.stamp_fictional_user_creator()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user in ('anon', 'authenticated') then
    new.created_by := auth.uid();
  end if;
  return new;
end;
$$;


alter table public.fictional_users drop constraint fictional_users_created_by_unused;
comment on column public.fictional_users.created_by is null;
alter table public.fictional_users disable trigger set_updated_at;
update public.fictional_users f set created_by = c.created_by
  from public.fictional_user_creators c
 where c.fictional_user_id = f.id;
alter table public.fictional_users enable trigger set_updated_at;
drop table public.fictional_user_creators;

-- Money records ---------------------------------------------------------------------------------------

comment on column public.credit_adjustments.real_user_id is null;
alter table public.credit_adjustments
  drop constraint credit_adjustments_real_user_id_fkey,
  add constraint credit_adjustments_real_user_id_fkey
    foreign key (real_user_id) references public.real_users (id) on delete cascade,
  alter column real_user_id set not null;

comment on column public.transactions.real_user_id is null;
alter table public.transactions
  drop constraint transactions_real_user_id_fkey,
  add constraint transactions_real_user_id_fkey
    foreign key (real_user_id) references public.real_users (id),
  alter column real_user_id set not null;

-- avatar_url ------------------------------------------------------------------------------------------

drop trigger check_avatar_url on public.fictional_users;
drop trigger check_avatar_url on public.real_users;
drop function private.check_avatar_url();
alter table public.settings drop column avatar_url_prefix;

-- 008's release_chat and 007's charging trigger, verbatim --------------------------------------------

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


create or replace function private.charge_message()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_trusted boolean := private.is_trusted_caller();
  v_real_user_id uuid;
  v_is_featured boolean;
  v_status text;
  v_credits integer;
  v_user_active boolean;
  v_prior integer;
  v_price integer;
begin
  if not v_trusted then
    new.created_at := clock_timestamp();
  end if;
  new.credits_charged := 0;
  if new.sender_type <> 'real' then
    return new;
  end if;

  select c.real_user_id, f.is_featured into v_real_user_id, v_is_featured
    from public.chats c
    join public.fictional_users f on f.id = c.fictional_user_id
   where c.id = new.chat_id;
  if not found or (not v_trusted and v_real_user_id is distinct from auth.uid()) then
    return new; -- the foreign key or the insert policy refuses the row
  end if;

  -- Lock order: the real user's row, then the chat's.
  select r.credits, r.is_active into v_credits, v_user_active
    from public.real_users r where r.id = v_real_user_id
     for update;
  select c.status into v_status from public.chats c where c.id = new.chat_id for update;
  if not v_trusted and (v_status = 'closed' or not v_user_active) then
    return new; -- the insert policy refuses the row
  end if;

  v_prior := private.prior_real_messages(new.chat_id);
  v_price := private.message_price(v_prior, new.created_at, v_is_featured);

  if v_credits < v_price then
    perform errors.raise_error('insufficient_credits',
      format('This message costs %s credits; the balance is %s.', v_price, v_credits));
  end if;
  if v_price > 0 then
    update public.real_users r set credits = r.credits - v_price where r.id = v_real_user_id;
  end if;
  new.credits_charged := v_price;
  return new;
end;
$$;


-- The RPCs back in public as security definer functions -----------------------------------------------

drop function public.message_price(uuid, timestamptz);
drop function public.operator_heartbeat(uuid);
drop function public.get_chat_with_details(uuid);
drop function public.get_operator_performance_stats(uuid, integer);
drop function public.update_operator_stats(uuid, date);
drop function public.get_available_fictional_profiles(uuid, integer, integer);
drop function public.release_and_reassign_chat(uuid, text);
drop function public.assign_chat_to_operator(uuid);

alter function api_private.message_price(uuid, timestamptz) set schema public;
alter function api_private.operator_heartbeat(uuid) set schema public;
alter function api_private.get_chat_with_details(uuid) set schema public;
alter function api_private.get_operator_performance_stats(uuid, integer) set schema public;
alter function api_private.update_operator_stats(uuid, date) set schema public;
alter function api_private.get_available_fictional_profiles(uuid, integer, integer) set schema public;
alter function api_private.release_and_reassign_chat(uuid, text) set schema public;
alter function api_private.assign_chat_to_operator(uuid) set schema public;

-- The persona helpers back in public ------------------------------------------------------------------

drop function public.is_real_user();
drop function public.is_operator();
drop function public.is_admin();
alter function api_private.is_real_user() set schema public;
alter function api_private.is_operator() set schema public;
alter function api_private.is_admin() set schema public;

-- The bodies that named them (003, 004, 006, 008, 013, 014), verbatim ----------------------------------

create or replace function public.message_price(p_chat_id uuid, p_at timestamptz default now())
returns integer
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_real_user_id uuid;
  v_is_featured boolean;
  v_prior integer;
begin
  select c.real_user_id, f.is_featured into v_real_user_id, v_is_featured
    from public.chats c
    join public.fictional_users f on f.id = c.fictional_user_id
   where c.id = p_chat_id;
  if not found
     or not (v_real_user_id = auth.uid() or private.is_trusted_caller() or public.is_admin()) then
    perform errors.raise_error('chat_not_found', 'No such chat for this caller.');
  end if;
  v_prior := private.prior_real_messages(p_chat_id);
  return private.message_price(v_prior, coalesce(p_at, now()), v_is_featured);
end;
$$;


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


create or replace function api_private.start_chat(p_fictional_user_id uuid)
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


create or replace function api_private.close_chat(p_chat_id uuid)
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


create or replace function private.record_chat_closure()
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
              when public.is_admin() then 'admin'
              when auth.uid() = new.real_user_id then 'user'
              else 'system'
            end,
            (select u.id from auth.users u where u.id = auth.uid()));
  end if;
  return null;
end;
$$;


create or replace function private.require_admin()
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if not (private.is_trusted_caller() or public.is_admin()) then
    perform errors.raise_error('forbidden', 'Only admins may do this.');
  end if;
end;
$$;


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


create or replace function private.guard_operator_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user in ('anon', 'authenticated')
     and (new.max_concurrent_chats, new.is_active) is distinct from (old.max_concurrent_chats, old.is_active)
     and not public.is_admin() then
    perform errors.raise_error('forbidden', 'Only admins may change max_concurrent_chats or is_active.');
  end if;
  return new;
end;
$$;


create or replace function private.guard_real_user_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user not in ('anon', 'authenticated') then
    return new;
  end if;
  if new.is_active is distinct from old.is_active and not public.is_admin() then
    perform errors.raise_error('forbidden', 'Only admins may activate or deactivate a real user.');
  end if;
  if old.id is distinct from auth.uid()
     and (new.display_name, new.age, new.gender, new.looking_for, new.bio, new.avatar_url, new.last_active_at)
         is distinct from
         (old.display_name, old.age, old.gender, old.looking_for, old.bio, old.avatar_url, old.last_active_at) then
    perform errors.raise_error('forbidden', 'Only the user may edit its own profile.');
  end if;
  return new;
end;
$$;


-- 003's policy on real_users ---------------------------------------------------------------------------

drop policy "users read own row, admins read all" on public.real_users;
create policy "users read own row, operators their chats' users, admins all"
  on public.real_users
  for select to authenticated
  using (
    id = (select auth.uid())
    or (select public.is_admin())
    or id in (
      select c.real_user_id from public.chats c
      where c.id in (
        select a.chat_id from public.chat_assignments a
        where a.operator_id = (select auth.uid()) and a.released_at is null
      )
    )
  );

delete from errors.catalogue where code in ('invalid_avatar_url', 'chat_closed', 'account_deactivated');

commit;
