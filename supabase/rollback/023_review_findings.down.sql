-- Undoes 023_review_findings.sql: drops the one-persona triggers and their function, gives
-- private.apply_message its 018 body and private.check_avatar_url its 016 body back (verbatim;
-- create or replace keeps their grants), restores the comment on settings.avatar_url_prefix and the
-- catalogue as they were.

begin;

drop trigger refuse_second_persona on public.admins;
drop trigger refuse_second_persona on public.operators;
drop trigger refuse_second_persona on public.real_users;
drop function private.refuse_second_persona();

-- Everything a new message does before it is written (see the file header), under the lock order of
-- 016: the person's row (the real user's, or the answering operator's), then the chat's, then its
-- assignment and activity rows. A real message: the real user's row is locked, the chat's counters
-- and lifecycle move (idle -> waiting, queued_at the oldest unanswered message: 008) by the update
-- that locks the chat, and under those locks a deactivated account is refused (42501
-- account_deactivated), a closed chat too (42501 chat_closed), then the price (006) is taken or PT402
-- insufficient_credits. An operator's answer: the operator's counters (total_messages_sent,
-- last_activity_at) by the update that locks its row, the chat's counters (queued_at cleared unless
-- the chat is waiting), then, under those locks, PT404 chat_not_held unless it still holds the chat,
-- and its activity in the chat (operator_activity, which keeps the idle sweep away). Who may write is
-- the insert policy's business (003, 018); a row it refuses rolls all this back. Trusted callers
-- (seeds, tests) keep the created_at they give and are not refused. Trigger function only.
create or replace function private.apply_message()
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
    cross join public.settings s
   where c.id = new.chat_id and s.id;
  if not found or (not v_trusted and v_chat.real_user_id is distinct from v_caller) then
    return new; -- the foreign key or the insert policy refuses the row
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


-- Refuses (invalid_avatar_url, 23514) an avatar_url that is not an https URL (a host, no user info,
-- no white space, no . or .. path segment) or, when settings.avatar_url_prefix is set, does not start
-- with it. Checked when a row is inserted with an avatar and when an update changes it, whoever
-- writes (API roles, service_role, functions). Null clears the avatar. Trigger function only;
-- security definer because API roles do not all read settings.
create or replace function private.check_avatar_url()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_prefix text;
begin
  if new.avatar_url is null or (tg_op = 'UPDATE' and new.avatar_url is not distinct from old.avatar_url) then
    return new;
  end if;
  if new.avatar_url !~ '^https://[^/?#@[:space:]]+(/[^[:space:]]*)?$'
     or new.avatar_url ~ '/\.\.?(/|[?#]|$)' then
    perform errors.raise_error('invalid_avatar_url', 'An avatar URL must be an https URL.');
  end if;
  select s.avatar_url_prefix into v_prefix from public.settings s;
  if v_prefix is not null and left(new.avatar_url, length(v_prefix)) <> v_prefix then
    perform errors.raise_error('invalid_avatar_url',
      format('An avatar URL must start with %s.', v_prefix));
  end if;
  return new;
end;
$$;

comment on column public.settings.avatar_url_prefix is
  'The project''s Storage public URL (for example https://<ref>.supabase.co/storage/v1/object/public/avatars/). '
  'When set, every avatar_url written must start with it; when null, any https URL is accepted.';

update errors.catalogue
   set message = 'An avatar URL must be an https URL (under the project''s Storage URL when one is configured).'
 where code = 'invalid_avatar_url';
delete from errors.catalogue where code in ('pricing_not_configured', 'persona_conflict');

commit;
