-- Undoes 006_messages_and_charging.sql: drops send_message, and messages and message_authors with
-- all their rows (the message triggers and policies go with them), then the trigger functions and
-- the insert policy's test.

begin;

drop function public.send_message(uuid, text);
drop table public.message_authors, public.messages;
drop function private.record_message_author();
drop function private.apply_message();
drop function api_private.can_write_message(uuid, text);

commit;
