-- Fantooo: messages, their authors and what a message costs (docs/lifecycle.md and docs/rules.md).
--
-- Messages are immutable. The operator who wrote a fictional message is kept in message_authors
-- (operators and admins read it): messages has no operator column, so nothing a real user reads
-- names an operator. Whichever way a message arrives (Data API insert into messages, the
-- send_message RPC, a service_role or server-side insert), one before-insert trigger,
-- private.apply_message, does in the inserting transaction everything the message changes: the
-- created_at stamp, the price and the charge (or PT402 insufficient_credits and nothing written),
-- the chat's counters and lifecycle (idle -> waiting, queued_at), the answering operator's counters
-- and activity, and the refusals that must be decided under the row locks it takes (in the lock
-- order of the chat lifecycle: the person's row, then the chat's). Only the author row is written
-- after the insert, as its foreign key needs the message row. Clients can write only chat_id,
-- sender_type and content (column grants), so credits_charged is never theirs to set; the trigger
-- overwrites it anyway. Who may write which message is the insert policy's business (real users in
-- their own open chats while active, operators in the chats they hold; 42501 otherwise).

-- Tables -------------------------------------------------------------------------------------------

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

-- Message loading: a chat's messages in order (newest 50 etc.); also the index of messages.chat_id.
create index idx_messages_chat_created
  on public.messages (chat_id, created_at);

