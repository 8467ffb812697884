-- Fantooo: scheduled jobs (docs/rules.md and docs/lifecycle.md and docs/functions.md).
--
--   idle-sweeper               every minute   POST <project_url>/functions/v1/idle-sweeper with the
--                                             sweeper's key (the Edge Function calls
--                                             public.sweep_idle_chats and reports the duration)
--   auto-close-inactive-chats  hourly         private.close_inactive_chats() (close_reason inactivity)
--   operator-stats-rollup      hourly (:15)   private.rollup_operator_stats(): today's and
--                                             yesterday's operator_stats rows
--
-- The project URL and the sweeper's key come from Vault, in every environment (vault.decrypted_secrets
-- 'project_url' and 'sweeper_key', a secret key `sb_secret_…` or, on a legacy project, the
-- service-role JWT): hosted projects have Vault, the local bootstrap a stand-in with its objects, and
-- the local stack writes both secrets. Every successful sweep is recorded in public.sweeper_status,
-- so a sweep that keeps failing (a rotated key answered 401) shows as an old last_success_at.
-- cron.schedule upserts by job name, so re-running this file is harmless.

create extension if not exists pg_cron with schema pg_catalog;

-- pg_net where the server has it (Supabase); elsewhere the local stack provides a stand-in `net`
-- schema with the same net.http_post signature.
do $$
begin
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net with schema extensions;
  end if;
end
$$;

-- The health of the idle sweep: one row, written by public.sweep_idle_chats() (008_chat_lifecycle)
-- on every successful run. Admins read it.
create table public.sweeper_status (
  id boolean primary key default true check (id),
  last_success_at timestamptz,
  last_released integer not null default 0,
  last_flagged integer not null default 0,
  last_duration_ms integer not null default 0,
  runs bigint not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.sweeper_status is
  'The last successful idle sweep. A last_success_at older than a few minutes means the cron job '
  'is failing (for example 401 after a key rotation: update the Vault secret sweeper_key).';
insert into public.sweeper_status (id) values (true);
alter table public.sweeper_status enable row level security;
revoke all on table public.sweeper_status from anon, authenticated;
grant select on table public.sweeper_status to authenticated;
grant select, insert, update, delete on table public.sweeper_status to service_role;
create policy "admins read the sweeper status" on public.sweeper_status
  for select to authenticated
  using ((select public.is_admin()));

-- Queues, through pg_net, POST <project_url>/functions/v1/<p_function> with the key stored in Vault
-- under p_key_secret in `apikey` (and, for a legacy JWT key, also as `Authorization: Bearer`).
-- project_url and the key are read from vault.decrypted_secrets, the only place they are kept.
-- Returns the pg_net request id, or null when either secret is missing (the caller raises).
-- Called by the cron job commands, as postgres.
create or replace function private.invoke_edge_function(
  p_function text,
  p_key_secret text,
  p_timeout_milliseconds integer default 5000
)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_url text;
  v_key text;
  v_headers jsonb;
begin
  select max(s.decrypted_secret) filter (where s.name = 'project_url'),
         max(s.decrypted_secret) filter (where s.name = p_key_secret)
    into v_url, v_key
    from vault.decrypted_secrets s
   where s.name in ('project_url', p_key_secret);
  if v_url is null or v_key is null then
    return null;
  end if;

  v_headers := jsonb_build_object('Content-Type', 'application/json', 'apikey', v_key);
  if v_key not like 'sb\_%' then
    v_headers := v_headers || jsonb_build_object('Authorization', 'Bearer ' || v_key);
  end if;
  return net.http_post(
    url := rtrim(v_url, '/') || '/functions/v1/' || p_function,
    body := '{}'::jsonb,
    headers := v_headers,
    timeout_milliseconds := p_timeout_milliseconds
  );
end;
$$;

-- Queues the HTTP call that runs the idle sweep: POST <project_url>/functions/v1/idle-sweeper with
-- the Vault secret sweeper_key (private.invoke_edge_function). Raises sweeper_not_configured (the
-- cron run is then recorded as failed) when Vault lacks project_url or sweeper_key. Returns the
-- pg_net request id. Called by the idle-sweeper job as postgres.
create or replace function private.invoke_idle_sweeper()
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_request bigint := private.invoke_edge_function('idle-sweeper', 'sweeper_key');
begin
  if v_request is null then
    perform errors.raise_error('sweeper_not_configured');
  end if;
  return v_request;
end;
$$;

-- Refreshes operator_stats for today and yesterday (business timezone) for every operator that had
-- an assignment or wrote a message in that span. Returns the number of rows written. Called by the
-- operator-stats-rollup job as postgres.
create or replace function private.rollup_operator_stats()
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_today date;
  v_rows integer := 0;
  v_operator_id uuid;
  v_day date;
begin
  v_today := (now() at time zone coalesce((select s.timezone from public.settings s), 'Africa/Nairobi'))::date;
  for v_operator_id in
    select a.operator_id from public.chat_assignments a
     where a.assigned_at >= private.day_start(v_today - 1)
        or a.released_at >= private.day_start(v_today - 1)
    union
    select ma.operator_id from public.message_authors ma
     where ma.operator_id is not null and ma.created_at >= private.day_start(v_today - 1)
  loop
    foreach v_day in array array[v_today - 1, v_today] loop
      perform private.upsert_operator_stats(v_operator_id, v_day);
      v_rows := v_rows + 1;
    end loop;
  end loop;
  return v_rows;
end;
$$;

revoke all on function
  private.invoke_edge_function(text, text, integer),
  private.invoke_idle_sweeper(),
  private.rollup_operator_stats()
from public, anon, authenticated, service_role;

select cron.schedule('idle-sweeper', '* * * * *', 'select private.invoke_idle_sweeper()');
select cron.schedule('auto-close-inactive-chats', '0 * * * *', 'select private.close_inactive_chats()');
select cron.schedule('operator-stats-rollup', '15 * * * *', 'select private.rollup_operator_stats()');
