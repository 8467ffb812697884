// POST /idle-sweeper: called every minute by pg_cron (010_cron_schedules.sql) with the sweeper's
// secret key from Vault (or the legacy service-role key); anything else is 401. Releases every idle assignment through
// public.sweep_idle_chats() (007), which takes chats FOR UPDATE SKIP LOCKED so that overlapping
// sweeps never release a chat twice, and answers {"released", "flagged", "duration_ms"}.
//
// The check is an exact (constant-time) comparison with every configured secret key
// (_shared/auth.ts), so the function runs with verify_jwt = false and accepts only the scheduler.
import { z } from "zod";
import { createSecretKeyAuth } from "../_shared/auth.ts";
import {
  allServiceKeys,
  projectEnv,
  requireKeys,
  secretKeyEnv,
} from "../_shared/env.ts";
import { methodNotAllowed } from "../_shared/errors.ts";
import { createFunctionApp } from "../_shared/http.ts";
import { callRpc, createServiceClient, type Db } from "../_shared/supabase.ts";

/** What the sweeper reads from its environment: the project and its secret keys. */
export const envSchema = z.object({ ...projectEnv, ...secretKeyEnv })
  .superRefine(requireKeys("secret"));
export type SweeperEnv = z.infer<typeof envSchema>;

export type SweeperDeps = { service?: Db };

const sweepResult = z.object({
  released: z.number().int().nonnegative(),
  flagged: z.number().int().nonnegative(),
});

export function createApp(env: SweeperEnv, deps: SweeperDeps = {}) {
  const service = deps.service ?? createServiceClient(env);
  const auth = createSecretKeyAuth(allServiceKeys(env));
  const app = createFunctionApp("idle-sweeper", { cors: true });

  app.post("/", async (c) => {
    await auth.requireSecretKey(c);
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
