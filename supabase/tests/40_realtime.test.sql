-- Realtime (docs/realtime.md): who may receive and send on each topic, checked the way the Realtime
-- server checks it (probe rows in realtime.messages read back, or inserted, as the caller with
-- realtime.topic set), and what each write broadcasts, read back from realtime.messages.
begin;
set local search_path = extensions, public;
select plan(96);

\ir fixtures/personas.psql
-- alice+Fa held by olga; alice+Fb closed; bob+Fa held by omar, olga before.

-- As the server does: receiving = a probe row inserted by the server, visible to the caller;
-- sending = an insert by the caller that the policies let through. p_user null = the anon key.
create or replace function tests.realtime_access(p_user uuid, p_topic text, p_extension text,
                                                 p_send boolean, p_event text default null)
returns boolean
language plpgsql
as $$
declare
  v_probe uuid := gen_random_uuid();
  v_ok boolean;
begin
  if not p_send then
    insert into realtime.messages (id, topic, extension, private) values (v_probe, p_topic, p_extension, true);
  end if;
  perform set_config('role', case when p_user is null then 'anon' else 'authenticated' end, true);
  perform set_config('request.jwt.claims',
    case when p_user is null then '{"role":"anon"}'
         else json_build_object('sub', p_user, 'role', 'authenticated')::text end, true);
  perform set_config('realtime.topic', p_topic, true);
  if p_send then
    begin
      insert into realtime.messages (topic, extension, event, private) values (p_topic, p_extension, p_event, true);
      v_ok := true;
    exception when insufficient_privilege then
      v_ok := false;
    end;
  else
    v_ok := exists (select 1 from realtime.messages m where m.id = v_probe);
  end if;
  perform set_config('role', 'postgres', true);
  perform set_config('request.jwt.claims', '', true);
  perform set_config('realtime.topic', '', true);
  return v_ok;
end;
$$;

