-- Schema: tables and their columns, constraints, cascades, triggers, RLS on every public table,
-- the named indexes and an index on every foreign key.
begin;
set local search_path = extensions, public;
select plan(105);
\ir fixtures/helpers.psql

-- Tables and columns -------------------------------------------------------------------------------
select is(array(select c from unnest(array[
  'id', 'email', 'display_name', 'age', 'gender', 'looking_for', 'bio', 'avatar_url', 'credits',
  'is_active', 'last_active_at', 'created_at', 'updated_at']) c
  except select column_name::text from information_schema.columns where table_schema = 'public' and table_name = 'real_users'),
  '{}'::text[], 'real_users has the spec columns');
select is(array(select c from unnest(array[
  'id', 'name', 'age', 'gender', 'bio', 'avatar_url', 'interests', 'is_active', 'is_featured',
  'created_by', 'created_at', 'updated_at']) c
  except select column_name::text from information_schema.columns where table_schema = 'public' and table_name = 'fictional_users'),
  '{}'::text[], 'fictional_users has the spec columns');
select is(array(select c from unnest(array[
  'fictional_user_id', 'personality_guidelines', 'created_at', 'updated_at']) c
  except select column_name::text from information_schema.columns where table_schema = 'public' and table_name = 'fictional_user_guidelines'),
  '{}'::text[], 'fictional_user_guidelines holds the operator-only guidance');
select is(array(select c from unnest(array[
  'id', 'email', 'name', 'status', 'max_concurrent_chats', 'is_active', 'total_messages_sent',
  'last_activity_at', 'created_at', 'updated_at']) c
  except select column_name::text from information_schema.columns where table_schema = 'public' and table_name = 'operators'),
  '{}'::text[], 'operators has the spec columns');
select is(array(select c from unnest(array['id', 'email', 'name', 'created_at', 'updated_at']) c
  except select column_name::text from information_schema.columns where table_schema = 'public' and table_name = 'admins'),
  '{}'::text[], 'admins has the spec columns');
select is(array(select c from unnest(array[
  'id', 'real_user_id', 'fictional_user_id', 'status', 'queued_at', 'last_message_at', 'message_count',
  'reassignment_count', 'flagged_for_review', 'flag_reason', 'closed_at', 'close_reason', 'created_at',
  'updated_at']) c
  except select column_name::text from information_schema.columns where table_schema = 'public' and table_name = 'chats'),
  '{}'::text[], 'chats has the user-visible spec columns');
select is(array(select c from unnest(array[
  'id', 'chat_id', 'sender_type', 'content', 'credits_charged', 'created_at']) c
  except select column_name::text from information_schema.columns where table_schema = 'public' and table_name = 'messages'),
  '{}'::text[], 'messages has the spec columns');
select is(array(select c from unnest(array['message_id', 'operator_id', 'created_at']) c
  except select column_name::text from information_schema.columns where table_schema = 'public' and table_name = 'message_authors'),
  '{}'::text[], 'message_authors records who wrote a fictional message');
select is(array(select c from unnest(array['real_user_id', 'fictional_user_id', 'created_at']) c
  except select column_name::text from information_schema.columns where table_schema = 'public' and table_name = 'favorites'),
  '{}'::text[], 'favorites has the spec columns');
select is(array(select c from unnest(array[
  'id', 'real_user_id', 'reference', 'package_id', 'amount', 'currency', 'credits', 'status',
  'paystack_transaction_id', 'paid_at', 'raw_event', 'created_at', 'updated_at']) c
  except select column_name::text from information_schema.columns where table_schema = 'public' and table_name = 'transactions'),
  '{}'::text[], 'transactions has the spec columns');
select is(array(select c from unnest(array[
  'operator_id', 'stat_date', 'messages_sent', 'chats_handled', 'avg_response_seconds', 'idle_incidents',
  'created_at', 'updated_at']) c
  except select column_name::text from information_schema.columns where table_schema = 'public' and table_name = 'operator_stats'),
  '{}'::text[], 'operator_stats has the spec columns');
