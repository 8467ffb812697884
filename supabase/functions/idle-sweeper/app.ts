// POST /idle-sweeper: called every minute by pg_cron (010_cron_schedules.sql) with the
// service-role key; anything else is 401. Releases every idle assignment through
// public.sweep_idle_chats() (007), which takes chats FOR UPDATE SKIP LOCKED so that overlapping
// sweeps never release a chat twice, and answers {"released", "flagged", "duration_ms"}.
//
// The check is an exact (constant-time) comparison with SUPABASE_SERVICE_ROLE_KEY, so the function
// can run with verify_jwt = false and still accept only the scheduler.
import { z } from "zod";
import { bearerToken, isServiceRoleKey } from "../_shared/auth.ts";
import type { Env } from "../_shared/env.ts";
import { ApiError, methodNotAllowed } from "../_shared/errors.ts";
import { createFunctionApp } from "../_shared/http.ts";
import { callRpc, createClients, type Db } from "../_shared/supabase.ts";

export type SweeperDeps = { service?: Db };

const sweepResult = z.object({
  released: z.number().int().nonnegative(),
  flagged: z.number().int().nonnegative(),
});

export function createApp(env: Env, deps: SweeperDeps = {}) {
  const service = deps.service ?? createClients(env).service;
  const app = createFunctionApp("idle-sweeper", { cors: true });

  app.post("/", async (c) => {
    const token = bearerToken(c.req.header("authorization"));
    if (!isServiceRoleKey(env.SUPABASE_SERVICE_ROLE_KEY, token)) {
      throw new ApiError(
        401,
        "unauthorized",
        "Only the scheduler may run the idle sweep.",
      );
    }
    const started = performance.now();
    const { released, flagged } = await callRpc(
      service,
      "sweep_idle_chats",
      {},
      sweepResult,
    );
    return c.json({
      released,
      flagged,
      duration_ms: Math.round(performance.now() - started),
    });
  });

  app.all("/", (c) => methodNotAllowed(c, "POST"));
  return app;
}
