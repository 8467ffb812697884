-- Fantooo: live chat over Supabase Realtime (docs/realtime.md). The database broadcasts what
-- changed to private channels, the way Supabase recommends for chat (Broadcast from the database,
-- authorised by RLS on realtime.messages), instead of every client subscribing to postgres_changes:
--
--   topic                     events                                        who may join
--   chat:<chat_id>            message_created, chat_status, typing (client) the chat's real user, the
--                                                                           operator holding it, admins
--   user:<real_user_id>       balance, chat_closed                          that user, admins
--   operator:<operator_id>    chat_assigned, chat_released                  that operator, admins
--   operators:queue           queue_changed                                 active operators, admins
--   admin                     chat_flagged, payment_disputed, sweep_failing admins
--                             (and reconciliation_failing, from the payment reconciliation)
--
-- Every broadcast goes through realtime.send, which turns its own errors into warnings, from an
-- after trigger, so a broadcast never blocks or undoes the write it reports. Nothing sent to a
-- topic a real user may join names an operator. The trigger functions are security definer (in
-- private, search_path ''): realtime.messages has RLS, and these rows are the server's, not the
-- caller's. realtime.messages, realtime.send and realtime.topic() are the platform's (hosted
-- Realtime creates them; locally local/stack/sql/bootstrap.sql does).

--
-- Supabase creates the supabase_realtime publication (empty) in every project; the local bootstrap
-- does the same, and a bare Postgres gets it here. chats and messages are in it, so a frontend may
-- also subscribe to postgres_changes: Realtime delivers a row only to subscribers whose RLS policies
-- let them read it, and neither table has an operator column.

-- The publication ----------------------------------------------------------------------------------

