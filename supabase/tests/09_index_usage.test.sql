-- The named indexes carry the hot queries: with realistic volumes (20k chats, 10k profiles, ~35k
-- messages, 5k held chats) and fresh statistics, the planner picks them on its own (no enable_* tricks).
begin;
set local search_path = extensions, public;
select plan(8);

-- Bulk load as the superuser without firing triggers (the message triggers of later migrations
-- would charge credits and recount chats; foreign keys are satisfied by construction).
set local session_replication_role = replica;

insert into auth.users (id, email)
  select md5('idx-real-' || i)::uuid, 'idx-real-' || i || '@example.com' from generate_series(0, 1999) i
  union all
  select md5('idx-op-' || i)::uuid, 'idx-op-' || i || '@fantooo.local' from generate_series(0, 499) i;

insert into public.real_users (id, email, display_name, age, gender, looking_for)
  select md5('idx-real-' || i)::uuid, 'idx-real-' || i || '@example.com', 'User ' || i, 18 + i % 60,
         case when i % 2 = 0 then 'male' else 'female' end, case when i % 2 = 0 then 'female' else 'male' end
  from generate_series(0, 1999) i;

insert into public.operators (id, email, name, status, max_concurrent_chats)
  select md5('idx-op-' || i)::uuid, 'idx-op-' || i || '@fantooo.local', 'Operator ' || i,
         case when i % 10 = 0 then 'available' when i % 10 = 1 then 'busy' else 'offline' end, 10
  from generate_series(0, 499) i;

-- 10k profiles, half of each gender, 90% active, 2% featured
insert into public.fictional_users (id, name, age, gender, is_active, is_featured)
  select md5('idx-fic-' || i)::uuid, 'Idx Profile ' || i, 18 + i % 60,
         case when i % 2 = 0 then 'female' else 'male' end, i % 10 <> 0, i % 50 = 1
  from generate_series(0, 9999) i;

-- 20k chats: 2% waiting, 25% held by an operator, 20% closed, the rest idle
insert into public.chats (id, real_user_id, fictional_user_id, status, queued_at, last_message_at, message_count)
  select md5('idx-chat-' || g)::uuid,
         md5('idx-real-' || (g % 2000))::uuid,
         md5('idx-fic-' || (g / 2000))::uuid,
         case when g % 50 = 0 then 'waiting' when g % 4 = 1 then 'assigned'
              when g % 10 in (2, 6) then 'closed' else 'idle' end,
         case when g % 50 = 0 or g % 4 = 1 then now() - (g % 600) * interval '1 second' end,
         case when g % 97 = 0 then now() - interval '30 hours' else now() - (g % 600) * interval '1 minute' end,
         1
  from generate_series(0, 19999) g;

insert into public.chat_assignments (chat_id, operator_id, assigned_at)
  select md5('idx-chat-' || g)::uuid, md5('idx-op-' || (g % 500))::uuid, now() - (g % 600) * interval '1 second'
  from generate_series(0, 19999) g
  where g % 50 <> 0 and g % 4 = 1;

-- the holder's heartbeat is recent for nearly every held chat; about 3% have gone quiet
insert into public.operator_activity (operator_id, chat_id, assigned_at, last_activity_at)
  select md5('idx-op-' || (g % 500))::uuid, md5('idx-chat-' || g)::uuid, now() - interval '20 minutes',
         case when g % 33 = 0 then now() - interval '12 minutes' else now() - (g % 120) * interval '1 second' end
  from generate_series(0, 19999) g
  where g % 50 <> 0 and g % 4 = 1;

-- one message in every chat, and long conversations in the first 1000
insert into public.messages (chat_id, sender_type, content, created_at)
  select md5('idx-chat-' || g)::uuid, 'real', 'hello ' || g, now() - interval '1 hour'
  from generate_series(0, 19999) g
  union all
  select md5('idx-chat-' || g)::uuid, case when k % 2 = 0 then 'real' else 'fictional' end, 'line ' || k,
         now() - interval '1 hour' + k * interval '1 second'
  from generate_series(0, 999) g, generate_series(1, 15) k;

set local session_replication_role = origin;
analyze public.real_users, public.operators, public.fictional_users, public.chats, public.chat_assignments,
  public.operator_activity, public.messages;

-- The plan of a query as JSON text.
create function pg_temp.plan_of(q text) returns text
language plpgsql
as $$
declare
  r json;
begin
  execute 'explain (format json) ' || q into r;
  return r::text;
end;
$$;

select matches(pg_temp.plan_of($$
    select id from public.chats where status = 'waiting' order by queued_at, id limit 1 for update skip locked
  $$), '"Index Name": "idx_chats_assignment_queue"',
  'taking the oldest waiting chat uses idx_chats_assignment_queue');

select matches(pg_temp.plan_of($$
    select operator_id, chat_id from public.operator_activity where last_activity_at < now() - interval '5 minutes'
  $$), '"Index Name": "idx_chats_idle_detection"',
  'finding idle assignments uses idx_chats_idle_detection');

select matches(pg_temp.plan_of(format($$
    select id, sender_type, content, created_at from public.messages
    where chat_id = %L order by created_at desc, id desc limit 50
  $$, md5('idx-chat-7')::uuid)), '"Index Name": "idx_messages_chat_created"',
  'loading a chat''s newest messages uses idx_messages_chat_created');

select matches(pg_temp.plan_of($$
    select id, name from public.fictional_users
    where is_active and gender = 'female' order by is_featured desc, name, id limit 20 offset 40
  $$), '"Index Name": "idx_fictional_active_gender"',
  'listing active profiles of a gender uses idx_fictional_active_gender');

select matches(pg_temp.plan_of($$
    select id from public.chats
    where status <> 'closed'
      and (last_message_at < now() - interval '24 hours'
           or (last_message_at is null and created_at < now() - interval '24 hours'))
  $$), '"Index Name": "idx_chats_active_last_message"',
  'finding chats silent for 24 hours uses the active chats index');

select matches(pg_temp.plan_of($$
    select count(*) from public.chat_assignments
    where operator_id = md5('idx-op-5')::uuid and released_at is null
  $$), '"Index Name": "idx_chat_assignments_open_by_operator"',
  'counting an operator''s open chats uses idx_chat_assignments_open_by_operator');

select ok(pg_get_functiondef('private.broadcast_queue_change'::regproc)
          like '%where c.status = ''waiting''%order by c.queued_at, c.id%limit 1%',
  'queue_changed reads its oldest wait as the head of the queue (idx_chats_assignment_queue''s order)');
select matches(pg_temp.plan_of($$
    select c.queued_at from public.chats c where c.status = 'waiting' order by c.queued_at, c.id limit 1
  $$), '"Index Name": "idx_chats_assignment_queue"',
  'the oldest wait of queue_changed uses idx_chats_assignment_queue, not idx_chats_unanswered and its assigned chats');

select * from finish();
rollback;
