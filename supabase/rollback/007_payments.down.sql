-- Undoes 007_payments.sql: drops the payment RPCs and helpers, and credit_packages (with the four
-- packages), transactions, paystack_events, payment_disputes, payment_reconciliation_runs and the
-- private tables of verify calls, reconciliation checks and alerts, with all their rows.

begin;

drop function public.record_reconciliation_run(timestamptz, integer, integer, integer, jsonb);
drop function api_private.record_reconciliation_run(timestamptz, integer, integer, integer, jsonb);
drop function private.report_failing_reconciliation();
drop function public.settle_payment(text, jsonb), api_private.settle_payment(text, jsonb);
drop function public.payments_to_reconcile(integer), api_private.payments_to_reconcile(integer);
drop function public.apply_paystack_event(text, jsonb, text, text);
drop function public.mark_transaction_failed(text, text);
drop function public.start_payment_verify(text), api_private.start_payment_verify(text);
drop function public.start_checkout(uuid), api_private.start_checkout(uuid);
drop function private.refund_credits_due(integer, integer, integer);
drop function private.paystack_id(jsonb);
drop function private.paystack_subunits(jsonb);

drop table
  private.reconciliation_alerts,
  private.reconciliation_checks,
  public.payment_reconciliation_runs,
  private.payment_verify_calls,
  public.payment_disputes,
  public.paystack_events,
  public.transactions,
  public.credit_packages;

commit;
