-- admin_reassign_chat in the lock order every other writer of a chat uses (016's header: the
-- person's row, then the chat's, then its assignment and activity rows). 013 locked the chat and
-- then the operator, so an admin handing a chat to an operator while that operator answered or
-- heartbeated in it could deadlock (one of the two failing with 40P01). Same contract, refusals and
-- result as 013; the only difference a caller can see is that a chat that is neither waiting nor
-- answered-and-assigned is refused after an unknown operator rather than before it.

-- Gives a chat whose real user waits for an answer to p_operator_id (see 013): the current holder,
-- if any, is released with reason 'admin' and the chat is assigned to the operator. Returns
-- {"chat_id", "operator_id", "previous_operator_id", "flagged"}. Refusals, all before anything
-- changes: forbidden, PT404 chat_not_found / operator_not_found, PT409 chat_not_waiting, PT409
-- operator_unavailable, PT409 at_capacity. Callers: admins and service_role (through the wrapper).
create or replace function api_private.admin_reassign_chat(p_chat_id uuid, p_operator_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_chat public.chats%rowtype;
  v_holder uuid;
  v_operator public.operators%rowtype;
  v_held integer;
  v_flagged boolean := false;
  v_result jsonb;
begin
  perform private.require_admin();

  -- Lock order (016's header): the operator's row, then the chat's. The chat is looked up first,
  -- unlocked, only so that an unknown chat is still refused before an unknown operator.
  perform 1 from public.chats c where c.id = p_chat_id;
  if not found then
    perform errors.raise_error('chat_not_found', 'No chat has this id.');
  end if;
  select * into v_operator from public.operators o where o.id = p_operator_id for update;
  if not found then
    perform errors.raise_error('operator_not_found');
  end if;

  select * into v_chat from public.chats c where c.id = p_chat_id for update;
  if not found then
    perform errors.raise_error('chat_not_found', 'No chat has this id.');
  end if;
  select a.operator_id into v_holder
    from public.chat_assignments a
   where a.chat_id = p_chat_id and a.released_at is null;
  if v_chat.status not in ('waiting', 'assigned') or v_chat.queued_at is null then
    perform errors.raise_error('chat_not_waiting',
      format('The chat is %s%s; only a chat whose user waits for an answer is reassigned.',
             v_chat.status, case when v_chat.status = 'assigned' then ' and answered' else '' end));
  end if;

  if v_holder is distinct from p_operator_id then
    if not v_operator.is_active or v_operator.status <> 'available' then
      perform errors.raise_error('operator_unavailable',
        format('The operator is %s; only active, available operators take chats.',
               case when v_operator.is_active then v_operator.status else 'deactivated' end));
    end if;
    select count(*) into v_held
      from public.chat_assignments a
     where a.operator_id = p_operator_id and a.released_at is null;
    if v_held >= v_operator.max_concurrent_chats then
      perform errors.raise_error('at_capacity',
        format('The operator already holds %s of %s chats.', v_held, v_operator.max_concurrent_chats));
    end if;

    if v_holder is not null then
      v_flagged := coalesce(private.release_chat(p_chat_id, 'admin'), false);
    end if;
    perform private.assign_locked_chat(p_chat_id, p_operator_id);
  end if;

  v_result := jsonb_build_object(
    'chat_id', p_chat_id,
    'operator_id', p_operator_id,
    'previous_operator_id', v_holder,
    'flagged', v_flagged);
  perform private.record_admin_action('reassign_chat', 'chat', p_chat_id,
    v_result || jsonb_build_object('unchanged', v_holder is not distinct from p_operator_id));
  return v_result;
end;
$$;