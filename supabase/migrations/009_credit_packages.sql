-- Credit packages: what a real user can buy through Paystack (docs/data-api.md and docs/rules.md).
--
-- Everyone, anon included, reads the active packages (a public pricing page); admins read all of
-- them and manage them. A package's price and credits are copied onto the transaction when a
-- checkout starts (010), so changing or deactivating a package never alters a purchase already
-- made. A package that has been bought cannot be deleted (transactions keep pointing at it):
-- deactivate it instead.
--
-- The four packages of docs/rules.md are inserted here rather than in seed.sql because
-- production needs them too.

create table public.credit_packages (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (char_length(name) between 1 and 50),
  credits integer not null check (credits > 0),
  bonus_credits integer not null default 0 check (bonus_credits >= 0),
  price integer not null check (price > 0),
  currency text not null default 'KES' check (currency ~ '^[A-Z]{3}$'),
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.credit_packages is
  'Credit bundles sold through Paystack. Readable by everyone while active; managed by admins.';
comment on column public.credit_packages.credits is 'Credits bought; the buyer receives credits + bonus_credits.';
comment on column public.credit_packages.bonus_credits is 'Extra credits granted on top of credits.';
comment on column public.credit_packages.price is
  'Price in currency subunits (cents), as Paystack expects: 45000 = 450.00 KES.';
comment on column public.credit_packages.is_active is
  'Only active packages are offered and can be bought; deactivate rather than delete.';

create trigger set_updated_at before update on public.credit_packages
  for each row execute function private.set_updated_at();

-- Pricing page order: `where is_active order by price`.
create index idx_credit_packages_active_price
  on public.credit_packages (price) where is_active;

-- transactions.package_id (001) points at the package bought. Restrict: history is never orphaned.
alter table public.transactions
  add constraint transactions_package_id_fkey
  foreign key (package_id) references public.credit_packages (id) on delete restrict;

-- docs/rules.md: one credit is worth 10 KES; prices in cents.
insert into public.credit_packages (name, credits, bonus_credits, price, currency)
values
  ('Starter', 10, 0, 10000, 'KES'),
  ('Popular', 50, 5, 45000, 'KES'),
  ('Value', 100, 15, 85000, 'KES'),
  ('Premium', 500, 100, 400000, 'KES')
on conflict (name) do nothing;

-- Privileges: anon and authenticated read whole rows (policies pick which); only admins write, and
-- only the columns that describe a package.
revoke all on table public.credit_packages from anon, authenticated;
grant select on table public.credit_packages to anon, authenticated;
grant select, insert, update, delete on table public.credit_packages to service_role;
grant insert (name, credits, bonus_credits, price, currency, is_active)
  on public.credit_packages to authenticated;
grant update (name, credits, bonus_credits, price, currency, is_active)
  on public.credit_packages to authenticated;
grant delete on public.credit_packages to authenticated;

alter table public.credit_packages enable row level security;

-- One select policy per role, so anon never needs is_admin() and the advisor's
-- multiple_permissive_policies stays quiet.
create policy "visitors read active packages" on public.credit_packages
  for select to anon
  using (is_active);
create policy "signed-in users read active packages, admins read all" on public.credit_packages
  for select to authenticated
  using (is_active or (select public.is_admin()));
create policy "admins add packages" on public.credit_packages
  for insert to authenticated
  with check ((select public.is_admin()));
create policy "admins update packages" on public.credit_packages
  for update to authenticated
  using ((select public.is_admin()))
  with check ((select public.is_admin()));
create policy "admins delete packages" on public.credit_packages
  for delete to authenticated
  using ((select public.is_admin()));
