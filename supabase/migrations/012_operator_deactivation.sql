-- Deactivating an operator hands its chats back to the queue.
--
-- An inactive operator takes no new chat (assign_chat_to_operator) and may not write (the insert
-- policy on messages wants an active operator), so the chats it still held would stay 'assigned'
-- to someone who can no longer answer, and its console's heartbeats would keep the idle sweep away
-- from them. When is_active turns false, every chat the operator holds is released with reason
-- 'admin' (deactivation is an admin's act): back to 'waiting' in its old place when the real user
-- waits for an answer, else 'idle'. The operator's status becomes 'offline'.

-- Sets status 'offline' on the row being deactivated. Trigger function only.
create or replace function private.set_deactivated_operator_offline()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.status := 'offline';
  return new;
end;
$$;

-- Releases (reason 'admin') every chat held by the operator just deactivated. Chat rows are locked
-- in id order after the operator row (the order assign_chat_to_operator uses), as
-- private.release_chat requires. Trigger function only; runs as its owner so that the admin's
-- update can end assignments no API role may write.
create or replace function private.release_chats_of_deactivated_operator()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_chat_id uuid;
begin
  for v_chat_id in
    select c.id
      from public.chats c
      join public.chat_assignments a on a.chat_id = c.id and a.released_at is null
     where a.operator_id = new.id
     order by c.id
       for update of c
  loop
    perform private.release_chat(v_chat_id, 'admin');
  end loop;
  return null;
end;
$$;

revoke all on function private.set_deactivated_operator_offline(),
  private.release_chats_of_deactivated_operator()
  from public, anon, authenticated, service_role;

create trigger set_deactivated_operator_offline
  before update of is_active on public.operators
  for each row when (old.is_active and not new.is_active)
  execute function private.set_deactivated_operator_offline();

create trigger release_chats_of_deactivated_operator
  after update of is_active on public.operators
  for each row when (old.is_active and not new.is_active)
  execute function private.release_chats_of_deactivated_operator();