select is(array(select c from unnest(array[
  'operator_id', 'chat_id', 'assigned_at', 'last_activity_at', 'created_at', 'updated_at']) c
  except select column_name::text from information_schema.columns where table_schema = 'public' and table_name = 'operator_activity'),
  '{}'::text[], 'operator_activity has the spec columns');
select is(array(select c from unnest(array[
  'id', 'chat_id', 'operator_id', 'assigned_at', 'released_at', 'release_reason', 'created_at', 'updated_at']) c
  except select column_name::text from information_schema.columns where table_schema = 'public' and table_name = 'chat_assignments'),
  '{}'::text[], 'chat_assignments has the spec columns');

select is_empty($$
  select c.table_name || '.' || c.column_name from information_schema.columns c
  where c.table_schema = 'public'
    and c.table_name in ('real_users', 'fictional_users', 'chats', 'messages', 'favorites', 'transactions')
    and (c.column_name like '%operator%' or c.column_name in ('assigned_at', 'personality_guidelines'))
$$, 'the tables real users read carry no operator id, assignment or guidance column');
select col_type_is('public', 'transactions', 'paystack_transaction_id', 'bigint', 'paystack_transaction_id is bigint');
select col_type_is('public', 'transactions', 'raw_event', 'jsonb', 'raw_event is jsonb');
select col_type_is('public', 'fictional_users', 'interests', 'text[]', 'interests is text[]');
select col_type_is('public', 'chats', 'queued_at', 'timestamp with time zone', 'timestamps are timestamptz');
select col_default_is('public', 'real_users', 'credits', '0', 'credits default to 0');
select col_default_is('public', 'operators', 'status', 'offline'::text, 'operators start offline');
select col_default_is('public', 'operators', 'max_concurrent_chats', '1', 'capacity defaults to 1');
select col_default_is('public', 'chats', 'status', 'idle'::text, 'chats start idle');
select col_default_is('public', 'transactions', 'currency', 'KES'::text, 'currency defaults to KES');
select col_default_is('public', 'transactions', 'status', 'pending'::text, 'transactions start pending');

select is_empty($$
  select c.table_name from information_schema.tables c
  where c.table_schema = 'public' and c.table_type = 'BASE TABLE'
    and c.table_name in ('admins', 'real_users', 'operators', 'fictional_users', 'fictional_user_guidelines',
      'chats', 'messages', 'message_authors', 'favorites', 'transactions', 'chat_assignments',
      'operator_activity', 'operator_stats')
    and not exists (select 1 from information_schema.columns k
                    where k.table_schema = 'public' and k.table_name = c.table_name and k.column_name = 'created_at')
$$, 'every table has created_at');

