-- Undoes 010_payments.sql: drops the payment functions, public.paystack_events (its trigger,
-- index, policy and grants go with it) and the refund columns it added to public.transactions
-- (what they held is lost; the transactions themselves stay).

begin;

drop function public.apply_paystack_event(text, jsonb, text, text);
drop function public.mark_transaction_failed(text, text);
drop function public.start_checkout(uuid);

drop table public.paystack_events;

alter table public.transactions
  drop column refund_shortfall,
  drop column credits_reversed,
  drop column refunded_at,
  drop column failure_reason;

commit;
