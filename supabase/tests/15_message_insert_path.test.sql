-- The path of a message insert, whichever way it arrives (Data API insert or send_message): one
-- before-insert trigger (apply_message) and, after it, the author of fictional messages only; the
-- chat's real_message_count prices the next message, whatever the messages table holds; the insert
-- policy probes the chat by key. Refused under the charging trigger's locks, each with its own code
-- and nothing written: a closed chat, a deactivated account, an answer to a chat the operator does
-- not hold, any real message while the settings row is missing (never written free).
begin;
set local search_path = extensions, public;
select plan(31);
\ir fixtures/personas.psql

-- The queue is global: keep only the personas' chats (seed data included; rolled back at the end).
delete from public.chats where real_user_id not in (tests.get_user_id('alice'), tests.get_user_id('bob'));

-- Besides the personas: real users ruby (100 credits) and rex, operator otis. Chats: c1 ruby+Path A
-- (otis will hold it), c2 ruby+Path B, c3 rex+Path A.
select tests.create_operator('otis', status => 'available', max_concurrent_chats => 5);
select tests.create_real_user('ruby', credits => 100);
select tests.create_real_user('rex', gender => 'male', credits => 100);
select tests.create_profile('Path A');
select tests.create_profile('Path B');
select tests.create_chat('ruby', 'Path A');
select tests.create_chat('ruby', 'Path B');
select tests.create_chat('rex', 'Path A');
update public.settings set free_messages = 2, base_price = 5, night_factor = 1, early_factor = 1, featured_factor = 1;

-- One trigger path ------------------------------------------------------------------------------------------

select results_eq(
  $$select t.tgname::text collate "C", t.tgtype & 2 = 2, pg_get_triggerdef(t.oid) like '%WHEN ((new.sender_type = ''fictional''::text))%'
      from pg_trigger t where t.tgrelid = 'public.messages'::regclass and not t.tgisinternal order by 1$$,
  $$values ('apply_message'::text collate "C", true, false), ('broadcast_message_created', false, false),
           ('record_message_author', false, true)$$,
  'messages has one before-insert trigger (apply_message) and, after the insert, its broadcast and the author of fictional messages');

-- Ruby: two free messages, then the price; the count is the chat's, fictional answers not counted --------------
select tests.authenticate_as('ruby');
select is((public.send_message(tests.get_chat_id('ruby', 'Path A'), 'one')).credits_charged, 0, '1st real message free');
select is((public.send_message(tests.get_chat_id('ruby', 'Path A'), 'two')).credits_charged, 0, '2nd real message free');

-- Otis takes c1 and answers twice.
select tests.authenticate_as('otis');
select is(public.assign_chat_to_operator(), tests.get_chat_id('ruby', 'Path A'), 'otis takes c1 (for herself)');
select is((public.send_message(tests.get_chat_id('ruby', 'Path A'), 'hi')).credits_charged, 0, 'an answer is free');
select is((public.send_message(tests.get_chat_id('ruby', 'Path A'), 'hi again')).credits_charged, 0, 'a second answer too');
select results_eq(
  $$select ma.operator_id from public.message_authors ma join public.messages m on m.id = ma.message_id
     where m.chat_id = tests.get_chat_id('ruby', 'Path A')$$,
  $$values (tests.get_user_id('otis')), (tests.get_user_id('otis'))$$,
  'each answer records its author; real messages record none');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('rex', 'Path A'), 'fictional', 'not mine')$$,
  'PT404', 'chat_not_held', 'otis, holding c1, cannot answer c3 (which nobody holds)');

select tests.authenticate_as('ruby');
select is((public.send_message(tests.get_chat_id('ruby', 'Path A'), 'three')).credits_charged, 5,
  'the 3rd real message is priced: the two answers between do not count as real messages');
select is((public.send_message(tests.get_chat_id('ruby', 'Path B'), 'other chat')).credits_charged, 0,
  'the count is per chat: the first message of c2 is free');
select tests.clear_authentication();
select bag_eq(
  $$select c.id, c.message_count, c.real_message_count from public.chats c
     where c.real_user_id = tests.get_user_id('ruby') order by c.id$$,
  $$values (tests.get_chat_id('ruby', 'Path A'), 5, 3), (tests.get_chat_id('ruby', 'Path B'), 1, 1)$$,
  'message_count counts every message, real_message_count the real ones');
