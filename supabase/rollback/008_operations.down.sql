-- Undoes 008_operations.sql: drops moderation (chat_closures and its trigger on chats), presence
-- (the triggers on operators), the admin RPCs, the audit of credit packages and of routing languages, admin_actions and
-- credit_adjustments, and operator statistics, with all their rows.

begin;

drop trigger record_chat_closure on public.chats;
drop trigger release_chats_of_offline_operator on public.operators;
drop trigger touch_available_operator on public.operators;
drop trigger record_credit_package_change on public.credit_packages;
drop trigger record_language_change on public.fictional_users;
drop trigger record_language_change on public.operators;

drop function private.record_chat_closure();
drop table public.chat_closures;
drop function private.release_chats_of_offline_operator();
drop function private.touch_available_operator();

drop function
  public.admin_reopen_chat(uuid),
  public.get_admin_dashboard(),
  public.admin_adjust_credits(uuid, integer, text),
  public.admin_set_operator_active(uuid, boolean),
  public.admin_reassign_chat(uuid, uuid),
  public.admin_clear_flag(uuid),
  api_private.admin_reopen_chat(uuid),
  api_private.get_admin_dashboard(),
  api_private.admin_adjust_credits(uuid, integer, text),
  api_private.admin_set_operator_active(uuid, boolean),
  api_private.admin_reassign_chat(uuid, uuid),
  api_private.admin_clear_flag(uuid);
drop function private.record_language_change();
drop function private.record_credit_package_change();
drop function private.record_admin_action(text, text, uuid, jsonb);
drop function private.require_admin();
drop table public.credit_adjustments, public.admin_actions;

drop function
  public.get_operator_performance_stats(uuid, integer),
  public.update_operator_stats(uuid, date),
  api_private.get_operator_performance_stats(uuid, integer),
  api_private.update_operator_stats(uuid, date);
drop function private.rollup_operator_stats();
drop function private.upsert_operator_stats(uuid, date);
drop function private.operator_stats_between(uuid, timestamptz, timestamptz);
drop function private.first_reply_asked_at(uuid, timestamptz);
drop table public.operator_stats;

commit;
