-- Supabase platform objects for the Docker-free local stack.
--
-- On hosted Supabase (and under `supabase start`) these exist before any migration runs; here the
-- local stack applies this file first, as the cluster superuser. It mirrors the definitions of
-- supabase/postgres (roles, default privileges) and supabase/auth (auth.users, auth.uid() and
-- friends) closely enough that migrations, RLS policies and the Supabase CLI advisors behave the
-- same. Everything is idempotent: the stack re-applies it on every start.

-- Roles -------------------------------------------------------------------------------------------
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if not exists (select 1 from pg_roles where rolname = r) then
      execute format('create role %I nologin noinherit', r);
    end if;
  end loop;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit password 'postgres';
  end if;
  -- Service roles Supabase ships; the advisors' queries and some grants name them.
  foreach r in array array['supabase_admin', 'supabase_auth_admin', 'supabase_storage_admin',
                           'dashboard_user', 'supabase_realtime_admin', 'supabase_replication_admin',
                           'supabase_read_only_user', 'pgbouncer'] loop
    if not exists (select 1 from pg_roles where rolname = r) then
      execute format('create role %I nologin noinherit', r);
    end if;
  end loop;
end
$$;

alter role service_role bypassrls;
grant anon, authenticated, service_role to authenticator;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set statement_timeout = '8s';

-- Schemas -----------------------------------------------------------------------------------------
create schema if not exists extensions;
create schema if not exists auth;

grant usage on schema public to postgres, anon, authenticated, service_role;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
grant usage on schema auth to anon, authenticated, service_role;

-- Hosted Supabase since 2026-10-30 (every project; new projects since 2026-05-30): new tables,
-- functions and sequences in public get no privileges for the API roles by default, so every
-- migration grants what anon, authenticated and service_role need (changelog "Tables not exposed
-- to Data and GraphQL API automatically"). Revoked here, not merely left out, so that a cluster
-- made before keeps no stale default. PUBLIC keeps Postgres's own default EXECUTE on functions,
-- as on hosted: migrations revoke it where a function is not for everyone.
alter default privileges for role postgres in schema public
  revoke all on tables from anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  revoke all on functions from anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  revoke all on sequences from anon, authenticated, service_role;
alter default privileges for role postgres in schema extensions
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema extensions
  grant all on functions to postgres, anon, authenticated, service_role;

create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;

-- auth: the subset of GoTrue's schema that the project relies on ---------------------------------
create table if not exists auth.users (
  instance_id uuid,
  id uuid primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  phone text,
  last_sign_in_at timestamptz,
  is_anonymous boolean not null default false
);
create unique index if not exists users_email_partial_key on auth.users (email) where email is not null;
grant all on auth.users to service_role;

-- The columns the local Auth stand-in (local/auth-server.mjs) reads and writes, as GoTrue defines
-- them; confirmed_at is GoTrue's generated column (the first confirmation of email or phone).
alter table auth.users add column if not exists phone_confirmed_at timestamptz;
alter table auth.users add column if not exists confirmed_at timestamptz
  generated always as (least(email_confirmed_at, phone_confirmed_at)) stored;
alter table auth.users add column if not exists banned_until timestamptz;
alter table auth.users add column if not exists deleted_at timestamptz;
-- The one-time codes of the emails the stand-in sends (recovery, magic link, invite, email change,
-- reauthentication): GoTrue keeps the hash of each code in these columns of auth.users.
alter table auth.users add column if not exists invited_at timestamptz;
alter table auth.users add column if not exists confirmation_token varchar(255);
alter table auth.users add column if not exists confirmation_sent_at timestamptz;
alter table auth.users add column if not exists recovery_token varchar(255);
alter table auth.users add column if not exists recovery_sent_at timestamptz;
alter table auth.users add column if not exists email_change_token_new varchar(255);
alter table auth.users add column if not exists email_change varchar(255);
alter table auth.users add column if not exists email_change_sent_at timestamptz;
alter table auth.users add column if not exists email_change_token_current varchar(255) default '';
alter table auth.users add column if not exists email_change_confirm_status smallint default 0;
alter table auth.users add column if not exists reauthentication_token varchar(255) default '';
alter table auth.users add column if not exists reauthentication_sent_at timestamptz;

-- Sessions and refresh tokens: the subset of GoTrue's tables the stand-in uses, same names and
-- types. Logging out deletes sessions; their refresh tokens go with them.
do $$
begin
  if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                 where n.nspname = 'auth' and t.typname = 'aal_level') then
    create type auth.aal_level as enum ('aal1', 'aal2', 'aal3');
  end if;