create temporary table cells (persona text, who uuid, topic text, extension text, send boolean, event text, allowed boolean);
insert into cells values
  -- chat:<alice+Fa>, held by olga
  ('alice', tests.get_user_id('alice'), 'chat:' || tests.get_chat_id('alice', 'Test Fa'), 'broadcast', false, null, true),
  ('alice', tests.get_user_id('alice'), 'chat:' || tests.get_chat_id('alice', 'Test Fa'), 'presence', false, null, true),
  ('bob', tests.get_user_id('bob'), 'chat:' || tests.get_chat_id('alice', 'Test Fa'), 'broadcast', false, null, false),
  ('olga (holder)', tests.get_user_id('olga'), 'chat:' || tests.get_chat_id('alice', 'Test Fa'), 'broadcast', false, null, true),
  ('omar', tests.get_user_id('omar'), 'chat:' || tests.get_chat_id('alice', 'Test Fa'), 'broadcast', false, null, false),
  ('adam (admin)', tests.get_user_id('adam'), 'chat:' || tests.get_chat_id('alice', 'Test Fa'), 'broadcast', false, null, true),
  ('nora (no profile)', tests.get_user_id('nora'), 'chat:' || tests.get_chat_id('alice', 'Test Fa'), 'broadcast', false, null, false),
  ('anon', null, 'chat:' || tests.get_chat_id('alice', 'Test Fa'), 'broadcast', false, null, false),
  -- chat:<bob+Fa>, held by omar; olga held it before
  ('bob', tests.get_user_id('bob'), 'chat:' || tests.get_chat_id('bob', 'Test Fa'), 'broadcast', false, null, true),
  ('alice', tests.get_user_id('alice'), 'chat:' || tests.get_chat_id('bob', 'Test Fa'), 'broadcast', false, null, false),
  ('olga (released)', tests.get_user_id('olga'), 'chat:' || tests.get_chat_id('bob', 'Test Fa'), 'broadcast', false, null, false),
  ('omar (holder)', tests.get_user_id('omar'), 'chat:' || tests.get_chat_id('bob', 'Test Fa'), 'broadcast', false, null, true),
  -- user:<alice>
  ('alice', tests.get_user_id('alice'), 'user:' || tests.get_user_id('alice'), 'broadcast', false, null, true),
  ('bob', tests.get_user_id('bob'), 'user:' || tests.get_user_id('alice'), 'broadcast', false, null, false),
  ('olga', tests.get_user_id('olga'), 'user:' || tests.get_user_id('alice'), 'broadcast', false, null, false),
  ('adam', tests.get_user_id('adam'), 'user:' || tests.get_user_id('alice'), 'broadcast', false, null, true),
  ('anon', null, 'user:' || tests.get_user_id('alice'), 'broadcast', false, null, false),
  ('olga', tests.get_user_id('olga'), 'user:' || tests.get_user_id('olga'), 'broadcast', false, null, false),
  -- operator:<olga>
  ('olga', tests.get_user_id('olga'), 'operator:' || tests.get_user_id('olga'), 'broadcast', false, null, true),
  ('omar', tests.get_user_id('omar'), 'operator:' || tests.get_user_id('olga'), 'broadcast', false, null, false),
  ('alice', tests.get_user_id('alice'), 'operator:' || tests.get_user_id('olga'), 'broadcast', false, null, false),
  ('adam', tests.get_user_id('adam'), 'operator:' || tests.get_user_id('olga'), 'broadcast', false, null, true),
  ('alice', tests.get_user_id('alice'), 'operator:' || tests.get_user_id('alice'), 'broadcast', false, null, false),
  -- operators:queue
  ('olga', tests.get_user_id('olga'), 'operators:queue', 'broadcast', false, null, true),
  ('omar (busy, active)', tests.get_user_id('omar'), 'operators:queue', 'broadcast', false, null, true),
  ('alice', tests.get_user_id('alice'), 'operators:queue', 'broadcast', false, null, false),
  ('adam', tests.get_user_id('adam'), 'operators:queue', 'broadcast', false, null, true),
  ('anon', null, 'operators:queue', 'broadcast', false, null, false),
  -- admin
  ('adam', tests.get_user_id('adam'), 'admin', 'broadcast', false, null, true),
  ('olga', tests.get_user_id('olga'), 'admin', 'broadcast', false, null, false),
  ('alice', tests.get_user_id('alice'), 'admin', 'broadcast', false, null, false),
  -- topics nobody has
  ('adam', tests.get_user_id('adam'), 'chat:not-a-uuid', 'broadcast', false, null, false),
  ('adam', tests.get_user_id('adam'), 'lobby', 'broadcast', false, null, false),
  ('alice', tests.get_user_id('alice'), 'chat:F6000000-0000-4000-8000-00000000000X', 'broadcast', false, null, false),
  -- sending: typing and presence on a chat one may join, nothing else
  ('alice', tests.get_user_id('alice'), 'chat:' || tests.get_chat_id('alice', 'Test Fa'), 'broadcast', true, null, true),
  ('alice', tests.get_user_id('alice'), 'chat:' || tests.get_chat_id('alice', 'Test Fa'), 'broadcast', true, 'typing', true),
  ('alice', tests.get_user_id('alice'), 'chat:' || tests.get_chat_id('alice', 'Test Fa'), 'presence', true, null, true),
  ('alice', tests.get_user_id('alice'), 'chat:' || tests.get_chat_id('alice', 'Test Fa'), 'broadcast', true, 'message_created', false),
  ('olga (holder)', tests.get_user_id('olga'), 'chat:' || tests.get_chat_id('alice', 'Test Fa'), 'broadcast', true, 'typing', true),
  ('olga (released)', tests.get_user_id('olga'), 'chat:' || tests.get_chat_id('bob', 'Test Fa'), 'broadcast', true, 'typing', false),
  ('bob', tests.get_user_id('bob'), 'chat:' || tests.get_chat_id('alice', 'Test Fa'), 'broadcast', true, 'typing', false),
  ('bob', tests.get_user_id('bob'), 'chat:' || tests.get_chat_id('alice', 'Test Fa'), 'presence', true, null, false),
  ('anon', null, 'chat:' || tests.get_chat_id('alice', 'Test Fa'), 'broadcast', true, 'typing', false),
  ('alice', tests.get_user_id('alice'), 'user:' || tests.get_user_id('alice'), 'broadcast', true, null, false),
  ('olga', tests.get_user_id('olga'), 'operator:' || tests.get_user_id('olga'), 'broadcast', true, null, false),
  ('olga', tests.get_user_id('olga'), 'operators:queue', 'broadcast', true, null, false),
  ('adam', tests.get_user_id('adam'), 'admin', 'broadcast', true, null, false),
  ('adam', tests.get_user_id('adam'), 'operators:queue', 'presence', true, null, false);

