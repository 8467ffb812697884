-- Fantooo: the settings row and message pricing (docs/rules.md).
--
-- public.settings holds one row (id = true): message pricing, the business timezone, the chat and
-- presence timeouts and where avatars must live. Admins update it; operators and admins read it.
-- A real-user message costs 0 for the first settings.free_messages of a chat, else
-- ceil(base_price x time-of-day factor x featured factor), at least 1 (private.price_under). The
-- message trigger (private.apply_message) charges it; public.message_price shows it beforehand.
--
-- The helpers are plpgsql rather than sql: a function with `set search_path` is never inlined, and
-- an sql one is parsed and planned again in every statement that calls it, while plpgsql keeps its
-- plans for the session (bench/README.md, "The floor of the two SQL paths").

-- The settings row ---------------------------------------------------------------------------------

create table public.settings (
  id boolean primary key default true check (id),
  base_price numeric(10, 2) not null default 1 check (base_price > 0),
  free_messages integer not null default 3 check (free_messages >= 0),
  night_factor numeric(6, 3) not null default 1.2 check (night_factor > 0),
  night_starts time not null default '20:00',
  night_ends time not null default '02:00',
  early_factor numeric(6, 3) not null default 0.8 check (early_factor > 0),
  early_starts time not null default '02:00',
  early_ends time not null default '08:00',
  featured_factor numeric(6, 3) not null default 1.5 check (featured_factor > 0),
  timezone text not null default 'Africa/Nairobi',
  idle_timeout interval not null default interval '5 minutes' check (idle_timeout > interval '0'),
  inactivity_timeout interval not null default interval '24 hours' check (inactivity_timeout > interval '0'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  presence_timeout interval not null default interval '10 minutes' check (presence_timeout > interval '0'),
  avatar_url_prefix text check (avatar_url_prefix ~ '^https://[^/?#@[:space:]]+(/[^[:space:]]*)?$'),
  continuity_window interval not null default interval '15 minutes' check (continuity_window >= interval '0'),
  max_wait interval not null default interval '2 minutes' check (max_wait > interval '0')
);
comment on table public.settings is
  'The single settings row (id = true): message pricing, business timezone and chat timeouts. Admins update it.';
comment on column public.settings.base_price is 'Credits per paid message before factors (docs/rules.md).';
comment on column public.settings.free_messages is 'The first N real-user messages of every chat cost nothing.';
comment on column public.settings.night_factor is
  'Time-of-day factor from night_starts (included) to night_ends (excluded), local time; the window may wrap midnight.';
comment on column public.settings.early_factor is
  'Time-of-day factor from early_starts (included) to early_ends (excluded), local time.';
comment on column public.settings.featured_factor is 'Factor for chats with a featured profile.';
comment on column public.settings.timezone is 'IANA zone for the time-of-day windows and for daily operator stats.';
comment on column public.settings.idle_timeout is
  'An assigned chat whose holder shows no activity for this long is released by the idle sweep.';
comment on column public.settings.inactivity_timeout is
  'A chat with no message for this long is closed (close_reason inactivity) by the hourly job.';
comment on column public.settings.presence_timeout is
  'An available operator with no heartbeat, message or status update for this long is set offline '
  'by the idle sweep, which releases its chats with idle_timeout.';
comment on column public.settings.continuity_window is
  'A waiting chat goes first to the operator who last let go of it (completed, operator_offline or '
  'chat_closed) when that operator asks within this long of the release; 0 switches continuity off.';
comment on column public.settings.max_wait is
  'A real user waiting longer than this for a reply is reported once per wait on the admin topic '
  '(wait_alert) and counted in the dashboard''s waiting_over_max.';
comment on column public.settings.avatar_url_prefix is
  'Where every avatar_url written must start (an https URL, for example a bucket''s public path). '
  'Null means the project''s own Storage public path, <Vault project_url>/storage/v1/object/public/; '
  'with neither known, every avatar is refused.';

insert into public.settings (id) values (true);

-- Refuses a settings row whose timezone Postgres does not know (invalid_timezone, 23514), so pricing
-- never fails at message time. Trigger function only.
create function private.validate_settings()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not exists (select 1 from pg_catalog.pg_timezone_names z where z.name = new.timezone) then
    perform errors.raise_error('invalid_timezone',
      format('Unknown time zone %L.', new.timezone));
  end if;
  return new;
end;
$$;

revoke all on function private.validate_settings() from public, anon, authenticated, service_role;

create trigger validate_settings before insert or update on public.settings
  for each row execute function private.validate_settings();
create trigger set_updated_at before update on public.settings
  for each row execute function private.set_updated_at();

revoke all on table public.settings from anon, authenticated;
grant select on table public.settings to authenticated;
grant select, insert, update, delete on table public.settings to service_role;
grant update (base_price, free_messages, night_factor, night_starts, night_ends, early_factor, early_starts,
  early_ends, featured_factor, timezone, idle_timeout, inactivity_timeout, presence_timeout, avatar_url_prefix, continuity_window, max_wait) on public.settings to authenticated;
alter table public.settings enable row level security;

create policy "operators and admins read settings" on public.settings
  for select to authenticated
  using ((select api_private.is_operator()) or (select api_private.is_admin()));
create policy "admins update settings" on public.settings
  for update to authenticated
  using ((select api_private.is_admin()))
  with check ((select api_private.is_admin()));

-- Start of a calendar day in the business timezone (settings.timezone; Africa/Nairobi without a
-- settings row). Internal helper of the daily figures (operator stats, the admin dashboard).
create function private.day_start(p_date date)
returns timestamptz
language plpgsql
stable
set search_path = ''
as $$
declare
  v_tz text;
begin
  select s.timezone into v_tz from public.settings s;
  return p_date::timestamp at time zone coalesce(v_tz, 'Africa/Nairobi');
end;
$$;

revoke all on function private.day_start(date) from public, anon, authenticated, service_role;

-- Pricing ------------------------------------------------------------------------------------------

-- True when local time p_time falls in [p_start, p_end); a window whose end is not after its start
-- wraps midnight (20:00-02:00), an empty window (start = end) contains nothing. Internal helper.
create function private.time_in_window(p_time time, p_start time, p_end time)
returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  return case
           when p_start < p_end then p_time >= p_start and p_time < p_end
           when p_start > p_end then p_time >= p_start or p_time < p_end
           else false
         end;
end;
$$;

-- The price in credits of a real-user message under the given settings row: 0 for the first
-- free_messages, else ceil(base_price x time-of-day factor x featured factor), at least 1. Reads
-- nothing, so the message trigger, which has the settings row from its first query, prices without
-- reading it again. Internal helper.
create function private.price_under(
  p_settings public.settings,
  p_prior_real_messages integer,
  p_at timestamptz,
  p_is_featured boolean
)
returns integer
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_local time;
begin
  if p_prior_real_messages < p_settings.free_messages then
    return 0;
  end if;
  v_local := (p_at at time zone p_settings.timezone)::time;
  return greatest(1, ceil(
           p_settings.base_price
           * case
               when private.time_in_window(v_local, p_settings.night_starts, p_settings.night_ends)
                 then p_settings.night_factor
               when private.time_in_window(v_local, p_settings.early_starts, p_settings.early_ends)
                 then p_settings.early_factor
               else 1
             end
           * case when p_is_featured then p_settings.featured_factor else 1 end
         ))::integer;
end;
$$;

-- The price in credits of a real-user message, given how many real-user messages the chat already
-- has, when it is sent and whether the profile is featured, under the current settings row; null
-- without one. Deterministic for a given settings row, so tests freeze time by passing p_at.
-- Internal helper of message_price.
create function private.message_price(p_prior_real_messages integer, p_at timestamptz, p_is_featured boolean)
returns integer
language plpgsql
stable
set search_path = ''
as $$
declare
  v_settings public.settings;
begin
  select * into v_settings from public.settings s where s.id;
  if not found then
    return null;
  end if;
  return private.price_under(v_settings, p_prior_real_messages, p_at, p_is_featured);
end;
$$;

-- How many real-user messages the chat already has, as far as pricing cares:
-- chats.real_message_count up to settings.free_messages; 0 for an unknown chat. Internal helper of
-- message_price.
create function private.prior_real_messages(p_chat_id uuid)
returns integer
language plpgsql
stable
set search_path = ''
as $$
declare
  v_count integer;
begin
  select least(c.real_message_count, s.free_messages) into v_count
    from public.chats c, public.settings s
   where c.id = p_chat_id and s.id;
  return coalesce(v_count, 0);
end;
$$;

revoke all on function private.time_in_window(time, time, time), private.price_under(public.settings, integer, timestamptz, boolean), private.message_price(integer, timestamptz, boolean), private.prior_real_messages(uuid) from public, anon, authenticated, service_role;

-- What the next real-user message in the chat would cost at p_at (default now()), for showing the
-- price before sending. Callers: the chat's real user, admins and service_role; anyone else (or an
-- unknown chat) PT404 chat_not_found.
create function api_private.message_price(p_chat_id uuid, p_at timestamptz default now())
returns integer
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_real_user_id uuid;
  v_is_featured boolean;
  v_prior integer;
begin
  select c.real_user_id, f.is_featured into v_real_user_id, v_is_featured
    from public.chats c
    join public.fictional_users f on f.id = c.fictional_user_id
   where c.id = p_chat_id;
  if not found
     or not (v_real_user_id = auth.uid() or private.is_trusted_caller() or api_private.is_admin()) then
    perform errors.raise_error('chat_not_found', 'No such chat for this caller.');
  end if;
  v_prior := private.prior_real_messages(p_chat_id);
  return private.message_price(v_prior, coalesce(p_at, now()), v_is_featured);
end;
$$;

-- What the next real-user message in a chat would cost. See api_private.message_price.
create function public.message_price(p_chat_id uuid, p_at timestamptz default now())
returns integer
language sql
stable
security invoker
set search_path = ''
as $$
  select api_private.message_price(p_chat_id, p_at);
$$;

revoke all on function api_private.message_price(uuid, timestamptz), public.message_price(uuid, timestamptz) from public, anon, authenticated, service_role;
grant execute on function api_private.message_price(uuid, timestamptz), public.message_price(uuid, timestamptz) to authenticated, service_role;
