// credits-checkout: a signed-in real user buys a credit package through Paystack.
//
//   POST /credits-checkout          {package_id}  -> {authorization_url, access_code, reference, ...}
//   POST /credits-checkout/verify   {reference}   -> {reference, status, outcome, credits_granted}
//
// The pending transaction (price and credits copied from the package, server-made reference) is
// created by start_checkout() as the caller; credits are only ever granted by
// public.apply_paystack_event(), from the webhook or from /verify after Paystack's own
// transaction/verify says the payment succeeded, never on the client's word. The database limits
// both routes (public.start_checkout, public.start_payment_verify): 10 pending checkouts per user
// per hour, one verify call per reference every 5 seconds; either refusal is 429 rate_limited with
// a Retry-After header.
import type { Context } from "hono";
import { z } from "zod";
import { createUserAuth } from "../_shared/auth.ts";
import { createDb, type Db } from "../_shared/db/mod.ts";
import {
  paystackApiEnv,
  paystackSecretEnv,
  projectEnv,
  publishableKeyEnv,
  requireKeys,
  secretKeyEnv,
  userTokenEnv,
} from "../_shared/env.ts";
import { ApiError } from "../_shared/errors.ts";
import { createFunctionApp, post, postRoute } from "../_shared/http.ts";
import {
  errors,
  jsonBodyErrors,
  paystackErrors,
  security,
} from "../_shared/openapi.ts";
import {
  createPaystackClient,
  type PaystackClient,
} from "../_shared/paystack/client.ts";
import {
  applyEventResult,
  asJson,
  paystackReference,
} from "../_shared/paystack/payments.ts";
import { describeCredits, formatMoney } from "./format.ts";

/** What checkout reads from its environment: user auth, the service client and Paystack's API. */
export const envSchema = z.object({
  ...projectEnv,
  ...publishableKeyEnv,
  ...secretKeyEnv,
  ...userTokenEnv,
  ...paystackSecretEnv,
  ...paystackApiEnv,
}).superRefine(requireKeys("publishable", "secret"));
export type CheckoutEnv = z.infer<typeof envSchema>;

export type CheckoutDeps = { db?: Db; paystack?: PaystackClient };

export const checkoutRequest = z.object({ package_id: z.uuid() });
export const verifyRequest = z.object({ reference: paystackReference });

export const checkoutResponse = z.object({
  authorization_url: z.url().describe(
    "Paystack's payment page: send the buyer there.",
  ),
  access_code: z.string(),
  reference: z.string().describe(
    "The transaction's reference, made by the server.",
  ),
  amount: z.number().int().describe("The price in currency subunits (cents)."),
  currency: z.string(),
  credits: z.number().int().describe(
    "What the payment grants, bonus included.",
  ),
});
export const verifyResponse = z.object({
  reference: z.string(),
  status: z.string().nullable().describe(
    "The transaction's status afterwards.",
  ),
  outcome: z.enum([
    ...applyEventResult.shape.outcome.options,
    "already_settled",
    "not_paid",
  ]),
  paystack_status: z.string().optional().describe(
    "What Paystack says, when not paid.",
  ),
  credits_granted: z.number().int(),
});

const buyerErrors = {
  401: ["unauthorized"],
  403: ["not_real_user", "account_inactive"],
} as const;

/** The routes, as the OpenAPI document declares them. */
export const routes = {
  checkout: postRoute({
    path: "/",
    summary: "Start buying a credit package",
    description:
      "Creates the pending transaction (price and credits copied from the package) and " +
      "initializes it with Paystack. Credits are granted later, by the webhook or /verify. " +
      "At most 10 of a user's checkouts of the last hour may wait for payment: the 11th is 429 " +
      "rate_limited, with Retry-After (seconds).",
    security: security.user,
    body: checkoutRequest,
    response: checkoutResponse,
    errors: errors(jsonBodyErrors, buyerErrors, {
      400: ["email_required"],
      404: ["package_not_found"],
      429: ["rate_limited"],
    }, paystackErrors),
  }),
  verify: postRoute({
    path: "/verify",
    summary: "Confirm a payment with Paystack",
    description:
      "Asks Paystack about one of the caller's transactions and, when it is paid, credits it " +
      "exactly once (as the webhook would). At most one call per reference every 5 seconds: " +
      "another is 429 rate_limited, with Retry-After (seconds).",
    security: security.user,
    body: verifyRequest,
    response: verifyResponse,
    errors: errors(jsonBodyErrors, { 401: ["unauthorized"] }, {
      404: ["transaction_not_found"],
      429: ["rate_limited"],
    }, paystackErrors),
  }),
};

const startedCheckout = z.object({
  transaction_id: z.string(),
  reference: z.string(),
  amount: z.number().int().positive(),
  currency: z.string(),
  credits: z.number().int().positive(),
  email: z.string(),
  real_user_id: z.string(),
  package: z.object({
    id: z.string(),
    name: z.string(),
    credits: z.number().int(),
    bonus_credits: z.number().int(),
  }),
});

const verifyClaim = z.object({
  transaction_id: z.string(),
  reference: z.string(),
  status: z.enum(["pending", "success", "failed", "refunded"]),
});

