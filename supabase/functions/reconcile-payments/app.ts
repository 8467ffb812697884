// POST /reconcile-payments: called every 5 minutes by pg_cron (the `reconcile-payments` job) with
// its secret key from Vault (`reconcile_key`; or the legacy service-role key); anything else is
// 401. Settles what no webhook settled (SPEC 16): each transaction pending for more than 10
// minutes, oldest first, at most 100 per call (public.payments_to_reconcile), is looked up with
// Paystack's transaction/verify and handed to public.settle_payment, which credits it through the
// webhook's own SQL (apply_paystack_event: exactly once, whoever comes first) or marks it failed
// (failed, abandoned or reversed at Paystack, unknown to Paystack, or pending for 24 hours). The run
// is recorded (public.record_reconciliation_run, which also reports a failing streak to admins) and
// answered {"run_id", "checked", "credited", "failed", "pending", "errors", "alerted", "duration_ms"}.
//
// Paystack failing for one transaction leaves it pending for the next run and is recorded as an
// error; after 3 failures in a row, or one timeout or unreachable Paystack, the run stops asking
// (the rest wait for the next run), so a Paystack outage costs seconds, not 100 timeouts.
import { z } from "zod";
import { createSecretKeyAuth } from "../_shared/auth.ts";
import { createDb, type Db } from "../_shared/db/mod.ts";
import {
  allServiceKeys,
  paystackApiEnv,
  paystackSecretEnv,
  projectEnv,
  requireKeys,
  secretKeyEnv,
} from "../_shared/env.ts";
import { ApiError } from "../_shared/errors.ts";
import { createFunctionApp, post, postRoute } from "../_shared/http.ts";
import { security } from "../_shared/openapi.ts";
import {
  createPaystackClient,
  type PaystackClient,
} from "../_shared/paystack/client.ts";
import { asJson, transactionReference } from "../_shared/paystack/payments.ts";

/** What the reconciliation reads from its environment: the project, its secret keys, Paystack. */
export const envSchema = z.object({
  ...projectEnv,
  ...secretKeyEnv,
  ...paystackSecretEnv,
  ...paystackApiEnv,
}).superRefine(requireKeys("secret"));
export type ReconcileEnv = z.infer<typeof envSchema>;

export type ReconcileDeps = { db?: Db; paystack?: PaystackClient };

/** How many Paystack calls are under way at once. */
const CONCURRENCY = 4;
/** Failures in a row after which the run stops asking Paystack. */
const MAX_FAILURES_IN_A_ROW = 3;
/** Failures that mean Paystack is not answering at all: the run stops at the first. */
const OUTAGE = new Set(["paystack_timeout", "paystack_unreachable"]);

const settled = z.object({
  reference: z.string(),
  outcome: z.string(),
  status: z.string().nullable(),
  credits_granted: z.number().int(),
});
const recorded = z.object({
  run_id: z.number().int(),
  errors: z.number().int(),
  alerted: z.boolean(),
});

export const reconcileResponse = z.object({
  run_id: z.number().int().describe(
    "The run's row in payment_reconciliation_runs.",
  ),
  checked: z.number().int().nonnegative().describe(
    "Pending transactions Paystack answered about.",
  ),
  credited: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative().describe(
    "Transactions marked failed.",
  ),
  pending: z.number().int().nonnegative().describe(
    "Transactions Paystack still processes, left for a later run.",
  ),
  errors: z.number().int().nonnegative().describe(
    "Transactions (or the run) that could not be settled: they stay pending for the next run.",
  ),
  alerted: z.boolean().describe(
    "Whether this run reported a failing streak on the admin Realtime topic.",
  ),
  duration_ms: z.number().int().nonnegative(),
});

/** The route, as the OpenAPI document declares it. */
export const routes = {
  reconcile: postRoute({
    path: "/",
    summary: "Settle the payments no webhook settled",
    description:
      "Called every 5 minutes by pg_cron with its secret key; the body is ignored. Verifies with " +
      "Paystack each transaction pending for more than 10 minutes (oldest first, at most 100) and " +
      "credits or fails it through the webhook's SQL; the run is recorded in " +
      "payment_reconciliation_runs. Paystack failing is recorded as errors, not answered 502.",
    security: security.secretKey,
    response: reconcileResponse,
    errors: { 401: ["unauthorized"] },
  }),
};

type RunError = { reference?: string; code: string; message: string };

export function createApp(env: ReconcileEnv, deps: ReconcileDeps = {}) {
  const db = deps.db ?? createDb(env);
  const paystack = deps.paystack ?? createPaystackClient({
    baseUrl: env.PAYSTACK_API_URL,
    secretKey: env.PAYSTACK_SECRET_KEY,
    timeoutMs: env.PAYSTACK_TIMEOUT_MS,
  });
  const auth = createSecretKeyAuth(allServiceKeys(env));
  const app = createFunctionApp("reconcile-payments", {
    cors: true,
    description:
      "Settles payments that no webhook settled; called by pg_cron every 5 minutes.",
  });

  post(app, routes.reconcile, async (c) => {
    await auth.requireSecretKey(c);
    const startedAt = new Date();
    const started = performance.now();
    const queue = await db.service.rpc(
      "payments_to_reconcile",
      { p_limit: 100 },
      z.array(transactionReference),
    );

    const tally = { checked: 0, credited: 0, failed: 0, pending: 0 };
    const errors: RunError[] = [];
    let failuresInARow = 0;
    let stopped: string | null = null;

    /** One transaction: ask Paystack, then settle. Never throws. */
    async function reconcile(reference: string) {
      try {
        const paid = await paystack.find(reference);
        if (paid && paid.reference !== reference) {
          throw new ApiError(
            502,
            "paystack_bad_response",
            "Paystack answered for another transaction.",
          );
        }
        const result = await db.service.rpc("settle_payment", {
          p_reference: reference,
          p_transaction: paid ? asJson(paid) : null,
        }, settled);
        failuresInARow = 0;
        tally.checked++;
        if (result.outcome === "credited") tally.credited++;
        else if (result.outcome === "failed") tally.failed++;
        else if (result.outcome === "pending") tally.pending++;
      } catch (err) {
        failuresInARow++;
        const code = err instanceof ApiError ? err.code : "internal_error";
        errors.push({
          reference,
          code,
          message: err instanceof ApiError
            ? err.message
            : "The transaction could not be settled (see the function's log).",
        });
        if (!(err instanceof ApiError)) {
          console.error(JSON.stringify({
            level: "error",
            fn: "reconcile-payments",
            reference,
            message: err instanceof Error ? err.message : String(err),
          }));
        }
        if (OUTAGE.has(code) || failuresInARow >= MAX_FAILURES_IN_A_ROW) {
          stopped ??= code;
        }
      }
    }

    let next = 0;
    const worker = async () => {
      while (stopped === null && next < queue.length) {
        await reconcile(queue[next++]);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const left = queue.length - next;
    if (stopped !== null && left > 0) {
      errors.push({
        code: "run_stopped",
        message:
          `Paystack kept failing (${stopped}): ${left} transaction(s) left for the next run.`,
      });
    }

    const run = await db.service.rpc("record_reconciliation_run", {
      p_started_at: startedAt.toISOString(),
      p_checked: tally.checked,
      p_credited: tally.credited,
      p_failed: tally.failed,
      p_errors: asJson(errors),
    }, recorded);
    return c.json(
      {
        run_id: run.run_id,
        ...tally,
        errors: run.errors,
        alerted: run.alerted,
        duration_ms: Math.round(performance.now() - started),
      } satisfies z.infer<typeof reconcileResponse>,
    );
  });

  return app;
}
