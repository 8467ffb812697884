-- Undoes 005_error_catalogue.sql: drops errors.raise_error, the catalogue (with its rows) and the
-- errors schema. Functions of 001, 003 and 004 that call errors.raise_error keep existing (PL/pgSQL
-- resolves the call when it runs) and would raise "function does not exist" until 005 is applied
-- again.

begin;

drop function errors.raise_error(text, text);
drop table errors.catalogue;
drop schema errors;

commit;
