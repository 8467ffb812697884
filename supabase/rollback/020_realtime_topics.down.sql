-- Undoes 020_realtime_topics.sql: unschedules sweep-watch, drops the broadcast triggers and their
-- functions, the queue counters and sweep alerts (their rows go with them), the policies on
-- realtime.messages and their helpers. realtime.messages and its rows stay: the table is the
-- platform's (hosted Realtime keeps its rows three days).

begin;

do $$
begin
  if exists (select 1 from cron.job where jobname = 'sweep-watch') then
    perform cron.unschedule('sweep-watch');
  end if;
end
$$;

drop trigger broadcast_payment_disputed on public.payment_disputes;
drop trigger broadcast_queue_change on private.queue_counters;
drop trigger note_queue_delete on public.chats;
drop trigger note_queue_update on public.chats;
drop trigger note_queue_insert on public.chats;
drop trigger broadcast_chat_released on public.chat_assignments;
drop trigger broadcast_chat_assigned on public.chat_assignments;
drop trigger broadcast_balance on public.real_users;
drop trigger broadcast_chat_change on public.chats;
drop trigger broadcast_message_created on public.messages;

drop function private.report_failing_sweep();
drop table private.sweep_alerts;
drop function private.broadcast_payment_disputed();
drop function private.broadcast_queue_change();
drop function private.note_queue_change();
drop table private.queue_counters;
drop function private.broadcast_assignment();
drop function private.broadcast_balance();
drop function private.broadcast_chat_change();
drop function private.broadcast_message_created();

drop policy "chat members send typing and presence on their chat" on realtime.messages;
drop policy "members, staff and admins receive their topics" on realtime.messages;
drop function api_private.realtime_may_send(text, text, text);
drop function api_private.realtime_may_receive(text);
drop function api_private.topic_uuid(text, text);

commit;
