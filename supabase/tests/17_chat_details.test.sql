-- get_chat_with_details: the jsonb of docs/rules.md (chat fields at the top level, real_user,
-- fictional_user with personality_guidelines, the newest 50 messages oldest first), for the operator
-- holding the chat, admins and service_role only.
begin;
set local search_path = extensions, public;
select plan(21);
\ir fixtures/helpers.psql

-- The queue is global: start from no chats at all (seed data included; rolled back at the end).
delete from public.chats;

-- Fixture (as postgres). Real user rhea (56 messages in her chat with Fourteen Leo, held by olga);
-- omar holds nothing; admin adam.
select tests.create_admin('adam');
select tests.create_operator('olga', status => 'available');
select tests.create_operator('omar', status => 'available');
-- Avatars must be under the project's Storage unless an admin allows another prefix (settings.avatar_url_prefix).
update public.settings set avatar_url_prefix = 'https://img.test/';
select tests.create_real_user('rhea', age => 33, bio => 'likes hiking', avatar_url => 'https://img.test/rhea.png',
                              credits => 500);
select tests.create_profile('Fourteen Leo', age => 36, bio => 'sailor', avatar_url => 'https://img.test/leo.png',
                            interests => array['sea', 'books'], guidelines => 'calm, never mentions money');
select tests.create_chat('rhea', 'Fourteen Leo');
-- Rhea writes (m1), olga takes the chat, then 54 more messages a minute apart, real and fictional
-- alternating (message n is "m<n>"), and a last real one: m55 and m56 are unanswered.
insert into public.messages (chat_id, sender_type, content, created_at) values
  (tests.get_chat_id('rhea', 'Fourteen Leo'), 'real', 'm1', '2025-05-01 12:01+03');
select public.assign_chat_to_operator(tests.get_user_id('olga'));
insert into public.messages (chat_id, sender_type, content, created_at)
select tests.get_chat_id('rhea', 'Fourteen Leo'), case when n % 2 = 1 or n = 56 then 'real' else 'fictional' end,
       'm' || n, '2025-05-01 12:00+03'::timestamptz + n * interval '1 minute'
  from generate_series(2, 56) n;

-- Olga holds c1 --------------------------------------------------------------------------------------------
select tests.authenticate_as('olga');
create temporary table details on commit drop as
  select public.get_chat_with_details(tests.get_chat_id('rhea', 'Fourteen Leo')) as j;

select is(
  (select array_agg(k order by k) from details, jsonb_object_keys(j) k),
  array['assignment', 'close_reason', 'closed_at', 'created_at', 'fictional_user', 'flag_reason', 'flagged_for_review',
        'id', 'last_message_at', 'message_count', 'messages', 'queued_at', 'real_user', 'reassignment_count', 'status'],
  'the chat''s own fields at the top level, plus assignment, real_user, fictional_user and messages');
select results_eq(
  $$select j ->> 'id', j ->> 'status', (j ->> 'message_count')::int, (j ->> 'reassignment_count')::int,
           (j ->> 'flagged_for_review')::boolean, (j ->> 'queued_at')::timestamptz, (j ->> 'last_message_at')::timestamptz
      from details$$,
  $$values (tests.get_chat_id('rhea', 'Fourteen Leo')::text, 'assigned', 56, 0, false,
            '2025-05-01 12:55+03'::timestamptz, '2025-05-01 12:56+03'::timestamptz)$$,
  'top-level values match the chat row (queued_at = the oldest unanswered message)');
select is(
  (select j -> 'real_user' from details),
  jsonb_build_object('id', tests.get_user_id('rhea')) ||
  '{"display_name": "Rhea", "age": 33, "gender": "female",
    "bio": "likes hiking", "avatar_url": "https://img.test/rhea.png"}'::jsonb,
  'real_user: id, display_name, age, gender, bio, avatar_url (no email, no credits)');
