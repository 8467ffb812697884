// POST /paystack-webhook: Paystack's event notifications (verify_jwt = false; Paystack signs).
//
// Optional source check first: with PAYSTACK_WEBHOOK_ALLOWED_IPS set, a request from any other
// address is answered 403 forbidden_source before its body is read (source-ip.ts). Then, always:
// raw body once (413 above 64 KiB) -> x-paystack-signature checked on those bytes (401) -> JSON
// parsed (400 malformed_json) and validated (400 invalid_event) -> one SQL call that records the
// event and applies it exactly once (009_payments.sql). Every correctly signed, well-formed event
// is answered 200, whatever its outcome (duplicate, unknown reference, mismatch, ignored), so
// Paystack stops retrying; a database failure is a 500, so Paystack retries later.
import { z } from "zod";
import {
  paystackSecretEnv,
  projectEnv,
  requireKeys,
  secretKeyEnv,
  webhookSourceEnv,
} from "../_shared/env.ts";
import { ApiError, methodNotAllowed } from "../_shared/errors.ts";
import { createFunctionApp, parseJson, readRaw } from "../_shared/http.ts";
import { applyEventResult } from "../_shared/payments.ts";
import { verifyPaystackSignature } from "../_shared/signature.ts";
import { checkSource } from "../_shared/source-ip.ts";
import { callRpc, createServiceClient, type Db } from "../_shared/supabase.ts";

import {
  MAX_WEBHOOK_BYTES,
  parsePaystackEvent,
} from "../_shared/webhook-event.ts";

/** What the webhook reads from its environment: no user keys, only Paystack's signature secret. */
export const envSchema = z.object({
  ...projectEnv,
  ...secretKeyEnv,
  ...paystackSecretEnv,
  ...webhookSourceEnv,
}).superRefine(requireKeys("secret"));
export type WebhookEnv = z.infer<typeof envSchema>;

export type WebhookDeps = { service?: Db };

export function createApp(env: WebhookEnv, deps: WebhookDeps = {}) {
  const service = deps.service ?? createServiceClient(env);
  const app = createFunctionApp("paystack-webhook", { cors: false });

  const allowedSources = env.PAYSTACK_WEBHOOK_ALLOWED_IPS;
  if (allowedSources) {
    const allowed = new Set(allowedSources);
    app.use("*", async (c, next) => {
      const source = checkSource(c.req.raw.headers, allowed);
      if (!source.allowed) {
        console.warn(JSON.stringify({
          level: "warn",
          fn: "paystack-webhook",
          refused: "forbidden_source",
          reason: source.reason,
          // What each header said (cut short: the caller wrote some of it).
          claims: source.claims.map((claim) => ({
            ...claim,
            value: claim.value.slice(0, 200),
          })),
        }));
        throw new ApiError(
          403,
          "forbidden_source",
          "Calls from this source are not accepted here.",
        );
      }
      await next();
    });
  }

  app.post("/", async (c) => {
    const raw = await readRaw(c.req.raw, MAX_WEBHOOK_BYTES);
    const signature = c.req.header("x-paystack-signature");
    if (!signature) {
      throw new ApiError(
        401,
        "missing_signature",
        "The x-paystack-signature header is missing.",
      );
    }
    if (
      !(await verifyPaystackSignature(env.PAYSTACK_SECRET_KEY, raw, signature))
    ) {
      throw new ApiError(
        401,
        "invalid_signature",
        "The x-paystack-signature does not match the body.",
      );
    }

    const body = parseJson(raw);
    const parsed = parsePaystackEvent(body);
    if (!parsed.ok) {
      throw new ApiError(
        400,
        "invalid_event",
        `The event is not valid: ${parsed.problem}.`,
      );
    }

    const result = await callRpc(service, "apply_paystack_event", {
      p_event: parsed.value.event,
      p_payload: body,
      p_reference: parsed.value.reference ?? undefined,
      p_source: "webhook",
    }, applyEventResult);
    return c.json({ received: true, outcome: result.outcome });
  });

  app.all("/", (c) => methodNotAllowed(c, "POST"));
  return app;
}
