-- Fantooo: Realtime (docs/rules.md). A frontend subscribes to new messages and chat state changes
-- with supabase-js (`channel(...).on('postgres_changes', ...)`); Supabase Realtime delivers a row
-- only to subscribers whose RLS policies let them read it, so a real user receives its own chats
-- and messages, an operator those of the chats it holds. Neither table has an operator column
-- (the holder is in chat_assignments, a fictional message's writer in message_authors), so nothing
-- a real user receives this way names an operator.
--
-- Supabase creates the supabase_realtime publication (empty) in every project; the local bootstrap
-- does the same, and a bare Postgres gets it here.

do $$
begin
  if not exists (select 1 from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
  if not exists (select 1 from pg_catalog.pg_publication_tables
                  where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'chats') then
    alter publication supabase_realtime add table public.chats;
  end if;
  if not exists (select 1 from pg_catalog.pg_publication_tables
                  where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'messages') then
    alter publication supabase_realtime add table public.messages;
  end if;
end
$$;