select is(tests.realtime_access(c.who, c.topic, c.extension, c.send, c.event), c.allowed,
          format('%s %s %s on %s%s', c.persona, case when c.allowed then 'may' else 'may not' end,
                 case when c.send then 'send ' || c.extension else 'receive ' || c.extension end, c.topic,
                 coalesce(' (event ' || c.event || ')', '')))
  from cells c;

-- A released or suspended operator loses the chat at its next check ------------------------------
update public.chat_assignments set released_at = now(), release_reason = 'completed'
 where chat_id = tests.get_chat_id('alice', 'Test Fa') and released_at is null;
select is(tests.realtime_access(tests.get_user_id('olga'), 'chat:' || tests.get_chat_id('alice', 'Test Fa'), 'broadcast', false),
  false, 'olga, released from alice+Fa, may no longer receive on it');
update public.operators set is_active = false where id = tests.get_user_id('omar');
select is(tests.realtime_access(tests.get_user_id('omar'), 'chat:' || tests.get_chat_id('bob', 'Test Fa'), 'broadcast', false),
  false, 'omar, suspended, may no longer receive on the chat he holds');
select is(tests.realtime_access(tests.get_user_id('omar'), 'operators:queue', 'broadcast', false),
  false, 'a suspended operator may not receive the queue');
update public.operators set is_active = true where id = tests.get_user_id('omar');
update public.chat_assignments set released_at = null, release_reason = null
 where chat_id = tests.get_chat_id('alice', 'Test Fa') and release_reason = 'completed'
   and operator_id = tests.get_user_id('olga') and released_at > now() - interval '1 minute';

-- What each write broadcasts -------------------------------------------------------------------------
delete from realtime.messages;
create temporary view sent as
  select m.topic, m.event, m.payload, m.private, m.extension from realtime.messages m;
grant select on sent to authenticated;

-- alice writes in her chat (held by olga): the message on the chat's topic.
select tests.authenticate_as('alice');
insert into public.messages (chat_id, sender_type, content)
values (tests.get_chat_id('alice', 'Test Fa'), 'real', 'are you there?');
select tests.clear_authentication();
select results_eq(
  $$select topic, event, payload ->> 'content', payload ->> 'sender_type', private, extension from sent
     where event = 'message_created'$$,
  $$values (('chat:' || tests.get_chat_id('alice', 'Test Fa')), 'message_created'::text, 'are you there?'::text,
            'real'::text, true, 'broadcast'::text)$$,
  'a new message is broadcast, private, on its chat''s topic');
select is((select array_agg(k order by k) from sent, jsonb_object_keys(payload) k where event = 'message_created'),
  array['chat_id', 'content', 'created_at', 'credits_charged', 'id', 'sender_type'],
  'the message carries the row as its readers read it, and no operator');

-- olga answers: her message too, on the same topic, naming nobody.
select tests.authenticate_as('olga');
insert into public.messages (chat_id, sender_type, content)
values (tests.get_chat_id('alice', 'Test Fa'), 'fictional', 'always');
select tests.clear_authentication();
select is((select count(*)::int from sent where event = 'message_created' and payload ->> 'sender_type' = 'fictional'
             and topic = 'chat:' || tests.get_chat_id('alice', 'Test Fa')), 1, 'the operator''s reply is broadcast on the chat');