-- Keys and foreign keys ----------------------------------------------------------------------------
select fk_ok('public', 'real_users', 'id', 'auth', 'users', 'id', 'real_users are auth users');
select fk_ok('public', 'operators', 'id', 'auth', 'users', 'id', 'operators are auth users');
select fk_ok('public', 'admins', 'id', 'auth', 'users', 'id', 'admins are auth users');
select fk_ok('public', 'chats', 'real_user_id', 'public', 'real_users', 'id', 'chats belong to a real user');
select fk_ok('public', 'chats', 'fictional_user_id', 'public', 'fictional_users', 'id', 'chats belong to a profile');
select fk_ok('public', 'messages', 'chat_id', 'public', 'chats', 'id', 'messages belong to a chat');
select fk_ok('public', 'message_authors', 'operator_id', 'public', 'operators', 'id', 'authors are operators');
select fk_ok('public', 'fictional_users', 'created_by', 'public', 'admins', 'id', 'profiles name their creating admin');
select fk_ok('public', 'transactions', 'real_user_id', 'public', 'real_users', 'id', 'transactions belong to a real user');
select fk_ok('public', 'chat_assignments', 'operator_id', 'public', 'operators', 'id', 'assignments name an operator');
select fk_ok('public', 'operator_activity', 'chat_id', 'public', 'chats', 'id', 'activity names a chat');
select col_is_pk('public', 'favorites', array['real_user_id', 'fictional_user_id'], 'favorites are keyed by the pair');
select col_is_pk('public', 'operator_stats', array['operator_id', 'stat_date'], 'one stats row per operator and day');
select col_is_unique('public', 'chats', array['real_user_id', 'fictional_user_id'], 'one chat per user and profile');
select col_is_pk('public', 'operator_activity', array['operator_id', 'chat_id'], 'one activity row per operator and chat');
select col_is_unique('public', 'operator_activity', array['chat_id'], 'one activity row per chat');
select col_is_unique('public', 'real_users', array['email'], 'real user emails are unique');
select col_is_unique('public', 'operators', array['email'], 'operator emails are unique');
select col_is_unique('public', 'admins', array['email'], 'admin emails are unique');
select col_is_unique('public', 'fictional_users', array['name'], 'profile names are unique');
select col_is_unique('public', 'transactions', array['reference'], 'transaction references are unique');
select col_is_unique('public', 'transactions', array['paystack_transaction_id'], 'paystack transaction ids are unique');

-- Fixture for constraint checks (as postgres)
select tests.create_real_user('sasha', email => 'schema.a@example.com');
select tests.create_operator('opal');
select tests.create_operator('otis');
select tests.create_admin('ada');
insert into public.fictional_users (id, name, age, gender, created_by)
  values (tests.get_profile_id('Schema Profile'), 'Schema Profile', 30, 'male', tests.get_user_id('ada'));
select tests.create_chat('sasha', 'Schema Profile');
insert into public.messages (id, chat_id, sender_type, content)
  values ('f7000000-0000-4000-8000-0000000000a1', tests.get_chat_id('sasha', 'Schema Profile'), 'fictional', 'hello');
insert into public.message_authors (message_id, operator_id)
  values ('f7000000-0000-4000-8000-0000000000a1', tests.get_user_id('otis'))
  on conflict (message_id) do update set operator_id = excluded.operator_id;

select is((select email from public.real_users where id = tests.get_user_id('sasha')),
  'schema.a@example.com', 'a profile row takes its email from auth.users');
select is((select credits from public.real_users where id = tests.get_user_id('sasha')),
  0, 'a new real user has 0 credits');

-- Check constraints
select throws_ok($$insert into public.real_users (id, display_name, age, gender, looking_for)
  values (tests.get_user_id('sasha'), 'x', 17, 'female', 'male')$$,
  '23514', null, 'real users must be at least 18');
select throws_ok($$update public.real_users set age = 101 where id = tests.get_user_id('sasha')$$,
  '23514', null, 'real users are at most 100');
select throws_ok($$update public.real_users set gender = 'other' where id = tests.get_user_id('sasha')$$,
  '23514', null, 'gender is male or female');
select throws_ok($$update public.real_users set looking_for = 'both' where id = tests.get_user_id('sasha')$$,
  '23514', null, 'looking_for is male or female');
select throws_ok($$update public.real_users set credits = -1 where id = tests.get_user_id('sasha')$$,
  '23514', null, 'credits never go below 0');
select throws_ok($$update public.fictional_users set age = 17 where id = tests.get_profile_id('Schema Profile')$$,
  '23514', null, 'profiles are at least 18');
select throws_ok($$insert into public.fictional_users (name, age, gender) values ('Schema Profile', 30, 'male')$$,
  '23505', null, 'profile names are unique');
select throws_ok($$update public.operators set status = 'away' where id = tests.get_user_id('opal')$$,
  '23514', null, 'operator status is available, busy or offline');
