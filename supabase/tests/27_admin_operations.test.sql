-- Admin operations: admin_clear_flag, admin_reassign_chat, admin_set_operator_active,
-- admin_adjust_credits and get_admin_dashboard, per persona: refused with 42501 forbidden (and
-- changing nothing) for anon, real users and operators; done by admins and service_role, each with
-- its admin_actions row; credit_adjustments and admin_actions readable as the policies say; credit
-- packages managed by admins through the Data API, audited.
begin;
set local search_path = extensions, public;
select plan(87);

-- Fixture (as postgres; rolled back at the end): the personas of fixtures/personas.psql, alone in the
-- database (the dashboard counts everything). alice+Fa held by olga (answered), alice+Fb closed,
-- bob+Fa held by omar (unanswered, flagged), bob+Fb waiting for 5 minutes.
\ir fixtures/personas.psql
delete from public.chats where real_user_id not in (tests.get_user_id('alice'), tests.get_user_id('bob'));
delete from public.paystack_events;
delete from public.transactions where id::text not like 'f8000000-%';
update public.operators set is_active = false where id not in (tests.get_user_id('olga'), tests.get_user_id('omar'));
update public.chats set flagged_for_review = true, flag_reason = 'reassigned 3 times', reassignment_count = 3
  where id = tests.get_chat_id('bob', 'Test Fa');
select tests.create_chat('bob', 'Test Fb', status => 'waiting', queued_at => now() - interval '5 minutes');
-- Four real messages today in bob+Fb: the fourth is charged.
insert into public.messages (chat_id, sender_type, content)
select tests.get_chat_id('bob', 'Test Fb'), 'real', 'message ' || n from generate_series(1, 4) n;
update public.chat_assignments set released_at = now() where release_reason = 'idle_timeout'
  and chat_id = tests.get_chat_id('bob', 'Test Fa');
update public.sweeper_status set last_success_at = now() - interval '1 minute';
-- A third operator, available with room, for reassignments.
select tests.create_operator('oona', status => 'available');

create temporary table calls (label text, call text) on commit drop;
insert into calls values
  ('admin_clear_flag', $$select public.admin_clear_flag(tests.get_chat_id('bob', 'Test Fa'))$$),
  ('admin_reassign_chat', $$select public.admin_reassign_chat(tests.get_chat_id('bob', 'Test Fb'), tests.get_user_id('oona'))$$),
  ('admin_set_operator_active', $$select public.admin_set_operator_active(tests.get_user_id('olga'), false)$$),
  ('admin_adjust_credits', $$select public.admin_adjust_credits(tests.get_user_id('alice'), 100, 'gift')$$),
  ('get_admin_dashboard', $$select public.get_admin_dashboard()$$);
grant select on calls to anon, authenticated;

-- Refused to everyone but admins and service_role ---------------------------------------------------
select tests.authenticate_as_anon();
select throws_ok(call, '42501', 'forbidden', 'anon cannot call ' || label) from calls order by label;
select tests.authenticate_as('alice');
select throws_ok(call, '42501', 'forbidden', 'alice (a real user) cannot call ' || label) from calls order by label;
select tests.authenticate_as('olga');
select throws_ok(call, '42501', 'forbidden', 'olga (an operator) cannot call ' || label) from calls order by label;
select tests.authenticate_as('nora');
select throws_ok(call, '42501', 'forbidden', 'nora (signed up, no profile) cannot call ' || label)
  from calls where label = 'admin_adjust_credits';

select tests.clear_authentication();
select is((select count(*)::int from public.admin_actions), 0, 'the refusals recorded nothing');
select results_eq(
  $$select (select credits from public.real_users where id = tests.get_user_id('alice')),
           (select flagged_for_review from public.chats where id = tests.get_chat_id('bob', 'Test Fa')),
           (select status from public.chats where id = tests.get_chat_id('bob', 'Test Fb')),
           (select is_active from public.operators where id = tests.get_user_id('olga'))$$,
  $$values (10, true, 'waiting'::text, true)$$,
  'the refusals changed nothing');