select is(
  (select j -> 'fictional_user' from details),
  jsonb_build_object('id', tests.get_profile_id('Fourteen Leo')) ||
  '{"name": "Fourteen Leo", "age": 36, "gender": "male",
    "bio": "sailor", "avatar_url": "https://img.test/leo.png", "interests": ["sea", "books"],
    "personality_guidelines": "calm, never mentions money"}'::jsonb,
  'fictional_user: the profile with interests and personality_guidelines');
select results_eq(
  $$select j -> 'assignment' ->> 'operator_id' from details$$,
  $$values (tests.get_user_id('olga')::text)$$,
  'assignment names the holder');
select is((select jsonb_array_length(j -> 'messages') from details), 50, 'only the newest 50 messages');
select is((select j -> 'messages' -> 0 ->> 'content' from details), 'm7', 'the first is the 50th newest');
select is((select j -> 'messages' -> 49 ->> 'content' from details), 'm56', 'the last is the newest');
select results_eq(
  $$select (e ->> 'content') from details, jsonb_array_elements(j -> 'messages') with ordinality e(e, n) order by n$$,
  $$select 'm' || n from generate_series(7, 56) n$$,
  'messages run oldest first');
select is(
  (select array_agg(k order by k) from details, jsonb_object_keys(j -> 'messages' -> 0) k),
  array['content', 'created_at', 'id', 'sender_type'],
  'each message has id, sender_type, content, created_at');

-- Omar does not hold it; Rhea is not an operator ------------------------------------------------------------
select tests.authenticate_as('omar');
select throws_ok($$select public.get_chat_with_details(tests.get_chat_id('rhea', 'Fourteen Leo'))$$,
  'PT404', 'chat_not_held', 'another operator cannot read the chat');
select throws_ok($$select public.get_chat_with_details('14000000-0000-4000-8000-0000000000ff')$$,
  'PT404', 'chat_not_held', 'an operator asking for an unknown chat learns nothing more');
select tests.authenticate_as('rhea');
select throws_ok($$select public.get_chat_with_details(tests.get_chat_id('rhea', 'Fourteen Leo'))$$,
  'PT403', 'not_operator', 'the real user cannot read the operator view of her own chat');

-- After olga releases it, she cannot read it either ---------------------------------------------------------
select tests.authenticate_as('olga');
select ok(public.release_and_reassign_chat(tests.get_chat_id('rhea', 'Fourteen Leo'), 'completed'), 'olga releases c1');
select throws_ok($$select public.get_chat_with_details(tests.get_chat_id('rhea', 'Fourteen Leo'))$$,
  'PT404', 'chat_not_held', 'a released chat is no longer readable by its former holder');

-- Adam (admin) and service_role --------------------------------------------------------------------------
select tests.authenticate_as('adam');
select is((public.get_chat_with_details(tests.get_chat_id('rhea', 'Fourteen Leo')) ->> 'status'), 'waiting',
  'an admin reads any chat (now waiting again)');
select is((public.get_chat_with_details(tests.get_chat_id('rhea', 'Fourteen Leo')) -> 'assignment'), 'null'::jsonb,
  'assignment is null when nobody holds the chat');
select throws_ok($$select public.get_chat_with_details('14000000-0000-4000-8000-0000000000ff')$$,
  'PT404', 'chat_not_found', 'an unknown chat is chat_not_found for an admin');

select tests.authenticate_as_service_role();
select is((public.get_chat_with_details(tests.get_chat_id('rhea', 'Fourteen Leo')) -> 'fictional_user' ->> 'personality_guidelines'),
  'calm, never mentions money', 'service_role reads any chat');

select tests.authenticate_as_anon();
select throws_ok($$select public.get_chat_with_details(tests.get_chat_id('rhea', 'Fourteen Leo'))$$,
  '42501', 'permission denied for function get_chat_with_details', 'anon cannot call it');

select tests.clear_authentication();
select is((select (public.get_chat_with_details(tests.get_chat_id('rhea', 'Fourteen Leo')) -> 'messages' -> 0 ->> 'id')::uuid),
  (select id from public.messages where chat_id = tests.get_chat_id('rhea', 'Fourteen Leo') and content = 'm7'),
  'message ids are the rows'' ids');

select * from finish();
rollback;