-- Credits: an admin adjustment sends the new balance on the user's topic.
select tests.authenticate_as('adam');
select is(public.admin_adjust_credits(tests.get_user_id('alice'), 5, 'goodwill') ->> 'delta', '5', 'adam gives alice 5 credits');
select tests.clear_authentication();
select results_eq(
  $$select topic, (payload ->> 'credits')::int, (payload ->> 'delta')::int from sent where event = 'balance'$$,
  $$select ('user:' || tests.get_user_id('alice')), credits, 5 from public.real_users
     where id = tests.get_user_id('alice')$$,
  'a credit change sends the new balance and the change on user:<id>');
select tests.authenticate_as('alice');
update public.real_users set display_name = 'Alice Renamed' where id = tests.get_user_id('alice');
select tests.clear_authentication();
select is((select count(*)::int from sent where event = 'balance'), 1, 'a change that leaves credits alone sends no balance');

-- olga releases alice+Fa, answered: the chat goes idle.
select tests.authenticate_as('olga');
select is(public.release_and_reassign_chat(tests.get_chat_id('alice', 'Test Fa'), 'completed'), true, 'olga releases alice+Fa');
select tests.clear_authentication();
select results_eq(
  $$select topic, payload ->> 'chat_id', payload ->> 'reason' from sent where event = 'chat_released'$$,
  $$values (('operator:' || tests.get_user_id('olga')), tests.get_chat_id('alice', 'Test Fa')::text, 'completed'::text)$$,
  'a release tells the operator which chat it lost and why');
select results_eq(
  $$select topic, payload ->> 'previous_status', payload ->> 'status' from sent where event = 'chat_status'$$,
  $$values (('chat:' || tests.get_chat_id('alice', 'Test Fa')), 'assigned'::text, 'idle'::text)$$,
  'the chat''s status change is broadcast on its topic');

-- alice writes again: the chat waits; at commit the queue's length goes to operators:queue.
select tests.authenticate_as('alice');
insert into public.messages (chat_id, sender_type, content)
values (tests.get_chat_id('alice', 'Test Fa'), 'real', 'hello again');
select tests.clear_authentication();
select is((select count(*)::int from sent where event = 'queue_changed'), 0,
  'the queue is broadcast at commit, not before');
set constraints private.broadcast_queue_change immediate;
select results_eq(
  $$select topic, (payload ->> 'waiting')::bigint, (payload ->> 'oldest_queued_at')::timestamptz from sent where event = 'queue_changed'$$,
  $$select 'operators:queue'::text, count(*), min(queued_at) from public.chats where status = 'waiting'$$,
  'operators:queue gets the waiting count and the oldest wait');
select is((select sum(waiting)::bigint from private.queue_counters), (select count(*) from public.chats where status = 'waiting'),
  'the queue counters add up to the waiting chats');
set constraints private.broadcast_queue_change deferred;
select ok((select c.reloptions @> array['fillfactor=10'] from pg_class c where c.oid = 'private.queue_counters'::regclass),
  'the queue counters leave room on their pages for the updates of a busy queue (fillfactor 10)');

-- olga takes the next chat: the assignment on her topic, and the queue again.
update public.operators set status = 'available' where id = tests.get_user_id('olga');
select tests.authenticate_as('olga');
select isnt(public.assign_chat_to_operator(tests.get_user_id('olga')), null, 'olga gets a chat');
select tests.clear_authentication();
select is((select count(*)::int from sent where event = 'chat_assigned' and topic = 'operator:' || tests.get_user_id('olga')), 1,
  'an assignment is broadcast on the operator''s topic');
set constraints private.broadcast_queue_change immediate;
select results_eq(
  $$select (payload ->> 'waiting')::bigint from sent where event = 'queue_changed' order by (payload ->> 'changed_at') desc, (payload ->> 'waiting') limit 1$$,
  $$select count(*) from public.chats where status = 'waiting'$$,
  'the queue shrinks when a chat is assigned');
set constraints private.broadcast_queue_change deferred;

