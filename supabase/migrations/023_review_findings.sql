-- Fantooo: findings of an independent review (issue 16, items 5 and 6; SPEC 12; docs/rules.md).
--
--   * Avatar URLs default to the project's own Storage. settings.avatar_url_prefix was null by
--     default, so any https URL was stored and served to the operator panel (a beacon that shows
--     staff IP addresses to whoever runs the host). Now an avatar must start with
--     avatar_url_prefix when an admin set one, else with <project_url>/storage/v1/object/public/
--     (the Vault secret project_url, which the cron jobs read too); with neither known every avatar
--     is refused (invalid_avatar_url). The check function private.check_avatar_url changes; its
--     triggers stay.
--   * A message without a settings row is refused (PT500 pricing_not_configured): the message
--     trigger private.apply_message read the settings row in an inner join and, finding none,
--     wrote the message free. Before that join the price was null and the insert failed; now it
--     fails with its own code.
--   * One persona per account: a real_users row for an operator or admin (a deactivated operator
--     passed the insert policy, and once reactivated was both a customer and an operator), or an
--     operators or admins row for a real user, is refused (PT409 persona_conflict) whoever writes
--     it. The triggers run after the row is checked by the insert policies, so an active staff
--     member's own insert is still the policy's 42501.
--
-- Refusals go through errors.raise_error (005): invalid_avatar_url, pricing_not_configured,
-- persona_conflict.

insert into errors.catalogue (code, sqlstate, http_status, message) values
  ('pricing_not_configured', 'PT500', 500,
   'Messages cannot be priced: the settings row is missing, so no message is written.'),
  ('persona_conflict', 'PT409', 409,
   'An account has one persona: a real user cannot also be an operator or admin, nor staff a real user.');

update errors.catalogue
   set message = 'An avatar URL must be an https URL under the project''s Storage '
                 '(settings.avatar_url_prefix, else <project URL>/storage/v1/object/public/).'
 where code = 'invalid_avatar_url';

-- Avatar URLs under the project's own Storage ------------------------------------------------------------

comment on column public.settings.avatar_url_prefix is
  'Where every avatar_url written must start (an https URL, for example a bucket''s public path). '
  'Null means the project''s own Storage public path, <Vault project_url>/storage/v1/object/public/; '
  'with neither known, every avatar is refused.';

-- What changed: a null settings.avatar_url_prefix no longer lets any https URL through; the prefix
-- defaults to the project's Storage public path from the Vault secret project_url, and with neither
-- known the avatar is refused (fail closed).
-- Refuses (invalid_avatar_url, 23514) an avatar_url longer than 2,048 characters (a URL, not a
-- payload: 100 KB used to pass), not an https URL (a host, no user info,
-- no white space, no . or .. path segment) or that does not start with the prefix avatars must have:
-- settings.avatar_url_prefix when an admin set one, else the project's own Storage public path,
-- <project_url>/storage/v1/object/public/, with project_url the Vault secret the cron jobs read.
-- With neither (no prefix set, and Vault has no https project_url, as on the local stack, which
-- serves no Storage) every avatar is refused. Checked when a row is inserted with an avatar and when
-- an update changes it, whoever writes (API roles, service_role, functions). Null clears the avatar.
-- Trigger function only; security definer because API roles do not all read settings, and none
-- reads Vault.
create or replace function private.check_avatar_url()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_prefix text;
  v_project_url text;
begin
  if new.avatar_url is null or (tg_op = 'UPDATE' and new.avatar_url is not distinct from old.avatar_url) then
    return new;
  end if;
  if length(new.avatar_url) > 2048
     or new.avatar_url !~ '^https://[^/?#@[:space:]]+(/[^[:space:]]*)?$'
     or new.avatar_url ~ '/\.\.?(/|[?#]|$)' then
    perform errors.raise_error('invalid_avatar_url', 'An avatar URL must be an https URL.');
  end if;
  select s.avatar_url_prefix into v_prefix from public.settings s;
  if v_prefix is null then
    select d.decrypted_secret into v_project_url
      from vault.decrypted_secrets d
     where d.name = 'project_url';
    if v_project_url !~ '^https://[^/?#@[:space:]]+(/[^?#[:space:]]*)?$' or v_project_url is null then
      perform errors.raise_error('invalid_avatar_url',
        'No Storage URL is known for avatars: an admin sets settings.avatar_url_prefix '
        '(Vault has no https project_url).');
    end if;
    v_prefix := rtrim(v_project_url, '/') || '/storage/v1/object/public/';
  end if;
  if left(new.avatar_url, length(v_prefix)) <> v_prefix then
    perform errors.raise_error('invalid_avatar_url',
      format('An avatar URL must start with %s.', v_prefix));
  end if;
  return new;
end;
$$;

-- A message is refused without a settings row ---------------------------------------------------------

-- What changed: the settings row is read with a left join, and a real message without one is refused
-- (pricing_not_configured) instead of being written free; the rest is unchanged.
-- Everything a new message does before it is written (see the file header), under the lock order of
-- 016: the person's row (the real user's, or the answering operator's), then the chat's, then its
-- assignment and activity rows. A real message: the real user's row is locked, the chat's counters
-- and lifecycle move (idle -> waiting, queued_at the oldest unanswered message: 008) by the update
-- that locks the chat, and under those locks a deactivated account is refused (42501
-- account_deactivated), a closed chat too (42501 chat_closed), then the price (006) is taken or PT402
-- insufficient_credits; without a settings row to price it, PT500 pricing_not_configured (for every
-- caller, trusted ones included). An operator's answer: the operator's counters (total_messages_sent,
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

revoke all on function private.apply_message() from public, anon, authenticated, service_role;

-- One persona per account -------------------------------------------------------------------------------

-- Refuses (persona_conflict, PT409) a second persona for one account: a real_users row for an
-- operator or admin, an operators or admins row for a real user, whoever inserts it (API roles,
-- service_role, admin-accounts, seeds). Runs after the insert policies (an active operator's own
-- real_users insert stays their 42501) and takes a transaction lock on the account's id first, so
-- two inserts racing on one account run one after the other and the second sees the first. Trigger
-- function only; security definer because the inserting user may read neither table.
create or replace function private.refuse_second_persona()
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
