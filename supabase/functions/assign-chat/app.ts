// assign-chat: the operator console's queue actions. The operator's own token is passed through
// to PostgREST, so the SQL functions (004, 007) see the operator and refuse anyone else.
//
//   POST /assign-chat            {}                  -> {"chat": <get_chat_with_details> | null}
//   POST /assign-chat/release    {chat_id, reason}   -> {"released": true, "chat_id": ...}
//   POST /assign-chat/heartbeat  {chat_id}           -> {"chat_id": ..., "last_activity_at": ...}
//
// Refusals come from SQL: 403 not_operator, 409 operator_unavailable / at_capacity,
// 404 chat_not_held, 403 forbidden (a release reason the caller may not use).
import { z } from "zod";
import { createUserAuth } from "../_shared/auth.ts";
import {
  projectEnv,
  publishableKeyEnv,
  requireKeys,
  userTokenEnv,
} from "../_shared/env.ts";
import { methodNotAllowed } from "../_shared/errors.ts";
import { createFunctionApp, readJson } from "../_shared/http.ts";
import {
  callRpc,
  type Clients,
  createUserClients,
} from "../_shared/supabase.ts";

/** What assign-chat reads from its environment (section 8): a user-facing function. */
export const envSchema = z.object({
  ...projectEnv,
  ...publishableKeyEnv,
  ...userTokenEnv,
}).superRefine(requireKeys("publishable"));
export type AssignEnv = z.infer<typeof envSchema>;

export type AssignDeps = { clients?: Pick<Clients, "forUser"> };

const assignRequest = z.object({}).strict();
const releaseRequest = z.object({
  chat_id: z.uuid(),
  reason: z.enum(["completed", "operator_offline", "idle_timeout", "admin"]),
});
const heartbeatRequest = z.object({ chat_id: z.uuid() });

const chatDetails = z.looseObject({ id: z.string() });

export function createApp(env: AssignEnv, deps: AssignDeps = {}) {
  const clients = deps.clients ?? { forUser: createUserClients(env) };
  const auth = createUserAuth(env);
  const app = createFunctionApp("assign-chat", { cors: true });

  app.post("/", async (c) => {
    const caller = await auth.requireUser(c);
    await readJson(c, assignRequest, { emptyIsObject: true });
    const db = clients.forUser(caller.token);
    const chatId = await callRpc(db, "assign_chat_to_operator", {
      p_operator_id: caller.userId,
    }, z.string().nullable());
    if (chatId === null) return c.json({ chat: null });
    const chat = await callRpc(db, "get_chat_with_details", {
      p_chat_id: chatId,
    }, chatDetails);
    return c.json({ chat });
  });

  app.post("/release", async (c) => {
    const caller = await auth.requireUser(c);
    const { chat_id, reason } = await readJson(c, releaseRequest);
    await callRpc(
      clients.forUser(caller.token),
      "release_and_reassign_chat",
      { p_chat_id: chat_id, p_reason: reason },
      z.boolean(),
    );
    return c.json({ released: true, chat_id });
  });

  app.post("/heartbeat", async (c) => {
    const caller = await auth.requireUser(c);
    const { chat_id } = await readJson(c, heartbeatRequest);
    const at = await callRpc(
      clients.forUser(caller.token),
      "operator_heartbeat",
      { p_chat_id: chat_id },
      z.string(),
    );
    return c.json({ chat_id, last_activity_at: at });
  });

  for (const path of ["/", "/release", "/heartbeat"]) {
    app.all(path, (c) => methodNotAllowed(c, "POST"));
  }
  return app;
}