-- Adam, an admin ------------------------------------------------------------------------------------
select tests.authenticate_as('adam');

-- The dashboard
select is(public.get_admin_dashboard() - 'business_day' - 'timezone' - 'credits_spent_today' - 'last_sweep_at'
    - 'waiting_over_max' - 'p95_first_reply_seconds_today',  -- 41_routing.test.sql checks these
  jsonb_build_object(
    'queue_length', 1,
    'oldest_wait_seconds', 300,
    'operators_by_status', jsonb_build_object('available', 2, 'busy', 1, 'offline', 0),
    'assigned_chats', 2,
    'flagged_chats', 1,
    'revenue_today', jsonb_build_object('KES', 10000),
    'credits_sold_today', 10,
    'idle_incidents_today', 1),
  'the dashboard counts the queue, operators, flags, today''s money and idle incidents');
select is((public.get_admin_dashboard() ->> 'credits_spent_today')::int,
  (select credits_charged from public.messages
    where chat_id = tests.get_chat_id('bob', 'Test Fb') and content = 'message 4'),
  'credits spent today are the charged messages of today');
select ok((select credits_charged > 0 from public.messages
    where chat_id = tests.get_chat_id('bob', 'Test Fb') and content = 'message 4'),
  '(the fourth message was charged)');
select is((public.get_admin_dashboard() ->> 'last_sweep_at')::timestamptz, now() - interval '1 minute',
  'the dashboard shows the last successful sweep');
select is(public.get_admin_dashboard() ->> 'business_day',
  (now() at time zone 'Africa/Nairobi')::date::text, 'today is the business day in the settings'' time zone');
select is((select count(*)::int from public.admin_actions), 0, 'reading the dashboard records nothing');

-- Reassigning
select is(public.admin_reassign_chat(tests.get_chat_id('bob', 'Test Fa'), tests.get_user_id('olga')),
  jsonb_build_object('chat_id', tests.get_chat_id('bob', 'Test Fa'), 'operator_id', tests.get_user_id('olga'),
    'previous_operator_id', tests.get_user_id('omar'), 'flagged', false),
  'adam moves bob+Fa from omar to olga');
select results_eq(
  $$select operator_id, release_reason from public.chat_assignments
     where chat_id = tests.get_chat_id('bob', 'Test Fa') and assigned_at >= now() - interval '15 minutes'
     order by assigned_at$$,
  $$values (tests.get_user_id('omar'), 'admin'::text),
           (tests.get_user_id('olga'), null::text)$$,
  'omar''s assignment ended with reason admin; olga holds the chat now');
select results_eq(
  $$select status, queued_at, reassignment_count from public.chats where id = tests.get_chat_id('bob', 'Test Fa')$$,
  $$values ('assigned'::text, now() - interval '20 minutes', 4)$$,
  'the chat is assigned, keeps its queued_at and counts the reassignment');
select is((select count(*)::int from public.operator_activity
            where chat_id = tests.get_chat_id('bob', 'Test Fa')
              and operator_id = tests.get_user_id('olga')), 1,
  'olga has the activity row of the chat');
select throws_ok($$select public.admin_reassign_chat(tests.get_chat_id('bob', 'Test Fb'), tests.get_user_id('olga'))$$,
  'PT409', 'at_capacity', 'olga, at 2 of 2 chats, cannot take another');
select throws_ok($$select public.admin_reassign_chat(tests.get_chat_id('bob', 'Test Fb'), tests.get_user_id('omar'))$$,
  'PT409', 'operator_unavailable', 'omar is busy: unavailable');
select throws_ok($$select public.admin_reassign_chat(tests.get_chat_id('alice', 'Test Fa'), tests.get_user_id('oona'))$$,
  'PT409', 'chat_not_waiting', 'an answered chat is not reassigned');
select throws_ok($$select public.admin_reassign_chat(tests.get_chat_id('alice', 'Test Fb'), tests.get_user_id('oona'))$$,
  'PT409', 'chat_not_waiting', 'a closed chat is not reassigned');
