-- Fantooo: charging and bookkeeping of messages (docs/lifecycle.md and docs/rules.md).
--
-- Whichever way a message arrives (Data API insert into messages, the send_message RPC, a
-- service_role or server-side insert), the triggers below do, in the inserting transaction:
--   before insert  messages_charge            price computed here (006), the real user's row locked
--                                             (select ... for update) and the credits taken, or
--                                             PT402 insufficient_credits and nothing written;
--                                             fictional messages cost 0.
--   after insert   messages_update_chat      (008_chat_lifecycle) chats.message_count,
--                                             last_message_at and the lifecycle (idle -> waiting;
--                                             queued_at).
--                  messages_update_operator  operators.total_messages_sent and the holder's activity.
--                  record_message_author     (001) message_authors.
-- Clients can write only chat_id, sender_type and content (003 column grants), so credits_charged
-- is never theirs to set; the trigger overwrites it anyway.
--
-- Lock order, shared with 008_chat_lifecycle so concurrent writers cannot deadlock: real_users row,
-- then chats row, then chat_assignments / operator_activity, then operators.
-- (assign_chat_to_operator locks the operator first but never waits for a chat: it takes chats FOR
-- UPDATE SKIP LOCKED.)
--
-- Who may write which message is the insert policy's business (003: real users in their own open
-- chats while active, operators in the chats they hold; 42501 otherwise). The charging trigger runs
-- before that check and charges only a row the policy will accept; a refused row rolls back with its
-- statement anyway. Its own refusal: insufficient_credits (errors.raise_error, 005; nothing is
-- written).

-- Prices and charges a new message (see the file header). For a real message: locks the real
-- user's row, counts the chat's earlier real messages (up to the free ones), prices it
-- (private.message_price of 006, at created_at) and takes the credits, or raises PT402
-- insufficient_credits. Fictional messages cost 0. API callers get created_at = clock_timestamp()
-- (no backdating; messages written in one transaction stay ordered); trusted callers (seeds,
-- tests) keep the created_at they give, which is also the pricing time. Trigger function only.
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

create trigger messages_charge
  before insert on public.messages
  for each row execute function private.charge_message();

-- For a fictional message written by an operator (its JWT): counts it in
-- operators.total_messages_sent and refreshes the operator's activity (operators.last_activity_at and
-- operator_activity.last_activity_at of that chat, which keeps the idle sweep away). Trigger function
-- only.
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

create trigger messages_update_operator
  after insert on public.messages
  for each row execute function private.update_operator_on_message();

-- Sends a message in a chat as the caller, through the same insert (and so the same charging and
-- policies) as a Data API insert: a real message when the caller is the chat's real user, a fictional
-- one otherwise (allowed only to the operator holding the chat). Returns the new row. Errors: PT404
-- chat_not_found (no chat the caller can see), PT402 insufficient_credits, 42501 from the insert
-- policy (closed chat, deactivated account, chat not held), 23514 from constraints (empty or too
-- long content). Callers: signed-in users (security invoker: RLS applies).
create or replace function public.send_message(p_chat_id uuid, p_content text)
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

revoke all on function
  private.charge_message(),
  private.update_operator_on_message()
from public, anon, authenticated, service_role;

revoke execute on function public.send_message(uuid, text) from public, anon, authenticated, service_role;
grant execute on function public.send_message(uuid, text) to authenticated;
