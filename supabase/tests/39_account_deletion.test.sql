-- Deleting an account (auth.users) keeps its money records: purchases and credit adjustments stay,
-- with the user id set to null; its chats go with it.
begin;
set local search_path = extensions, public;
select plan(4);
\ir fixtures/personas.psql

-- Account deletion keeps the money records ----------------------------------------------------------

select tests.clear_authentication();
insert into public.credit_adjustments (real_user_id, delta, reason, balance_after)
values (tests.get_user_id('alice'), 5, 'goodwill', 15);
select lives_ok($$delete from auth.users where id = tests.get_user_id('alice')$$,
  'deleting the account of a user with a purchase and an adjustment succeeds');
select results_eq($$select real_user_id, status from public.transactions where reference = 'test-ref-alice'$$,
  $$values (null::uuid, 'success'::text)$$, 'its purchase stays, with the user id set to null');
select results_eq($$select real_user_id, delta from public.credit_adjustments where reason = 'goodwill'$$,
  $$values (null::uuid, 5)$$, 'its credit adjustment stays, with the user id set to null');
select is_empty($$select 1 from public.chats where real_user_id = tests.get_user_id('alice')$$,
  'its chats go with it');

select * from finish();
rollback;
