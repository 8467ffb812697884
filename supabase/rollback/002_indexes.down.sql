-- Undoes 002_indexes.sql: drops the indexes it created on the tables of 001 (tables and rows stay).

begin;

drop index public.idx_chat_assignments_open_by_operator;
drop index public.idx_chat_assignments_operator_assigned;
drop index public.idx_chat_assignments_chat_assigned;
drop index public.idx_transactions_package_id;
drop index public.idx_transactions_real_user_created;
drop index public.idx_favorites_fictional_user_id;
drop index public.idx_message_authors_operator_id;
drop index public.idx_chats_fictional_user_id;
drop index public.idx_fictional_users_created_by;
drop index public.idx_operators_available;
drop index public.idx_chats_active_last_message;
drop index public.idx_fictional_active_gender;
drop index public.idx_messages_chat_created;
drop index public.idx_chats_idle_detection;
drop index public.idx_chats_assignment_queue;

commit;
