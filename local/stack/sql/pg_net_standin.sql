-- A stand-in for the pg_net extension, for machines where it cannot be installed.
--
-- Same schema (`net`), same function signatures and the same queue and response tables as pg_net,
-- so cron job commands written for Supabase (`select net.http_post(...)`) run unchanged. Instead
-- of pg_net's background worker, the local stack's drainer (local/pg-net-drainer.mjs) listens on
-- the `pg_net_standin` channel, takes rows from net.http_request_queue, performs the HTTP call and
-- writes net._http_response, as pg_net does. The local stack applies this file only when pg_net
-- is not available.

create schema if not exists net;

create table if not exists net.http_request_queue (
  id bigserial primary key,
  method text not null check (method in ('GET', 'POST', 'DELETE')),
  url text not null,
  headers jsonb not null default '{}',
  body bytea,
  timeout_milliseconds integer not null default 5000
);

create table if not exists net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz not null default now()
);

-- Wake the drainer as soon as a request is queued (it also polls, in case it missed one).
create or replace function net._standin_notify() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform pg_notify('pg_net_standin', new.id::text);
  return new;
end
$$;

drop trigger if exists http_request_queue_notify on net.http_request_queue;
create trigger http_request_queue_notify
  after insert on net.http_request_queue
  for each row execute function net._standin_notify();

-- url with params appended as a query string, as pg_net builds it.
create or replace function net._standin_url(url text, params jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select case
           when params is null or params = '{}'::jsonb then url
           else url || case when position('?' in url) > 0 then '&' else '?' end ||
             (select string_agg(p.key || '=' || p.value, '&') from pg_catalog.jsonb_each_text(params) p)
         end
$$;

-- Queues an HTTP POST; returns the request id, like pg_net.
create or replace function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  request_id bigint;
  full_url text := net._standin_url(url, params);
begin
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', full_url, coalesce(headers, '{}'::jsonb),
          convert_to(coalesce(body, '{}'::jsonb)::text, 'UTF8'), timeout_milliseconds)
  returning id into request_id;
  return request_id;
end
$$;

-- Queues an HTTP GET; returns the request id, like pg_net.
create or replace function net.http_get(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  request_id bigint;
  full_url text := net._standin_url(url, params);
begin
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('GET', full_url, coalesce(headers, '{}'::jsonb), null, timeout_milliseconds)
  returning id into request_id;
  return request_id;
end
$$;

revoke all on schema net from public;
revoke execute on all functions in schema net from public;
grant usage on schema net to postgres, service_role;
grant execute on function net.http_post(text, jsonb, jsonb, jsonb, integer) to postgres, service_role;
grant execute on function net.http_get(text, jsonb, jsonb, integer) to postgres, service_role;
grant select on net._http_response to postgres, service_role;