-- An admin closes alice's chat: her user topic learns it; nothing a user can read names an operator.
select tests.authenticate_as('adam');
select is(public.close_chat(tests.get_chat_id('alice', 'Test Fa')), true, 'adam closes alice+Fa');
select tests.clear_authentication();
select results_eq(
  $$select topic, payload ->> 'chat_id', payload ->> 'close_reason' from sent where event = 'chat_closed'$$,
  $$values (('user:' || tests.get_user_id('alice')), tests.get_chat_id('alice', 'Test Fa')::text, 'admin'::text)$$,
  'a chat closed by an admin is announced on its user''s topic');
select is((select count(*)::int from sent where (topic like 'chat:%' or topic like 'user:%')
             and (payload::text like '%f2000000-%' or payload ? 'operator_id' or payload ? 'assignment_id')), 0,
  'nothing on a chat or user topic names an operator');

-- Admin events.
update public.chats set flagged_for_review = true, flag_reason = 'reassigned 3 times'
 where id = tests.get_chat_id('bob', 'Test Fa');
select results_eq($$select topic, payload ->> 'chat_id' from sent where event = 'chat_flagged'$$,
  $$values ('admin'::text, tests.get_chat_id('bob', 'Test Fa')::text)$$, 'a new flag reaches the admin topic');
insert into public.payment_disputes (transaction_id, real_user_id, reference, category)
values ('f8000000-0000-4000-8000-000000000001', tests.get_user_id('alice'), 'test-ref-alice', 'fraud');
select results_eq($$select topic, payload ->> 'reference' from sent where event = 'payment_disputed'$$,
  $$values ('admin'::text, 'test-ref-alice'::text)$$, 'a dispute reaches the admin topic');

update public.sweeper_status set last_success_at = now() - interval '10 minutes';
update private.sweep_alerts set reported_at = null, reported_last_success_at = null;
select is(private.report_failing_sweep(), true, 'a sweep that has not succeeded for 10 minutes is reported');
select is(private.report_failing_sweep(), false, 'once per failing streak');
select is((select count(*)::int from sent where event = 'sweep_failing' and topic = 'admin'), 1, 'on the admin topic');
update public.sweeper_status set last_success_at = now();
select is(private.report_failing_sweep(), false, 'a sweep that just succeeded is not reported');
update public.sweeper_status set last_success_at = now() - interval '4 minutes';
select is(private.report_failing_sweep(), true, 'a new failing streak is reported again');
select is((select count(*)::int from cron.job where jobname = 'sweep-watch' and schedule = '* * * * *'), 1,
  'the sweep-watch job runs every minute');

-- The idle sweep broadcasts in bulk: what the row triggers send, one insert per statement ---------
-- Two chats omar holds, idle for a day: bob+Fd, and alice+Fd, released for the third time.
select tests.create_chat('alice', 'Test Fd', status => 'assigned', queued_at => now() - interval '5 minutes',
                         reassignment_count => 2);
select tests.create_chat('bob', 'Test Fd', status => 'assigned', queued_at => now() - interval '6 minutes');
select tests.assign_chat(tests.get_chat_id(u, 'Test Fd'), 'omar', assigned_at => now() - interval '1 day',
                         last_activity_at => now() - interval '1 day')
  from unnest(array['alice', 'bob']) u;
delete from realtime.messages;
select is(public.sweep_idle_chats() ->> 'released', '2', 'the sweep releases omar''s two idle chats');
select results_eq(
  $$select topic, payload ->> 'chat_id', payload ->> 'reason' from sent where event = 'chat_released' order by 2$$,
  $$select 'operator:' || tests.get_user_id('omar'), c::text, 'idle_timeout'::text
      from unnest(array[tests.get_chat_id('bob', 'Test Fd'), tests.get_chat_id('alice', 'Test Fd')]) c order by 2$$,
  'each released chat is announced once to its operator');
select results_eq(
  $$select topic, payload ->> 'previous_status', payload ->> 'status' from sent where event = 'chat_status' order by 1$$,
  $$select 'chat:' || c, 'assigned'::text, 'waiting'::text
      from unnest(array[tests.get_chat_id('bob', 'Test Fd'), tests.get_chat_id('alice', 'Test Fd')]) c order by 1$$,
  'and each chat''s status change on its topic, once');
