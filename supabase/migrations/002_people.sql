-- Fantooo: the three personas (docs/data-api.md, docs/rules.md): admins, real users and operators,
-- each a table keyed by auth.users.id, and what tells them apart: the persona helpers every policy
-- calls, the guards on the columns only admins may change, and the rule of one persona per account.
--
-- Access is layered, as on every table:
--   1. table and column grants: what an API role may touch at all (hosted Supabase grants nothing
--      on public by default, so every role is granted here explicitly);
--   2. one permissive policy per command and role (authenticated), OR-ing the personas;
--   3. guard triggers for the columns that only admins may change (is_active, max_concurrent_chats),
--      since admins and everyone else share the authenticated role.
-- Database functions that must change protected columns run as security definer (owner postgres) and
-- are not affected by 1 or 3; service_role bypasses RLS. Real users read nothing that identifies an
-- operator: no policy lets them read operators (see also chats and messages).

-- Tables -------------------------------------------------------------------------------------------

create table public.admins (
  id uuid primary key references auth.users (id) on delete cascade,
  email text unique,
  name text not null check (char_length(name) between 1 and 100),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.admins is 'Staff who manage profiles, operators and flagged chats; keyed by auth.users.id.';

create table public.real_users (
  id uuid primary key default auth.uid() references auth.users (id) on delete cascade,
  email text unique,
  display_name text not null check (char_length(display_name) between 1 and 50),
  age integer not null check (age between 18 and 100),
  gender text not null check (gender in ('male', 'female')),
  looking_for text not null check (looking_for in ('male', 'female')),
  bio text check (char_length(bio) <= 1000),
  avatar_url text,
  credits integer not null default 0 check (credits >= 0),
  is_active boolean not null default true,
  last_active_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.real_users is
  'Paying members; the row is inserted by the signed-up user itself (id = auth.uid()).';
comment on column public.real_users.email is
  'Copied from auth.users on insert (clients cannot set or change it).';
comment on column public.real_users.credits is
  'Spendable balance; changed only by database functions and service_role, never by API clients.';
comment on column public.real_users.is_active is 'false = deactivated by an admin; the user can no longer write.';

create table public.operators (
  id uuid primary key references auth.users (id) on delete cascade,
  email text unique,
  name text not null check (char_length(name) between 1 and 100),
  status text not null default 'offline' check (status in ('available', 'busy', 'offline')),
  max_concurrent_chats integer not null default 1 check (max_concurrent_chats >= 1),
  is_active boolean not null default true,
  total_messages_sent integer not null default 0 check (total_messages_sent >= 0),
  last_activity_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  languages text[] not null default '{en}'
    check (cardinality(languages) between 1 and 20
           and array_position(languages, null) is null
           and array_to_string(languages, ',') ~ '^[a-z]{2,3}(,[a-z]{2,3})*$')
);
comment on table public.operators is
  'Staff who write the fictional side of chats. Never readable by real users.';
comment on column public.operators.status is
  'available takes chats; busy (set by the operator) and offline take none.';
comment on column public.operators.max_concurrent_chats is 'Capacity; only admins change it.';
comment on column public.operators.total_messages_sent is 'Counter kept by triggers on messages.';
comment on column public.operators.languages is
  'Languages the operator writes (ISO 639 codes, lowercase): it is assigned only chats whose profile''s '
  'language is one of them. Only admins change it.';

-- Available operators: who can take chats now.
create index idx_operators_available
  on public.operators (last_activity_at) where status = 'available' and is_active;

-- Persona helpers ----------------------------------------------------------------------------------

-- True when the caller's JWT subject is an admin. What policies call; callable by authenticated and
-- service_role. Security definer so it can read admins whatever the caller's policies allow.
create function api_private.is_admin()
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

-- True when the caller's JWT subject is an active operator. What policies call; callable by
-- authenticated and service_role.
create function api_private.is_operator()
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

-- True when the caller's JWT subject is an active (not deactivated) real user. What policies call;
-- callable by authenticated and service_role.
create function api_private.is_real_user()
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

revoke all on function api_private.is_admin(), api_private.is_operator(), api_private.is_real_user() from public, anon, authenticated, service_role;
grant execute on function api_private.is_admin(), api_private.is_operator(), api_private.is_real_user() to authenticated, service_role;

-- True when the caller is an admin. See api_private.is_admin. The RPC of that question for clients
-- (admin-accounts asks it with the caller's token). Callable by authenticated and service_role.
create function public.is_admin()
returns boolean
language sql
stable
security invoker
set search_path = ''
as $$
  select api_private.is_admin();
$$;

-- True when the caller is an active operator. See api_private.is_operator.
create function public.is_operator()
returns boolean
language sql
stable
security invoker
set search_path = ''
as $$
  select api_private.is_operator();
$$;

-- True when the caller is an active real user. See api_private.is_real_user.
create function public.is_real_user()
returns boolean
language sql
stable
security invoker
set search_path = ''
as $$
  select api_private.is_real_user();
$$;

revoke all on function public.is_admin(), public.is_operator(), public.is_real_user() from public, anon, authenticated, service_role;
grant execute on function public.is_admin(), public.is_operator(), public.is_real_user() to authenticated, service_role;

-- True when p_user_id is a row of public.operators (active or not). Internal helper.
create function private.is_operator_id(p_user_id uuid)
returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
  return p_user_id is not null and exists (select 1 from public.operators o where o.id = p_user_id);
end;
$$;

-- Raises unless the caller may act for p_operator_id: itself, an admin, or a trusted caller
-- (private.is_trusted_caller). A non-admin, non-trusted caller that is not an operator at all gets
-- PT403 not_operator; an operator acting for another 42501 forbidden. Internal helper.
create function private.require_acting_for_operator(p_operator_id uuid)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if private.is_trusted_caller() or api_private.is_admin() then
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

revoke all on function private.is_operator_id(uuid), private.require_acting_for_operator(uuid) from public, anon, authenticated, service_role;

-- Triggers -----------------------------------------------------------------------------------------

-- Fills email from auth.users when the inserting client did not (and may not) supply it, so a
-- profile row always carries its account's address. Trigger function only; security definer because
-- API roles cannot read auth.users.
create function private.fill_email_from_auth()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.email is null then
    select u.email into new.email from auth.users u where u.id = new.id;
  end if;
  return new;
end;
$$;

revoke all on function private.fill_email_from_auth() from public, anon, authenticated, service_role;

create trigger fill_email before insert on public.real_users
  for each row execute function private.fill_email_from_auth();
create trigger fill_email before insert on public.operators
  for each row execute function private.fill_email_from_auth();
create trigger fill_email before insert on public.admins
  for each row execute function private.fill_email_from_auth();

create trigger set_updated_at before update on public.admins
  for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.real_users
  for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.operators
  for each row execute function private.set_updated_at();

-- Refuses (forbidden, 42501) API callers who change what only admins may change on real_users:
-- is_active, and anything but is_active on another user's row. Functions running as their owner and
-- service_role pass. Trigger function only; runs as the caller, so it raises through
-- errors.raise_error, which API roles may call. Fires only when a guarded column changes.
create function private.guard_real_user_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user not in ('anon', 'authenticated') then
    return new;
  end if;
  if new.is_active is distinct from old.is_active and not api_private.is_admin() then
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

create trigger guard_real_user_update
  before update on public.real_users
  for each row
  when (new.is_active is distinct from old.is_active
        or (new.display_name, new.age, new.gender, new.looking_for, new.bio, new.avatar_url, new.last_active_at)
           is distinct from
           (old.display_name, old.age, old.gender, old.looking_for, old.bio, old.avatar_url, old.last_active_at))
  execute function private.guard_real_user_update();

-- Refuses (forbidden, 42501) non-admin API callers who change an operator's capacity, activation or
-- languages. The operator itself may change its name and status. Trigger function only; fires only
-- when one of those columns changes.
create function private.guard_operator_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user in ('anon', 'authenticated')
     and (new.max_concurrent_chats, new.is_active, new.languages)
         is distinct from (old.max_concurrent_chats, old.is_active, old.languages)
     and not api_private.is_admin() then
    perform errors.raise_error('forbidden', 'Only admins may change max_concurrent_chats, is_active or languages.');
  end if;
  return new;
end;
$$;

create trigger guard_operator_update
  before update on public.operators
  for each row
  when ((new.max_concurrent_chats, new.is_active, new.languages)
        is distinct from (old.max_concurrent_chats, old.is_active, old.languages))
  execute function private.guard_operator_update();

revoke all on function private.guard_real_user_update(), private.guard_operator_update() from public, anon, authenticated, service_role;

-- Refuses (operator_holds_chats, SQLSTATE 55006) to delete an operator who still holds a chat (an
-- open chat_assignments row): the cascade would drop the assignment and leave the chat 'assigned'
-- with no holder, out of the queue. Release the operator's chats first (release_and_reassign_chat
-- with reason admin). Trigger function only.
create function private.refuse_deleting_holding_operator()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if exists (select 1 from public.chat_assignments a where a.operator_id = old.id and a.released_at is null) then
    perform errors.raise_error('operator_holds_chats');
  end if;
  return old;
end;
$$;

revoke all on function private.refuse_deleting_holding_operator() from public, anon, authenticated, service_role;

create trigger refuse_deleting_holding_operator before delete on public.operators
  for each row execute function private.refuse_deleting_holding_operator();

-- Refuses (persona_conflict, PT409) a second persona for one account: a real_users row for an
-- operator or admin, an operators or admins row for a real user, whoever inserts it (API roles,
-- service_role, admin-accounts, seeds). Runs after the insert policies (an active operator's own
-- real_users insert stays their 42501) and takes a transaction lock on the account's id first, so
-- two inserts racing on one account run one after the other and the second sees the first. Trigger
-- function only; security definer because the inserting user may read neither table.
create function private.refuse_second_persona()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('fantooo.persona:' || new.id::text, 0));
  if tg_table_name = 'real_users' then
    if exists (select 1 from public.operators o where o.id = new.id)
       or exists (select 1 from public.admins a where a.id = new.id) then
      perform errors.raise_error('persona_conflict',
        'This account is staff (an operator or admin): it cannot also be a real user.');
    end if;
  elsif exists (select 1 from public.real_users r where r.id = new.id) then
    perform errors.raise_error('persona_conflict',
      'This account is a real user: it cannot also be an operator or admin.');
  end if;
  return null;
end;
$$;

revoke all on function private.refuse_second_persona() from public, anon, authenticated, service_role;

create trigger refuse_second_persona
  after insert on public.real_users
  for each row execute function private.refuse_second_persona();
create trigger refuse_second_persona
  after insert on public.operators
  for each row execute function private.refuse_second_persona();
create trigger refuse_second_persona
  after insert on public.admins
  for each row execute function private.refuse_second_persona();

-- Privileges and policies --------------------------------------------------------------------------

revoke all on table public.admins from anon, authenticated;
grant select on table public.admins to authenticated;
grant select, insert, update, delete on table public.admins to service_role;
grant insert (id, email, name) on public.admins to authenticated;
grant update (name) on public.admins to authenticated;
alter table public.admins enable row level security;

revoke all on table public.real_users from anon, authenticated;
grant select on table public.real_users to authenticated;
grant select, insert, update, delete on table public.real_users to service_role;
grant insert (id, display_name, age, gender, looking_for, bio, avatar_url) on public.real_users to authenticated;
grant update (display_name, age, gender, looking_for, bio, avatar_url, last_active_at, is_active) on public.real_users to authenticated;
alter table public.real_users enable row level security;

revoke all on table public.operators from anon, authenticated;
grant select on table public.operators to authenticated;
grant select, insert, update, delete on table public.operators to service_role;
grant insert (id, email, name, status, max_concurrent_chats, is_active, languages) on public.operators to authenticated;
grant update (name, status, max_concurrent_chats, is_active, languages) on public.operators to authenticated;
grant delete on public.operators to authenticated;
alter table public.operators enable row level security;

create policy "admins read admins" on public.admins
  for select to authenticated
  using ((select api_private.is_admin()));
create policy "admins add admins" on public.admins
  for insert to authenticated
  with check ((select api_private.is_admin()));
create policy "admins update admins" on public.admins
  for update to authenticated
  using ((select api_private.is_admin()))
  with check ((select api_private.is_admin()));

create policy "users read own row, admins read all" on public.real_users
  for select to authenticated
  using (id = (select auth.uid()) or (select api_private.is_admin()));
create policy "signed-up users create their own real user row" on public.real_users
  for insert to authenticated
  with check (
    id = (select auth.uid())
    and not (select api_private.is_admin())
    and not (select api_private.is_operator())
  );
create policy "real users update own row, admins (de)activate users" on public.real_users
  for update to authenticated
  using (id = (select auth.uid()) or (select api_private.is_admin()))
  with check (id = (select auth.uid()) or (select api_private.is_admin()));

create policy "operators read own row, admins read all" on public.operators
  for select to authenticated
  using (id = (select auth.uid()) or (select api_private.is_admin()));
create policy "admins add operators" on public.operators
  for insert to authenticated
  with check ((select api_private.is_admin()));
create policy "operators update own row, admins update all" on public.operators
  for update to authenticated
  using (id = (select auth.uid()) or (select api_private.is_admin()))
  with check (id = (select auth.uid()) or (select api_private.is_admin()));
create policy "admins remove operators" on public.operators
  for delete to authenticated
  using ((select api_private.is_admin()));