end
$$;

create table if not exists auth.sessions (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz,
  updated_at timestamptz,
  factor_id uuid,
  aal auth.aal_level,
  not_after timestamptz,
  refreshed_at timestamp,
  user_agent text,
  ip inet,
  tag text
);
create index if not exists sessions_user_id_idx on auth.sessions (user_id);
create index if not exists user_id_created_at_idx on auth.sessions (user_id, created_at);
comment on table auth.sessions is 'Auth: Stores session data associated to a user.';

create table if not exists auth.refresh_tokens (
  instance_id uuid,
  id bigserial primary key,
  token varchar(255),
  user_id varchar(255),
  revoked boolean,
  created_at timestamptz,
  updated_at timestamptz,
  parent varchar(255),
  session_id uuid references auth.sessions (id) on delete cascade
);
create unique index if not exists refresh_tokens_token_unique on auth.refresh_tokens (token);
create index if not exists refresh_tokens_instance_id_user_id_idx on auth.refresh_tokens (instance_id, user_id);
create index if not exists refresh_tokens_parent_idx on auth.refresh_tokens (parent);
create index if not exists refresh_tokens_session_id_revoked_idx on auth.refresh_tokens (session_id, revoked);
create index if not exists refresh_tokens_updated_at_idx on auth.refresh_tokens (updated_at desc);
comment on table auth.refresh_tokens is 'Auth: Store of tokens used to refresh JWT tokens once they expire.';

-- As in GoTrue's schema, only Auth itself (and the dashboard) may touch sessions and tokens: the
-- Data API roles get nothing, service_role included.
revoke all on auth.sessions, auth.refresh_tokens from public, anon, authenticated, service_role;
revoke all on sequence auth.refresh_tokens_id_seq from public, anon, authenticated, service_role;
grant all on auth.sessions, auth.refresh_tokens to supabase_auth_admin, dashboard_user;
grant all on sequence auth.refresh_tokens_id_seq to supabase_auth_admin, dashboard_user;

-- The request helpers exactly as GoTrue's migrations define them: PostgREST puts the verified JWT
-- claims in request.jwt.claims (and older versions in request.jwt.claim.*).
create or replace function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.email() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to anon, authenticated, service_role;

