-- Messages: the charge and the insert are one step (first 3 free, then the database price, PT402
-- insufficient_credits writing nothing), fictional messages are free and only from the holder, and the
-- triggers keep message_count, last_message_at, total_messages_sent, the holder's activity and the
-- lifecycle (idle -> waiting; queued_at = the oldest unanswered message).
begin;
set local search_path = extensions, public;
select plan(47);
\ir fixtures/helpers.psql

-- The queue is global: start from no chats at all (seed data included; rolled back at the end).
delete from public.chats;

-- Fixture (as postgres). Real users rosa (5 credits) and rita (10 credits); operators
-- olga and omar. Profiles: Norm (plain), Star (featured), Gone. Chats: c1 rosa+Norm,
-- c2 rosa+Star, c3 rita+Norm (priced at frozen times), c4 rosa+Gone (closed).
select tests.create_operator('olga', status => 'available');
select tests.create_operator('omar', status => 'available');
select tests.create_real_user('rosa', credits => 5);
select tests.create_real_user('rita', credits => 10);
select tests.create_profile('Sixteen Norm');
select tests.create_profile('Sixteen Star', featured => true);
select tests.create_profile('Sixteen Gone');
select tests.create_chat('rosa', 'Sixteen Norm');
select tests.create_chat('rosa', 'Sixteen Star');
select tests.create_chat('rita', 'Sixteen Norm');
select tests.create_chat('rosa', 'Sixteen Gone', status => 'closed');

-- Rosa: free messages and the lifecycle --------------------------------------------------------------------
select tests.authenticate_as('rosa');

with m as (
  insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('rosa', 'Sixteen Norm'), 'real', 'hi Norm') returning credits_charged
)
select is(m.credits_charged, 0, 'the first real message of a chat is free (Data API insert)') from m;
select results_eq(
  $$select c.status, c.queued_at = m.created_at, c.message_count, c.last_message_at = m.created_at
      from public.chats c join public.messages m on m.chat_id = c.id
     where c.id = tests.get_chat_id('rosa', 'Sixteen Norm')$$,
  $$values ('waiting'::text, true, 1, true)$$,
  'a real message makes an idle chat waiting, queued at the message time; message_count and last_message_at follow');
select ok((select created_at >= now() from public.messages where chat_id = tests.get_chat_id('rosa', 'Sixteen Norm')),
  'an API message is stamped with the database clock');
select is((public.send_message(tests.get_chat_id('rosa', 'Sixteen Norm'), 'still there?')).credits_charged, 0,
  'the second is free (send_message)');
select is((public.send_message(tests.get_chat_id('rosa', 'Sixteen Norm'), 'hello?')).credits_charged, 0,
  'the third is free');
select results_eq(
  $$select c.status, c.queued_at = (select min(created_at) from public.messages m where m.chat_id = c.id), c.message_count,
           c.last_message_at = (select max(created_at) from public.messages m where m.chat_id = c.id)
      from public.chats c where c.id = tests.get_chat_id('rosa', 'Sixteen Norm')$$,
  $$values ('waiting'::text, true, 3, true)$$,
  'more messages to a waiting chat keep it waiting and keep queued_at at the oldest unanswered one');
select is((select credits from public.real_users where id = tests.get_user_id('rosa')), 5,
  'free messages cost nothing');

-- Featured chat: 3 free, then 2 whatever the hour (1.5 x 0.8 / 1.0 / 1.2 all round up to 2)
select is((public.send_message(tests.get_chat_id('rosa', 'Sixteen Star'), 's1')).credits_charged, 0, 'featured: 1st free');
select is((public.send_message(tests.get_chat_id('rosa', 'Sixteen Star'), 's2')).credits_charged, 0, 'featured: 2nd free');
select is((public.send_message(tests.get_chat_id('rosa', 'Sixteen Star'), 's3')).credits_charged, 0, 'featured: 3rd free');
select is((public.send_message(tests.get_chat_id('rosa', 'Sixteen Star'), 's4')).credits_charged, 2,
  'featured: the 4th costs 2');
select is((select credits from public.real_users where id = tests.get_user_id('rosa')), 3,
  'the 2 credits are taken from rosa');

-- Plain chat: the 4th costs the database price of that moment
select lives_ok(
  $$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('rosa', 'Sixteen Norm'), 'real', 'paid one')$$,
  'rosa sends a 4th message in the plain chat');
select tests.clear_authentication();
select is(
  (select credits_charged from public.messages where chat_id = tests.get_chat_id('rosa', 'Sixteen Norm') and content = 'paid one'),
  (select private.message_price(3, created_at, false) from public.messages
    where chat_id = tests.get_chat_id('rosa', 'Sixteen Norm') and content = 'paid one'),
  'the 4th plain message is charged the price for its own time (1 by day and early, 2 at night)');