select throws_ok($$update public.operators set max_concurrent_chats = 0 where id = tests.get_user_id('opal')$$,
  '23514', null, 'capacity is at least 1');
select throws_ok($$update public.chats set status = 'open' where id = tests.get_chat_id('sasha', 'Schema Profile')$$,
  '23514', null, 'chat status is one of waiting, assigned, idle, closed');
select throws_ok($$update public.chats set status = 'waiting', queued_at = null where id = tests.get_chat_id('sasha', 'Schema Profile')$$,
  '23514', null, 'a waiting chat has a queue position');
select throws_ok($$insert into public.chats (real_user_id, fictional_user_id)
  values (tests.get_user_id('sasha'), tests.get_profile_id('Schema Profile'))$$,
  '23505', null, 'a user has one chat per profile');
select throws_ok($$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('sasha', 'Schema Profile'), 'real', '')$$,
  '23514', null, 'an empty message is refused');
select throws_ok(format($$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('sasha', 'Schema Profile'), 'real', %L)$$, repeat('x', 5001)),
  '23514', null, 'a message over 5000 characters is refused');
select throws_ok($$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('sasha', 'Schema Profile'), 'system', 'x')$$,
  '23514', null, 'sender_type is real or fictional');
select lives_ok(format($$insert into public.messages (chat_id, sender_type, content) values (tests.get_chat_id('sasha', 'Schema Profile'), 'fictional', %L)$$, repeat('x', 5000)),
  'a message of exactly 5000 characters is accepted');
select throws_ok($$insert into public.transactions (real_user_id, reference, amount, credits)
  values (tests.get_user_id('sasha'), 'schema-ref-0', 0, 10)$$,
  '23514', null, 'a transaction amount is positive');
select throws_ok($$insert into public.transactions (real_user_id, reference, amount, credits)
  values (tests.get_user_id('sasha'), 'schema-ref-0', 100, 0)$$,
  '23514', null, 'a transaction grants positive credits');
select throws_ok($$insert into public.transactions (real_user_id, reference, amount, credits, status)
  values (tests.get_user_id('sasha'), 'schema-ref-0', 100, 10, 'done')$$,
  '23514', null, 'transaction status is pending, success, failed or refunded');
insert into public.transactions (real_user_id, reference, amount, credits, paystack_transaction_id)
  values (tests.get_user_id('sasha'), 'schema-ref-1', 100, 10, 900000001);
select throws_ok($$insert into public.transactions (real_user_id, reference, amount, credits)
  values (tests.get_user_id('sasha'), 'schema-ref-1', 100, 10)$$,
  '23505', null, 'a reference is used once');
select throws_ok($$insert into public.transactions (real_user_id, reference, amount, credits, paystack_transaction_id)
  values (tests.get_user_id('sasha'), 'schema-ref-2', 100, 10, 900000001)$$,
  '23505', null, 'a paystack transaction id is recorded once');

-- Never two operators on one chat
select tests.assign_chat(tests.get_chat_id('sasha', 'Schema Profile'), 'opal', activity => false);
select throws_ok($$insert into public.chat_assignments (chat_id, operator_id)
  values (tests.get_chat_id('sasha', 'Schema Profile'), tests.get_user_id('otis'))$$,
  '23505', null, 'a chat cannot have two open assignments');
select throws_ok($$insert into public.operator_activity (operator_id, chat_id) values
  (tests.get_user_id('opal'), tests.get_chat_id('sasha', 'Schema Profile')),
  (tests.get_user_id('otis'), tests.get_chat_id('sasha', 'Schema Profile'))$$,
  '23505', null, 'a chat has at most one activity row');
select throws_ok($$update public.chat_assignments set released_at = now()
  where chat_id = tests.get_chat_id('sasha', 'Schema Profile')$$,
  '23514', null, 'a release always records its reason');
update public.chat_assignments set released_at = now(), release_reason = 'completed'
  where chat_id = tests.get_chat_id('sasha', 'Schema Profile');
