-- Undoes 003_rls_policies.sql on the tables of 001, which stay with their rows: drops its policies,
-- disables RLS, takes back what it granted anon and authenticated (001 granted service_role; new
-- objects in public get nothing by default), drops the column defaults, the guard triggers and the
-- persona helpers.

begin;

-- Policies ------------------------------------------------------------------------------------------
drop policy "operators read own stats, admins read all" on public.operator_stats;
drop policy "operators read own activity, admins read all" on public.operator_activity;
drop policy "operators read own assignments, admins read all" on public.chat_assignments;
drop policy "real users read own transactions, admins read all" on public.transactions;
drop policy "real users remove own favorites" on public.favorites;
drop policy "real users add own favorites" on public.favorites;
drop policy "real users read own favorites, admins read all" on public.favorites;
drop policy "operators read own authorship, admins read all" on public.message_authors;
drop policy "real users write in own open chats, operators in held chats" on public.messages;
drop policy "users read own chats' messages, operators held ones, admins all" on public.messages;
drop policy "admins clear flags" on public.chats;
drop policy "real users start chats with active profiles" on public.chats;
drop policy "real users read own chats, operators held chats, admins all" on public.chats;
drop policy "admins delete guidelines" on public.fictional_user_guidelines;
drop policy "admins update guidelines" on public.fictional_user_guidelines;
drop policy "admins add guidelines" on public.fictional_user_guidelines;
drop policy "operators and admins read guidelines" on public.fictional_user_guidelines;
drop policy "admins delete profiles" on public.fictional_users;
drop policy "admins update profiles" on public.fictional_users;
drop policy "admins add profiles" on public.fictional_users;
drop policy "real users read active profiles, staff read all" on public.fictional_users;
drop policy "admins remove operators" on public.operators;
drop policy "operators update own row, admins update all" on public.operators;
drop policy "admins add operators" on public.operators;
drop policy "operators read own row, admins read all" on public.operators;
drop policy "real users update own row, admins (de)activate users" on public.real_users;
drop policy "signed-up users create their own real user row" on public.real_users;
drop policy "users read own row, operators their chats' users, admins all" on public.real_users;
drop policy "admins update admins" on public.admins;
drop policy "admins add admins" on public.admins;
drop policy "admins read admins" on public.admins;

-- Row Level Security ----------------------------------------------------------------------------------
alter table public.operator_stats disable row level security;
alter table public.operator_activity disable row level security;
alter table public.chat_assignments disable row level security;
alter table public.transactions disable row level security;
alter table public.favorites disable row level security;
alter table public.message_authors disable row level security;
alter table public.messages disable row level security;
alter table public.chats disable row level security;
alter table public.fictional_user_guidelines disable row level security;
alter table public.fictional_users disable row level security;
alter table public.operators disable row level security;
alter table public.real_users disable row level security;
alter table public.admins disable row level security;

-- Privileges: revoking all on a table revokes its column privileges too ------------------------------
revoke all on table
  public.admins, public.real_users, public.operators, public.fictional_users,
  public.fictional_user_guidelines, public.chats, public.messages, public.message_authors,
  public.favorites, public.transactions, public.chat_assignments, public.operator_activity,
  public.operator_stats
from anon, authenticated;

-- Column defaults -------------------------------------------------------------------------------------
alter table public.favorites alter column real_user_id drop default;
alter table public.chats alter column real_user_id drop default;
alter table public.real_users alter column id drop default;

-- Guard triggers and persona helpers ------------------------------------------------------------------
drop trigger stamp_fictional_user_creator on public.fictional_users;
drop function private.stamp_fictional_user_creator();
drop trigger guard_operator_update on public.operators;
drop function private.guard_operator_update();
drop trigger guard_real_user_update on public.real_users;
drop function private.guard_real_user_update();

drop function public.is_real_user();
drop function public.is_operator();
drop function public.is_admin();

commit;
