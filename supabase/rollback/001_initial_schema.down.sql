-- Undoes 001_initial_schema.sql: drops the core tables with all their rows (their triggers,
-- indexes and comments go with them), the trigger functions and the private schema. What is left
-- is the platform as the bootstrap made it (auth.users and its rows stay).

begin;

drop table
  public.operator_stats,
  public.operator_activity,
  public.chat_assignments,
  public.transactions,
  public.favorites,
  public.message_authors,
  public.messages,
  public.chats,
  public.fictional_user_guidelines,
  public.fictional_users,
  public.operators,
  public.real_users,
  public.admins;

drop function private.refuse_deleting_holding_operator();
drop function private.record_message_author();
drop function private.fill_email_from_auth();
drop function private.set_updated_at();

drop schema private;

commit;