select lives_ok($$insert into public.chat_assignments (chat_id, operator_id)
  values (tests.get_chat_id('sasha', 'Schema Profile'), tests.get_user_id('otis'))$$,
  'after a release another operator may hold the chat');

-- updated_at trigger
update public.fictional_users set updated_at = '2000-01-01' where id = tests.get_profile_id('Schema Profile');
select is((select updated_at from public.fictional_users where id = tests.get_profile_id('Schema Profile')),
  now(), 'an update sets updated_at to now()');
select is_empty($$
  select t.table_name from information_schema.columns t
  where t.table_schema = 'public' and t.column_name = 'updated_at'
    and t.table_name in ('admins', 'real_users', 'operators', 'fictional_users', 'fictional_user_guidelines',
      'chats', 'transactions', 'chat_assignments', 'operator_activity', 'operator_stats')
    and not exists (select 1 from pg_trigger g
                    where g.tgrelid = format('public.%I', t.table_name)::regclass and g.tgname = 'set_updated_at')
$$, 'every mutable table keeps updated_at by trigger');

-- Cascades and set null
select throws_ok($$delete from public.operators where id = tests.get_user_id('otis')$$,
  '55006', 'operator_holds_chats',
  'an operator holding a chat cannot be deleted (the chat would leave the queue)');
update public.chat_assignments set released_at = now(), release_reason = 'admin'
  where operator_id = tests.get_user_id('otis') and released_at is null;
delete from public.operators where id = tests.get_user_id('otis');
select is((select operator_id from public.message_authors where message_id = 'f7000000-0000-4000-8000-0000000000a1'),
  null::uuid, 'deleting an operator keeps its messages and forgets the author');
delete from public.admins where id = tests.get_user_id('ada');
select is((select created_by from public.fictional_users where id = tests.get_profile_id('Schema Profile')),
  null::uuid, 'deleting an admin keeps the profiles it created');
delete from public.transactions where real_user_id = tests.get_user_id('sasha');
delete from auth.users where id = tests.get_user_id('sasha');
select is((select count(*)::int from public.chats where id = tests.get_chat_id('sasha', 'Schema Profile'))
        + (select count(*)::int from public.messages where chat_id = tests.get_chat_id('sasha', 'Schema Profile')),
  0, 'deleting a user removes its profile row, chats and messages');

-- RLS on every table in public ---------------------------------------------------------------------
select is_empty($$
  select c.relname from pg_class c
  where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity
$$, 'every table in public has row level security enabled');

-- Indexes ------------------------------------------------------------------------------------------
select has_index('public', 'chats', 'idx_chats_assignment_queue', 'the assignment queue index exists');
select has_index('public', 'operator_activity', 'idx_chats_idle_detection', 'the idle detection index exists');
select has_index('public', 'messages', 'idx_messages_chat_created', array['chat_id', 'created_at'],
  'the message loading index is on (chat_id, created_at)');
select has_index('public', 'fictional_users', 'idx_fictional_active_gender', 'the profile discovery index exists');
select has_index('public', 'chats', 'idx_chats_active_last_message', 'a partial index covers active chats');
select has_index('public', 'operators', 'idx_operators_available', 'a partial index covers available operators');
select is((select pg_get_expr(i.indpred, i.indrelid) from pg_index i
           where i.indexrelid = 'public.idx_chats_assignment_queue'::regclass),
  '(status = ''waiting''::text)', 'the assignment queue index holds only waiting chats');
select is((select pg_get_expr(i.indpred, i.indrelid) from pg_index i
           where i.indexrelid = 'public.idx_fictional_active_gender'::regclass),
  'is_active', 'the discovery index holds only active profiles');
select ok((select i.indisunique and pg_get_expr(i.indpred, i.indrelid) = '(released_at IS NULL)'
           from pg_index i where i.indexrelid = 'public.chat_assignments_one_open_per_chat'::regclass),
  'open assignments are unique per chat');