select is(
  (select credits from public.real_users where id = tests.get_user_id('rosa')),
  3 - (select credits_charged from public.messages where chat_id = tests.get_chat_id('rosa', 'Sixteen Norm') and content = 'paid one'),
  'exactly credits_charged is taken');

-- Not enough credits: nothing is written --------------------------------------------------------------------
update public.real_users set credits = 1 where id = tests.get_user_id('rosa');
select tests.authenticate_as('rosa');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('rosa', 'Sixteen Star'), 'real', 's5')$$,
  'PT402', 'insufficient_credits', 'a message costing 2 with 1 credit left is refused with PT402');
select throws_ok($$select public.send_message(tests.get_chat_id('rosa', 'Sixteen Star'), 's5')$$,
  'PT402', 'insufficient_credits', 'send_message refuses it the same way');
select results_eq(
  $$select (select count(*)::integer from public.messages where chat_id = tests.get_chat_id('rosa', 'Sixteen Star')),
           (select message_count from public.chats where id = tests.get_chat_id('rosa', 'Sixteen Star')),
           (select credits from public.real_users where id = tests.get_user_id('rosa'))$$,
  $$values (4, 4, 1)$$,
  'after PT402 no message, no counter change and no charge');

-- What rosa cannot do ------------------------------------------------------------------------------------------
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content, credits_charged) values (tests.get_chat_id('rosa', 'Sixteen Norm'), 'real', 'free please', 0)$$,
  '42501', 'permission denied for table messages', 'a real user cannot set credits_charged');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content, created_at) values (tests.get_chat_id('rosa', 'Sixteen Star'), 'real', 'at 3 am', '2025-01-01 03:00+03')$$,
  '42501', 'permission denied for table messages', 'a real user cannot choose the time (and so the price)');
select throws_ok($$update public.real_users set credits = 100 where id = tests.get_user_id('rosa')$$,
  '42501', 'permission denied for table real_users', 'a real user cannot set her credits');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('rosa', 'Sixteen Gone'), 'real', 'hello again')$$,
  '42501', 'chat_closed', 'no message in a closed chat (chat_closed)');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('rita', 'Sixteen Norm'), 'real', 'hi rita''s Norm')$$,
  '42501', 'new row violates row-level security policy for table "messages"', 'no message in another user''s chat');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('rosa', 'Sixteen Norm'), 'fictional', 'pretending')$$,
  '42501', 'new row violates row-level security policy for table "messages"', 'a real user cannot write fictional messages');
select throws_ok($$select public.send_message(tests.get_chat_id('rita', 'Sixteen Norm'), 'hi')$$,
  'PT404', 'chat_not_found', 'send_message to a chat she cannot see is chat_not_found');
select is((select credits from public.real_users where id = tests.get_user_id('rosa')), 1,
  'refused messages cost nothing');

-- Olga answers in the chat she holds ---------------------------------------------------------------------------
select tests.clear_authentication();
select is(public.assign_chat_to_operator(tests.get_user_id('olga')),
  tests.get_chat_id('rosa', 'Sixteen Norm'), 'olga takes c1');
update public.operator_activity set last_activity_at = now() - interval '3 minutes'
 where operator_id = tests.get_user_id('olga');
select tests.authenticate_as('olga');
with m as (
  insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('rosa', 'Sixteen Norm'), 'fictional', 'hi Rosa') returning credits_charged
)
select is(m.credits_charged, 0, 'a fictional message costs nothing') from m;
select results_eq(
  $$select ma.operator_id from public.message_authors ma join public.messages m on m.id = ma.message_id
     where m.content = 'hi Rosa' and m.chat_id = tests.get_chat_id('rosa', 'Sixteen Norm')$$,
  $$values (tests.get_user_id('olga'))$$,
  'the author is recorded from the JWT');
select results_eq(
  $$select total_messages_sent, last_activity_at from public.operators where id = tests.get_user_id('olga')$$,
  $$values (1, now())$$,
  'operators.total_messages_sent counts it and last_activity_at moves');
select is(
  (select last_activity_at from public.operator_activity
    where operator_id = tests.get_user_id('olga') and chat_id = tests.get_chat_id('rosa', 'Sixteen Norm')),
  now(), 'the answer refreshes the holder''s activity (the idle clock)');
select results_eq(
  $$select status, queued_at, message_count from public.chats where id = tests.get_chat_id('rosa', 'Sixteen Norm')$$,
  $$values ('assigned'::text, null::timestamptz, 5)$$,
  'an answer leaves the chat assigned with nothing unanswered');
