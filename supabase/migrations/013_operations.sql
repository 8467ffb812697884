-- Fantooo: operations by admins (docs/rules.md; SPEC 11): the admin RPCs, their audit trail
-- (admin_actions), the credit adjustment history (credit_adjustments), the admin dashboard, and the
-- audit of credit package changes made through the Data API.
--
--   admin_clear_flag(chat)                   clears flagged_for_review and flag_reason
--   admin_reassign_chat(chat, operator)      releases the chat from its holder (reason admin) and
--                                            assigns it to that operator
--   admin_set_operator_active(operator, b)   (de)activates an operator; deactivation releases its
--                                            chats (reason admin) and sets it offline (008's triggers)
--   admin_adjust_credits(user, delta, why)   adds or removes credits, never below 0, with a reason
--   get_admin_dashboard()                    queue, operators, flags, today's money and the sweep
--
-- Who may call them: admins (public.is_admin()) and trusted callers (service_role, or a database
-- session without JWT claims: private.is_trusted_caller()). Everyone else, anon included, gets
-- SQLSTATE 42501 `forbidden` and nothing changes. Every call that passes that check leaves one
-- admin_actions row (admin_id null for service_role), written in the same transaction as the change.
--
-- Security model (SPEC 5, splinter 0028/0029): what clients call in `public` is a `security invoker`
-- wrapper over a `security definer` body in the schema api_private, which the Data API does not
-- expose. API roles have usage on api_private (so the wrappers can call the bodies) and execute on
-- exactly those bodies; every body checks its caller itself. Internal helpers stay in `private`,
-- which API roles cannot use at all.
--
-- The chat lifecycle stays 008's concern: reassignment ends the holder's assignment with
-- private.release_chat(chat, 'admin') (back to 'waiting' in its old place) and then gives the chat
-- to the chosen operator with private.assign_locked_chat below, the single-chat form of
-- assign_chat_to_operator's waiting -> assigned step; deactivation goes through 008's triggers on
-- operators.is_active. Lock order as in 008: real_users row, chats row, assignments, operators.
--
-- Refusals go through errors.raise_error (005): forbidden, chat_not_found, chat_not_waiting,
-- operator_not_found, operator_unavailable, at_capacity, real_user_not_found, reason_required,
-- invalid_argument, insufficient_credits_to_remove.

insert into errors.catalogue (code, sqlstate, http_status, message) values
  ('reason_required', 'PT400', 400, 'A reason is required.'),
  ('invalid_argument', 'PT400', 400, 'A required argument is missing or out of range.'),
  ('real_user_not_found', 'PT404', 404, 'No real user has this id.'),
  ('chat_not_waiting', 'PT409', 409,
   'Only a chat whose real user waits for an answer (waiting, or held and unanswered) can be reassigned.'),
  ('insufficient_credits_to_remove', 'PT409', 409, 'The user has fewer credits than the adjustment removes.');

-- The schema of the definer bodies ------------------------------------------------------------------

create schema if not exists api_private;
comment on schema api_private is
  'Security definer bodies of the RPCs clients call through security invoker wrappers in public. Not '
  'exposed by the Data API; each function checks its caller.';
revoke all on schema api_private from public;
grant usage on schema api_private to anon, authenticated, service_role;

-- Tables --------------------------------------------------------------------------------------------

create table public.admin_actions (
  id uuid primary key default gen_random_uuid(),
  admin_id uuid references public.admins (id) on delete set null,
  action text not null check (action in (
    'clear_flag', 'reassign_chat', 'set_operator_active', 'adjust_credits', 'reopen_chat',
    'create_package', 'update_package', 'delete_package', 'create_operator', 'create_admin')),
  target_type text not null check (target_type in ('chat', 'operator', 'real_user', 'credit_package', 'admin')),
  target_id uuid not null,
  details jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
comment on table public.admin_actions is
  'Audit trail: one row per admin operation (admin RPCs, credit package changes, staff accounts created '
  'by admin-accounts). Append-only; readable by admins only.';
comment on column public.admin_actions.admin_id is
  'The admin who acted; null when a trusted caller (service_role, a server-side session) did.';
comment on column public.admin_actions.target_id is 'The id of the row acted on, of the kind target_type names.';
comment on column public.admin_actions.details is
  'What changed, per action (for example the previous flag reason, the operators a chat moved between, '
  'a credit delta and the balance after).';

create index idx_admin_actions_admin_created on public.admin_actions (admin_id, created_at);
create index idx_admin_actions_target on public.admin_actions (target_id, created_at);

create table public.credit_adjustments (
  id uuid primary key default gen_random_uuid(),
  real_user_id uuid not null references public.real_users (id) on delete cascade,
  delta integer not null check (delta <> 0),
  reason text not null check (char_length(btrim(reason)) between 1 and 500),
  balance_after integer not null check (balance_after >= 0),
  created_at timestamptz not null default now()
);
comment on table public.credit_adjustments is
  'Credits added or removed by an admin (admin_adjust_credits), with the reason. The user reads its own '
  'history; admins read all. Who made an adjustment is in admin_actions (admins only).';
comment on column public.credit_adjustments.delta is 'Credits added (positive) or removed (negative).';
comment on column public.credit_adjustments.balance_after is 'The user''s balance right after the adjustment.';

create index idx_credit_adjustments_user_created on public.credit_adjustments (real_user_id, created_at);

-- "Today" on the dashboard: paid messages and idle releases by time, without reading every row.
create index idx_messages_charged_created on public.messages (created_at) where credits_charged > 0;
create index idx_chat_assignments_idle_released
  on public.chat_assignments (released_at) where release_reason = 'idle_timeout';

alter table public.admin_actions enable row level security;
alter table public.credit_adjustments enable row level security;

revoke all on table public.admin_actions, public.credit_adjustments from anon, authenticated;
grant select on table public.admin_actions, public.credit_adjustments to authenticated;
grant select, insert, update, delete on table public.admin_actions, public.credit_adjustments to service_role;

create policy "admins read admin actions" on public.admin_actions
  for select to authenticated
  using ((select public.is_admin()));
create policy "real users read own credit adjustments, admins read all" on public.credit_adjustments
  for select to authenticated
  using (real_user_id = (select auth.uid()) or (select public.is_admin()));

-- Internal helpers ----------------------------------------------------------------------------------

-- Raises 42501 forbidden unless the caller is an admin or a trusted caller. Internal helper.
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

-- Appends the admin_actions row of an operation: the calling admin (null for a trusted caller), the
-- action, its target and details. Internal helper; the caller runs as owner.
create or replace function private.record_admin_action(
  p_action text, p_target_type text, p_target_id uuid, p_details jsonb default '{}'::jsonb
)
returns void
language sql
set search_path = ''
as $$
  insert into public.admin_actions (admin_id, action, target_type, target_id, details)
  values (
    (select a.id from public.admins a where a.id = auth.uid()),
    p_action, p_target_type, p_target_id, coalesce(p_details, '{}'::jsonb));
$$;

-- The waiting -> assigned step of the lifecycle (008) for one chat: the chat the caller has locked
-- (select ... for update), which is waiting, goes to p_operator_id, whose availability and capacity
-- the caller has checked under the operator's row lock. Records the open chat_assignments row and the
-- operator_activity row, as assign_chat_to_operator does. Internal helper of admin_reassign_chat.
create or replace function private.assign_locked_chat(p_chat_id uuid, p_operator_id uuid)
returns void
language plpgsql
set search_path = ''
as $$
begin
  update public.chats c set status = 'assigned' where c.id = p_chat_id and c.status = 'waiting';
  if not found then
    perform errors.raise_error('chat_not_waiting');
  end if;
  insert into public.chat_assignments (chat_id, operator_id, assigned_at)
  values (p_chat_id, p_operator_id, now());
  insert into public.operator_activity (operator_id, chat_id, assigned_at, last_activity_at)
  values (p_operator_id, p_chat_id, now(), now());
  update public.operators o set last_activity_at = now() where o.id = p_operator_id;
end;
$$;

-- The admin RPCs: definer bodies --------------------------------------------------------------------

-- Clears a chat's review flag (flagged_for_review false, flag_reason null); reassignment_count stays
-- as history. Returns true when the chat was flagged. Admins and trusted callers; unknown chat PT404
-- chat_not_found.
create or replace function api_private.admin_clear_flag(p_chat_id uuid)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_chat public.chats%rowtype;
begin
  perform private.require_admin();
  select * into v_chat from public.chats c where c.id = p_chat_id for update;
  if not found then
    perform errors.raise_error('chat_not_found', 'No chat has this id.');
  end if;
  update public.chats c
     set flagged_for_review = false, flag_reason = null
   where c.id = p_chat_id and c.flagged_for_review;
  perform private.record_admin_action('clear_flag', 'chat', p_chat_id, jsonb_build_object(
    'was_flagged', v_chat.flagged_for_review,
    'flag_reason', v_chat.flag_reason,
    'reassignment_count', v_chat.reassignment_count));
  return v_chat.flagged_for_review;
end;
$$;

-- Gives a chat whose real user waits for an answer to p_operator_id: the current holder (if any) is
-- released with reason 'admin' (008's private.release_chat: the chat goes back to 'waiting' in its
-- old place, counts a reassignment and may be flagged), then the chat is assigned to the operator.
-- Returns {"chat_id", "operator_id", "previous_operator_id", "flagged"}. A chat the operator already
-- holds is left as it is. Refusals, all before anything changes: forbidden (not an admin), PT404
-- chat_not_found / operator_not_found, PT409 chat_not_waiting (idle, closed, or held and answered:
-- it returns to the queue when its user writes), PT409 operator_unavailable (deactivated, busy or
-- offline), PT409 at_capacity.
create or replace function api_private.admin_reassign_chat(p_chat_id uuid, p_operator_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_chat public.chats%rowtype;
  v_holder uuid;
  v_operator public.operators%rowtype;
  v_held integer;
  v_flagged boolean := false;
  v_result jsonb;
begin
  perform private.require_admin();

  -- Lock order (008): the chat, then the operator.
  select * into v_chat from public.chats c where c.id = p_chat_id for update;
  if not found then
    perform errors.raise_error('chat_not_found', 'No chat has this id.');
  end if;
  select a.operator_id into v_holder
    from public.chat_assignments a
   where a.chat_id = p_chat_id and a.released_at is null;
  if v_chat.status not in ('waiting', 'assigned') or v_chat.queued_at is null then
    perform errors.raise_error('chat_not_waiting',
      format('The chat is %s%s; only a chat whose user waits for an answer is reassigned.',
             v_chat.status, case when v_chat.status = 'assigned' then ' and answered' else '' end));
  end if;

  select * into v_operator from public.operators o where o.id = p_operator_id for update;
  if not found then
    perform errors.raise_error('operator_not_found');
  end if;

  if v_holder is distinct from p_operator_id then
    if not v_operator.is_active or v_operator.status <> 'available' then
      perform errors.raise_error('operator_unavailable',
        format('The operator is %s; only active, available operators take chats.',
               case when v_operator.is_active then v_operator.status else 'deactivated' end));
    end if;
    select count(*) into v_held
      from public.chat_assignments a
     where a.operator_id = p_operator_id and a.released_at is null;
    if v_held >= v_operator.max_concurrent_chats then
      perform errors.raise_error('at_capacity',
        format('The operator already holds %s of %s chats.', v_held, v_operator.max_concurrent_chats));
    end if;

    if v_holder is not null then
      v_flagged := coalesce(private.release_chat(p_chat_id, 'admin'), false);
    end if;
    perform private.assign_locked_chat(p_chat_id, p_operator_id);
  end if;

  v_result := jsonb_build_object(
    'chat_id', p_chat_id,
    'operator_id', p_operator_id,
    'previous_operator_id', v_holder,
    'flagged', v_flagged);
  perform private.record_admin_action('reassign_chat', 'chat', p_chat_id,
    v_result || jsonb_build_object('unchanged', v_holder is not distinct from p_operator_id));
  return v_result;
end;
$$;

-- Activates or suspends an operator. Suspension (p_active false) goes through 008's triggers on
-- operators.is_active: every chat the operator holds is released with reason 'admin' (back to the
-- queue in its old place, or idle) and the operator becomes 'offline'. Reactivation leaves it
-- offline until it sets itself available. Returns {"operator_id", "is_active", "status",
-- "released"}. Refusals: forbidden, PT404 operator_not_found, PT400 invalid_argument (p_active null).
create or replace function api_private.admin_set_operator_active(p_operator_id uuid, p_active boolean)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_operator public.operators%rowtype;
  v_held integer;
  v_result jsonb;
begin
  perform private.require_admin();
  if p_active is null then
    perform errors.raise_error('invalid_argument', 'p_active must be true or false.');
  end if;
  select * into v_operator from public.operators o where o.id = p_operator_id for update;
  if not found then
    perform errors.raise_error('operator_not_found');
  end if;
  select count(*) into v_held
    from public.chat_assignments a
   where a.operator_id = p_operator_id and a.released_at is null;

  update public.operators o set is_active = p_active where o.id = p_operator_id
  returning jsonb_build_object(
    'operator_id', o.id,
    'is_active', o.is_active,
    'status', o.status,
    'released', case when v_operator.is_active and not p_active then v_held else 0 end)
  into v_result;

  perform private.record_admin_action('set_operator_active', 'operator', p_operator_id,
    v_result || jsonb_build_object('was_active', v_operator.is_active));
  return v_result;
end;
$$;

-- Adds (p_delta > 0) or removes (p_delta < 0) credits of a real user, with a reason (required), and
-- records it in credit_adjustments. The balance never goes below 0. Returns {"adjustment_id",
-- "real_user_id", "delta", "balance"}. Refusals: forbidden, PT400 reason_required, PT400
-- invalid_argument (delta null or 0), PT404 real_user_not_found, PT409
-- insufficient_credits_to_remove.
create or replace function api_private.admin_adjust_credits(p_user_id uuid, p_delta integer, p_reason text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_credits integer;
  v_adjustment_id uuid;
  v_result jsonb;
begin
  perform private.require_admin();
  if p_reason is null or btrim(p_reason) = '' then
    perform errors.raise_error('reason_required', 'Say why the credits are adjusted (p_reason).');
  end if;
  if p_delta is null or p_delta = 0 then
    perform errors.raise_error('invalid_argument', 'p_delta must be a non-zero number of credits.');
  end if;
  if char_length(btrim(p_reason)) > 500 then
    perform errors.raise_error('invalid_argument', 'p_reason must be at most 500 characters.');
  end if;

  -- Lock order (007, 008): the real user's row first; message charging takes the same lock.
  select r.credits into v_credits from public.real_users r where r.id = p_user_id for update;
  if not found then
    perform errors.raise_error('real_user_not_found');
  end if;
  if v_credits + p_delta < 0 then
    perform errors.raise_error('insufficient_credits_to_remove',
      format('The user has %s credits; %s cannot be removed.', v_credits, -p_delta));
  end if;

  update public.real_users r set credits = r.credits + p_delta where r.id = p_user_id;
  insert into public.credit_adjustments (real_user_id, delta, reason, balance_after)
  values (p_user_id, p_delta, btrim(p_reason), v_credits + p_delta)
  returning id into v_adjustment_id;

  v_result := jsonb_build_object(
    'adjustment_id', v_adjustment_id,
    'real_user_id', p_user_id,
    'delta', p_delta,
    'balance', v_credits + p_delta);
  perform private.record_admin_action('adjust_credits', 'real_user', p_user_id,
    v_result || jsonb_build_object('reason', btrim(p_reason), 'balance_before', v_credits));
  return v_result;
end;
$$;

-- The admin dashboard, as jsonb:
--   queue_length          waiting chats
--   oldest_wait_seconds   whole seconds the oldest waiting chat has waited (by queued_at); null when
--                         nothing waits
--   operators_by_status   active operators by status: {"available": n, "busy": n, "offline": n}
--   assigned_chats        chats held now
--   flagged_chats         chats flagged for review
--   revenue_today         paid purchases of today (paid_at), in subunits by currency: {"KES": 45000}
--                         (refunded purchases are left out)
--   credits_sold_today    credits (bonus included) of those purchases
--   credits_spent_today   credits charged for messages written today
--   idle_incidents_today  assignments released with idle_timeout today
--   last_sweep_at         the last successful idle sweep (sweeper_status.last_success_at)
--   business_day, timezone  the day these figures are for, in settings.timezone
-- "Today" is the business day in settings.timezone (private.day_start, 004). Admins and trusted
-- callers; anyone else 42501 forbidden. Records nothing: it changes nothing.
create or replace function api_private.get_admin_dashboard()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_tz text;
  v_today date;
  v_from timestamptz;
  v_to timestamptz;
begin
  perform private.require_admin();
  select s.timezone into v_tz from public.settings s;
  v_tz := coalesce(v_tz, 'Africa/Nairobi');
  v_today := (now() at time zone v_tz)::date;
  v_from := private.day_start(v_today);
  v_to := private.day_start(v_today + 1);

  return jsonb_build_object(
    'queue_length', (select count(*) from public.chats c where c.status = 'waiting'),
    'oldest_wait_seconds', (
      select floor(extract(epoch from now() - min(c.queued_at)))::bigint
        from public.chats c where c.status = 'waiting'),
    'operators_by_status', (
      select jsonb_build_object(
               'available', count(*) filter (where o.status = 'available'),
               'busy', count(*) filter (where o.status = 'busy'),
               'offline', count(*) filter (where o.status = 'offline'))
        from public.operators o where o.is_active),
    'assigned_chats', (select count(*) from public.chats c where c.status = 'assigned'),
    'flagged_chats', (select count(*) from public.chats c where c.flagged_for_review),
    'revenue_today', (
      select coalesce(jsonb_object_agg(r.currency, r.amount), '{}'::jsonb)
        from (select t.currency, sum(t.amount)::bigint as amount
                from public.transactions t
               where t.status = 'success' and t.paid_at >= v_from and t.paid_at < v_to
               group by t.currency) r),
    'credits_sold_today', (
      select coalesce(sum(t.credits), 0)::bigint
        from public.transactions t
       where t.status = 'success' and t.paid_at >= v_from and t.paid_at < v_to),
    'credits_spent_today', (
      select coalesce(sum(m.credits_charged), 0)::bigint
        from public.messages m
       where m.credits_charged > 0 and m.created_at >= v_from and m.created_at < v_to),
    'idle_incidents_today', (
      select count(*)
        from public.chat_assignments a
       where a.release_reason = 'idle_timeout' and a.released_at >= v_from and a.released_at < v_to),
    'last_sweep_at', (select s.last_success_at from public.sweeper_status s),
    'business_day', v_today,
    'timezone', v_tz);
end;
$$;

-- The admin RPCs: what clients call (security invoker wrappers) ------------------------------------

-- Clears a chat's review flag. See api_private.admin_clear_flag. Admins and service_role.
create or replace function public.admin_clear_flag(p_chat_id uuid)
returns boolean
language sql
security invoker
set search_path = ''
as $$
  select api_private.admin_clear_flag(p_chat_id);
$$;

-- Releases a chat from its holder (reason admin) and assigns it to p_operator_id. See
-- api_private.admin_reassign_chat. Admins and service_role.
create or replace function public.admin_reassign_chat(p_chat_id uuid, p_operator_id uuid)
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select api_private.admin_reassign_chat(p_chat_id, p_operator_id);
$$;

-- Activates or suspends an operator. See api_private.admin_set_operator_active. Admins and service_role.
create or replace function public.admin_set_operator_active(p_operator_id uuid, p_active boolean)
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select api_private.admin_set_operator_active(p_operator_id, p_active);
$$;

-- Adds or removes a real user's credits, with a reason. See api_private.admin_adjust_credits. Admins
-- and service_role.
create or replace function public.admin_adjust_credits(p_user_id uuid, p_delta integer, p_reason text)
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select api_private.admin_adjust_credits(p_user_id, p_delta, p_reason);
$$;

-- The admin dashboard. See api_private.get_admin_dashboard. Admins and service_role.
create or replace function public.get_admin_dashboard()
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select api_private.get_admin_dashboard();
$$;

-- Credit packages through the Data API: the audit ---------------------------------------------------

-- Admins manage credit_packages through the Data API (009's policies and column grants). Each insert,
-- update or delete leaves an admin_actions row naming the package and what changed. Trigger function
-- only; security definer because admins cannot write admin_actions themselves.
create or replace function private.record_credit_package_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.record_admin_action('create_package', 'credit_package', new.id, to_jsonb(new));
  elsif tg_op = 'UPDATE' then
    perform private.record_admin_action('update_package', 'credit_package', new.id,
      jsonb_build_object('before', to_jsonb(old), 'after', to_jsonb(new)));
  else
    perform private.record_admin_action('delete_package', 'credit_package', old.id, to_jsonb(old));
  end if;
  return null;
end;
$$;

create trigger record_credit_package_change
  after insert or update or delete on public.credit_packages
  for each row execute function private.record_credit_package_change();

-- Privileges ------------------------------------------------------------------------------------------

revoke all on function
  private.require_admin(),
  private.record_admin_action(text, text, uuid, jsonb),
  private.assign_locked_chat(uuid, uuid),
  private.record_credit_package_change()
from public, anon, authenticated, service_role;

-- The bodies and their wrappers are executable by every API role: each body answers anyone but an
-- admin or service_role with 42501 forbidden (SPEC 11), anon included.
revoke all on function
  api_private.admin_clear_flag(uuid),
  api_private.admin_reassign_chat(uuid, uuid),
  api_private.admin_set_operator_active(uuid, boolean),
  api_private.admin_adjust_credits(uuid, integer, text),
  api_private.get_admin_dashboard(),
  public.admin_clear_flag(uuid),
  public.admin_reassign_chat(uuid, uuid),
  public.admin_set_operator_active(uuid, boolean),
  public.admin_adjust_credits(uuid, integer, text),
  public.get_admin_dashboard()
from public, anon, authenticated, service_role;

grant execute on function
  api_private.admin_clear_flag(uuid),
  api_private.admin_reassign_chat(uuid, uuid),
  api_private.admin_set_operator_active(uuid, boolean),
  api_private.admin_adjust_credits(uuid, integer, text),
  api_private.get_admin_dashboard(),
  public.admin_clear_flag(uuid),
  public.admin_reassign_chat(uuid, uuid),
  public.admin_set_operator_active(uuid, boolean),
  public.admin_adjust_credits(uuid, integer, text),
  public.get_admin_dashboard()
to anon, authenticated, service_role;
