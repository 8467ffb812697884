-- Fantooo: the fictional profiles real users browse and chat with, what only staff may read about
-- them, favourites, avatars, and discovery (docs/rules.md).
--
-- Operator hiding: real users read fictional_users with `select=*`, so what only staff may see lives
-- in tables real users cannot read at all: how to play a profile in fictional_user_guidelines
-- (operators and admins), who created it in fictional_user_creators (admins). The documented columns
-- fictional_users.personality_guidelines and created_by are those tables; created_by stays on
-- fictional_users (select=* and the documented schema unchanged) but is always null.

-- Tables -------------------------------------------------------------------------------------------

create table public.fictional_users (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (char_length(name) between 1 and 100),
  age integer not null check (age between 18 and 100),
  gender text not null check (gender in ('male', 'female')),
  bio text check (char_length(bio) <= 2000),
  avatar_url text,
  interests text[] not null default '{}',
  is_active boolean not null default true,
  is_featured boolean not null default false,
  created_by uuid references public.admins (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  language text not null default 'en' check (language ~ '^[a-z]{2,3}$'),
  constraint fictional_users_created_by_unused check (created_by is null)
);
comment on table public.fictional_users is
  'Profiles real users browse and chat with. Operator-only guidance lives in fictional_user_guidelines.';
comment on column public.fictional_users.is_featured is 'Featured profiles cost more per message (docs/rules.md).';
comment on column public.fictional_users.language is
  'The language the profile writes in (ISO 639 code, lowercase): its chats go only to operators who '
  'write it (operators.languages). Set by admins.';
comment on column public.fictional_users.created_by is
  'Always null: the creating admin is in fictional_user_creators (admins only).';

-- Profile discovery: active profiles of one gender, featured first, then by name (a stable order):
-- `where is_active and gender = $1 order by is_featured desc, name, id`. Also serves the real users'
-- read policy (is_active).
create index idx_fictional_active_gender
  on public.fictional_users (gender, is_featured desc, name, id) where is_active;

-- Foreign keys not led by an existing index.
create index idx_fictional_users_created_by on public.fictional_users (created_by);

create table public.fictional_user_guidelines (
  fictional_user_id uuid primary key references public.fictional_users (id) on delete cascade,
  personality_guidelines text not null default '',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.fictional_user_guidelines is
  'Operator-only guidance for playing a profile (the documented column fictional_users.personality_guidelines); '
  'kept apart so that real users, who read fictional_users, never see it.';

create table public.fictional_user_creators (
  fictional_user_id uuid primary key
    references public.fictional_users (id) on delete cascade deferrable initially deferred,
  created_by uuid references public.admins (id) on delete set null,
  created_at timestamptz not null default now()
);
comment on table public.fictional_user_creators is
  'Which admin created each profile (the documented column fictional_users.created_by), kept apart so '
  'that real users, who read fictional_users, never see it. Admins only. The reference to '
  'fictional_users is checked at commit, because the row is written while the profile is inserted.';

create index idx_fictional_user_creators_created_by on public.fictional_user_creators (created_by);

create table public.favorites (
  real_user_id uuid not null default auth.uid() references public.real_users (id) on delete cascade,
  fictional_user_id uuid not null references public.fictional_users (id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (real_user_id, fictional_user_id)
);

create index idx_favorites_fictional_user_id on public.favorites (fictional_user_id);

create trigger set_updated_at before update on public.fictional_users
  for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.fictional_user_guidelines
  for each row execute function private.set_updated_at();

-- Creators and avatars -----------------------------------------------------------------------------

-- Records the creator of a new profile in fictional_user_creators: the admin whose JWT inserts it, or
-- the created_by a trusted caller (seed, service_role) gives; fictional_users.created_by is left
-- null. Trigger function only; security definer because no API role writes fictional_user_creators.
create function private.stamp_fictional_user_creator()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_creator uuid := case when private.is_trusted_caller() then new.created_by else auth.uid() end;
begin
  new.created_by := null;
  if v_creator is not null and exists (select 1 from public.admins a where a.id = v_creator) then
    insert into public.fictional_user_creators (fictional_user_id, created_by)
    values (new.id, v_creator)
    on conflict (fictional_user_id) do update set created_by = excluded.created_by;
  end if;
  return new;
end;
$$;

create trigger stamp_fictional_user_creator
  before insert on public.fictional_users
  for each row execute function private.stamp_fictional_user_creator();

-- Refuses (invalid_avatar_url, 23514) an avatar_url longer than 2,048 characters (a URL, not a
-- payload), not an https URL (a host, no user info, no white space, no . or .. path segment) or
-- that does not start with the prefix avatars must have: settings.avatar_url_prefix when an admin set
-- one, else the project's own Storage public path, <project_url>/storage/v1/object/public/, with
-- project_url the Vault secret the cron jobs read. With neither (no prefix set, and Vault has no
-- https project_url, as on the local stack, which serves no Storage) every avatar is refused: an
-- avatar elsewhere would be a beacon showing staff IP addresses to whoever runs the host. Checked
-- when a row is inserted with an avatar and when an update changes it, whoever writes (API roles,
-- service_role, functions), on real_users and fictional_users. Null clears the avatar. Trigger
-- function only; security definer because API roles do not all read settings, and none reads Vault.
create function private.check_avatar_url()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_prefix text;
  v_project_url text;
begin
  if new.avatar_url is null or (tg_op = 'UPDATE' and new.avatar_url is not distinct from old.avatar_url) then
    return new;
  end if;
  if length(new.avatar_url) > 2048
     or new.avatar_url !~ '^https://[^/?#@[:space:]]+(/[^[:space:]]*)?$'
     or new.avatar_url ~ '/\.\.?(/|[?#]|$)' then
    perform errors.raise_error('invalid_avatar_url', 'An avatar URL must be an https URL.');
  end if;
  select s.avatar_url_prefix into v_prefix from public.settings s;
  if v_prefix is null then
    select d.decrypted_secret into v_project_url
      from vault.decrypted_secrets d
     where d.name = 'project_url';
    if v_project_url !~ '^https://[^/?#@[:space:]]+(/[^?#[:space:]]*)?$' or v_project_url is null then
      perform errors.raise_error('invalid_avatar_url',
        'No Storage URL is known for avatars: an admin sets settings.avatar_url_prefix '
        '(Vault has no https project_url).');
    end if;
    v_prefix := rtrim(v_project_url, '/') || '/storage/v1/object/public/';
  end if;
  if left(new.avatar_url, length(v_prefix)) <> v_prefix then
    perform errors.raise_error('invalid_avatar_url',
      format('An avatar URL must start with %s.', v_prefix));
  end if;
  return new;
end;
$$;

create trigger check_avatar_url
  before insert or update of avatar_url on public.real_users
  for each row execute function private.check_avatar_url();
create trigger check_avatar_url
  before insert or update of avatar_url on public.fictional_users
  for each row execute function private.check_avatar_url();

revoke all on function private.stamp_fictional_user_creator(), private.check_avatar_url() from public, anon, authenticated, service_role;

-- Privileges and policies --------------------------------------------------------------------------

revoke all on table public.fictional_users from anon, authenticated;
grant select on table public.fictional_users to authenticated;
grant select, insert, update, delete on table public.fictional_users to service_role;
grant insert (id, name, age, gender, bio, avatar_url, interests, is_active, is_featured, language) on public.fictional_users to authenticated;
grant update (name, age, gender, bio, avatar_url, interests, is_active, is_featured, language) on public.fictional_users to authenticated;
grant delete on public.fictional_users to authenticated;
alter table public.fictional_users enable row level security;

revoke all on table public.fictional_user_guidelines from anon, authenticated;
grant select on table public.fictional_user_guidelines to authenticated;
grant select, insert, update, delete on table public.fictional_user_guidelines to service_role;
grant insert (fictional_user_id, personality_guidelines) on public.fictional_user_guidelines to authenticated;
grant update (personality_guidelines) on public.fictional_user_guidelines to authenticated;
grant delete on public.fictional_user_guidelines to authenticated;
alter table public.fictional_user_guidelines enable row level security;

revoke all on table public.fictional_user_creators from anon, authenticated;
grant select on table public.fictional_user_creators to authenticated;
grant select, insert, update, delete on table public.fictional_user_creators to service_role;
alter table public.fictional_user_creators enable row level security;

revoke all on table public.favorites from anon, authenticated;
grant select on table public.favorites to authenticated;
grant select, insert, update, delete on table public.favorites to service_role;
grant insert (real_user_id, fictional_user_id) on public.favorites to authenticated;
grant delete on public.favorites to authenticated;
alter table public.favorites enable row level security;

create policy "real users read active profiles, staff read all" on public.fictional_users
  for select to authenticated
  using (
    (is_active and (select api_private.is_real_user()))
    or (select api_private.is_operator())
    or (select api_private.is_admin())
  );
create policy "admins add profiles" on public.fictional_users
  for insert to authenticated
  with check ((select api_private.is_admin()));
create policy "admins update profiles" on public.fictional_users
  for update to authenticated
  using ((select api_private.is_admin()))
  with check ((select api_private.is_admin()));
create policy "admins delete profiles" on public.fictional_users
  for delete to authenticated
  using ((select api_private.is_admin()));

create policy "operators and admins read guidelines" on public.fictional_user_guidelines
  for select to authenticated
  using ((select api_private.is_operator()) or (select api_private.is_admin()));
create policy "admins add guidelines" on public.fictional_user_guidelines
  for insert to authenticated
  with check ((select api_private.is_admin()));
create policy "admins update guidelines" on public.fictional_user_guidelines
  for update to authenticated
  using ((select api_private.is_admin()))
  with check ((select api_private.is_admin()));
create policy "admins delete guidelines" on public.fictional_user_guidelines
  for delete to authenticated
  using ((select api_private.is_admin()));

create policy "admins read profile creators" on public.fictional_user_creators
  for select to authenticated
  using ((select api_private.is_admin()));

create policy "real users read own favorites, admins read all" on public.favorites
  for select to authenticated
  using (real_user_id = (select auth.uid()) or (select api_private.is_admin()));
create policy "real users add own favorites" on public.favorites
  for insert to authenticated
  with check (
    real_user_id = (select auth.uid())
    and (select api_private.is_real_user())
    and fictional_user_id in (select f.id from public.fictional_users f where f.is_active)
  );
create policy "real users remove own favorites" on public.favorites
  for delete to authenticated
  using (real_user_id = (select auth.uid()));

-- Discovery ----------------------------------------------------------------------------------------

-- Active fictional profiles of the user's looking_for gender, with is_favorite for that user, in a
-- stable order (featured first, then name, then id), paged by p_limit (1..100, default 20) and
-- p_offset. Never returns personality guidelines. The gender is read first and compared as a value,
-- so idx_fictional_active_gender returns the page in order instead of a scan and sort of every active
-- profile. Callers: a real user for itself (p_user_id defaults to the caller); admins and
-- service_role for anyone; anyone else 42501. An unknown user id yields no rows.
create function api_private.get_available_fictional_profiles(
  p_user_id uuid default null,
  p_limit integer default 20,
  p_offset integer default 0
)
returns table (
  id uuid,
  name text,
  age integer,
  gender text,
  bio text,
  avatar_url text,
  interests text[],
  is_featured boolean,
  created_at timestamptz,
  is_favorite boolean
)
language plpgsql
stable
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_user_id uuid := coalesce(p_user_id, auth.uid());
  v_looking_for text;
begin
  if not (private.is_trusted_caller() or api_private.is_admin()) and v_user_id is distinct from auth.uid() then
    perform errors.raise_error('forbidden',
      'A user may list profiles only for itself.');
  end if;

  -- Not a real user (or looking for nothing): no profiles.
  select r.looking_for into v_looking_for from public.real_users r where r.id = v_user_id;
  if v_looking_for is null then
    return;
  end if;

  return query
    select f.id, f.name, f.age, f.gender, f.bio, f.avatar_url, f.interests, f.is_featured, f.created_at,
           -- a scalar subquery (never hashed): one favorites primary-key probe per returned row,
           -- where exists (...) could become a hashed subplan reading all the user's favourites
           coalesce((
             select true from public.favorites fav
              where fav.real_user_id = v_user_id and fav.fictional_user_id = f.id
           ), false) as is_favorite
      from public.fictional_users f
     where f.is_active and f.gender = v_looking_for
     order by f.is_featured desc, f.name, f.id
     limit least(greatest(coalesce(p_limit, 20), 1), 100)
    offset greatest(coalesce(p_offset, 0), 0);
end;
$$;

-- Active profiles for a real user, with is_favorite. See api_private.get_available_fictional_profiles.
create function public.get_available_fictional_profiles(
  p_user_id uuid default null,
  p_limit integer default 20,
  p_offset integer default 0
)
returns table (
  id uuid,
  name text,
  age integer,
  gender text,
  bio text,
  avatar_url text,
  interests text[],
  is_featured boolean,
  created_at timestamptz,
  is_favorite boolean
)
language sql
stable
security invoker
set search_path = ''
as $$
  select * from api_private.get_available_fictional_profiles(p_user_id, p_limit, p_offset);
$$;

revoke all on function api_private.get_available_fictional_profiles(uuid, integer, integer), public.get_available_fictional_profiles(uuid, integer, integer) from public, anon, authenticated, service_role;
grant execute on function api_private.get_available_fictional_profiles(uuid, integer, integer), public.get_available_fictional_profiles(uuid, integer, integer) to authenticated, service_role;
