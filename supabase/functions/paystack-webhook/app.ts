// POST /paystack-webhook: Paystack's event notifications (verify_jwt = false; Paystack signs).
//
// Optional source check first: with PAYSTACK_WEBHOOK_ALLOWED_IPS set, a request from any other
// address is answered 403 forbidden_source before its body is read (source-ip.ts). Then, always:
// raw body once (413 above 64 KiB) -> x-paystack-signature checked on those bytes (401) -> JSON
// parsed (400 malformed_json) -> the copy to store made (what jsonb cannot hold replaced, nesting cut:
// _shared/paystack/stored-event.ts) and validated (400 invalid_event) -> one SQL call that records
// the event and applies it exactly once (public.apply_paystack_event). Every correctly signed,
// well-formed event is answered 200, whatever its outcome (duplicate, unknown reference, mismatch, a
// Paystack id another transaction holds, a value the database cannot hold, ignored), so Paystack
// stops retrying; a database that is down is a 503 unavailable (other failures a 500), so Paystack
// retries later.
import { z } from "zod";
import { createDb, databaseEnv, type Db } from "../_shared/db/mod.ts";
import {
  blankAsUnset,
  paystackSecretEnv,
  projectEnv,
  requireKeys,
  secretKeyEnv,
} from "../_shared/env.ts";
import { ApiError } from "../_shared/errors.ts";
import {
  createFunctionApp,
  parseJson,
  post,
  postRoute,
} from "../_shared/http.ts";
import { security } from "../_shared/openapi.ts";
import { applyEventResult } from "../_shared/paystack/payments.ts";
import { verifyPaystackSignature } from "../_shared/paystack/signature.ts";
import { storableJson } from "../_shared/paystack/stored-event.ts";
import {
  MAX_WEBHOOK_BYTES,
  parsePaystackEvent,
  paystackEventEnvelope,
} from "../_shared/paystack/webhook-event.ts";
import { checkSource, parseAllowedSources } from "./source-ip.ts";

/** The webhook's own setting: where it accepts calls from. */
export const webhookSourceEnv = {
  // Optional: the source addresses the Paystack webhook accepts, checked before the signature
  // (source-ip.ts). Unset or empty: no source check. `paystack`: Paystack's documented webhook
  // addresses. Otherwise comma-separated IPv4/IPv6 addresses (`paystack` may be one entry).
  // Canonical addresses, or null when the check is off.
  PAYSTACK_WEBHOOK_ALLOWED_IPS: z.preprocess(
    blankAsUnset,
    z.string({ error: "must be a string" }).optional().transform(
      (value, ctx): string[] | null => {
        if (value === undefined) return null;
        const parsed = parseAllowedSources(value);
        if (parsed.ok) return parsed.addresses;
        ctx.addIssue({ code: "custom", message: parsed.problem });
        return z.NEVER;
      },
    ),
  ),
};

/** What the webhook reads from its environment: no user keys, only Paystack's signature secret. */
export const envSchema = z.object({
  ...projectEnv,
  ...secretKeyEnv,
  ...paystackSecretEnv,
  ...webhookSourceEnv,
  ...databaseEnv,
}).superRefine(requireKeys("secret"));
export type WebhookEnv = z.infer<typeof envSchema>;

export type WebhookDeps = { db?: Db };

export const webhookResponse = z.object({
  received: z.literal(true),
  outcome: applyEventResult.shape.outcome,
});

/** The route, as the OpenAPI document declares it. */
export const routes = {
  event: postRoute({
    path: "/",
    maxBytes: MAX_WEBHOOK_BYTES,
    summary: "Receive a Paystack event",
    description:
      "Paystack's webhook. The signature is checked on the raw bytes before anything is " +
      "parsed; every correctly signed, well-formed event is answered 200 whatever its outcome " +
      "(so Paystack stops retrying), including one whose Paystack id another transaction holds " +
      "(paystack_id_conflict) or with a value the database cannot hold (unprocessable); the " +
      "database down is 503 unavailable, any other failure 500 (so it retries). The stored copy " +
      "replaces what jsonb cannot hold (NUL, lone surrogates) and nesting deeper than 32 " +
      "levels, so such an event is still recorded and settled on its first delivery. With " +
      "PAYSTACK_WEBHOOK_ALLOWED_IPS set, other sources are refused first (403).",
    security: security.paystack,
    headers: z.object({
      "x-paystack-signature": z.string().describe(
        "Hex HMAC-SHA512 of the raw body, keyed with the Paystack secret key.",
      ),
    }),
    // Documented here; read as raw bytes (the signature), then parsed by parsePaystackEvent.
    body: paystackEventEnvelope,
    response: webhookResponse,
    errors: {
      400: ["malformed_json", "invalid_event"],
      401: ["missing_signature", "invalid_signature"],
      403: ["forbidden_source"],
      413: ["payload_too_large"],
    },
  }),
};

export function createApp(env: WebhookEnv, deps: WebhookDeps = {}) {
  // The event is recorded as service_role: over a direct connection when one is configured
  // (envSchema declares databaseEnv: _shared/db/mod.ts), else through the Data API with the
  // secret key.
  const db = deps.db ?? createDb(env);
  const app = createFunctionApp("paystack-webhook", {
    cors: false,
    description: "Paystack's event notifications.",
  });

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

  post(app, routes.event, async (c, body) => {
    const raw = await body.raw();
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

    // Signed bytes, parsed; from here on only the copy that jsonb can hold is used.
    const stored = storableJson(parseJson(raw));
    const parsed = parsePaystackEvent(stored);
    if (!parsed.ok) {
      throw new ApiError(
        400,
        "invalid_event",
        `The event is not valid: ${parsed.problem}.`,
      );
    }

    const result = await db.service.rpc("apply_paystack_event", {
      p_event: parsed.value.event,
      p_payload: stored,
      p_reference: parsed.value.reference ?? undefined,
      p_source: "webhook",
    }, applyEventResult);
    return c.json(
      { received: true, outcome: result.outcome } satisfies z.infer<
        typeof webhookResponse
      >,
    );
  });

  return app;
}