-- Realtime: Supabase creates this publication, empty, in every project; migrations add tables.
do $$
begin
  if not exists (select 1 from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$$;

-- pg_cron: hosted projects enable it from the dashboard, so it is the platform's, not a
-- migration's; 010_schedules' `create extension if not exists` is then a no-op, and its down
-- script leaves the extension alone. shared_preload_libraries and cron.database_name name it and
-- this database (local/stack/postgres.mjs).
create extension if not exists pg_cron with schema pg_catalog;

-- Realtime: the objects Supabase's Realtime server creates in every project's database (its tenant
-- migrations, supabase/realtime lib/realtime/tenants/repo/migrations), with the same names,
-- columns, signatures and grants, so that policies on realtime.messages and triggers calling
-- realtime.send / realtime.broadcast_changes run unchanged here and on hosted Supabase.
-- One difference: hosted Realtime creates a partition per day ahead of time; here a default
-- partition takes every row, so realtime.send works before (and without) the local server.
create schema if not exists realtime;
grant usage on schema realtime to postgres, anon, authenticated, service_role;

create table if not exists realtime.messages (
  topic text not null,
  extension text not null,
  payload jsonb,
  event text,
  private boolean default false,
  updated_at timestamp not null default now(),
  inserted_at timestamp not null default now(),
  id uuid not null default gen_random_uuid(),
  binary_payload bytea,
  primary key (id, inserted_at),
  constraint messages_payload_exclusive check (payload is null or binary_payload is null)
) partition by range (inserted_at);
create table if not exists realtime.messages_default partition of realtime.messages default;
create index if not exists messages_inserted_at_topic_index
  on realtime.messages (inserted_at desc, topic) where extension = 'broadcast' and private is true;
alter table realtime.messages enable row level security;
alter table realtime.messages owner to supabase_realtime_admin;
alter table realtime.messages_default owner to supabase_realtime_admin;
grant select, insert, update on realtime.messages to postgres, anon, authenticated, service_role;

-- The topic of the channel whose authorisation is being checked (the server sets it per check).
create or replace function realtime.topic() returns text
language sql stable
as $$
  select nullif(current_setting('realtime.topic', true), '')::text;
$$;

-- Broadcast from the database: a row of realtime.messages that the server delivers to the
-- channel's subscribers. Errors become a warning, so a broadcast never undoes the caller's write.
create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language plpgsql
as $$
declare
  generated_id uuid;
  final_payload jsonb;
begin
  begin
    generated_id := gen_random_uuid();
    if payload ? 'id' then
      final_payload := payload;
    else
      final_payload := jsonb_set(payload, '{id}', to_jsonb(generated_id));
    end if;
    execute format('set local realtime.topic to %L', topic);
    insert into realtime.messages (id, payload, event, topic, private, extension)
    values (generated_id, final_payload, event, topic, private, 'broadcast');
  exception
    when others then
      raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
  end;
end;
$$;

-- A row's change as one broadcast, the shape supabase-js documents for broadcast_changes.
create or replace function realtime.broadcast_changes(
  topic_name text, event_name text, operation text, table_name text, table_schema text,
  new record, old record, level text default 'ROW'
) returns void
language plpgsql
as $$
declare
  row_data jsonb := '{}'::jsonb;
begin
  if level = 'STATEMENT' then
    raise exception 'function can only be triggered for each row, not for each statement';
  end if;
  if operation = 'INSERT' or operation = 'UPDATE' or operation = 'DELETE' then
    row_data := jsonb_build_object('old_record', old, 'record', new, 'operation', operation,
                                   'table', table_name, 'schema', table_schema);
    perform realtime.send(row_data, event_name, topic_name);
  else
    raise exception 'Unexpected operation type: %', operation;
  end if;
exception
  when others then
    raise exception 'Failed to process the row: %', sqlerrm;
end;
$$;

alter function realtime.topic() owner to supabase_realtime_admin;
alter function realtime.send(jsonb, text, text, boolean) owner to supabase_realtime_admin;
alter function realtime.broadcast_changes(text, text, text, text, text, record, record, text)
  owner to supabase_realtime_admin;
grant execute on function realtime.topic() to postgres, anon, authenticated, service_role;
grant execute on function realtime.send(jsonb, text, text, boolean) to postgres, anon, authenticated, service_role;
grant execute on function realtime.broadcast_changes(text, text, text, text, text, record, record, text)
  to postgres, anon, authenticated, service_role;

-- The publication hosted Realtime reads broadcasts from (the local server reads the WAL with
-- wal2json instead, see local/stack/realtime/).
do $$
begin
  if not exists (select 1 from pg_catalog.pg_publication where pubname = 'supabase_realtime_messages_publication') then
    create publication supabase_realtime_messages_publication for table realtime.messages;
  end if;
end
$$;

-- Vault: a stand-in for Supabase Vault (supabase/vault), which hosted projects have and this
-- PostgreSQL has not. Same objects and signatures as the extension: the table vault.secrets, the
-- view vault.decrypted_secrets, vault.create_secret and vault.update_secret, usable by postgres
-- only (as hosted: nothing for anon, authenticated or service_role), so the cron jobs read their
-- URL and keys from Vault here as on hosted Supabase. It is NOT a secret store: secrets are
-- encrypted with pgcrypto (AES, the row's nonce as IV) under a random per-cluster key kept in the
-- cluster's data folder (vault_standin.key, readable by the superuser through pg_read_file), so a
-- data dump alone does not show them; anyone who is superuser here reads them.
create schema if not exists vault;
revoke all on schema vault from public;
grant usage on schema vault to postgres;

do $$
begin
  if pg_catalog.pg_stat_file('vault_standin.key', true) is null then
    execute format('copy (select encode(extensions.gen_random_bytes(32), %L)) to %L', 'hex',
                   current_setting('data_directory') || '/vault_standin.key');
  end if;
end
$$;

create table if not exists vault.secrets (
  id uuid primary key default gen_random_uuid(),
  name text,
  description text not null default '',
  secret text not null,
  key_id uuid,
  nonce bytea default extensions.gen_random_bytes(16),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index if not exists secrets_name_idx on vault.secrets (name) where name is not null;
comment on table vault.secrets is
  'Local stand-in for Supabase Vault: secret holds the encrypted value (base64); read it through '
  'vault.decrypted_secrets. Not a secret store (see local/stack/sql/bootstrap.sql).';

-- The cluster's stand-in key (32 bytes). Superuser only: pg_read_file. Used by the functions below.
create or replace function vault._standin_key()
returns bytea
language sql
stable
set search_path = ''
as $$
  select decode(btrim(pg_catalog.pg_read_file('vault_standin.key'), E' \n'), 'hex');
$$;

-- A secret's value encrypted for storage: AES-256-CBC under the cluster key with the row's nonce as
-- IV, base64 (the shape hosted Vault stores). Internal to the stand-in.
create or replace function vault._encrypt(p_secret text, p_nonce bytea)
returns text
language sql
stable
set search_path = ''
as $$
  select pg_catalog.encode(
    extensions.encrypt_iv(pg_catalog.convert_to(p_secret, 'utf8'), vault._standin_key(), p_nonce, 'aes-cbc/pad:pkcs'),
    'base64');
$$;

-- The plain value of a stored secret. Internal to the stand-in.
create or replace function vault._decrypt(p_secret text, p_nonce bytea)
returns text
language sql
stable
set search_path = ''
as $$
  select pg_catalog.convert_from(
    extensions.decrypt_iv(pg_catalog.decode(p_secret, 'base64'), vault._standin_key(), p_nonce, 'aes-cbc/pad:pkcs'),
    'utf8');
$$;

create or replace view vault.decrypted_secrets as
select s.id,
       s.name,
       s.description,
       s.secret,
       vault._decrypt(s.secret, s.nonce) as decrypted_secret,
       s.key_id,
       s.nonce,
       s.created_at,
       s.updated_at
  from vault.secrets s;

-- Stores a new secret (encrypted) and returns its id; new_name must be unique when given.
-- new_key_id is accepted and unused, as in Vault 0.3. postgres only.
create or replace function vault.create_secret(
  new_secret text,
  new_name text default null,
  new_description text default '',
  new_key_id uuid default null
)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id uuid := gen_random_uuid();
  v_nonce bytea := extensions.gen_random_bytes(16);
begin
  insert into vault.secrets (id, secret, name, description, nonce)
  values (v_id, vault._encrypt(new_secret, v_nonce), new_name, coalesce(new_description, ''), v_nonce);
  return v_id;
end;
$$;

-- Changes a secret: each argument left null keeps what was there. new_key_id is accepted and
-- unused, as in Vault 0.3. postgres only.
create or replace function vault.update_secret(
  secret_id uuid,
  new_secret text default null,
  new_name text default null,
  new_description text default null,
  new_key_id uuid default null
)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  update vault.secrets s
     set secret = case when new_secret is null then s.secret else vault._encrypt(new_secret, s.nonce) end,
         name = coalesce(new_name, s.name),
         description = coalesce(new_description, s.description),
         updated_at = now()
   where s.id = secret_id;
end;
$$;

revoke all on table vault.secrets, vault.decrypted_secrets from public, anon, authenticated, service_role;
revoke all on function
  vault._standin_key(),
  vault._encrypt(text, bytea),
  vault._decrypt(text, bytea),
  vault.create_secret(text, text, text, uuid),
  vault.update_secret(uuid, text, text, text, uuid)
from public, anon, authenticated, service_role;
grant all on table vault.secrets, vault.decrypted_secrets to postgres;
grant execute on function
  vault.create_secret(text, text, text, uuid),
  vault.update_secret(uuid, text, text, text, uuid)
to postgres;
