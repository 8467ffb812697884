-- Undoes 018_lean_hot_paths.sql: the four message triggers of 007, 008 and 016 and their functions
-- come back (apply_message goes), record_message_author fires for every message again, the insert
-- policy on messages lists the caller's chats, the guards of 003 fire on every update, the helpers
-- are sql again, assign_chat_to_operator gets its 008 body and the wrappers their 016/017 bodies,
-- and chats.real_message_count goes (grants unchanged: create or replace keeps them).

begin;

drop trigger apply_message on public.messages;
drop function private.apply_message();
alter table public.chats drop column real_message_count;

-- The helpers as 003, 004, 006 and 008 wrote them (message_price first: it calls price_under).

create or replace function api_private.is_admin()
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (select 1 from public.admins a where a.id = (select auth.uid()));
$$;

create or replace function api_private.is_operator()
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.operators o where o.id = (select auth.uid()) and o.is_active
  );
$$;

create or replace function api_private.is_real_user()
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.real_users r where r.id = (select auth.uid()) and r.is_active
  );
$$;

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

create or replace function private.is_operator_id(p_user_id uuid)
returns boolean
language sql
stable
set search_path = ''
as $$
  select p_user_id is not null and exists (select 1 from public.operators o where o.id = p_user_id);
$$;

create or replace function private.chat_status_transition_allowed(p_from text, p_to text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select p_from = p_to
      or (p_from, p_to) in (
           ('idle', 'waiting'),
           ('waiting', 'assigned'),
           ('assigned', 'waiting'),
           ('assigned', 'idle'),
           ('idle', 'closed'),
           ('waiting', 'closed'),
           ('assigned', 'closed'),
           ('closed', 'idle'));
$$;

create or replace function private.time_in_window(p_time time, p_start time, p_end time)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select case
           when p_start < p_end then p_time >= p_start and p_time < p_end
           when p_start > p_end then p_time >= p_start or p_time < p_end
           else false
         end;
$$;

create or replace function private.message_price(p_prior_real_messages integer, p_at timestamptz, p_is_featured boolean)
returns integer
language sql
stable
set search_path = ''
as $$
  select case
           when p_prior_real_messages < s.free_messages then 0
           else greatest(1, ceil(
                  s.base_price
                  * case
                      when private.time_in_window((p_at at time zone s.timezone)::time, s.night_starts, s.night_ends)
                        then s.night_factor
                      when private.time_in_window((p_at at time zone s.timezone)::time, s.early_starts, s.early_ends)
                        then s.early_factor
                      else 1
                    end
                  * case when p_is_featured then s.featured_factor else 1 end
                ))::integer
         end
    from public.settings s
   where s.id;
$$;

drop function private.price_under(public.settings, integer, timestamptz, boolean);

create or replace function private.prior_real_messages(p_chat_id uuid)
returns integer
language sql
stable
set search_path = ''
as $$
  select count(*)::integer
    from (select 1
            from public.messages m
           where m.chat_id = p_chat_id and m.sender_type = 'real'
           -- the order of idx_messages_chat_created keeps the planner on that index: without it,
           -- a LIMIT tempts it into a sequential scan that, in a short chat, reads every message
           order by m.created_at
           limit (select s.free_messages from public.settings s)) as counted;
$$;

-- The message triggers of 007, 008 and 016.

create or replace function private.charge_message()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_trusted boolean := private.is_trusted_caller();
  v_caller uuid := auth.uid();
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
    -- An operator's answer: its row, then the chat's (the lock order of 016's header). Under those
    -- locks the operator must still hold the chat: a sweep, close or release that got the chat
    -- first has taken it away, and the answer is refused instead of landing in a chat it lost.
    if not v_trusted and private.is_operator_id(v_caller) then
      perform 1 from public.operators o where o.id = v_caller for no key update;
      perform 1 from public.chats c where c.id = new.chat_id for update;
      if not exists (
        select 1 from public.chat_assignments a
         where a.chat_id = new.chat_id and a.operator_id = v_caller and a.released_at is null
      ) then
        perform errors.raise_error('chat_not_held', 'The operator does not hold this chat (any more).');
      end if;
    end if;
    return new;
  end if;

  select c.real_user_id, f.is_featured into v_real_user_id, v_is_featured
    from public.chats c
    join public.fictional_users f on f.id = c.fictional_user_id
   where c.id = new.chat_id;
  if not found or (not v_trusted and v_real_user_id is distinct from v_caller) then
    return new; -- the foreign key or the insert policy refuses the row
  end if;

  -- Lock order: the real user's row, then the chat's. What they say now is what counts: the insert
  -- policy saw the statement's snapshot, from before any close or deactivation this insert waited for.
  select r.credits, r.is_active into v_credits, v_user_active
    from public.real_users r where r.id = v_real_user_id
     for update;
  select c.status into v_status from public.chats c where c.id = new.chat_id for update;
  if not v_trusted then
    if not v_user_active then
      perform errors.raise_error('account_deactivated');
    end if;
    if v_status = 'closed' then
      perform errors.raise_error('chat_closed');
    end if;
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

create or replace function private.update_chat_on_message()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.chats c
     set message_count = c.message_count + 1,
         last_message_at = greatest(c.last_message_at, new.created_at),
         status = case when new.sender_type = 'real' and c.status = 'idle' then 'waiting' else c.status end,
         queued_at = case
                       when c.status = 'closed' then c.queued_at
                       when new.sender_type = 'real' and c.status = 'idle' then new.created_at
                       when new.sender_type = 'real' then coalesce(c.queued_at, new.created_at)
                       when c.status = 'waiting' then c.queued_at
                       else null
                     end
   where c.id = new.chat_id;
  return null;
end;
$$;

create or replace function private.update_operator_on_message()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_operator_id uuid := auth.uid();
begin
  if new.sender_type <> 'fictional' or not private.is_operator_id(v_operator_id) then
    return null;
  end if;
  update public.operator_activity oa
     set last_activity_at = now()
   where oa.operator_id = v_operator_id and oa.chat_id = new.chat_id;
  update public.operators o
     set total_messages_sent = o.total_messages_sent + 1,
         last_activity_at = now()
   where o.id = v_operator_id;
  return null;
end;
$$;

revoke all on function
  private.charge_message(),
  private.update_operator_on_message()
from public, anon, authenticated, service_role;
revoke all on function private.update_chat_on_message() from public, anon, authenticated, service_role;

create trigger messages_charge
  before insert on public.messages
  for each row execute function private.charge_message();
create trigger messages_update_chat
  after insert on public.messages
  for each row execute function private.update_chat_on_message();
create trigger messages_update_operator
  after insert on public.messages
  for each row execute function private.update_operator_on_message();

drop trigger record_message_author on public.messages;
create trigger record_message_author
  after insert on public.messages
  for each row execute function private.record_message_author();

drop policy "real users write in own open chats, operators in held chats" on public.messages;
create policy "real users write in own open chats, operators in held chats" on public.messages
  for insert to authenticated
  with check (
    (
      sender_type = 'real'
      and (select api_private.is_real_user())
      and chat_id in (
        select c.id from public.chats c
        where c.real_user_id = (select auth.uid()) and c.status <> 'closed'
      )
    )
    or (
      sender_type = 'fictional'
      and (select api_private.is_operator())
      and chat_id in (
        select a.chat_id from public.chat_assignments a
        where a.operator_id = (select auth.uid()) and a.released_at is null
      )
    )
  );

drop trigger guard_real_user_update on public.real_users;
create trigger guard_real_user_update
  before update on public.real_users
  for each row execute function private.guard_real_user_update();
drop trigger guard_operator_update on public.operators;
create trigger guard_operator_update
  before update on public.operators
  for each row execute function private.guard_operator_update();

-- The assignment as 008 wrote it, and the wrappers of 016 and 017.

create or replace function api_private.assign_chat_to_operator(p_operator_id uuid default null)
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
    perform errors.raise_error('not_operator', 'No operator has this id.');
  end if;
  if not v_operator.is_active or v_operator.status <> 'available' then
    perform errors.raise_error('operator_unavailable',
      format('The operator is %s; only active, available operators take chats.',
             case when v_operator.is_active then v_operator.status else 'deactivated' end));
  end if;

  select count(*) into v_held
    from public.chat_assignments a
   where a.operator_id = v_operator_id and a.released_at is null;
  if v_held >= v_operator.max_concurrent_chats then
    perform errors.raise_error('at_capacity',
      format('The operator already holds %s of %s chats.', v_held, v_operator.max_concurrent_chats));
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

create or replace function public.assign_chat_to_operator(p_operator_id uuid default null)
returns uuid
language sql
security invoker
set search_path = ''
as $$
  select api_private.assign_chat_to_operator(p_operator_id);
$$;

create or replace function public.assign_next_chat()
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select api_private.assign_next_chat();
$$;
commit;
