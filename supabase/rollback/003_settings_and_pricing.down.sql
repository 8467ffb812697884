-- Undoes 003_settings_and_pricing.sql: drops message_price, the pricing helpers, private.day_start
-- and the settings table (with its row, triggers and policies).

begin;

drop function public.message_price(uuid, timestamptz);
drop function api_private.message_price(uuid, timestamptz);
drop function private.prior_real_messages(uuid);
drop function private.message_price(integer, timestamptz, boolean);
drop function private.price_under(public.settings, integer, timestamptz, boolean);
drop function private.time_in_window(time, time, time);
drop function private.day_start(date);
drop table public.settings;
drop function private.validate_settings();

commit;
