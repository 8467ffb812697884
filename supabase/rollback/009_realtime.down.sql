-- Undoes 009_realtime.sql: drops the broadcast triggers (on messages, chats, real_users,
-- chat_assignments and payment_disputes; per row and in bulk), their payload and insert helpers,
-- the policies on realtime.messages and their helpers, the queue counters, the sweep alert and the
-- wait alerts, and takes chats and messages out of the supabase_realtime publication.
-- realtime.messages and its rows stay: the table is the platform's, as is the publication itself
-- (Supabase creates it in every project; the local bootstrap does too).

begin;

drop trigger broadcast_payment_disputed on public.payment_disputes;
drop trigger broadcast_chat_changes_in_bulk on public.chats;
drop trigger note_queue_delete on public.chats;
drop trigger note_queue_update on public.chats;
drop trigger note_queue_insert on public.chats;
drop trigger broadcast_chat_released on public.chat_assignments;
drop trigger broadcast_chat_assigned on public.chat_assignments;
drop trigger broadcast_balance on public.real_users;
drop trigger broadcast_chat_change on public.chats;
drop trigger broadcast_message_created on public.messages;

drop function private.report_long_waits();
drop table private.wait_alerts;
drop function private.report_failing_sweep();
drop table private.sweep_alerts;
drop function private.broadcast_payment_disputed();
drop table private.queue_counters;
drop function private.broadcast_queue_change();
drop function private.note_queue_change();
drop function private.note_queue_delta(integer);
drop function private.broadcast_chat_releases();
drop function private.broadcast_chat_changes_in_bulk();
drop function private.broadcast_assignment();
drop function private.broadcast_balance();
drop function private.broadcast_chat_change();
drop function private.chat_flagged_payload(public.chats);
drop function private.chat_closed_payload(public.chats);
drop function private.chat_status_payload(public.chats, text);
drop function private.insert_broadcasts(text[], text[], jsonb[]);
drop function private.broadcast_message_created();

drop policy "chat members send typing and presence on their chat" on realtime.messages;
drop policy "members, staff and admins receive their topics" on realtime.messages;
drop function api_private.realtime_may_send(text, text, text);
drop function api_private.realtime_may_receive(text);
drop function api_private.topic_uuid(text, text);

do $$
begin
  if exists (select 1 from pg_catalog.pg_publication_tables
              where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'messages') then
    alter publication supabase_realtime drop table public.messages;
  end if;
  if exists (select 1 from pg_catalog.pg_publication_tables
              where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'chats') then
    alter publication supabase_realtime drop table public.chats;
  end if;
end
$$;

commit;
