-- Undoes 006_settings_and_pricing.sql: drops the pricing functions and public.settings (its single
-- row, triggers, policies and grants go with it).

begin;

drop function public.message_price(uuid, timestamptz);
drop function private.prior_real_messages(uuid);
drop function private.message_price(integer, timestamptz, boolean);
drop function private.time_in_window(time, time, time);

drop table public.settings;
drop function private.validate_settings();

commit;
