-- Undoes 007_message_charging.sql: drops the charging and operator-bookkeeping triggers on
-- public.messages (the table and its rows stay) and the functions behind them, and send_message.

begin;

drop function public.send_message(uuid, text);

drop trigger messages_update_operator on public.messages;
drop function private.update_operator_on_message();

drop trigger messages_charge on public.messages;
drop function private.charge_message();

commit;
