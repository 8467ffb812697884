-- Undoes 009_credit_packages.sql: drops the foreign key it put on public.transactions.package_id
-- (the column and its values stay, as 001 made them) and public.credit_packages with its four
-- packages, trigger, index, policies and grants.

begin;

alter table public.transactions drop constraint transactions_package_id_fkey;

drop table public.credit_packages;

commit;