select is((public.send_message(tests.get_chat_id('rosa', 'Sixteen Norm'), 'how are you?')).sender_type, 'fictional',
  'send_message by the holder writes a fictional message');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('rosa', 'Sixteen Norm'), 'real', 'as rosa')$$,
  '42501', 'new row violates row-level security policy for table "messages"', 'an operator cannot write real messages');

select tests.authenticate_as('omar');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('rosa', 'Sixteen Norm'), 'fictional', 'me too')$$,
  'PT404', 'chat_not_held', 'omar cannot write in a chat olga holds (chat_not_held)');
select throws_ok($$select public.send_message(tests.get_chat_id('rosa', 'Sixteen Norm'), 'me too')$$,
  'PT404', 'chat_not_found', 'nor through send_message');

-- Rosa writes to the assigned chat --------------------------------------------------------------------------
select tests.clear_authentication();
update public.real_users set credits = 10 where id = tests.get_user_id('rosa');
select tests.authenticate_as('rosa');
select isnt((public.send_message(tests.get_chat_id('rosa', 'Sixteen Norm'), 'fine, you?')).credits_charged, 0,
  'after three messages every real message is paid');
select results_eq(
  $$select c.status, c.queued_at = (select created_at from public.messages where content = 'fine, you?' and chat_id = c.id)
      from public.chats c where c.id = tests.get_chat_id('rosa', 'Sixteen Norm')$$,
  $$values ('assigned'::text, true)$$,
  'a real message to an assigned chat keeps it assigned and starts a new unanswered time');
select lives_ok($$select public.send_message(tests.get_chat_id('rosa', 'Sixteen Norm'), 'hello??')$$, 'she writes again');
select results_eq(
  $$select c.queued_at = (select created_at from public.messages where content = 'fine, you?' and chat_id = c.id)
      from public.chats c where c.id = tests.get_chat_id('rosa', 'Sixteen Norm')$$,
  $$values (true)$$,
  'queued_at stays at the oldest unanswered message');

-- A deactivated user cannot write, and pays nothing ------------------------------------------------------------
select tests.clear_authentication();
update public.real_users set is_active = false where id = tests.get_user_id('rosa');
select tests.authenticate_as('rosa');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('rosa', 'Sixteen Norm'), 'real', 'blocked')$$,
  '42501', 'account_deactivated', 'a deactivated user cannot write (account_deactivated)');

-- The trigger prices at the message's time (frozen by a trusted insert) -----------------------------------------
select tests.clear_authentication();
insert into public.messages (chat_id, sender_type, content, created_at)
select tests.get_chat_id('rita', 'Sixteen Norm'), 'real', 'r' || n, '2025-06-01 10:00+03'::timestamptz + n * interval '1 minute'
  from generate_series(1, 3) n;
insert into public.messages (chat_id, sender_type, content, created_at) values
  (tests.get_chat_id('rita', 'Sixteen Norm'), 'real', 'night', '2025-06-01 21:00+03'),
  (tests.get_chat_id('rita', 'Sixteen Norm'), 'real', 'early', '2025-06-02 03:00+03'),
  (tests.get_chat_id('rita', 'Sixteen Norm'), 'real', 'day', '2025-06-02 12:00+03'),
  (tests.get_chat_id('rita', 'Sixteen Norm'), 'real', 'edge of night', '2025-06-02 20:00+03');
select results_eq(
  $$select content, credits_charged from public.messages where chat_id = tests.get_chat_id('rita', 'Sixteen Norm')
     order by created_at$$,
  $$values ('r1'::text, 0), ('r2', 0), ('r3', 0), ('night', 2), ('early', 1), ('day', 1), ('edge of night', 2)$$,
  'charged at the time of each message: 3 free, night 2, early 1, day 1, 20:00 night');
select is((select credits from public.real_users where id = tests.get_user_id('rita')), 4,
  'rita paid 6 of her 10 credits');
select is((select message_count from public.chats where id = tests.get_chat_id('rita', 'Sixteen Norm')), 7,
  'message_count counts every message');
select is((select last_message_at from public.chats where id = tests.get_chat_id('rita', 'Sixteen Norm')),
  '2025-06-02 20:00+03'::timestamptz, 'last_message_at is the newest message');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content, created_at)
    select tests.get_chat_id('rita', 'Sixteen Norm'), 'real', 'x' || n, '2025-06-03 12:00+03' from generate_series(1, 5) n$$,
  'PT402', 'insufficient_credits', 'a batch that runs out of credits half-way is refused');
select results_eq(
  $$select (select credits from public.real_users where id = tests.get_user_id('rita')),
           (select count(*)::integer from public.messages where chat_id = tests.get_chat_id('rita', 'Sixteen Norm'))$$,
  $$values (4, 7)$$,
  'and writes nothing at all (no partial charge)');

select * from finish();
rollback;
