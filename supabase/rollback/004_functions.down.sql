-- Undoes 004_functions.sql: drops the business functions it created (caller identity helpers,
-- profile discovery, operator statistics, the console's chat view, the heartbeat). It changed
-- nothing else.

begin;

drop function public.operator_heartbeat(uuid);
drop function public.get_chat_with_details(uuid);
drop function public.get_operator_performance_stats(uuid, integer);
drop function public.update_operator_stats(uuid, date);
drop function private.upsert_operator_stats(uuid, date);
drop function private.operator_stats_between(uuid, timestamptz, timestamptz);
drop function private.day_start(date);
drop function public.get_available_fictional_profiles(uuid, integer, integer);
drop function private.require_acting_for_operator(uuid);
drop function private.is_operator_id(uuid);
drop function private.is_trusted_caller();

commit;
