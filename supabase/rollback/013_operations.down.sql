-- Undoes 013_operations.sql: drops the admin RPCs (wrappers and definer bodies), the credit package
-- audit trigger, the internal helpers, public.admin_actions and public.credit_adjustments (their rows,
-- policies and grants go with them), the two indexes it put on messages and chat_assignments, the
-- api_private schema and the catalogue rows it added.

begin;

drop trigger record_credit_package_change on public.credit_packages;
drop function private.record_credit_package_change();

drop function public.get_admin_dashboard();
drop function public.admin_adjust_credits(uuid, integer, text);
drop function public.admin_set_operator_active(uuid, boolean);
drop function public.admin_reassign_chat(uuid, uuid);
drop function public.admin_clear_flag(uuid);
drop function api_private.get_admin_dashboard();
drop function api_private.admin_adjust_credits(uuid, integer, text);
drop function api_private.admin_set_operator_active(uuid, boolean);
drop function api_private.admin_reassign_chat(uuid, uuid);
drop function api_private.admin_clear_flag(uuid);

drop function private.assign_locked_chat(uuid, uuid);
drop function private.record_admin_action(text, text, uuid, jsonb);
drop function private.require_admin();

drop index public.idx_chat_assignments_idle_released;
drop index public.idx_messages_charged_created;

drop table public.credit_adjustments;
drop table public.admin_actions;

drop schema api_private;

delete from errors.catalogue
 where code in ('reason_required', 'invalid_argument', 'real_user_not_found', 'chat_not_waiting',
                'insufficient_credits_to_remove');

commit;
