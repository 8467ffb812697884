-- Fantooo: the platform every other migration builds on: the schemas that keep helpers away from
-- the Data API, the error catalogue (the one place the SQL error contract is written), the
-- updated_at trigger and the test of a trusted caller.
--
--   private      helper and trigger functions, and tables no API role reads; closed to API roles
--   api_private  security definer bodies of the RPCs that public exposes as security invoker
--                wrappers (splinter 0028/0029: nothing executable by anon or authenticated in an
--                exposed schema runs with its owner's rights); API roles may use it, and execute
--                only the bodies granted to them
--   errors       errors.catalogue and errors.raise_error (docs/errors.md is the same table for
--                readers; tests/db/errors.test.ts keeps the two equal)
--
-- Every deliberate refusal in SQL goes through errors.raise_error(code, detail), which looks the code
-- up in errors.catalogue and raises:
--   SQLSTATE  the row's sqlstate: PTxyz, which PostgREST answers with HTTP status xyz, except where a
--             standard SQLSTATE is fixed by the spec or the README: 42501 for forbidden (docs/rules.md
--             and SPEC 11), 23514 for a refused value (docs/rules.md), 55006 for deleting an operator
--             that holds chats (README);
--   MESSAGE   the snake_case code, which clients and the Edge Functions switch on;
--   DETAIL    human text: p_detail when the caller gives one (the case at hand), else the row's message.
-- A code missing from the catalogue is a bug and raises XX000 unknown_error_code. Guards that run as
-- the API caller (authenticated) raise through it too, so the schema is usable by API roles while
-- private stays closed to them; it is not exposed by the Data API and holds nothing else a caller
-- can use.

-- Schemas ------------------------------------------------------------------------------------------

create schema if not exists private;

revoke all on schema private from public;

comment on schema private is
  'Helper and trigger functions; not exposed through the Data API and not usable by anon/authenticated.';

create schema if not exists api_private;

comment on schema api_private is
  'Security definer bodies of the RPCs clients call through security invoker wrappers in public. Not '
  'exposed by the Data API; each function checks its caller.';

revoke all on schema api_private from public;

grant usage on schema api_private to anon, authenticated, service_role;

create schema if not exists errors;

comment on schema errors is
  'The error catalogue and errors.raise_error; not exposed through the Data API.';

revoke all on schema errors from public;

grant usage on schema errors to authenticated, service_role;

-- The error catalogue ------------------------------------------------------------------------------

create table errors.catalogue (
  code text primary key check (code ~ '^[a-z][a-z0-9_]*$'),
  sqlstate text not null check (sqlstate ~ '^PT[45][0-9]{2}$' or sqlstate in ('42501', '23514', '55006')),
  http_status integer not null check (http_status between 400 and 599),
  message text not null check (message <> ''),
  -- PTxyz means HTTP xyz; the standard SQLSTATEs are answered as PostgREST maps them
  check (sqlstate !~ '^PT' or substr(sqlstate, 3)::integer = http_status),
  check (sqlstate <> '42501' or http_status = 403),
  check (sqlstate <> '23514' or http_status = 400),
  check (sqlstate <> '55006' or http_status = 500)
);

comment on table errors.catalogue is
  'Every error the SQL functions raise on purpose: the snake_case code (the error MESSAGE), its '
  'SQLSTATE, the HTTP status the Data API answers, and the human text (the default DETAIL).';

revoke all on table errors.catalogue from public, anon, authenticated, service_role;

insert into errors.catalogue (code, sqlstate, http_status, message) values
  ('invalid_release_reason', 'PT400', 400, 'The release reason must be completed, idle_timeout, operator_offline or admin.'),
  ('invalid_days', 'PT400', 400, 'The number of days must be between 1 and 366.'),
  ('email_required', 'PT400', 400, 'The account needs an email address to pay.'),
  ('invalid_event', 'PT400', 400, 'The payment event needs a name and an object payload.'),
  ('invalid_source', 'PT400', 400, 'The payment event source must be webhook or verify.'),
  ('invalid_timezone', '23514', 400, 'The time zone is not one Postgres knows.'),
  ('invalid_status_transition', '23514', 400, 'The chat lifecycle does not allow this status change.'),
  ('insufficient_credits', 'PT402', 402, 'Not enough credits for this message.'),
  ('forbidden', '42501', 403, 'You may not do this.'),
  ('not_operator', 'PT403', 403, 'Only operators (or admins) may do this.'),
  ('not_real_user', 'PT403', 403, 'Only a signed-in, active real user may do this.'),
  ('account_inactive', 'PT403', 403, 'This account is deactivated.'),
  ('chat_not_found', 'PT404', 404, 'No such chat.'),
  ('chat_not_held', 'PT404', 404, 'The caller does not hold this chat.'),
  ('operator_not_found', 'PT404', 404, 'No operator has this id.'),
  ('profile_not_found', 'PT404', 404, 'No active profile has this id.'),
  ('package_not_found', 'PT404', 404, 'No active credit package has this id.'),
  ('operator_unavailable', 'PT409', 409, 'Only active, available operators take chats.'),
  ('at_capacity', 'PT409', 409, 'The operator already holds as many chats as it may.'),
  ('operator_holds_chats', '55006', 500, 'The operator still holds chats; release them before deleting it.'),
  ('sweeper_not_configured', 'PT500', 500,
   'The idle-sweeper target is not configured: set the Vault secrets project_url and sweeper_key.'),
  ('reason_required', 'PT400', 400, 'A reason is required.'),
  ('invalid_argument', 'PT400', 400, 'A required argument is missing or out of range.'),
  ('real_user_not_found', 'PT404', 404, 'No real user has this id.'),
  ('chat_not_waiting', 'PT409', 409,
   'Only a chat whose real user waits for an answer (waiting, or held and unanswered) can be reassigned.'),
  ('insufficient_credits_to_remove', 'PT409', 409, 'The user has fewer credits than the adjustment removes.'),
  ('chat_closed_by_admin', 'PT403', 403, 'This chat was closed by the moderators and cannot be reopened.'),
  ('transaction_not_found', 'PT404', 404, 'You have no transaction with this reference.'),
  ('rate_limited', 'PT429', 429, 'Too many requests: try again later.'),
  ('invalid_avatar_url', '23514', 400,
   'An avatar URL must be an https URL under the project''s Storage '
   '(settings.avatar_url_prefix, else <project URL>/storage/v1/object/public/).'),
  ('chat_closed', '42501', 403, 'This chat is closed: nothing more can be written in it.'),
  ('account_deactivated', '42501', 403, 'This account is deactivated and can no longer write.'),
  ('reconciler_not_configured', 'PT500', 500,
   'The reconcile-payments target is not configured: set the Vault secrets project_url and reconcile_key.'),
  ('pricing_not_configured', 'PT500', 500,
   'Messages cannot be priced: the settings row is missing, so no message is written.'),
  ('persona_conflict', 'PT409', 409,
   'An account has one persona: a real user cannot also be an operator or admin, nor staff a real user.');

-- Raises the catalogued error p_code: SQLSTATE from errors.catalogue, MESSAGE = p_code, DETAIL =
-- p_detail or the catalogue's text. Never returns. Callable by every function and trigger, whichever
-- role it runs as (authenticated and service_role included); security definer so that callers need
-- no access to the catalogue table.
create function errors.raise_error(p_code text, p_detail text default null)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_error errors.catalogue%rowtype;
begin
  select * into v_error from errors.catalogue e where e.code = p_code;
  if not found then
    raise exception using errcode = 'XX000', message = 'unknown_error_code',
      detail = format('errors.raise_error(%L) names no row of errors.catalogue.', p_code);
  end if;
  raise exception using errcode = v_error.sqlstate, message = v_error.code,
    detail = coalesce(p_detail, v_error.message);
end;
$$;

revoke all on function errors.raise_error(text, text) from public, anon, authenticated, service_role;

grant execute on function errors.raise_error(text, text) to authenticated, service_role;

-- Helpers every concern uses -----------------------------------------------------------------------

-- Keeps updated_at current on every mutable table. Trigger function only.
create function private.set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

-- True for trusted callers: a service_role JWT (or the service_role role), or a direct database
-- session that carries no JWT claims and has not switched to an API role (postgres itself: pg_cron
-- jobs, seeds, migrations, server-side connections, pgTAP). Any request through the Data API carries
-- claims, so it is trusted only with the service role key. Internal helper of the functions that
-- let trusted callers act for anyone.
create function private.is_trusted_caller()
returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
  return coalesce(auth.role() = 'service_role', false)
      or (
        auth.jwt() is null
        and current_setting('role') in ('none', 'postgres', 'service_role')
        and session_user::text <> 'authenticator'
      );
end;
$$;

revoke all on function private.set_updated_at(), private.is_trusted_caller() from public, anon, authenticated, service_role;
