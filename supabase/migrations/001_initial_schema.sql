-- Fantooo: the core tables (docs/data-api.md).
--
-- Operator hiding (docs/rules.md): real users must never read anything that names or identifies an
-- operator, while `select=*` keeps working on every table a role may read. So the operator side of
-- the data lives in tables real users cannot read at all (003 gives them no policy there):
--   * who holds a chat      -> chat_assignments (the open row, released_at is null; at most one per
--                              chat, enforced by the partial unique index chat_assignments_one_open_per_chat).
--                              chats has no assigned_operator_id / assigned_at column.
--   * who wrote a message   -> message_authors(message_id, operator_id); messages has no operator_id.
--   * how to play a profile -> fictional_user_guidelines(fictional_user_id, personality_guidelines);
--                              fictional_users has no personality_guidelines column.
-- Protected columns (credits, counters, capacity, is_active) are guarded in 003 by column grants and
-- triggers; business functions (004+) change them as security definer.

create schema if not exists private;
revoke all on schema private from public;
comment on schema private is
  'Helper and trigger functions; not exposed through the Data API and not usable by anon/authenticated.';

-- Keeps updated_at current on every mutable table. Trigger function only (fired by the tables below).
create or replace function private.set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

-- Fills email from auth.users when the inserting client did not (and may not) supply it, so a
-- profile row always carries its account's address. Trigger function only; security definer because
-- API roles cannot read auth.users.
create or replace function private.fill_email_from_auth()
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

-- People -------------------------------------------------------------------------------------------

