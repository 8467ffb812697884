-- Undoes 004_profiles_and_discovery.sql: drops discovery, the profile tables with all their rows
-- (fictional_users, fictional_user_guidelines, fictional_user_creators, favorites), the avatar check
-- (its trigger on real_users included) and the creator stamp.

begin;

drop function public.get_available_fictional_profiles(uuid, integer, integer);
drop function api_private.get_available_fictional_profiles(uuid, integer, integer);
drop trigger check_avatar_url on public.real_users;
drop table public.favorites, public.fictional_user_creators, public.fictional_user_guidelines, public.fictional_users;
drop function private.check_avatar_url();
drop function private.stamp_fictional_user_creator();

commit;
