-- Fantooo: the error catalogue, the one place the SQL error contract is written (docs/errors.md is
-- the same table for readers; tests/db/errors.test.ts keeps the two equal).
--
-- Every deliberate refusal in SQL goes through errors.raise_error(code, detail), which looks the code
-- up in errors.catalogue and raises:
--   SQLSTATE  the row's sqlstate: PTxyz, which PostgREST answers with HTTP status xyz, except where a
--             standard SQLSTATE is fixed by the spec or the README: 42501 for forbidden (docs/rules.md and
--             11), 23514 for a refused value (docs/rules.md), 55006 for deleting an operator that holds
--             chats (README);
--   MESSAGE   the snake_case code, which clients and the Edge Functions (_shared/db-errors.ts) switch on;
--   DETAIL    human text: p_detail when the caller gives one (the case at hand), else the row's message.
-- A code missing from the catalogue is a bug and raises XX000 unknown_error_code.
--
-- The functions before this file (001, 003, 004) call errors.raise_error too: PL/pgSQL resolves the
-- call when it runs, and nothing runs them before every migration is applied.
--
-- Why a schema of its own: guards such as 003's run as the API caller (authenticated) and must be
-- able to raise through the catalogue, while the private schema stays closed to API roles. This
-- schema is not exposed by the Data API and holds nothing else a caller can use.

create schema if not exists errors;
comment on schema errors is
  'The error catalogue and errors.raise_error; not exposed through the Data API.';
revoke all on schema errors from public;
grant usage on schema errors to authenticated, service_role;

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
   'The idle-sweeper target is not configured: set the Vault secrets project_url and sweeper_key.');

-- Raises the catalogued error p_code (see the file header): SQLSTATE from the catalogue, MESSAGE =
-- p_code, DETAIL = p_detail or the catalogue's text. Never returns. Callable by every function and
-- trigger, whichever role it runs as (authenticated and service_role included); security definer so
-- that callers need no access to the catalogue table.
create or replace function errors.raise_error(p_code text, p_detail text default null)
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