do $$
begin
  if not exists (select 1 from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
  if not exists (select 1 from pg_catalog.pg_publication_tables
                  where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'chats') then
    alter publication supabase_realtime add table public.chats;
  end if;
  if not exists (select 1 from pg_catalog.pg_publication_tables
                  where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'messages') then
    alter publication supabase_realtime add table public.messages;
  end if;
end
$$;

-- Who may join a topic -----------------------------------------------------------------------------

-- The uuid after a topic's prefix (chat:, user:, operator:), or null when the rest is not a uuid.
create function api_private.topic_uuid(p_topic text, p_prefix text)
returns uuid
language sql
immutable
set search_path = ''
as $$
  select case
    when left(p_topic, length(p_prefix)) = p_prefix
     and substr(p_topic, length(p_prefix) + 1) ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
    then substr(p_topic, length(p_prefix) + 1)::uuid
  end;
$$;

-- Whether the signed-in caller (auth.uid()) may receive on p_topic (docs/realtime.md): a chat's
-- real user, the operator holding the chat (only while an open assignment says so: a released
-- operator is refused at its next join or token refresh), a real user its own user: topic, an
-- operator its own operator: topic, active operators the queue, admins everything. Called by the
-- policies on realtime.messages, as authenticated; definer rights because it reads chats and
-- assignments the caller may not read (an operator reads no real_users, a user no assignments).
create function api_private.realtime_may_receive(p_topic text)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
  v_id uuid;
begin
  if v_uid is null or p_topic is null then
    return false;
  end if;
  if exists (select 1 from public.admins a where a.id = v_uid) then
    return p_topic = 'admin' or p_topic = 'operators:queue'
        or api_private.topic_uuid(p_topic, 'chat:') is not null
        or api_private.topic_uuid(p_topic, 'user:') is not null
        or api_private.topic_uuid(p_topic, 'operator:') is not null;
  end if;
  v_id := api_private.topic_uuid(p_topic, 'chat:');
  if v_id is not null then
    return exists (select 1 from public.chats c where c.id = v_id and c.real_user_id = v_uid)
        or exists (select 1
                     from public.chat_assignments ca
                     join public.operators o on o.id = ca.operator_id
                    where ca.chat_id = v_id and ca.released_at is null
                      and ca.operator_id = v_uid and o.is_active);
  end if;
  v_id := api_private.topic_uuid(p_topic, 'user:');
  if v_id is not null then
    return v_id = v_uid and exists (select 1 from public.real_users r where r.id = v_uid);
  end if;
  v_id := api_private.topic_uuid(p_topic, 'operator:');
  if v_id is not null then
    return v_id = v_uid and exists (select 1 from public.operators o where o.id = v_uid and o.is_active);
  end if;
  if p_topic = 'operators:queue' then
    return exists (select 1 from public.operators o where o.id = v_uid and o.is_active);
  end if;
  return false;
end;
$$;

-- Whether the caller may send on p_topic: only on a chat: topic it may receive, only presence and
-- broadcasts named typing (or unnamed: hosted Realtime checks a channel's right to send once, with a
-- probe that has no event, so the event name is the client's contract, not enforced there).
-- Nobody sends on the other topics: they carry what the database says.
create function api_private.realtime_may_send(p_topic text, p_extension text, p_event text)
returns boolean
language sql
stable
set search_path = ''
as $$
  select api_private.topic_uuid(p_topic, 'chat:') is not null
     and (p_extension = 'presence' or (p_extension = 'broadcast' and (p_event is null or p_event = 'typing')))
     and api_private.realtime_may_receive(p_topic);
$$;

revoke all on function api_private.topic_uuid(text, text) from public, anon, authenticated, service_role;
revoke all on function api_private.realtime_may_receive(text) from public, anon, authenticated, service_role;
revoke all on function api_private.realtime_may_send(text, text, text) from public, anon, authenticated, service_role;
grant execute on function api_private.topic_uuid(text, text) to authenticated;
grant execute on function api_private.realtime_may_receive(text) to authenticated;
grant execute on function api_private.realtime_may_send(text, text, text) to authenticated;

create policy "members, staff and admins receive their topics" on realtime.messages
  for select to authenticated
  using (extension in ('broadcast', 'presence') and api_private.realtime_may_receive((select realtime.topic())));

create policy "chat members send typing and presence on their chat" on realtime.messages
  for insert to authenticated
  with check (api_private.realtime_may_send((select realtime.topic()), extension, event));

-- chat:<id> ----------------------------------------------------------------------------------------

-- Each new message on its chat's topic, as its readers read the row (messages has no operator
-- column: a fictional message's writer is in message_authors).
create function private.broadcast_message_created()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform realtime.send(
    jsonb_build_object('id', new.id, 'chat_id', new.chat_id, 'sender_type', new.sender_type,
                       'content', new.content, 'credits_charged', new.credits_charged,
                       'created_at', new.created_at),
    'message_created', 'chat:' || new.chat_id::text, true);
  return null;
end;
$$;

create trigger broadcast_message_created
  after insert on public.messages
  for each row execute function private.broadcast_message_created();

-- Broadcasts in bulk ---------------------------------------------------------------------------------

-- One realtime.send per row is an insert in its own subtransaction: the 20,000 of the idle sweep's
-- set-based release of 10,000 assignments took it to 1.1 s (bench/README.md, "Where each row
-- stands"), and thousands of subtransactions in one transaction overflow the per-backend cache
-- that other sessions' snapshots read. Releases (chat_assignments, never updated on a hot path) are
-- always sent per statement (broadcast_chat_released). A chat's changes are sent per row, as every
-- message updates its chat and a statement trigger there would run for each; a statement that
-- changes many chats at once (the sweep) sets fantooo.broadcast_in_bulk = on for its transaction,
-- and the row triggers of chats stand aside (their WHEN clauses) for broadcast_chat_changes_in_bulk,
-- which sends the whole statement's in one insert. Each chat event's payload is made by one
-- function, whichever way it is sent.

-- Writes broadcasts as realtime.send writes each one (the payload's id is the message's), in one
-- statement: events[i] on topics[i] with payloads[i], private. A failure is a warning, as with
-- realtime.send, never a failed write. Internal helper of the statement-level broadcast triggers.
create function private.insert_broadcasts(p_events text[], p_topics text[], p_payloads jsonb[])
returns void
language plpgsql
set search_path = ''
as $$
begin
  insert into realtime.messages (id, payload, event, topic, private, extension)
  select b.id,
         case when b.payload ? 'id' then b.payload else jsonb_set(b.payload, '{id}', to_jsonb(b.id)) end,
         b.event, b.topic, true, 'broadcast'
    from (select gen_random_uuid() as id, e.event, e.topic, e.payload
            from unnest(p_events, p_topics, p_payloads) with ordinality as e(event, topic, payload, n)
           order by e.n) b;
exception
  when others then
    raise warning 'WarnSendingBroadcastMessage: %', sqlerrm; -- as realtime.send words it
end;
$$;

-- chat_status on chat:<id>: the chat's new status and the one before (no operator in it).
-- Internal helper of the broadcast triggers, per row and in bulk.
create function private.chat_status_payload(p_chat public.chats, p_previous_status text)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
begin
  return jsonb_build_object('chat_id', p_chat.id, 'status', p_chat.status, 'previous_status', p_previous_status,
                            'queued_at', p_chat.queued_at, 'closed_at', p_chat.closed_at,
                            'close_reason', p_chat.close_reason, 'changed_at', now());
end;
$$;

-- chat_closed on user:<id>: a chat an admin closed. Internal helper of the broadcast
-- triggers, per row and in bulk.
create function private.chat_closed_payload(p_chat public.chats)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
begin
  return jsonb_build_object('chat_id', p_chat.id, 'fictional_user_id', p_chat.fictional_user_id,
                            'close_reason', p_chat.close_reason, 'closed_at', p_chat.closed_at);
end;
$$;

-- chat_flagged on admin: a chat newly flagged for review. Internal helper of the broadcast
-- triggers, per row and in bulk.
create function private.chat_flagged_payload(p_chat public.chats)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
begin
  return jsonb_build_object('chat_id', p_chat.id, 'flag_reason', p_chat.flag_reason,
                            'reassignment_count', p_chat.reassignment_count, 'flagged_at', now());
end;
$$;

-- A chat's status change on its topic (no operator in it), its admin close on its user's topic,
-- and a new flag on the admin topic.
create function private.broadcast_chat_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.status is distinct from old.status then
    perform realtime.send(private.chat_status_payload(new, old.status), 'chat_status', 'chat:' || new.id::text, true);
    if new.status = 'closed' and new.close_reason = 'admin' then
      perform realtime.send(private.chat_closed_payload(new), 'chat_closed', 'user:' || new.real_user_id::text, true);
    end if;
  end if;
  if new.flagged_for_review and not old.flagged_for_review then
    perform realtime.send(private.chat_flagged_payload(new), 'chat_flagged', 'admin', true);
  end if;
  return null;
end;
$$;

create trigger broadcast_chat_change
  after update on public.chats
  for each row
  when ((old.status is distinct from new.status or (new.flagged_for_review and not old.flagged_for_review))
        and current_setting('fantooo.broadcast_in_bulk', true) is distinct from 'on')
  execute function private.broadcast_chat_change();

-- What broadcast_chat_change and note_queue_update do for each row, for a whole statement in bulk
-- mode: the events in one insert (chat by chat, each chat's in the order the row trigger sends
-- them), and the queue's change as one delta. Trigger function only.
create function private.broadcast_chat_changes_in_bulk()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_events text[];
  v_topics text[];
  v_payloads jsonb[];
  v_delta integer;
  v_crossed integer;
begin
  select array_agg(e.event order by e.chat_id, e.k), array_agg(e.topic order by e.chat_id, e.k),
         array_agg(e.payload order by e.chat_id, e.k)
    into v_events, v_topics, v_payloads
    from new_chats n
    join old_chats o on o.id = n.id
    cross join lateral (
      select n.id as chat_id, 1 as k, 'chat_status'::text as event, 'chat:' || n.id::text as topic,
             private.chat_status_payload(n::public.chats, o.status) as payload
       where n.status is distinct from o.status
      union all
      select n.id, 2, 'chat_closed', 'user:' || n.real_user_id::text, private.chat_closed_payload(n::public.chats)
       where n.status is distinct from o.status and n.status = 'closed' and n.close_reason = 'admin'
      union all
      select n.id, 3, 'chat_flagged', 'admin', private.chat_flagged_payload(n::public.chats)
       where n.flagged_for_review and not o.flagged_for_review
    ) e;
  if v_events is not null then
    perform private.insert_broadcasts(v_events, v_topics, v_payloads);
  end if;

  -- As note_queue_update: any chat in or out of the queue is noted, even when the net change is
  -- nothing (the oldest wait may have moved).
  select count(*) filter (where n.status = 'waiting' and o.status <> 'waiting')
         - count(*) filter (where o.status = 'waiting' and n.status <> 'waiting'),
         count(*) filter (where (n.status = 'waiting') <> (o.status = 'waiting'))
    into v_delta, v_crossed
    from new_chats n
    join old_chats o on o.id = n.id;
  if v_crossed > 0 then
    perform private.note_queue_delta(v_delta);
  end if;
  return null;
end;
$$;

create trigger broadcast_chat_changes_in_bulk
  after update on public.chats
  referencing old table as old_chats new table as new_chats
  for each statement
  when (current_setting('fantooo.broadcast_in_bulk', true) = 'on')
  execute function private.broadcast_chat_changes_in_bulk();

-- user:<id> ----------------------------------------------------------------------------------------

-- The balance after every change of credits (purchase, refund, charge, adjustment).
create function private.broadcast_balance()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform realtime.send(
    jsonb_build_object('credits', new.credits, 'delta', new.credits - old.credits, 'changed_at', now()),
    'balance', 'user:' || new.id::text, true);
  return null;
end;
$$;

create trigger broadcast_balance
  after update of credits on public.real_users
  for each row
  when (old.credits is distinct from new.credits)
  execute function private.broadcast_balance();

-- operator:<id> ------------------------------------------------------------------------------------

-- A chat given to an operator, so its console opens the chat's channel.
create function private.broadcast_assignment()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform realtime.send(
    jsonb_build_object('chat_id', new.chat_id, 'assignment_id', new.id, 'assigned_at', new.assigned_at),
    'chat_assigned', 'operator:' || new.operator_id::text, true);
  return null;
end;
$$;

create trigger broadcast_chat_assigned
  after insert on public.chat_assignments
  for each row
  when (new.released_at is null)
  execute function private.broadcast_assignment();

-- Chats taken from operators (a release, the sweep, an admin, going offline or suspended, a close),
-- with the reason, so each console leaves the chat's channel: every release of one statement in
-- one insert, from its transition tables. Assignments are not updated on a hot path, so releases
-- have this one way, one release or ten thousand (the idle sweep's). Trigger function only.
create function private.broadcast_chat_releases()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_events text[];
  v_topics text[];
  v_payloads jsonb[];
begin
  select array_agg('chat_released'::text order by n.chat_id),
         array_agg('operator:' || n.operator_id::text order by n.chat_id),
         array_agg(jsonb_build_object('chat_id', n.chat_id, 'assignment_id', n.id, 'reason', n.release_reason,
                                      'released_at', n.released_at) order by n.chat_id)
    into v_events, v_topics, v_payloads
    from new_assignments n
    join old_assignments o on o.id = n.id
   where o.released_at is null and n.released_at is not null;
  if v_events is not null then
    perform private.insert_broadcasts(v_events, v_topics, v_payloads);
  end if;
  return null;
end;
$$;

create trigger broadcast_chat_released
  after update on public.chat_assignments
  referencing old table as old_assignments new table as new_assignments
  for each statement
  execute function private.broadcast_chat_releases();

-- operators:queue ----------------------------------------------------------------------------------

-- The number of waiting chats, kept in 64 slots so that concurrent transactions never wait on one
-- counter row (each takes a free slot with skip locked) and the count costs a sum of 64 rows, not
-- a scan of the queue. The sum equals count(*) of waiting chats at every commit. Every transaction
-- that moves the queue updates its slot twice and reads all 64 rows twice (the slot it takes, the
-- sum), so the table is kept at a few pages: fillfactor 10 leaves each page room for the new
-- versions of its rows (HOT updates, pruned in place). Packed into one page, the updates of a busy
-- queue spilled to new pages faster than they were pruned: the table grew to 55 pages within
-- seconds of the queue bench and both reads walked every page, about half the CPU of an
-- assignment (bench/README.md, "Where each row stands"; 5 pages throughout with it).
create table private.queue_counters (
  slot smallint primary key check (slot between 0 and 63),
  waiting bigint not null default 0,
  pending boolean not null default false
) with (fillfactor = 10);
comment on table private.queue_counters is
  'Waiting chats by slot (sum = the queue length); pending marks a slot whose transaction will '
  'broadcast operators:queue when it commits.';
insert into private.queue_counters (slot) select s from generate_series(0, 63) as s;
-- Applied to a database that already has waiting chats (after a rollback of this file that kept
-- the chats, or on a project with data), the count starts from them.
update private.queue_counters
   set waiting = (select count(*) from public.chats c where c.status = 'waiting')
 where slot = 0;
revoke all on table private.queue_counters from public, anon, authenticated, service_role;

-- Adds p_delta (chats that entered the queue less those that left it) to the transaction's delta
-- and, the first time in a transaction, marks a free slot pending, which queues one deferred
-- broadcast_queue_change for the commit (however many chats the transaction moves, as the sweep
-- does). Internal helper of note_queue_change and broadcast_chat_changes_in_bulk.
create function private.note_queue_delta(p_delta integer)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_slot smallint;
begin
  perform set_config('fantooo.queue_delta',
    (coalesce(nullif(current_setting('fantooo.queue_delta', true), ''), '0')::integer + p_delta)::text, true);
  if coalesce(current_setting('fantooo.queue_slot', true), '') = '' then
    select q.slot into v_slot
      from private.queue_counters q
     order by (q.slot + pg_backend_pid()) % 64
     limit 1
       for update skip locked;
    if v_slot is null then
      v_slot := pg_backend_pid() % 64;  -- every slot busy: wait for this backend's own
    end if;
    update private.queue_counters set pending = true where slot = v_slot;
    perform set_config('fantooo.queue_slot', v_slot::text, true);
  end if;
end;
$$;

-- Notes a chat entering (+1) or leaving (-1) the queue (private.note_queue_delta).
create function private.note_queue_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.note_queue_delta(case
    when tg_op = 'INSERT' then 1
    when tg_op = 'DELETE' then -1
    when new.status = 'waiting' then 1
    else -1
  end);
  return null;
end;
$$;

create trigger note_queue_insert
  after insert on public.chats
  for each row when (new.status = 'waiting')
  execute function private.note_queue_change();

create trigger note_queue_update
  after update of status on public.chats
  for each row when ((old.status = 'waiting') is distinct from (new.status = 'waiting')
                     and current_setting('fantooo.broadcast_in_bulk', true) is distinct from 'on')
  execute function private.note_queue_change();

create trigger note_queue_delete
  after delete on public.chats
  for each row when (old.status = 'waiting')
  execute function private.note_queue_change();

-- At commit: applies the transaction's delta to its slot and broadcasts the queue's length and
-- oldest wait on operators:queue. Deferred, so it reads what other transactions committed
-- meanwhile; a failure is a warning, never a failed commit.
create function private.broadcast_queue_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_waiting bigint;
  v_oldest timestamptz;
begin
  begin
    update private.queue_counters
       set waiting = waiting + coalesce(nullif(current_setting('fantooo.queue_delta', true), ''), '0')::integer,
           pending = false
     where slot = new.slot;
    perform set_config('fantooo.queue_delta', '0', true);
    perform set_config('fantooo.queue_slot', '', true);
    select sum(q.waiting) into v_waiting from private.queue_counters q;
    -- The head of the queue in idx_chats_assignment_queue's order. min(queued_at) was planned on
    -- idx_chats_unanswered, which holds the assigned chats not yet answered too and so walked past
    -- every one of them at each commit (511 buffers, 0.86 ms, during the queue bench; now 15).
    select c.queued_at into v_oldest
      from public.chats c
     where c.status = 'waiting'
     order by c.queued_at, c.id
     limit 1;
    perform realtime.send(
      jsonb_build_object('waiting', v_waiting, 'oldest_queued_at', v_oldest,
                         'oldest_wait_seconds', coalesce(floor(extract(epoch from now() - v_oldest)), 0),
                         'changed_at', now()),
      'queue_changed', 'operators:queue', true);
  exception
    when others then
      raise warning 'broadcast_queue_change: %', sqlerrm;
  end;
  return null;
end;
$$;

create constraint trigger broadcast_queue_change
  after update on private.queue_counters
  deferrable initially deferred
  for each row when (new.pending)
  execute function private.broadcast_queue_change();

-- admin --------------------------------------------------------------------------------------------

-- A dispute (chargeback) Paystack reported.
create function private.broadcast_payment_disputed()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform realtime.send(
    jsonb_build_object('dispute_id', new.id, 'transaction_id', new.transaction_id,
                       'real_user_id', new.real_user_id, 'reference', new.reference,
                       'category', new.category, 'refund_amount', new.refund_amount,
                       'currency', new.currency, 'created_at', new.created_at),
    'payment_disputed', 'admin', true);
  return null;
end;
$$;

create trigger broadcast_payment_disputed
  after insert on public.payment_disputes
  for each row execute function private.broadcast_payment_disputed();

-- The last failing streak of the idle sweep that was reported (one alert per streak).
create table private.sweep_alerts (
  id boolean primary key default true check (id),
  reported_last_success_at timestamptz,
  reported_at timestamptz
);
insert into private.sweep_alerts (id) values (true);
revoke all on table private.sweep_alerts from public, anon, authenticated, service_role;

-- Reports on the admin topic, once per failing streak, an idle sweep that has not succeeded for
-- three minutes (a rotated key answering 401, the function down, pg_net failing). Returns true
-- when it sent the alert. Called every minute by the sweep-watch job as postgres.
create function private.report_failing_sweep()
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  v_status public.sweeper_status%rowtype;
  v_alert private.sweep_alerts%rowtype;
  v_since timestamptz;
begin
  select * into v_status from public.sweeper_status;
  select * into v_alert from private.sweep_alerts for update;
  v_since := coalesce(v_status.last_success_at, v_status.created_at);
  if v_since > now() - interval '3 minutes' then
    return false;
  end if;
  if v_alert.reported_at is not null
     and v_alert.reported_last_success_at is not distinct from v_status.last_success_at then
    return false;  -- this streak was reported already
  end if;
  update private.sweep_alerts
     set reported_last_success_at = v_status.last_success_at, reported_at = now();
  perform realtime.send(
    jsonb_build_object('last_success_at', v_status.last_success_at,
                       'seconds_since', floor(extract(epoch from now() - v_since))),
    'sweep_failing', 'admin', true);
  return true;
end;
$$;

revoke all on function private.report_failing_sweep() from public, anon, authenticated, service_role;

-- Waits already reported on the admin topic: one row per wait (a chat and the queued_at of its oldest
-- unanswered message), so each wait is reported once whatever its releases; rows of waits that are
-- over go after a day.
create table private.wait_alerts (
  chat_id uuid not null references public.chats (id) on delete cascade,
  queued_at timestamptz not null,
  reported_at timestamptz not null default now(),
  primary key (chat_id, queued_at)
);
revoke all on table private.wait_alerts from public, anon, authenticated, service_role;

-- Reports on the admin topic (event wait_alert) every chat whose real user has waited for a reply
-- longer than settings.max_wait (waiting, or assigned and unanswered: queued_at older than that),
-- once per wait: {"chat_id", "status", "queued_at", "waited_seconds", "max_wait_seconds",
-- "fictional_user_id", "language"}. At most 500 a run, the longest waits first (a backlog is
-- reported over the next minutes rather than in one burst; the dashboard's waiting_over_max counts
-- them all at once). Returns how many it reported. Called every minute by the wait-alerts job as
-- postgres; security definer like the other broadcasts.
create function private.report_long_waits()
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_max_wait interval;
  v_count integer := 0;
  v_wait record;
begin
  select s.max_wait into v_max_wait from public.settings s;
  if v_max_wait is null then
    return 0;
  end if;
  for v_wait in
    with new_waits as (
      insert into private.wait_alerts (chat_id, queued_at)
      select c.id, c.queued_at
        from public.chats c
       where c.status in ('waiting', 'assigned') and c.queued_at < now() - v_max_wait
         and not exists (select 1 from private.wait_alerts w where w.chat_id = c.id and w.queued_at = c.queued_at)
       order by c.queued_at
       limit 500
      on conflict (chat_id, queued_at) do nothing
      returning chat_id, queued_at)
    select c.id, c.status, n.queued_at, c.fictional_user_id, f.language
      from new_waits n
      join public.chats c on c.id = n.chat_id
      join public.fictional_users f on f.id = c.fictional_user_id
     order by n.queued_at
  loop
    perform realtime.send(
      jsonb_build_object('chat_id', v_wait.id,
                         'status', v_wait.status,
                         'queued_at', v_wait.queued_at,
                         'waited_seconds', floor(extract(epoch from now() - v_wait.queued_at)),
                         'max_wait_seconds', extract(epoch from v_max_wait),
                         'fictional_user_id', v_wait.fictional_user_id,
                         'language', v_wait.language),
      'wait_alert', 'admin', true);
    v_count := v_count + 1;
  end loop;
  delete from private.wait_alerts w
   where w.reported_at < now() - interval '1 day'
     and not exists (select 1 from public.chats c where c.id = w.chat_id and c.queued_at = w.queued_at);
  return v_count;
end;
$$;

revoke all on function private.report_long_waits() from public, anon, authenticated, service_role;

revoke all on function
  private.insert_broadcasts(text[], text[], jsonb[]),
  private.chat_status_payload(public.chats, text),
  private.chat_closed_payload(public.chats),
  private.chat_flagged_payload(public.chats),
  private.broadcast_chat_changes_in_bulk(),
  private.broadcast_chat_releases(),
  private.note_queue_delta(integer),
  private.broadcast_message_created(),
  private.broadcast_chat_change(),
  private.broadcast_balance(),
  private.broadcast_assignment(),
  private.note_queue_change(),
  private.broadcast_queue_change(),
  private.broadcast_payment_disputed()
from public, anon, authenticated, service_role;
