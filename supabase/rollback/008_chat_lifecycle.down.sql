-- Undoes 008_chat_lifecycle.sql: drops its triggers on operators, messages and chats (tables that
-- stay), then every lifecycle function it created.

begin;

drop trigger release_chats_of_deactivated_operator on public.operators;
drop trigger set_deactivated_operator_offline on public.operators;
drop trigger messages_update_chat on public.messages;
drop trigger guard_status_transition on public.chats;

drop function public.start_chat(uuid);
drop function private.close_inactive_chats();
drop function public.close_chat(uuid);
drop function private.close_locked_chat(uuid, text);
drop function private.release_chats_of_deactivated_operator();
drop function private.set_deactivated_operator_offline();
drop function public.sweep_idle_chats();
drop function public.release_and_reassign_chat(uuid, text);
drop function public.assign_chat_to_operator(uuid);
drop function private.release_chat(uuid, text);
drop function private.update_chat_on_message();
drop function private.guard_status_transition();
drop function private.chat_status_transition_allowed(text, text);

commit;
