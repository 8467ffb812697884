// POST /idle-sweeper: called every minute by pg_cron (011_cron_schedules.sql) with the sweeper's
// secret key from Vault (or the legacy service-role key); anything else is 401. Releases every idle assignment through
// public.sweep_idle_chats() (008), which takes chats FOR UPDATE SKIP LOCKED so that overlapping
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
import { documentRoute, postRoute, security } from "../_shared/openapi.ts";
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
  const service = deps.service ?? createServiceClient(env);
  const auth = createSecretKeyAuth(allServiceKeys(env));
  const app = createFunctionApp("idle-sweeper", {
    cors: true,
    description: "Releases idle chat assignments; called by pg_cron.",
  });
  for (const route of Object.values(routes)) documentRoute(app, route);

  app.post("/", async (c) => {
    await auth.requireSecretKey(c);
    const started = performance.now();
    const { released, flagged } = await callRpc(
      service,
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

  app.all("/", (c) => methodNotAllowed(c, "POST"));
  return app;
}
