-- Fantooo: scheduled jobs (SPEC sections 1, 3 and 7).
--
--   idle-sweeper               every minute   POST <project_url>/functions/v1/idle-sweeper with the
--                                             service-role key (the Edge Function calls
--                                             public.sweep_idle_chats and reports the duration)
--   auto-close-inactive-chats  hourly         private.close_inactive_chats() (close_reason inactivity)
--   operator-stats-rollup      hourly (:15)   private.rollup_operator_stats(): today's and
--                                             yesterday's operator_stats rows
--
-- The project URL and key come from Vault (vault.decrypted_secrets 'project_url' and
-- 'service_role_key') where Vault exists, else from private.cron_settings (005), which the local
-- stack fills. cron.schedule upserts by job name, so re-running this file is harmless.

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

-- Queues the HTTP call that runs the idle sweep: POST <project_url>/functions/v1/idle-sweeper with
-- `Authorization: Bearer <service-role key>`. Reads both from Vault when its secrets exist, else from
-- private.cron_settings; raises (the cron run is then recorded as failed) when neither is
-- configured. Returns the pg_net request id. Called by the idle-sweeper job as postgres.
create or replace function private.invoke_idle_sweeper()
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_url text;
  v_key text;
begin
  if to_regclass('vault.decrypted_secrets') is not null then
    execute $q$
      select max(s.decrypted_secret) filter (where s.name = 'project_url'),
             max(s.decrypted_secret) filter (where s.name = 'service_role_key')
        from vault.decrypted_secrets s
       where s.name in ('project_url', 'service_role_key')
    $q$ into v_url, v_key;
  end if;
  if v_url is null or v_key is null then
    select coalesce(v_url, cs.project_url), coalesce(v_key, cs.service_role_key)
      into v_url, v_key
      from private.cron_settings cs;
  end if;
  if v_url is null or v_key is null then
    raise exception 'idle-sweeper target not configured: set Vault secrets project_url and service_role_key, '
                    'or private.cron_settings.project_url and service_role_key';
  end if;

  return net.http_post(
    url := rtrim(v_url, '/') || '/functions/v1/idle-sweeper',
    body := '{}'::jsonb,
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'Authorization', 'Bearer ' || v_key),
    timeout_milliseconds := 5000
  );
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
  private.invoke_idle_sweeper(),
  private.rollup_operator_stats()
from public, anon, authenticated, service_role;

select cron.schedule('idle-sweeper', '* * * * *', 'select private.invoke_idle_sweeper()');
select cron.schedule('auto-close-inactive-chats', '0 * * * *', 'select private.close_inactive_chats()');
select cron.schedule('operator-stats-rollup', '15 * * * *', 'select private.rollup_operator_stats()');