select throws_ok($$select public.admin_reassign_chat(tests.get_chat_id('bob', 'Test Fb'), 'f9999999-0000-4000-8000-000000000000')$$,
  'PT404', 'operator_not_found', 'an unknown operator');
select throws_ok($$select public.admin_reassign_chat('f9999999-0000-4000-8000-000000000000', tests.get_user_id('oona'))$$,
  'PT404', 'chat_not_found', 'an unknown chat');
select results_eq($$select status from public.chats where id = tests.get_chat_id('bob', 'Test Fb')$$,
  $$values ('waiting'::text)$$, 'the refused reassignments left the waiting chat waiting');
select is((public.admin_reassign_chat(tests.get_chat_id('bob', 'Test Fb'), tests.get_user_id('oona'))
           ->> 'previous_operator_id'), null, 'a waiting chat nobody holds goes straight to oona');
select results_eq(
  $$select c.status, a.operator_id from public.chats c
      join public.chat_assignments a on a.chat_id = c.id and a.released_at is null
     where c.id = tests.get_chat_id('bob', 'Test Fb')$$,
  $$values ('assigned'::text, tests.get_user_id('oona'))$$, 'oona holds bob+Fb');

-- Clearing a flag
select is(public.admin_clear_flag(tests.get_chat_id('bob', 'Test Fa')), true, 'adam clears the flag of bob+Fa');
select results_eq(
  $$select flagged_for_review, flag_reason, reassignment_count from public.chats where id = tests.get_chat_id('bob', 'Test Fa')$$,
  $$values (false, null::text, 4)$$, 'the flag and its reason are gone; the count stays as history');
select is(public.admin_clear_flag(tests.get_chat_id('bob', 'Test Fa')), false, 'clearing an unflagged chat changes nothing');
select throws_ok($$select public.admin_clear_flag('f9999999-0000-4000-8000-000000000000')$$,
  'PT404', 'chat_not_found', 'clearing an unknown chat');

-- Suspending an operator
select is(public.admin_set_operator_active(tests.get_user_id('olga'), false),
  jsonb_build_object('operator_id', tests.get_user_id('olga'))
    || '{"is_active": false, "status": "offline", "released": 2}'::jsonb,
  'adam suspends olga: her two chats are released and she is offline');
select results_eq(
  $$select id, status, queued_at is not null from public.chats
     where id in (tests.get_chat_id('alice', 'Test Fa'), tests.get_chat_id('bob', 'Test Fa')) order by id$$,
  $$values (tests.get_chat_id('alice', 'Test Fa'), 'idle'::text, false),
           (tests.get_chat_id('bob', 'Test Fa'), 'waiting'::text, true)$$,
  'the answered chat is idle, the unanswered one back in the queue');
select is((select queued_at from public.chats where id = tests.get_chat_id('bob', 'Test Fa')),
  now() - interval '20 minutes', 'in its old place');
select is((select array_agg(distinct release_reason) from public.chat_assignments
            where operator_id = tests.get_user_id('olga') and released_at = now()
              and assigned_at > now() - interval '10 minutes'),
  array['admin'], 'both released with reason admin');
select is(public.admin_set_operator_active(tests.get_user_id('olga'), true),
  jsonb_build_object('operator_id', tests.get_user_id('olga'))
    || '{"is_active": true, "status": "offline", "released": 0}'::jsonb,
  'adam reactivates olga; she stays offline until she is available');
select throws_ok($$select public.admin_set_operator_active('f9999999-0000-4000-8000-000000000000', false)$$,
  'PT404', 'operator_not_found', 'suspending an unknown operator');
select throws_ok($$select public.admin_set_operator_active(tests.get_user_id('olga'), null)$$,
  'PT400', 'invalid_argument', 'p_active is required');
select throws_ok($$select public.admin_set_operator_active(tests.get_user_id('olga'))$$,
  'PT400', 'invalid_argument', 'a call without p_active reaches the function and is refused');

-- Adjusting credits
select is(public.admin_adjust_credits(tests.get_user_id('alice'), 5, ' goodwill ') - 'adjustment_id',
  jsonb_build_object('real_user_id', tests.get_user_id('alice')) || '{"delta": 5, "balance": 15}'::jsonb,
  'adam gives alice 5 credits');
