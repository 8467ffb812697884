-- Fantooo: the settings row and message pricing (docs/data-api.md and docs/rules.md).
--
-- public.settings is a single row (id = true) holding the pricing rules, the business timezone and
-- the chat timeouts. Database functions read it; operators and admins may read it through the Data
-- API (real users get prices through public.message_price, never the operator-side timeouts); only
-- admins may update it. It cannot be inserted or deleted through the API. (The cron jobs' target,
-- the project URL and their keys, lives in Vault: 011_cron_schedules.sql.)

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
  updated_at timestamptz not null default now()
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

insert into public.settings (id) values (true);

-- Refuses a settings row whose timezone Postgres does not know (22023), so pricing never fails at
-- message time. Trigger function only.
create or replace function private.validate_settings()
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

create trigger validate_settings before insert or update on public.settings
  for each row execute function private.validate_settings();
create trigger set_updated_at before update on public.settings
  for each row execute function private.set_updated_at();

alter table public.settings enable row level security;

revoke all on table public.settings from anon, authenticated;
grant select on table public.settings to authenticated;
grant select, insert, update, delete on table public.settings to service_role;
grant update (base_price, free_messages, night_factor, night_starts, night_ends, early_factor, early_starts,
              early_ends, featured_factor, timezone, idle_timeout, inactivity_timeout)
  on table public.settings to authenticated;

create policy "operators and admins read settings" on public.settings
  for select to authenticated
  using ((select public.is_operator()) or (select public.is_admin()));
create policy "admins update settings" on public.settings
  for update to authenticated
  using ((select public.is_admin()))
  with check ((select public.is_admin()));

-- Pricing -----------------------------------------------------------------------------------------------

-- True when local time p_time falls in [p_start, p_end); a window whose end is not after its start
-- wraps midnight (20:00-02:00), an empty window (start = end) contains nothing. Internal helper.
create or replace function private.time_in_window(p_time time, p_start time, p_end time)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select case
           when p_start < p_end then p_time >= p_start and p_time < p_end
           when p_start > p_end then p_time >= p_start or p_time < p_end
           else false
         end;
$$;

-- The price in credits of a real-user message, given how many real-user messages the chat already
-- has, when it is sent and whether the profile is featured: 0 for the first settings.free_messages,
-- else ceil(base_price x time-of-day factor x featured factor), at least 1. Deterministic for a given
-- settings row, so tests freeze time by passing p_at. Used by the charging trigger (007) and
-- message_price; internal.
create or replace function private.message_price(p_prior_real_messages integer, p_at timestamptz, p_is_featured boolean)
returns integer
language sql
stable
set search_path = ''
as $$
  select case
           when p_prior_real_messages < s.free_messages then 0
           else greatest(1, ceil(
                  s.base_price
                  * case
                      when private.time_in_window((p_at at time zone s.timezone)::time, s.night_starts, s.night_ends)
                        then s.night_factor
                      when private.time_in_window((p_at at time zone s.timezone)::time, s.early_starts, s.early_ends)
                        then s.early_factor
                      else 1
                    end
                  * case when p_is_featured then s.featured_factor else 1 end
                ))::integer
         end
    from public.settings s
   where s.id;
$$;

-- How many real-user messages the chat already has, as far as pricing cares: counted only up to
-- settings.free_messages, so that pricing a message costs the same in a chat of 5 messages or of
-- 5,000. Internal helper of message_price and the charging trigger (007).
create or replace function private.prior_real_messages(p_chat_id uuid)
returns integer
language sql
stable
set search_path = ''
as $$
  select count(*)::integer
    from (select 1
            from public.messages m
           where m.chat_id = p_chat_id and m.sender_type = 'real'
           -- the order of idx_messages_chat_created keeps the planner on that index: without it,
           -- a LIMIT tempts it into a sequential scan that, in a short chat, reads every message
           order by m.created_at
           limit (select s.free_messages from public.settings s)) as counted;
$$;

-- What the next real-user message in the chat would cost at p_at (default now()), for showing the
-- price before sending. Callers: the chat's real user, admins and service_role; anyone else (or an
-- unknown chat) PT404 chat_not_found.
create or replace function public.message_price(p_chat_id uuid, p_at timestamptz default now())
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
     or not (v_real_user_id = auth.uid() or private.is_trusted_caller() or public.is_admin()) then
    perform errors.raise_error('chat_not_found', 'No such chat for this caller.');
  end if;
  v_prior := private.prior_real_messages(p_chat_id);
  return private.message_price(v_prior, coalesce(p_at, now()), v_is_featured);
end;
$$;

revoke all on function
  private.prior_real_messages(uuid),
  private.validate_settings(),
  private.time_in_window(time, time, time),
  private.message_price(integer, timestamptz, boolean)
from public, anon, authenticated, service_role;

revoke execute on function public.message_price(uuid, timestamptz) from public, anon, authenticated, service_role;
grant execute on function public.message_price(uuid, timestamptz) to authenticated, service_role;