select results_eq($$select topic, payload ->> 'chat_id', payload ->> 'flag_reason' from sent where event = 'chat_flagged'$$,
  $$values ('admin'::text, tests.get_chat_id('alice', 'Test Fd')::text, 'reassigned 3 times'::text)$$,
  'the chat flagged by its third idle release reaches the admin topic');
select is((select array_agg(distinct k order by k) from sent, jsonb_object_keys(payload) k where event = 'chat_released'),
  array['assignment_id', 'chat_id', 'id', 'reason', 'released_at'], 'a release from the sweep carries what a single release carries');
select is((select array_agg(distinct k order by k) from sent, jsonb_object_keys(payload) k where event = 'chat_status'),
  array['changed_at', 'chat_id', 'close_reason', 'closed_at', 'id', 'previous_status', 'queued_at', 'status'],
  'so does a status change');
select is((select count(distinct payload ->> 'id')::int from sent), (select count(*)::int from sent),
  'every broadcast has its own id');
select is(current_setting('fantooo.broadcast_in_bulk', true), '', 'the sweep leaves bulk mode when it is done');
select has_trigger('public', 'chats', 'broadcast_chat_changes_in_bulk', 'chats have a statement trigger for bulk broadcasts');
select is((select tgtype & 1 from pg_trigger where tgname = 'broadcast_chat_released'
            and tgrelid = 'public.chat_assignments'::regclass)::int, 0,
  'releases are broadcast per statement, one insert for all of a statement''s releases');
-- In bulk mode the row triggers stand aside: one broadcast per change, not two.
delete from realtime.messages where event = 'chat_status';
select set_config('fantooo.broadcast_in_bulk', 'on', true);
update public.chats set status = 'assigned' where id = tests.get_chat_id('bob', 'Test Fd');
select set_config('fantooo.broadcast_in_bulk', '', true);
select is((select count(*)::int from sent where event = 'chat_status'), 1, 'in bulk mode a status change is sent once');
set constraints private.broadcast_queue_change immediate;
select is((select sum(waiting)::bigint from private.queue_counters), (select count(*) from public.chats where status = 'waiting'),
  'the chats the sweep put back in the queue are counted');
select results_eq(
  $$select (payload ->> 'waiting')::bigint from sent where event = 'queue_changed'$$,
  $$select count(*) from public.chats where status = 'waiting'$$,
  'and operators:queue hears it once');
set constraints private.broadcast_queue_change deferred;

-- A broadcast never blocks the write it reports --------------------------------------------------
alter table realtime.messages detach partition realtime.messages_default;
select tests.authenticate_as('bob');
select lives_ok($$insert into public.messages (chat_id, sender_type, content)
                  values (tests.get_chat_id('bob', 'Test Fa'), 'real', 'still sent')$$,
  'with realtime.messages refusing every row, a message is still written');
select tests.clear_authentication();
select is((select count(*)::int from public.messages where content = 'still sent'), 1, 'and it is there');
select lives_ok($$set constraints private.broadcast_queue_change immediate$$,
  'the queue broadcast failing at commit does not fail the commit');
-- Nor in bulk: a sweep whose broadcasts cannot be written still releases its idle chats.
select tests.create_chat('bob', 'Test Fb', status => 'assigned', queued_at => now() - interval '3 minutes');
select tests.assign_chat(tests.get_chat_id('bob', 'Test Fb'), 'omar', assigned_at => now() - interval '1 day',
                         last_activity_at => now() - interval '1 day');
select is(public.sweep_idle_chats() ->> 'released', '1',
  'with realtime.messages refusing every row, the sweep still releases an idle chat');
select is((select status from public.chats where id = tests.get_chat_id('bob', 'Test Fb')), 'waiting', 'and requeues it');
alter table realtime.messages attach partition realtime.messages_default default;

select * from finish();
rollback;