select is(public.admin_adjust_credits(tests.get_user_id('alice'), -15, 'chargeback') ->> 'balance', '0',
  'adam takes back all 15');
select throws_ok($$select public.admin_adjust_credits(tests.get_user_id('alice'), -1, 'too far')$$,
  'PT409', 'insufficient_credits_to_remove', 'credits never go below 0');
select throws_ok($$select public.admin_adjust_credits(tests.get_user_id('alice'), 1, '  ')$$,
  'PT400', 'reason_required', 'a blank reason is refused');
select throws_ok($$select public.admin_adjust_credits(tests.get_user_id('alice'), 1, null)$$,
  'PT400', 'reason_required', 'a missing reason is refused');
select throws_ok($$select public.admin_adjust_credits(tests.get_user_id('alice'), 1)$$,
  'PT400', 'reason_required', 'a call without p_reason reaches the function and is refused');
select throws_ok($$select public.admin_adjust_credits(tests.get_user_id('alice'), 0, 'nothing')$$,
  'PT400', 'invalid_argument', 'a zero delta is refused');
select throws_ok($$select public.admin_adjust_credits(tests.get_user_id('olga'), 1, 'not a user')$$,
  'PT404', 'real_user_not_found', 'an operator has no credits to adjust');
select results_eq(
  $$select delta, reason, balance_after from public.credit_adjustments order by created_at, balance_after desc$$,
  $$values (5, 'goodwill'::text, 15), (-15, 'chargeback'::text, 0)$$,
  'both adjustments are in the history, reasons trimmed');
select is((select credits from public.real_users where id = tests.get_user_id('alice')), 0,
  'alice has 0 credits');

-- The audit trail
select bag_eq(
  $$select action, target_type, target_id, admin_id from public.admin_actions order by action, target_id$$,
  $$values ('adjust_credits'::text, 'real_user'::text, tests.get_user_id('alice'), tests.get_user_id('adam')),
           ('adjust_credits', 'real_user', tests.get_user_id('alice'), tests.get_user_id('adam')),
           ('clear_flag', 'chat', tests.get_chat_id('bob', 'Test Fa'), tests.get_user_id('adam')),
           ('clear_flag', 'chat', tests.get_chat_id('bob', 'Test Fa'), tests.get_user_id('adam')),
           ('reassign_chat', 'chat', tests.get_chat_id('bob', 'Test Fa'), tests.get_user_id('adam')),
           ('reassign_chat', 'chat', tests.get_chat_id('bob', 'Test Fb'), tests.get_user_id('adam')),
           ('set_operator_active', 'operator', tests.get_user_id('olga'), tests.get_user_id('adam')),
           ('set_operator_active', 'operator', tests.get_user_id('olga'), tests.get_user_id('adam'))$$,
  'every successful call left one admin_actions row naming adam; the refused ones none');
select is((select details ->> 'flag_reason' from public.admin_actions
            where action = 'clear_flag' and (details ->> 'was_flagged')::boolean),
  'reassigned 3 times', 'the clear_flag row keeps the reason that was cleared');
select is((select details ->> 'reason' from public.admin_actions
            where action = 'adjust_credits' and (details ->> 'delta')::int = -15),
  'chargeback', 'the adjust_credits row keeps the reason');

-- service_role ----------------------------------------------------------------------------------------
select tests.authenticate_as_service_role();
create temporary table bob_before on commit drop as
  select credits from public.real_users where id = tests.get_user_id('bob');
select is(public.admin_adjust_credits(tests.get_user_id('bob'), 3, 'support ticket 7') ->> 'delta', '3',
  'service_role adjusts credits');
select is((select credits from public.real_users where id = tests.get_user_id('bob')),
  (select credits + 3 from bob_before), 'bob has 3 more credits');