create table public.admins (
  id uuid primary key references auth.users (id) on delete cascade,
  email text unique,
  name text not null check (char_length(name) between 1 and 100),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.admins is 'Staff who manage profiles, operators and flagged chats; keyed by auth.users.id.';

create table public.real_users (
  id uuid primary key references auth.users (id) on delete cascade,
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
  updated_at timestamptz not null default now()
);
comment on table public.operators is
  'Staff who write the fictional side of chats. Never readable by real users.';
comment on column public.operators.status is
  'available takes chats; busy (set by the operator) and offline take none.';
comment on column public.operators.max_concurrent_chats is 'Capacity; only admins change it.';
comment on column public.operators.total_messages_sent is 'Counter kept by triggers on messages.';

-- Profiles -----------------------------------------------------------------------------------------

create table public.fictional_users (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (char_length(name) between 1 and 100),
  age integer not null check (age between 18 and 100),
  gender text not null check (gender in ('male', 'female')),
  bio text check (char_length(bio) <= 2000),
  avatar_url text,
  interests text[] not null default '{}',
  is_active boolean not null default true,
  is_featured boolean not null default false,
  created_by uuid references public.admins (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.fictional_users is
  'Profiles real users browse and chat with. Operator-only guidance lives in fictional_user_guidelines.';
comment on column public.fictional_users.is_featured is 'Featured profiles cost more per message (docs/rules.md).';

create table public.fictional_user_guidelines (
  fictional_user_id uuid primary key references public.fictional_users (id) on delete cascade,
  personality_guidelines text not null default '',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.fictional_user_guidelines is
  'Operator-only guidance for playing a profile (the documented column fictional_users.personality_guidelines); '
  'kept apart so that real users, who read fictional_users, never see it.';

-- Chats and messages -------------------------------------------------------------------------------

create table public.chats (
  id uuid primary key default gen_random_uuid(),
  real_user_id uuid not null references public.real_users (id) on delete cascade,
  fictional_user_id uuid not null references public.fictional_users (id) on delete cascade,
  status text not null default 'idle' check (status in ('waiting', 'assigned', 'idle', 'closed')),
  queued_at timestamptz,
  last_message_at timestamptz,
  message_count integer not null default 0 check (message_count >= 0),
  reassignment_count integer not null default 0 check (reassignment_count >= 0),
  flagged_for_review boolean not null default false,
  flag_reason text,
  closed_at timestamptz,
  close_reason text check (close_reason in ('user', 'admin', 'inactivity')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (real_user_id, fictional_user_id),
  check (status <> 'waiting' or queued_at is not null)
);
comment on table public.chats is
  'One conversation between a real user and a fictional profile. Readable by its real user, so it holds '
  'no operator data: the current holder is the open chat_assignments row.';
comment on column public.chats.status is
  'idle -> waiting (real user wrote) -> assigned (an operator holds it) -> idle/waiting on release; closed is final.';
comment on column public.chats.queued_at is
  'When the oldest unanswered real-user message arrived; the assignment queue is ordered by it.';
comment on column public.chats.reassignment_count is 'Releases other than completed; at 3 the chat is flagged.';
comment on column public.chats.flag_reason is
  'Shown to admins; the chat''s real user can read it too, so it must never name an operator.';

create table public.messages (
  id uuid primary key default gen_random_uuid(),
  chat_id uuid not null references public.chats (id) on delete cascade,
  sender_type text not null check (sender_type in ('real', 'fictional')),
  content text not null check (char_length(content) between 1 and 5000),
  credits_charged integer not null default 0 check (credits_charged >= 0),
  created_at timestamptz not null default now(),
  check (sender_type = 'real' or credits_charged = 0)
);
comment on table public.messages is
  'Immutable chat messages. The operator who wrote a fictional message is kept in message_authors.';
comment on column public.messages.credits_charged is 'Credits taken for this message (set by the charging trigger; 0 for fictional).';

create table public.message_authors (
  message_id uuid primary key references public.messages (id) on delete cascade,
  operator_id uuid references public.operators (id) on delete set null,
  created_at timestamptz not null default now()
);
comment on table public.message_authors is
  'Which operator wrote each fictional message (the documented column messages.operator_id), recorded from the JWT by '
  'a trigger on messages. Operators and admins only.';

-- Records the author of a fictional message: the operator whose JWT inserted it (auth.uid()).
-- Clients never name the operator, so nobody can write in another operator's name. Messages inserted
-- without an operator JWT (service_role, seeds) get no author row. Trigger function only.
create or replace function private.record_message_author()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_operator uuid := auth.uid();
begin
  if new.sender_type = 'fictional' and v_operator is not null
     and exists (select 1 from public.operators o where o.id = v_operator) then
    insert into public.message_authors (message_id, operator_id)
    values (new.id, v_operator)
    on conflict (message_id) do nothing;
  end if;
  return null;
end;
$$;

create trigger record_message_author
  after insert on public.messages
  for each row execute function private.record_message_author();

create table public.favorites (
  real_user_id uuid not null references public.real_users (id) on delete cascade,
  fictional_user_id uuid not null references public.fictional_users (id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (real_user_id, fictional_user_id)
);

-- Money --------------------------------------------------------------------------------------------

create table public.transactions (
  id uuid primary key default gen_random_uuid(),
  real_user_id uuid not null references public.real_users (id),
  reference text not null unique,
  package_id uuid,
  amount integer not null check (amount > 0),
  currency text not null default 'KES' check (currency ~ '^[A-Z]{3}$'),
  credits integer not null check (credits > 0),
  status text not null default 'pending' check (status in ('pending', 'success', 'failed', 'refunded')),
  paystack_transaction_id bigint unique,
  paid_at timestamptz,
  raw_event jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (status <> 'success' or paid_at is not null)
);
comment on table public.transactions is
  'Credit purchases through Paystack. Written only by the payment functions (service_role / security definer).';
comment on column public.transactions.reference is 'Server-made Paystack reference; unique.';
comment on column public.transactions.package_id is
  'The credit package bought (foreign key to credit_packages is added by 009).';
comment on column public.transactions.amount is 'Price in currency subunits (cents), copied from the package at checkout.';
comment on column public.transactions.credits is 'Credits granted on success (bonus included), copied at checkout.';
comment on column public.transactions.raw_event is 'The Paystack event that settled the transaction.';

-- Operator side (never readable by real users) ----------------------------------------------------

create table public.chat_assignments (
  id uuid primary key default gen_random_uuid(),
  chat_id uuid not null references public.chats (id) on delete cascade,
  operator_id uuid not null references public.operators (id) on delete cascade,
  assigned_at timestamptz not null default now(),
  released_at timestamptz,
  release_reason text check (release_reason in ('completed', 'idle_timeout', 'operator_offline', 'admin', 'chat_closed')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((released_at is null) = (release_reason is null)),
  check (released_at is null or released_at >= assigned_at)
);
comment on table public.chat_assignments is
  'History of who held which chat. The open row (released_at is null) is the current holder '
  '(the documented column chats.assigned_operator_id / assigned_at); at most one open row per chat.';
comment on column public.chat_assignments.release_reason is
  'completed | idle_timeout (sweeper) | operator_offline | admin | chat_closed (the chat was closed while held).';

-- The database guarantee that a chat is never held by two operators at once.
create unique index chat_assignments_one_open_per_chat
  on public.chat_assignments (chat_id) where released_at is null;

create table public.operator_activity (
  operator_id uuid not null references public.operators (id) on delete cascade,
  chat_id uuid not null references public.chats (id) on delete cascade,
  assigned_at timestamptz not null default now(),
  last_activity_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (operator_id, chat_id),
  unique (chat_id)
);
comment on table public.operator_activity is
  'One row per currently held chat: the holder''s last activity in it, for idle detection. '
  'Removed when the chat is released.';

create table public.operator_stats (
  operator_id uuid not null references public.operators (id) on delete cascade,
  stat_date date not null,
  messages_sent integer not null default 0 check (messages_sent >= 0),
  chats_handled integer not null default 0 check (chats_handled >= 0),
  avg_response_seconds numeric(12, 2) check (avg_response_seconds >= 0),
  idle_incidents integer not null default 0 check (idle_incidents >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (operator_id, stat_date)
);
comment on column public.operator_stats.avg_response_seconds is
  'Average seconds from a real-user message to the operator''s answer that day; null when none.';

-- Triggers -----------------------------------------------------------------------------------------

create trigger set_updated_at before update on public.admins
  for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.real_users
  for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.operators
  for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.fictional_users
  for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.fictional_user_guidelines
  for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.chats
  for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.transactions
  for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.chat_assignments
  for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.operator_activity
  for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.operator_stats
  for each row execute function private.set_updated_at();

create trigger fill_email before insert on public.real_users
  for each row execute function private.fill_email_from_auth();
create trigger fill_email before insert on public.operators
  for each row execute function private.fill_email_from_auth();
create trigger fill_email before insert on public.admins
  for each row execute function private.fill_email_from_auth();

-- Refuses (operator_holds_chats, SQLSTATE 55006; 005_error_catalogue) to delete an operator who
-- still holds a chat (an open chat_assignments row): the cascade would drop the assignment and
-- leave the chat 'assigned' with no holder, out of the queue. Release the operator's chats first
-- (release_and_reassign_chat with reason admin). Trigger function only.
create or replace function private.refuse_deleting_holding_operator()
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

create trigger refuse_deleting_holding_operator before delete on public.operators
  for each row execute function private.refuse_deleting_holding_operator();

revoke all on all functions in schema private from public;

-- The secret key (service_role) is server code's: it bypasses RLS and reads and writes every table
-- (admin-accounts, reconciliation tools). Hosted Supabase no longer grants it anything on new
-- objects in public, so each table's creator grants it; the API roles' privileges are 003's.
grant select, insert, update, delete on table
  public.admins, public.real_users, public.operators, public.fictional_users,
  public.fictional_user_guidelines, public.chats, public.messages, public.message_authors,
  public.favorites, public.transactions, public.chat_assignments, public.operator_activity,
  public.operator_stats
to service_role;
