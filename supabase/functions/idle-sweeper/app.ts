// POST /idle-sweeper: called every minute by pg_cron (the `idle-sweeper` job) with the sweeper's
// secret key from Vault (or the legacy service-role key); anything else is 401. Releases every
// idle assignment through public.sweep_idle_chats(), which takes chats FOR UPDATE SKIP LOCKED so that overlapping
// sweeps never release a chat twice, and answers {"released", "flagged", "duration_ms"}.
//
// The check is an exact (constant-time) comparison with every configured secret key
// (_shared/auth.ts), so the function runs with verify_jwt = false and accepts only the scheduler.
import { z } from "zod";
import { createSecretKeyAuth } from "../_shared/auth.ts";
import { createDb, type Db } from "../_shared/db/mod.ts";
import {
  allServiceKeys,
  projectEnv,
  requireKeys,
  secretKeyEnv,
} from "../_shared/env.ts";
import { createFunctionApp, post, postRoute } from "../_shared/http.ts";
import { security } from "../_shared/openapi.ts";

/** What the sweeper reads from its environment: the project and its secret keys. */
export const envSchema = z.object({ ...projectEnv, ...secretKeyEnv })
  .superRefine(requireKeys("secret"));
export type SweeperEnv = z.infer<typeof envSchema>;

export type SweeperDeps = { db?: Db };

const sweepResult = z.object({
  released: z.number().int().nonnegative(),
  flagged: z.number().int().nonnegative(),
});

export const sweepResponse = z.object({
  released: z.number().int().nonnegative(),
  flagged: z.number().int().nonnegative(),
  duration_ms: z.number().int().nonnegative(),
});

/** The route, as the OpenAPI document declares it. */
export const routes = {
  sweep: postRoute({
    path: "/",
    summary: "Release every idle assignment",
    description:
      "Called every minute by pg_cron with the sweeper's secret key; the body is ignored.",
    security: security.secretKey,
    response: sweepResponse,
    errors: { 401: ["unauthorized"] },
  }),
};

export function createApp(env: SweeperEnv, deps: SweeperDeps = {}) {
  const db = deps.db ?? createDb(env);
  const auth = createSecretKeyAuth(allServiceKeys(env));
  const app = createFunctionApp("idle-sweeper", {
    cors: true,
    description: "Releases idle chat assignments; called by pg_cron.",
  });

  post(app, routes.sweep, async (c) => {
    await auth.requireSecretKey(c);
    const started = performance.now();
    const { released, flagged } = await db.service.rpc(
      "sweep_idle_chats",
      {},
      sweepResult,
    );
    return c.json(
      {
        released,
        flagged,
        duration_ms: Math.round(performance.now() - started),
      } satisfies z.infer<typeof sweepResponse>,
    );
  });

  return app;
}