export function createApp(env: CheckoutEnv, deps: CheckoutDeps = {}) {
  const db = deps.db ?? createDb(env);
  const auth = createUserAuth(env);
  const paystack = deps.paystack ?? createPaystackClient({
    baseUrl: env.PAYSTACK_API_URL,
    secretKey: env.PAYSTACK_SECRET_KEY,
    timeoutMs: env.PAYSTACK_TIMEOUT_MS,
  });
  // Where Paystack sends the browser after checkout (it adds ?trxref=…&reference=…); unset: the
  // dashboard's callback URL.
  const callbackUrl = env.PAYSTACK_CALLBACK_URL;
  const app = createFunctionApp("credits-checkout", {
    cors: true,
    description:
      "A signed-in real user buys a credit package through Paystack.",
  });

  post(app, routes.checkout, async (c, body) => {
    const caller = await auth.requireUser(c);
    const { package_id } = await body.json();
    const checkout = await withRetryAfter(
      c,
      db.forUser(caller).rpc(
        "start_checkout",
        { p_package_id: package_id },
        startedCheckout,
      ),
    );

    let initialized;
    try {
      initialized = await paystack.initialize({
        email: checkout.email,
        amount: checkout.amount,
        currency: checkout.currency,
        reference: checkout.reference,
        callbackUrl,
        metadata: {
          transaction_id: checkout.transaction_id,
          real_user_id: checkout.real_user_id,
          package_id: checkout.package.id,
          custom_fields: [{
            display_name: "Package",
            variable_name: "package",
            value: `${checkout.package.name}: ${
              describeCredits(
                checkout.package.credits,
                checkout.package.bonus_credits,
              )
            } for ${formatMoney(checkout.amount, checkout.currency)}`,
          }],
        },
      });
    } catch (err) {
      await markFailed(c, db, checkout.reference, err);
      throw err;
    }

    return c.json(
      {
        authorization_url: initialized.authorization_url,
        access_code: initialized.access_code,
        reference: checkout.reference,
        amount: checkout.amount,
        currency: checkout.currency,
        credits: checkout.credits,
      } satisfies z.infer<typeof checkoutResponse>,
    );
  });

  post(app, routes.verify, async (c, body) => {
    const caller = await auth.requireUser(c);
    const { reference } = await body.json();

    // The caller's own transaction, and the right to ask Paystack about it: one call per reference
    // every 5 seconds, claimed in the database (404 transaction_not_found, 429 rate_limited).
    const transaction = await withRetryAfter(
      c,
      db.forUser(caller).rpc(
        "start_payment_verify",
        { p_reference: reference },
        verifyClaim,
      ),
    );
    if (transaction.status === "success" || transaction.status === "refunded") {
      return c.json(
        {
          reference,
          status: transaction.status,
          outcome: "already_settled",
          credits_granted: 0,
        } satisfies z.infer<typeof verifyResponse>,
      );
    }

    const paid = await paystack.verify(reference);
    if (paid.reference !== reference) {
      throw new ApiError(
        502,
        "paystack_bad_response",
        "Paystack answered for another transaction.",
      );
    }
    if (paid.status !== "success") {
      return c.json(
        {
          reference,
          status: transaction.status,
          outcome: "not_paid",
          paystack_status: paid.status,
          credits_granted: 0,
        } satisfies z.infer<typeof verifyResponse>,
      );
    }

    const result = await db.service.rpc("apply_paystack_event", {
      p_event: "charge.success",
      p_payload: asJson({ event: "charge.success", data: paid }),
      p_reference: reference,
      p_source: "verify",
    }, applyEventResult);
    return c.json(
      {
        reference,
        status: result.status,
        outcome: result.outcome,
        credits_granted: result.credits_granted,
      } satisfies z.infer<typeof verifyResponse>,
    );
  });

  return app;
}

/**
 * Awaits a database call; a 429 rate_limited refusal gets a Retry-After header, from the detail the
 * database wrote ("… try again in N seconds.", public.start_checkout and start_payment_verify).
 */
async function withRetryAfter<T>(c: Context, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof ApiError && err.status === 429) {
      const seconds = retryAfterSeconds(err.message);
      if (seconds !== null) c.header("Retry-After", String(seconds));
    }
    throw err;
  }
}

/** The N of "try again in N seconds" in a rate_limited message, or null. */
export function retryAfterSeconds(message: string): number | null {
  const match = /try again in (\d{1,6}) seconds?/.exec(message);
  return match ? Math.max(1, Number(match[1])) : null;
}

/** Leaves the checkout marked failed when Paystack could not start it; never hides `cause`. */
async function markFailed(
  c: Context,
  db: Db,
  reference: string,
  cause: unknown,
) {
  const reason = cause instanceof ApiError ? cause.code : "internal_error";
  try {
    await db.service.rpc("mark_transaction_failed", {
      p_reference: reference,
      p_reason: reason,
    }, z.unknown());
  } catch (error) {
    console.error(JSON.stringify({
      level: "error",
      path: c.req.path,
      message: "could not mark the checkout failed",
      reference,
      db_error: error instanceof Error ? error.message : String(error),
    }));
  }
}
