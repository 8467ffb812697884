-- Row Level Security and privileges (docs/rules.md).
--
-- Three layers, each enough on its own for what it guards:
--   1. table/column privileges: Supabase's default privileges give anon and authenticated ALL on new
--      public tables; here anon gets nothing, authenticated gets SELECT on whole tables (so `select=*`
--      works wherever a policy lets rows through) and INSERT/UPDATE only on the columns a client may
--      write. credits, counters, email, ids and timestamps are never client-writable (42501).
--   2. policies: which rows each persona reads and writes. One permissive policy per table, action and
--      role (authenticated), OR-ing the personas, so the advisor's multiple_permissive_policies stays quiet.
--   3. guard triggers for the columns that only admins may change (is_active, max_concurrent_chats),
--      since admins and everyone else share the authenticated role.
-- Database functions that must change protected columns run as security definer (owner postgres) and
-- are not affected by 1 or 3; service_role bypasses RLS.
-- Real users get no policy on operators, chat_assignments, operator_activity, operator_stats,
-- message_authors or fictional_user_guidelines, so nothing they can read identifies an operator.

-- Persona helpers ----------------------------------------------------------------------------------

-- True when the caller's JWT subject is an admin. Used by policies; callable by authenticated and
-- service_role. Security definer so it can read admins whatever the caller's policies allow.
create or replace function public.is_admin()
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (select 1 from public.admins a where a.id = (select auth.uid()));
$$;

-- True when the caller's JWT subject is an active operator. Used by policies; callable by
-- authenticated and service_role.
create or replace function public.is_operator()
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

-- True when the caller's JWT subject is an active (not deactivated) real user. Used by policies;
-- callable by authenticated and service_role.
create or replace function public.is_real_user()
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

revoke execute on function public.is_admin(), public.is_operator(), public.is_real_user()
  from public, anon, authenticated;
grant execute on function public.is_admin(), public.is_operator(), public.is_real_user()
  to authenticated, service_role;

-- Guard triggers -----------------------------------------------------------------------------------

-- Refuses (forbidden, 42501) API callers who change what only admins may change on real_users:
-- is_active, and anything but is_active on another user's row. Functions running as their owner
-- and service_role pass. Trigger function only; runs as the caller, so it raises through
-- errors.raise_error (005), which API roles may call.
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

create trigger guard_real_user_update
  before update on public.real_users
  for each row execute function private.guard_real_user_update();

-- Refuses (forbidden, 42501) non-admin API callers who change an operator's capacity or
-- activation. The operator itself may change its name and status. Trigger function only.
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

create trigger guard_operator_update
  before update on public.operators
  for each row execute function private.guard_operator_update();

-- Stamps the creating admin on a profile inserted through the API (clients cannot set created_by).
-- Trigger function only.
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

create trigger stamp_fictional_user_creator
  before insert on public.fictional_users
  for each row execute function private.stamp_fictional_user_creator();

revoke all on all functions in schema private from public;

-- Client conveniences: rows a user creates for itself default to its own id.
alter table public.real_users alter column id set default auth.uid();
alter table public.chats alter column real_user_id set default auth.uid();
alter table public.favorites alter column real_user_id set default auth.uid();

-- Privileges ---------------------------------------------------------------------------------------

revoke all on table
  public.admins, public.real_users, public.operators, public.fictional_users,
  public.fictional_user_guidelines, public.chats, public.messages, public.message_authors,
  public.favorites, public.transactions, public.chat_assignments, public.operator_activity,
  public.operator_stats
from anon, authenticated;

grant select on table
  public.admins, public.real_users, public.operators, public.fictional_users,
  public.fictional_user_guidelines, public.chats, public.messages, public.message_authors,
  public.favorites, public.transactions, public.chat_assignments, public.operator_activity,
  public.operator_stats
to authenticated;

grant insert (id, display_name, age, gender, looking_for, bio, avatar_url) on public.real_users to authenticated;
grant update (display_name, age, gender, looking_for, bio, avatar_url, last_active_at, is_active)
  on public.real_users to authenticated;

grant insert (id, email, name, status, max_concurrent_chats, is_active) on public.operators to authenticated;
grant update (name, status, max_concurrent_chats, is_active) on public.operators to authenticated;
grant delete on public.operators to authenticated;

grant insert (id, email, name) on public.admins to authenticated;
grant update (name) on public.admins to authenticated;

grant insert (id, name, age, gender, bio, avatar_url, interests, is_active, is_featured)
  on public.fictional_users to authenticated;
grant update (name, age, gender, bio, avatar_url, interests, is_active, is_featured)
  on public.fictional_users to authenticated;
grant delete on public.fictional_users to authenticated;

grant insert (fictional_user_id, personality_guidelines) on public.fictional_user_guidelines to authenticated;
grant update (personality_guidelines) on public.fictional_user_guidelines to authenticated;
grant delete on public.fictional_user_guidelines to authenticated;

grant insert (real_user_id, fictional_user_id) on public.chats to authenticated;
grant update (flagged_for_review, flag_reason) on public.chats to authenticated;

grant insert (chat_id, sender_type, content) on public.messages to authenticated;

grant insert (real_user_id, fictional_user_id) on public.favorites to authenticated;
grant delete on public.favorites to authenticated;

-- Row Level Security -------------------------------------------------------------------------------

alter table public.admins enable row level security;
alter table public.real_users enable row level security;
alter table public.operators enable row level security;
alter table public.fictional_users enable row level security;
alter table public.fictional_user_guidelines enable row level security;
alter table public.chats enable row level security;
alter table public.messages enable row level security;
alter table public.message_authors enable row level security;
alter table public.favorites enable row level security;
alter table public.transactions enable row level security;
alter table public.chat_assignments enable row level security;
alter table public.operator_activity enable row level security;
alter table public.operator_stats enable row level security;