-- "Today" on the dashboard: paid messages and idle releases by time, without reading every row.
create index idx_messages_charged_created on public.messages (created_at) where credits_charged > 0;
-- Reply times of the day (the admin dashboard's p95_first_reply_seconds_today): fictional messages by time.
create index idx_messages_fictional_created on public.messages (created_at) where sender_type = 'fictional';

create table public.message_authors (
  message_id uuid primary key references public.messages (id) on delete cascade,
  operator_id uuid references public.operators (id) on delete set null,
  created_at timestamptz not null default now()
);
comment on table public.message_authors is
  'Which operator wrote each fictional message (the documented column messages.operator_id), recorded from the JWT by '
  'a trigger on messages. Operators and admins only.';

create index idx_message_authors_operator_id on public.message_authors (operator_id);

-- Privileges and policies --------------------------------------------------------------------------

revoke all on table public.messages from anon, authenticated;
grant select on table public.messages to authenticated;
grant select, insert, update, delete on table public.messages to service_role;
grant insert (chat_id, sender_type, content) on public.messages to authenticated;
alter table public.messages enable row level security;

revoke all on table public.message_authors from anon, authenticated;
grant select on table public.message_authors to authenticated;
grant select, insert, update, delete on table public.message_authors to service_role;
alter table public.message_authors enable row level security;

create policy "users read own chats' messages, operators held ones, admins all"
  on public.messages
  for select to authenticated
  using (
    chat_id in (select c.id from public.chats c where c.real_user_id = (select auth.uid()))
    or chat_id in (
      select a.chat_id from public.chat_assignments a
      where a.operator_id = (select auth.uid()) and a.released_at is null
    )
    or (select api_private.is_admin())
  );
-- Who may write a message (the insert policy's whole test): a real message by an active real user
-- in its own chat that is not closed; a fictional one by an active operator holding the chat (its
-- open chat_assignments row); nothing else. One call per row that probes the rows by key: written
-- inline in the policy, the same test cost about 0.2 ms more Postgres CPU per charged message
-- (about a sixth of it), as every insert started the executor of both branches' subqueries, the
-- chats and chat_assignments policies inside them and the persona initplans, whichever branch
-- applied. Stable, so it reads the inserting statement's snapshot as the inline test did. Callers:
-- the insert policy on messages (authenticated); security definer because the caller may not read
-- operators.
create function api_private.can_write_message(p_chat_id uuid, p_sender_type text)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_caller uuid := auth.uid();
begin
  if p_sender_type = 'real' then
    return exists (
      select 1 from public.chats c
        join public.real_users r on r.id = c.real_user_id
       where c.id = p_chat_id and c.real_user_id = v_caller and c.status <> 'closed' and r.is_active
    );
  elsif p_sender_type = 'fictional' then
    return exists (
      select 1 from public.chat_assignments a
        join public.operators o on o.id = a.operator_id
       where a.chat_id = p_chat_id and a.released_at is null and a.operator_id = v_caller and o.is_active
    );
  end if;
  return false;
end;
$$;

revoke all on function api_private.can_write_message(uuid, text) from public, anon, authenticated, service_role;
grant execute on function api_private.can_write_message(uuid, text) to authenticated;

create policy "real users write in own open chats, operators in held chats" on public.messages
  for insert to authenticated
  with check (api_private.can_write_message(chat_id, sender_type));

create policy "operators read own authorship, admins read all" on public.message_authors
  for select to authenticated
  using (operator_id = (select auth.uid()) or (select api_private.is_admin()));

-- What a message does ------------------------------------------------------------------------------

-- Everything a new message does before it is written, under the lock order of the chat lifecycle:
-- the person's row (the real user's, or the answering operator's), then the chat's, then its
-- assignment and activity rows. A real message: the chat, its profile and the settings row are read
-- once; the real user's row is locked; the chat's counters and lifecycle move (idle -> waiting,
-- queued_at the oldest unanswered message) by the update that locks the chat, and under those locks
-- a deactivated account is refused (42501 account_deactivated), a closed chat too (42501
-- chat_closed), then the price (private.price_under, counted from chats.real_message_count) is taken
-- or PT402 insufficient_credits; without a settings row to price it, PT500 pricing_not_configured
-- (for every caller, trusted ones included), never a free message. An operator's answer: the
-- operator's counters (total_messages_sent, last_activity_at) by the update that locks its row, the
-- chat's counters (queued_at cleared unless the chat is waiting), then, under those locks, PT404
-- chat_not_held unless it still holds the chat (a sweep, close or release that got the chat first
-- has taken it away), and its activity in the chat (operator_activity, which keeps the idle sweep
-- away). Who may write is the insert policy's business; a row it refuses rolls all this back.
-- Trusted callers (seeds, tests) keep the created_at they give and are not refused. Trigger
-- function only.
create function private.apply_message()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_trusted boolean := private.is_trusted_caller();
  v_caller uuid := auth.uid();
  v_chat record;
  v_credits integer;
  v_user_active boolean;
  v_status text;
  v_prior integer;
  v_price integer;
  v_operator boolean;
begin
  if not v_trusted then
    new.created_at := clock_timestamp();
  end if;
  new.credits_charged := 0;

  if new.sender_type <> 'real' then
    -- The operator's row first (an operator's answer), then the chat's.
    update public.operators o
       set total_messages_sent = o.total_messages_sent + 1,
           last_activity_at = now()
     where o.id = v_caller;
    v_operator := found;
    if not (v_operator or v_trusted) then
      return new; -- not an operator's answer: the insert policy refuses the row
    end if;
    update public.chats c
       set message_count = c.message_count + 1,
           last_message_at = greatest(c.last_message_at, new.created_at),
           queued_at = case when c.status in ('closed', 'waiting') then c.queued_at end
     where c.id = new.chat_id;
    if v_operator and not v_trusted then
      -- Under those locks the operator must still hold the chat: a sweep, close or release that
      -- got the chat first has taken it away, and the answer is refused.
      if not exists (
        select 1 from public.chat_assignments a
         where a.chat_id = new.chat_id and a.operator_id = v_caller and a.released_at is null
      ) then
        perform errors.raise_error('chat_not_held', 'The operator does not hold this chat (any more).');
      end if;
    end if;
    update public.operator_activity oa
       set last_activity_at = now()
     where oa.operator_id = v_caller and oa.chat_id = new.chat_id;
    return new;
  end if;

  -- The chat's user and profile, and the settings that price the message, in one read.
  select c.real_user_id, f.is_featured, s as settings into v_chat
    from public.chats c
    join public.fictional_users f on f.id = c.fictional_user_id
    left join public.settings s on s.id
   where c.id = new.chat_id;
  if not found or (not v_trusted and v_chat.real_user_id is distinct from v_caller) then
    return new; -- the foreign key or the insert policy refuses the row
  end if;
  -- Without the settings row there is no price: the message is refused, never written free.
  if (v_chat.settings).id is null then
    perform errors.raise_error('pricing_not_configured');
  end if;

  -- The real user's row, then the chat's. What they say now is what counts: the insert policy saw
  -- the statement's snapshot, from before any close or deactivation this insert waited for.
  select r.credits, r.is_active into v_credits, v_user_active
    from public.real_users r where r.id = v_chat.real_user_id
     for update;
  if not v_trusted and not v_user_active then
    perform errors.raise_error('account_deactivated');
  end if;
  update public.chats c
     set message_count = c.message_count + 1,
         real_message_count = c.real_message_count + 1,
         last_message_at = greatest(c.last_message_at, new.created_at),
         status = case when c.status = 'idle' then 'waiting' else c.status end,
         queued_at = case
                       when c.status = 'closed' then c.queued_at
                       when c.status = 'idle' then new.created_at
                       else coalesce(c.queued_at, new.created_at)
                     end
   where c.id = new.chat_id
  returning c.status, c.real_message_count - 1 into v_status, v_prior; -- 'closed' only when it was closed
  if not v_trusted and v_status = 'closed' then
    perform errors.raise_error('chat_closed');
  end if;

  v_price := private.price_under(v_chat.settings, v_prior, new.created_at, v_chat.is_featured);
  if v_credits < v_price then
    perform errors.raise_error('insufficient_credits',
      format('This message costs %s credits; the balance is %s.', v_price, v_credits));
  end if;
  if v_price > 0 then
    update public.real_users r set credits = r.credits - v_price where r.id = v_chat.real_user_id;
  end if;
  new.credits_charged := v_price;
  return new;
end;
$$;

create trigger apply_message
  before insert on public.messages
  for each row execute function private.apply_message();

-- Records the author of a fictional message: the operator whose JWT inserted it (auth.uid()).
-- Clients never name the operator, so nobody can write in another operator's name. Messages inserted
-- without an operator JWT (service_role, seeds) get no author row. Trigger function only; fires for
-- fictional messages only.
create function private.record_message_author()
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
  for each row when (new.sender_type = 'fictional')
  execute function private.record_message_author();

revoke all on function private.apply_message(), private.record_message_author() from public, anon, authenticated, service_role;

-- Sends a message in a chat as the caller, through the same insert (and so the same charging and
-- policies) as a Data API insert: a real message when the caller is the chat's real user, a fictional
-- one otherwise (allowed only to the operator holding the chat). Returns the new row. Errors: PT404
-- chat_not_found (no chat the caller can see), PT402 insufficient_credits, 42501 from the insert
-- policy (closed chat, deactivated account, chat not held), 23514 from constraints (empty or too
-- long content). Callers: signed-in users (security invoker: RLS applies).
create function public.send_message(p_chat_id uuid, p_content text)
returns public.messages
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_real_user_id uuid;
  v_row public.messages;
begin
  select c.real_user_id into v_real_user_id from public.chats c where c.id = p_chat_id;
  if not found or auth.uid() is null then
    perform errors.raise_error('chat_not_found', 'No such chat for this caller.');
  end if;
  insert into public.messages (chat_id, sender_type, content)
  values (p_chat_id, case when v_real_user_id = auth.uid() then 'real' else 'fictional' end, p_content)
  returning * into v_row;
  return v_row;
end;
$$;

revoke all on function public.send_message(uuid, text) from public, anon, authenticated, service_role;
grant execute on function public.send_message(uuid, text) to authenticated;