select is((select credits from public.real_users where id = tests.get_user_id('ruby')), 95,
  'ruby paid for one message');
select results_eq(
  $$select total_messages_sent from public.operators where id = tests.get_user_id('otis')$$,
  $$values (2)$$, 'otis''s two answers are counted, the refused one not');

-- What prices a message is the chat's count, not the messages table: with the count at 0 the next is free.
update public.chats set real_message_count = 0 where id = tests.get_chat_id('ruby', 'Path A');
select is(private.prior_real_messages(tests.get_chat_id('ruby', 'Path A')), 0, 'prior_real_messages reads the chat''s count');
update public.chats set real_message_count = 7 where id = tests.get_chat_id('ruby', 'Path A');
select is(private.prior_real_messages(tests.get_chat_id('ruby', 'Path A')), 2, '... up to settings.free_messages');
select is(private.prior_real_messages('28000000-0000-4000-8000-00000000dead'), 0, '... and 0 for an unknown chat');
select is(public.message_price(tests.get_chat_id('ruby', 'Path A')), 5, 'message_price agrees with the trigger');

-- Clients cannot write the count (no column grant on chats.real_message_count).
select tests.authenticate_as('ruby');
select throws_ok(
  $$update public.chats set real_message_count = 0 where id = tests.get_chat_id('ruby', 'Path A')$$,
  '42501', null, 'a real user cannot reset the count that prices her messages');

-- The insert policy by key: rex cannot write in ruby's chat, even as a real message.
select tests.authenticate_as('rex');
select throws_ok(
  $$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('ruby', 'Path B'), 'real', 'hi')$$,
  '42501', null, 'a real user cannot write in another user''s chat');

-- Messages refused under the charging trigger's locks --------------------------------------------------

select tests.authenticate_as('alice');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('alice', 'Test Fb'), 'real', 'hello again')$$,
  '42501', 'chat_closed', 'a message to a closed chat: 42501 chat_closed');
select throws_ok($$select public.send_message(tests.get_chat_id('alice', 'Test Fb'), 'via rpc')$$,
  '42501', 'chat_closed', 'the same through send_message');
select tests.clear_authentication();
update public.real_users set is_active = false where id = tests.get_user_id('bob');
select tests.authenticate_as('bob');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('bob', 'Test Fa'), 'real', 'still here?')$$,
  '42501', 'account_deactivated', 'a message from a deactivated account: 42501 account_deactivated');
select tests.clear_authentication();
update public.real_users set is_active = true where id = tests.get_user_id('bob');
select tests.authenticate_as('olga');
select throws_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('bob', 'Test Fa'), 'fictional', 'still mine?')$$,
  'PT404', 'chat_not_held', 'an operator''s answer to a chat it does not hold: PT404 chat_not_held');
select lives_ok($$insert into public.messages (chat_id, sender_type, content)
  values (tests.get_chat_id('alice', 'Test Fa'), 'fictional', 'Fa answers')$$,
  'the holder still answers');
select tests.clear_authentication();
select results_eq($$select count(*)::int from public.messages where content in ('hello again', 'via rpc', 'still here?', 'still mine?')$$,
  $$values (0)$$, 'nothing refused was written');

-- A message without a settings row ---------------------------------------------------------------------

delete from public.settings;
select tests.authenticate_as('alice');
select throws_ok($$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('alice', 'Test Fa'), 'real', 'free?')$$,
  'PT500', 'pricing_not_configured', 'without the settings row, alice''s message is refused, not written free');
select tests.clear_authentication();
select results_eq($$select credits from public.real_users where id = tests.get_user_id('alice')$$,
  $$values (10)$$, 'her credits are untouched');
select is_empty($$select 1 from public.messages where content = 'free?'$$, 'and nothing was written');
select throws_ok($$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('bob', 'Test Fa'), 'real', 'seeded')$$,
  'PT500', 'pricing_not_configured', 'a trusted caller''s real message is refused too');
select tests.authenticate_as('olga');
select lives_ok($$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('alice', 'Test Fa'), 'fictional', 'still here')$$,
  'an operator''s answer costs nothing and is still written');
select tests.clear_authentication();
insert into public.settings (id) values (true);
select tests.authenticate_as('alice');
select lives_ok($$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('alice', 'Test Fa'), 'real', 'priced again')$$,
  'with the settings row back, alice writes again');

select * from finish();
rollback;