-- admins
create policy "admins read admins" on public.admins
  for select to authenticated
  using ((select public.is_admin()));
create policy "admins add admins" on public.admins
  for insert to authenticated
  with check ((select public.is_admin()));
create policy "admins update admins" on public.admins
  for update to authenticated
  using ((select public.is_admin()))
  with check ((select public.is_admin()));

-- real_users
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
create policy "signed-up users create their own real user row" on public.real_users
  for insert to authenticated
  with check (
    id = (select auth.uid())
    and not (select public.is_admin())
    and not (select public.is_operator())
  );
create policy "real users update own row, admins (de)activate users" on public.real_users
  for update to authenticated
  using (id = (select auth.uid()) or (select public.is_admin()))
  with check (id = (select auth.uid()) or (select public.is_admin()));

-- operators
create policy "operators read own row, admins read all" on public.operators
  for select to authenticated
  using (id = (select auth.uid()) or (select public.is_admin()));
create policy "admins add operators" on public.operators
  for insert to authenticated
  with check ((select public.is_admin()));
create policy "operators update own row, admins update all" on public.operators
  for update to authenticated
  using (id = (select auth.uid()) or (select public.is_admin()))
  with check (id = (select auth.uid()) or (select public.is_admin()));
create policy "admins remove operators" on public.operators
  for delete to authenticated
  using ((select public.is_admin()));

-- fictional_users
create policy "real users read active profiles, staff read all" on public.fictional_users
  for select to authenticated
  using (
    (is_active and (select public.is_real_user()))
    or (select public.is_operator())
    or (select public.is_admin())
  );
create policy "admins add profiles" on public.fictional_users
  for insert to authenticated
  with check ((select public.is_admin()));
create policy "admins update profiles" on public.fictional_users
  for update to authenticated
  using ((select public.is_admin()))
  with check ((select public.is_admin()));
create policy "admins delete profiles" on public.fictional_users
  for delete to authenticated
  using ((select public.is_admin()));

-- fictional_user_guidelines
create policy "operators and admins read guidelines" on public.fictional_user_guidelines
  for select to authenticated
  using ((select public.is_operator()) or (select public.is_admin()));
create policy "admins add guidelines" on public.fictional_user_guidelines
  for insert to authenticated
  with check ((select public.is_admin()));
create policy "admins update guidelines" on public.fictional_user_guidelines
  for update to authenticated
  using ((select public.is_admin()))
  with check ((select public.is_admin()));
create policy "admins delete guidelines" on public.fictional_user_guidelines
  for delete to authenticated
  using ((select public.is_admin()));

-- chats
create policy "real users read own chats, operators held chats, admins all" on public.chats
  for select to authenticated
  using (
    real_user_id = (select auth.uid())
    or (select public.is_admin())
    or id in (
      select a.chat_id from public.chat_assignments a
      where a.operator_id = (select auth.uid()) and a.released_at is null
    )
  );
create policy "real users start chats with active profiles" on public.chats
  for insert to authenticated
  with check (
    real_user_id = (select auth.uid())
    and (select public.is_real_user())
    and fictional_user_id in (select f.id from public.fictional_users f where f.is_active)
  );
create policy "admins clear flags" on public.chats
  for update to authenticated
  using ((select public.is_admin()))
  with check ((select public.is_admin()));

-- messages
create policy "users read own chats' messages, operators held ones, admins all"
  on public.messages
  for select to authenticated
  using (
    chat_id in (select c.id from public.chats c where c.real_user_id = (select auth.uid()))
    or chat_id in (
      select a.chat_id from public.chat_assignments a
      where a.operator_id = (select auth.uid()) and a.released_at is null
    )
    or (select public.is_admin())
  );
create policy "real users write in own open chats, operators in held chats" on public.messages
  for insert to authenticated
  with check (
    (
      sender_type = 'real'
      and (select public.is_real_user())
      and chat_id in (
        select c.id from public.chats c
        where c.real_user_id = (select auth.uid()) and c.status <> 'closed'
      )
    )
    or (
      sender_type = 'fictional'
      and (select public.is_operator())
      and chat_id in (
        select a.chat_id from public.chat_assignments a
        where a.operator_id = (select auth.uid()) and a.released_at is null
      )
    )
  );

-- message_authors
create policy "operators read own authorship, admins read all" on public.message_authors
  for select to authenticated
  using (operator_id = (select auth.uid()) or (select public.is_admin()));

-- favorites
create policy "real users read own favorites, admins read all" on public.favorites
  for select to authenticated
  using (real_user_id = (select auth.uid()) or (select public.is_admin()));
create policy "real users add own favorites" on public.favorites
  for insert to authenticated
  with check (
    real_user_id = (select auth.uid())
    and (select public.is_real_user())
    and fictional_user_id in (select f.id from public.fictional_users f where f.is_active)
  );
create policy "real users remove own favorites" on public.favorites
  for delete to authenticated
  using (real_user_id = (select auth.uid()));

-- transactions (written only by the payment functions)
create policy "real users read own transactions, admins read all" on public.transactions
  for select to authenticated
  using (real_user_id = (select auth.uid()) or (select public.is_admin()));

-- operator side (written only by the chat functions)
create policy "operators read own assignments, admins read all" on public.chat_assignments
  for select to authenticated
  using (operator_id = (select auth.uid()) or (select public.is_admin()));
create policy "operators read own activity, admins read all" on public.operator_activity
  for select to authenticated
  using (operator_id = (select auth.uid()) or (select public.is_admin()));
create policy "operators read own stats, admins read all" on public.operator_stats
  for select to authenticated
  using (operator_id = (select auth.uid()) or (select public.is_admin()));
