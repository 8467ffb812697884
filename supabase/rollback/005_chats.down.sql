-- Undoes 005_chats.sql: drops the lifecycle functions and RPCs, the deactivation triggers on
-- operators, the language trigger on fictional_users, and chats, chat_assignments, operator_activity
-- and sweeper_status with all their rows.

begin;

drop trigger release_chats_of_deactivated_operator on public.operators;
drop trigger set_deactivated_operator_offline on public.operators;
drop trigger copy_profile_language on public.fictional_users;

drop function public.start_chat(uuid), api_private.start_chat(uuid);
drop function private.close_inactive_chats();
drop function public.close_chat(uuid), api_private.close_chat(uuid);
drop function private.close_locked_chat(uuid, text);
drop function private.release_chats_of_deactivated_operator();
drop function private.set_deactivated_operator_offline();
drop function public.sweep_idle_chats(), api_private.sweep_idle_chats();
drop function public.operator_heartbeat(uuid), api_private.operator_heartbeat(uuid);
drop function public.assign_next_chat(), api_private.assign_next_chat();
drop function public.get_chat_with_details(uuid), api_private.get_chat_with_details(uuid);
drop function public.release_and_reassign_chat(uuid, text), api_private.release_and_reassign_chat(uuid, text);
drop function public.assign_chat_to_operator(uuid), api_private.assign_chat_to_operator(uuid);

drop table public.sweeper_status, public.operator_activity, public.chat_assignments, public.chats;

drop function private.copy_profile_language();
drop function private.set_chat_language();

drop function private.assign_locked_chat(uuid, uuid);
drop function private.release_chat(uuid, text);
drop function private.guard_status_transition();
drop function private.chat_status_transition_allowed(text, text);

commit;