select ok(public.get_admin_dashboard() ? 'queue_length', 'service_role reads the dashboard');
select tests.clear_authentication();
select results_eq(
  $$select admin_id, details ->> 'reason' from public.admin_actions where target_id = tests.get_user_id('bob')$$,
  $$values (null::uuid, 'support ticket 7'::text)$$, 'a service_role action is recorded without an admin');

-- Who reads the history and the audit -----------------------------------------------------------------
select tests.authenticate_as('alice');
select results_eq($$select delta from public.credit_adjustments order by delta$$, $$values (-15), (5)$$,
  'alice reads her own credit history');
select is_empty($$select 1 from public.admin_actions$$, 'alice reads no admin action');
select throws_ok($$insert into public.credit_adjustments (real_user_id, delta, reason, balance_after)
  values (tests.get_user_id('alice'), 100, 'self-service', 100)$$,
  '42501', 'permission denied for table credit_adjustments', 'alice cannot write her own history');
select tests.authenticate_as('bob');
select results_eq($$select delta from public.credit_adjustments$$, $$values (3)$$, 'bob reads only his own adjustment');
select tests.authenticate_as('olga');
select is_empty($$select 1 from public.credit_adjustments$$, 'olga reads no credit adjustment');
select is_empty($$select 1 from public.admin_actions$$, 'olga reads no admin action');
select throws_ok($$insert into public.admin_actions (action, target_type, target_id) values ('clear_flag', 'chat', gen_random_uuid())$$,
  '42501', 'permission denied for table admin_actions', 'olga cannot forge an admin action');
select tests.authenticate_as_anon();
select throws_ok($$select * from public.credit_adjustments$$, '42501', 'permission denied for table credit_adjustments',
  'anon cannot read credit adjustments');
select throws_ok($$select * from public.admin_actions$$, '42501', 'permission denied for table admin_actions',
  'anon cannot read admin actions');
select tests.authenticate_as('adam');
select is((select count(*)::int from public.credit_adjustments), 3, 'adam reads every credit adjustment');
select is((select count(*)::int from public.admin_actions), 9, 'adam reads every admin action');
select throws_ok($$delete from public.admin_actions$$, '42501', 'permission denied for table admin_actions',
  'not even an admin rewrites the audit trail');

-- Credit packages through the Data API ---------------------------------------------------------------
select lives_ok($$insert into public.credit_packages (name, credits, bonus_credits, price) values ('Ops Pack', 30, 3, 27000)$$,
  'adam adds a package');
select lives_ok($$update public.credit_packages set price = 26000 where name = 'Ops Pack'$$, 'adam changes its price');
select lives_ok($$update public.credit_packages set is_active = false where name = 'Ops Pack'$$, 'adam deactivates it');
select results_eq(
  $$select a.action, a.admin_id from public.admin_actions a
      join public.credit_packages p on p.id = a.target_id
     where p.name = 'Ops Pack' order by a.created_at, a.action$$,
  $$values ('create_package'::text, tests.get_user_id('adam')),
           ('update_package', tests.get_user_id('adam')),
           ('update_package', tests.get_user_id('adam'))$$,
  'each package change is in the audit trail');
select is((select details -> 'after' ->> 'is_active' from public.admin_actions a
            join public.credit_packages p on p.id = a.target_id
           where p.name = 'Ops Pack' and a.details -> 'before' ->> 'is_active' = 'true'
             and a.details -> 'after' ->> 'is_active' = 'false'), 'false',
  'the deactivation is recorded with the row before and after');
select tests.authenticate_as('olga');
select throws_ok($$insert into public.credit_packages (name, credits, price) values ('Operator Pack', 10, 100)$$,
  '42501', 'new row violates row-level security policy for table "credit_packages"', 'an operator cannot add a package');
select is_empty($$update public.credit_packages set price = 1 returning id$$, 'an operator changes no package');
select tests.authenticate_as('alice');
select is_empty($$update public.credit_packages set is_active = false returning id$$, 'a real user deactivates no package');
select tests.authenticate_as_anon();
select throws_ok($$update public.credit_packages set price = 1$$, '42501', 'permission denied for table credit_packages',
  'anon cannot change packages');

select * from finish();
rollback;
