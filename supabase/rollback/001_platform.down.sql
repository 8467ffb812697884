-- Undoes 001_platform.sql: drops the helpers every concern uses, errors.raise_error, the error
-- catalogue (with its rows) and the three schemas. What is left is the platform as the bootstrap
-- made it.

begin;

drop function private.is_trusted_caller();
drop function private.set_updated_at();
drop function errors.raise_error(text, text);
drop table errors.catalogue;
drop schema errors;
drop schema api_private;
drop schema private;

commit;
