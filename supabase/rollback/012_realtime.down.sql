-- Undoes 012_realtime.sql: takes chats and messages out of the supabase_realtime publication.
--
-- The publication itself stays: Supabase creates it in every project (the local bootstrap does
-- too), so it is the platform's, not this migration's.

begin;

do $$
begin
  if exists (select 1 from pg_catalog.pg_publication_tables
              where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'messages') then
    alter publication supabase_realtime drop table public.messages;
  end if;
  if exists (select 1 from pg_catalog.pg_publication_tables
              where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'chats') then
    alter publication supabase_realtime drop table public.chats;
  end if;
end
$$;

commit;
