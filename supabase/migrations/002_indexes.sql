-- Indexes: the ones named in docs/data-api.mdone on every foreign key (Supabase advisor
-- unindexed_foreign_keys), and one for every column an RLS policy (003) filters on.
-- Already covered by 001 and not repeated here:
--   real_users.id, operators.id, admins.id, fictional_user_guidelines.fictional_user_id,
--   message_authors.message_id (primary keys); chats.real_user_id (unique (real_user_id, fictional_user_id));
--   favorites.real_user_id (primary key); operator_activity.operator_id (primary key) and .chat_id (unique);
--   operator_stats.operator_id (primary key); transactions.reference, paystack_transaction_id (unique).

-- Assignment queue: `where status = 'waiting' order by queued_at, id limit 1 for update skip locked`.
create index idx_chats_assignment_queue
  on public.chats (queued_at, id) where status = 'waiting';

-- Idle detection: `from operator_activity where last_activity_at < now() - idle_timeout` (the holder's
-- last activity lives on operator_activity, not on chats).
create index idx_chats_idle_detection
  on public.operator_activity (last_activity_at);

-- Message loading: a chat's messages in order (newest 50 etc.); also the index of messages.chat_id.
create index idx_messages_chat_created
  on public.messages (chat_id, created_at);

-- Profile discovery: active profiles of one gender, featured first, then by name (a stable order):
-- `where is_active and gender = $1 order by is_featured desc, name, id`. Also serves the real users'
-- read policy (is_active).
create index idx_fictional_active_gender
  on public.fictional_users (gender, is_featured desc, name, id) where is_active;

-- Active chats: the hourly inactivity closer (`status <> 'closed' and (last_message_at < cutoff or
-- last_message_at is null and created_at < cutoff)`).
create index idx_chats_active_last_message
  on public.chats (last_message_at) where status <> 'closed';

-- Available operators: who can take chats now.
create index idx_operators_available
  on public.operators (last_activity_at) where status = 'available' and is_active;

-- Foreign keys not led by an existing index.
create index idx_fictional_users_created_by on public.fictional_users (created_by);
create index idx_chats_fictional_user_id on public.chats (fictional_user_id);
create index idx_message_authors_operator_id on public.message_authors (operator_id);
create index idx_favorites_fictional_user_id on public.favorites (fictional_user_id);
create index idx_transactions_real_user_created on public.transactions (real_user_id, created_at desc);
create index idx_transactions_package_id on public.transactions (package_id);
create index idx_chat_assignments_chat_assigned on public.chat_assignments (chat_id, assigned_at);
create index idx_chat_assignments_operator_assigned on public.chat_assignments (operator_id, assigned_at);

-- RLS: "chats an operator holds now" (policies on chats, messages, real_users) and capacity counts.
create index idx_chat_assignments_open_by_operator
  on public.chat_assignments (operator_id, chat_id) where released_at is null;
