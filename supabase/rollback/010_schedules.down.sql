-- Undoes 010_schedules.sql: unschedules the six cron jobs and drops the functions that call Edge
-- Functions through pg_net.
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
      where j.jobname in ('idle-sweeper', 'sweep-watch', 'wait-alerts', 'auto-close-inactive-chats',
                          'operator-stats-rollup', 'reconcile-payments');
  end if;
end
$$;

drop function private.invoke_reconcile_payments();
drop function private.invoke_idle_sweeper();
drop function private.invoke_edge_function(text, text, integer);

commit;
