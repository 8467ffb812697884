-- Undoes 022_payment_reconciliation.sql: unschedules the reconcile-payments cron job, drops its
-- functions, public.payment_reconciliation_runs (its rows, policy and grants go with it),
-- private.reconciliation_alerts, the pending-transactions index and the catalogue row. Transactions
-- the reconciliation settled stay settled.

begin;

do $$
begin
  if to_regclass('cron.job') is not null then
    perform cron.unschedule(j.jobname) from cron.job j where j.jobname = 'reconcile-payments';
  end if;
end
$$;

drop function private.invoke_reconcile_payments();
drop function public.record_reconciliation_run(timestamptz, integer, integer, integer, jsonb);
drop function api_private.record_reconciliation_run(timestamptz, integer, integer, integer, jsonb);
drop function private.report_failing_reconciliation();
drop function public.settle_payment(text, jsonb);
drop function api_private.settle_payment(text, jsonb);
drop function public.payments_to_reconcile(integer);
drop function api_private.payments_to_reconcile(integer);

drop table private.reconciliation_alerts;
drop table public.payment_reconciliation_runs;

drop index public.idx_transactions_pending_created_at;

delete from errors.catalogue where code = 'reconciler_not_configured';

commit;
