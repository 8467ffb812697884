// assign-chat: the operator console's queue actions. The SQL functions (public.assign_next_chat,
// release_and_reassign_chat, operator_heartbeat) run as the operator (its verified claims), so
// they see the operator and refuse anyone else: over a direct Postgres connection when one is
// configured (its envSchema declares databaseEnv: _shared/db/mod.ts), else through the Data API
// with the operator's own token.
//
//   POST /assign-chat            {}                  -> {"chat": <get_chat_with_details> | null}
//                                                       (assign_next_chat: one RPC, one transaction)
//   POST /assign-chat/release    {chat_id, reason}   -> {"released": true, "chat_id": ...}
//   POST /assign-chat/heartbeat  {chat_id}           -> {"chat_id": ..., "last_activity_at": ...}
//
// Refusals come from SQL: 403 not_operator, 409 operator_unavailable / at_capacity,
// 404 chat_not_held, 403 forbidden (a release reason the caller may not use).
import { z } from "zod";
import { createUserAuth } from "../_shared/auth.ts";
import { createDb, databaseEnv, type Db } from "../_shared/db/mod.ts";
import {
  projectEnv,
  publishableKeyEnv,
  requireKeys,
  userTokenEnv,
} from "../_shared/env.ts";
import { createFunctionApp, post, postRoute } from "../_shared/http.ts";
import { errors, jsonBodyErrors, security } from "../_shared/openapi.ts";

/** What assign-chat reads from its environment (section 8): a user-facing function. */
export const envSchema = z.object({
  ...projectEnv,
  ...publishableKeyEnv,
  ...userTokenEnv,
  ...databaseEnv,
}).superRefine(requireKeys("publishable"));
export type AssignEnv = z.infer<typeof envSchema>;

export type AssignDeps = { db?: Db };

export const assignRequest = z.object({}).strict();
export const releaseRequest = z.object({
  chat_id: z.uuid(),
  reason: z.enum(["completed", "operator_offline", "idle_timeout", "admin"])
    .describe(
      "completed or operator_offline for a chat the caller holds; idle_timeout only for the " +
        "sweep (service role), admin only for an admin.",
    ),
});
export const heartbeatRequest = z.object({ chat_id: z.uuid() });

/** get_chat_with_details: the chat's fields, real_user, fictional_user and the newest messages. */
const chatDetails = z.looseObject({ id: z.string() }).describe(
  "get_chat_with_details(chat_id): the chat's own fields (id, status, queued_at, " +
    "last_message_at, message_count, reassignment_count, flagged_for_review), real_user, " +
    "fictional_user and messages (the newest 50, oldest first).",
);
export const assignResponse = z.object({ chat: chatDetails.nullable() });
export const releaseResponse = z.object({
  released: z.literal(true),
  chat_id: z.uuid(),
});
export const heartbeatResponse = z.object({
  chat_id: z.uuid(),
  last_activity_at: z.string().describe("When the assignment was last active."),
});

const operatorErrors = {
  401: ["unauthorized"],
  403: ["not_operator", "forbidden"],
} as const;

/** The routes, as the OpenAPI document declares them. */
export const routes = {
  assign: postRoute({
    path: "/",
    summary: "Take the next waiting chat in one of the operator's languages",
    description:
      "Assigns the calling operator a waiting chat in one of its languages: the one it let go of " +
      "within settings.continuity_window, else the oldest. `{}` or an empty body. " +
      'Answers `{"chat": null}` when nothing it writes waits.',
    security: security.user,
    body: assignRequest,
    bodyRequired: false,
    response: assignResponse,
    errors: errors(jsonBodyErrors, operatorErrors, {
      409: ["operator_unavailable", "at_capacity"],
    }),
  }),
  release: postRoute({
    path: "/release",
    summary: "Release a chat the caller holds",
    description: "Releases the chat and puts it back in the queue.",
    security: security.user,
    body: releaseRequest,
    response: releaseResponse,
    errors: errors(jsonBodyErrors, operatorErrors, {
      404: ["chat_not_held"],
    }),
  }),
  heartbeat: postRoute({
    path: "/heartbeat",
    summary: "Refresh the activity of a held chat",
    description: "Keeps the idle sweeper from releasing the chat.",
    security: security.user,
    body: heartbeatRequest,
    response: heartbeatResponse,
    errors: errors(jsonBodyErrors, operatorErrors, {
      404: ["chat_not_held"],
    }),
  }),
};

export function createApp(env: AssignEnv, deps: AssignDeps = {}) {
  const db = deps.db ?? createDb(env);
  const auth = createUserAuth(env);
  const app = createFunctionApp("assign-chat", {
    cors: true,
    description: "The operator console's queue actions.",
  });

  post(app, routes.assign, async (c, body) => {
    const caller = await auth.requireUser(c);
    await body.json();
    // One RPC, one transaction: the assignment and its details commit or fail together.
    const answer = await db.forUser(caller).rpc(
      "assign_next_chat",
      {},
      assignResponse,
    );
    return c.json(answer satisfies z.infer<typeof assignResponse>);
  });

  post(app, routes.release, async (c, body) => {
    const caller = await auth.requireUser(c);
    const { chat_id, reason } = await body.json();
    await db.forUser(caller).rpc(
      "release_and_reassign_chat",
      { p_chat_id: chat_id, p_reason: reason },
      z.boolean(),
    );
    return c.json(
      { released: true, chat_id } satisfies z.infer<typeof releaseResponse>,
    );
  });

  post(app, routes.heartbeat, async (c, body) => {
    const caller = await auth.requireUser(c);
    const { chat_id } = await body.json();
    const at = await db.forUser(caller).rpc(
      "operator_heartbeat",
      { p_chat_id: chat_id },
      z.string(),
    );
    return c.json(
      { chat_id, last_activity_at: at } satisfies z.infer<
        typeof heartbeatResponse
      >,
    );
  });

  return app;
}
