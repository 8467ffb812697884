-- Undoes 002_people.sql: drops admins, real_users and operators with all their rows (their
-- triggers, policies, indexes and comments go with them), the persona helpers and the trigger
-- functions. auth.users and its rows stay.

begin;

drop table public.admins, public.real_users, public.operators;

drop function private.refuse_second_persona();
drop function private.refuse_deleting_holding_operator();
drop function private.guard_operator_update();
drop function private.guard_real_user_update();
drop function private.fill_email_from_auth();
drop function private.require_acting_for_operator(uuid);
drop function private.is_operator_id(uuid);
drop function public.is_admin(), public.is_operator(), public.is_real_user();
drop function api_private.is_admin(), api_private.is_operator(), api_private.is_real_user();

commit;