select is_empty($$
  select c.conrelid::regclass::text || ' ' || c.conname
  from pg_constraint c
  where c.contype = 'f' and c.connamespace = 'public'::regnamespace
    and not exists (
      select 1 from pg_index i
      where i.indrelid = c.conrelid
        and (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
        and (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey
        and i.indpred is null
    )
$$, 'every foreign key in public is led by a full index');

-- Helper functions ---------------------------------------------------------------------------------
select is_empty($$
  select p.proname from pg_proc p
  where p.pronamespace = 'api_private'::regnamespace and p.proname in ('is_admin', 'is_operator', 'is_real_user')
    and not (p.prosecdef and p.provolatile = 's' and p.proconfig @> array['search_path=""'])
$$, 'persona helpers are stable security definer with an empty search_path');
select is((select count(*)::int from pg_proc p where p.pronamespace = 'api_private'::regnamespace
           and p.proname in ('is_admin', 'is_operator', 'is_real_user')), 3,
  'the three persona helpers exist, in api_private (out of the exposed schema)');
select ok(not has_function_privilege('anon', 'api_private.is_admin()', 'execute')
          and has_function_privilege('authenticated', 'api_private.is_admin()', 'execute'),
  'is_admin is executable by authenticated, not anon');
select ok(not has_schema_privilege('authenticated', 'private', 'usage')
          and not has_schema_privilege('anon', 'private', 'usage'),
  'the private schema is closed to API roles');

-- The error catalogue (errors.raise_error) -----------------------------------------------------------------------------
select has_table('errors', 'catalogue', 'errors.catalogue holds the error contract');
select columns_are('errors', 'catalogue', array['code', 'sqlstate', 'http_status', 'message'],
  'a catalogue row is a code, its SQLSTATE, its HTTP status and its human text');
select ok(not has_schema_privilege('anon', 'errors', 'usage')
          and has_schema_privilege('authenticated', 'errors', 'usage')
          and has_schema_privilege('service_role', 'errors', 'usage'),
  'the errors schema is usable by authenticated and service_role (guards raise as the caller), not anon');
select ok(not has_table_privilege('authenticated', 'errors.catalogue', 'select')
          and not has_table_privilege('service_role', 'errors.catalogue', 'select')
          and not has_table_privilege('anon', 'errors.catalogue', 'select'),
  'no API role reads the catalogue table directly');
select ok(has_function_privilege('authenticated', 'errors.raise_error(text, text)', 'execute')
          and has_function_privilege('service_role', 'errors.raise_error(text, text)', 'execute')
          and not has_function_privilege('anon', 'errors.raise_error(text, text)', 'execute'),
  'raise_error is executable by authenticated and service_role only');
select is_empty($$
  select p.proname from pg_proc p
  where p.pronamespace = 'errors'::regnamespace
    and not (p.prosecdef and p.proconfig @> array['search_path=""'])
$$, 'the errors schema holds only security definer functions with an empty search_path');
select is_empty($$
  select p.proname from pg_proc p
  where p.pronamespace = 'errors'::regnamespace and p.proname <> 'raise_error'
$$, 'raise_error is the only function of the errors schema');
select is_empty($$
  select code from errors.catalogue
  where not (sqlstate = 'PT' || http_status or (sqlstate, http_status) in (('42501', 403), ('23514', 400), ('55006', 500)))
$$, 'every code is PT<status>, or one of the standard SQLSTATEs the spec fixes');
select throws_ok($$select errors.raise_error('at_capacity', 'The operator already holds 1 of 1 chats.')$$,
  'PT409', 'at_capacity', 'raise_error raises the catalogue''s SQLSTATE with the code as message');
select throws_ok($$select errors.raise_error('no_such_code')$$,
  'XX000', 'unknown_error_code', 'a code missing from the catalogue is a bug, not a refusal');

select * from finish();
rollback;
