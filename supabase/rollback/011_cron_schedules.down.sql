-- Undoes 011_cron_schedules.sql: unschedules the three cron jobs, drops the job functions (and their
-- Vault-reading helper) and public.sweeper_status (its row, policy and grants go with it).
--
-- The extensions stay: pg_cron and pg_net are the platform's (hosted Supabase enables them from the
-- dashboard, the local bootstrap creates pg_cron and the pg_net stand-in), so the migration's
-- `create extension if not exists` created nothing there.

begin;

do $$
begin
  if to_regclass('cron.job') is not null then
    perform cron.unschedule(j.jobname)
       from cron.job j
      where j.jobname in ('idle-sweeper', 'auto-close-inactive-chats', 'operator-stats-rollup');
  end if;
end
$$;

drop function private.rollup_operator_stats();
drop function private.invoke_idle_sweeper();
drop function private.invoke_edge_function(text, text, integer);

drop table public.sweeper_status;

commit;
