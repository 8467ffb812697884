-- Message pricing (docs/rules.md) with frozen time: first 3 free, time-of-day windows in
-- Africa/Nairobi with their boundaries, featured factor, ceil, at least 1; and the settings row:
-- read by staff, written by admins only, never inserted or deleted through the API.
begin;
set local search_path = extensions, public;
select plan(38);
\ir fixtures/helpers.psql

-- Nairobi is UTC+3 all year: 20:00 local = 17:00Z, 02:00 local = 23:00Z the day before, 08:00 = 05:00Z.

-- Defaults (base 1, night 1.2, early 0.8, featured 1.5) --------------------------------------------------
select results_eq(
  $$select base_price, free_messages, night_factor, night_starts, night_ends, early_factor, early_starts, early_ends,
           featured_factor, timezone, idle_timeout, inactivity_timeout from public.settings$$,
  $$values (1::numeric, 3, 1.2::numeric, '20:00'::time, '02:00'::time, 0.8::numeric, '02:00'::time, '08:00'::time,
            1.5::numeric, 'Africa/Nairobi'::text, interval '5 minutes', interval '24 hours')$$,
  'the settings row holds the documented defaults');
select is((select count(*)::integer from public.settings), 1, 'there is exactly one settings row');

select is(private.message_price(0, '2025-06-01 12:00+03', false), 0, 'the 1st real message is free');
select is(private.message_price(2, '2025-06-01 21:00+03', true), 0, 'the 3rd is free, even at night on a featured profile');
select is(private.message_price(3, '2025-06-01 12:00+03', false), 1, 'the 4th costs the base price in the day');
select is(private.message_price(3, '2025-06-01 21:00+03', false), 2, 'at night 1 x 1.2 is rounded up to 2');
select is(private.message_price(3, '2025-06-01 05:00+03', false), 1, 'early 1 x 0.8 is rounded up, and at least 1');
select is(private.message_price(3, '2025-06-01 12:00+03', true), 2, 'featured in the day: 1 x 1.5 -> 2');
select is(private.message_price(3, '2025-06-01 21:00+03', true), 2, 'featured at night: 1 x 1.2 x 1.5 = 1.8 -> 2');
select is(private.message_price(3, '2025-06-01 05:00+03', true), 2, 'featured early: 1 x 0.8 x 1.5 = 1.2 -> 2');
select is(private.message_price(3, '2025-06-01 17:30Z', false), 2, 'the window is Nairobi time: 17:30Z is 20:30 local');
select is(private.message_price(3, '2025-06-01 20:30Z', false), 2, '20:30Z is 23:30 local: still night');

-- With base 10 every factor shows (frozen times, each window includes its start) ------------------------------
update public.settings set base_price = 10;
select is(private.message_price(3, '2025-06-01 19:59:59.999+03', false), 10, '19:59:59.999: day factor 1.0');
select is(private.message_price(3, '2025-06-01 20:00:00+03', false), 12, '20:00: night starts (1.2)');
select is(private.message_price(3, '2025-06-02 00:00:00+03', false), 12, 'midnight: still night');
select is(private.message_price(3, '2025-06-02 01:59:59.999+03', false), 12, '01:59:59.999: still night');
select is(private.message_price(3, '2025-06-02 02:00:00+03', false), 8, '02:00: early starts (0.8)');
select is(private.message_price(3, '2025-06-02 07:59:59.999+03', false), 8, '07:59:59.999: still early');
select is(private.message_price(3, '2025-06-02 08:00:00+03', false), 10, '08:00: day again (1.0)');
select is(private.message_price(3, '2025-06-02 08:00:00+03', true), 15, 'featured day: 10 x 1.5');
select is(private.message_price(3, '2025-06-02 20:00:00+03', true), 18, 'featured night: 10 x 1.2 x 1.5');
select is(private.message_price(3, '2025-06-02 02:00:00+03', true), 12, 'featured early: 10 x 0.8 x 1.5');
update public.settings set base_price = 0.5;
select is(private.message_price(3, '2025-06-02 12:00:00+03', false), 1, 'ceil: 0.5 costs 1');
select is(private.message_price(3, '2025-06-02 03:00:00+03', false), 1, 'never below 1: 0.5 x 0.8 = 0.4 costs 1');
update public.settings set base_price = 1, free_messages = 0;
select is(private.message_price(0, '2025-06-02 12:00:00+03', false), 1, 'free_messages comes from the settings row');
update public.settings set free_messages = 3;

-- Fixture for the API checks: real user rosa, admin adam, operator olga, a chat.
select tests.create_admin('adam');
select tests.create_operator('olga');
select tests.create_real_user('rosa');
select tests.create_real_user('ruby');
select tests.create_profile('Fifteen A', featured => true);
select tests.create_chat('rosa', 'Fifteen A');

-- message_price(chat, at): the quote for the next message ------------------------------------------------------
select tests.authenticate_as('rosa');
select is(public.message_price(tests.get_chat_id('rosa', 'Fifteen A'), '2025-06-01 21:00+03'), 0,
  'rosa''s next message in a new chat is free');
select is_empty($$select * from public.settings$$, 'a real user cannot read the settings row');
select tests.authenticate_as('ruby');
select throws_ok($$select public.message_price(tests.get_chat_id('rosa', 'Fifteen A'), now())$$,
  'PT404', 'chat_not_found', 'ruby cannot quote rosa''s chat');

select tests.clear_authentication();
insert into public.messages (chat_id, sender_type, content, created_at)
select tests.get_chat_id('rosa', 'Fifteen A'), 'real', 'hello ' || n, '2025-06-01 12:00+03'::timestamptz + n * interval '1 second'
  from generate_series(1, 3) n;
select tests.authenticate_as('rosa');
select is(public.message_price(tests.get_chat_id('rosa', 'Fifteen A'), '2025-06-01 21:00+03'), 2,
  'after 3 messages the quote is the featured night price');

select throws_ok($$select private.message_price(3, now(), false)$$,
  '42501', 'permission denied for schema private', 'the pricing internals are not callable through the API');

-- The settings row through the API -------------------------------------------------------------------------
select tests.authenticate_as('olga');
select is((select idle_timeout from public.settings), interval '5 minutes', 'an operator reads the settings');
update public.settings set idle_timeout = interval '1 hour';
select is((select idle_timeout from public.settings), interval '5 minutes', 'an operator''s update changes nothing');

select tests.authenticate_as('adam');
select lives_ok($$update public.settings set night_factor = 1.25$$, 'an admin updates the pricing');
select is((select night_factor from public.settings), 1.25::numeric, 'the admin''s update is stored');
select throws_ok($$update public.settings set timezone = 'Mars/Olympus'$$,
  '23514', 'invalid_timezone', 'an unknown time zone is refused');
select throws_ok($$insert into public.settings (id) values (true)$$,
  '42501', 'permission denied for table settings', 'nobody inserts a second settings row through the API');
select throws_ok($$delete from public.settings$$,
  '42501', 'permission denied for table settings', 'nobody deletes the settings row through the API');

select tests.authenticate_as_anon();
select throws_ok($$select * from public.settings$$,
  '42501', 'permission denied for table settings', 'anon cannot read the settings');

select * from finish();
rollback;
