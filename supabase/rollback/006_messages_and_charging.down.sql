-- Undoes 006_messages_and_charging.sql: drops send_message, and messages and message_authors with
-- all their rows (the message triggers go with them), then the trigger functions.

begin;

drop function public.send_message(uuid, text);
drop table public.message_authors, public.messages;
drop function private.record_message_author();
drop function private.apply_message();

commit;
