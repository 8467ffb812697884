// credits-checkout: a signed-in real user buys a credit package through Paystack.
//
//   POST /credits-checkout          {package_id}  -> {authorization_url, access_code, reference, ...}
//   POST /credits-checkout/verify   {reference}   -> {reference, status, outcome, credits_granted}
//
// The pending transaction (price and credits copied from the package, server-made reference) is
// created by start_checkout() as the caller; credits are only ever granted by
// apply_paystack_event() (009_payments.sql), from the webhook or from /verify after Paystack's own
// transaction/verify says the payment succeeded, never on the client's word.
import type { Context } from "hono";
import { z } from "zod";
import { createUserAuth } from "../_shared/auth.ts";
import { toThrowable } from "../_shared/db-errors.ts";
import {
  paystackApiEnv,
  paystackSecretEnv,
  projectEnv,
  publishableKeyEnv,
  requireKeys,
  secretKeyEnv,
  userTokenEnv,
} from "../_shared/env.ts";
import { ApiError, methodNotAllowed } from "../_shared/errors.ts";
import { createFunctionApp, readJson } from "../_shared/http.ts";
import { applyEventResult, asJson } from "../_shared/payments.ts";
import {
  createPaystackClient,
  type PaystackClient,
} from "../_shared/paystack.ts";
import { describeCredits, formatMoney } from "../_shared/pricing.ts";
import {
  callRpc,
  type Clients,
  createServiceClient,
  createUserClients,
} from "../_shared/supabase.ts";

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

export type CheckoutDeps = { clients?: Clients; paystack?: PaystackClient };

const checkoutRequest = z.object({ package_id: z.uuid() });
const verifyRequest = z.object({ reference: z.string().min(1).max(200) });

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

const ownTransaction = z.object({
  id: z.string(),
  real_user_id: z.string(),
  reference: z.string(),
  status: z.enum(["pending", "success", "failed", "refunded"]),
});

export function createApp(env: CheckoutEnv, deps: CheckoutDeps = {}) {
  const clients = deps.clients ??
    { service: createServiceClient(env), forUser: createUserClients(env) };
  const auth = createUserAuth(env);
  const paystack = deps.paystack ?? createPaystackClient({
    baseUrl: env.PAYSTACK_API_URL,
    secretKey: env.PAYSTACK_SECRET_KEY,
    timeoutMs: env.PAYSTACK_TIMEOUT_MS,
  });
  // Where Paystack sends the browser after checkout (it adds ?trxref=…&reference=…); unset: the
  // dashboard's callback URL.
  const callbackUrl = env.PAYSTACK_CALLBACK_URL;
  const app = createFunctionApp("credits-checkout", { cors: true });

  app.post("/", async (c) => {
    const caller = await auth.requireUser(c);
    const { package_id } = await readJson(c, checkoutRequest);
    const checkout = await callRpc(
      clients.forUser(caller.token),
      "start_checkout",
      { p_package_id: package_id },
      startedCheckout,
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
      await markFailed(c, clients, checkout.reference, err);
      throw err;
    }

    return c.json({
      authorization_url: initialized.authorization_url,
      access_code: initialized.access_code,
      reference: checkout.reference,
      amount: checkout.amount,
      currency: checkout.currency,
      credits: checkout.credits,
    });
  });

  app.post("/verify", async (c) => {
    const caller = await auth.requireUser(c);
    const { reference } = await readJson(c, verifyRequest);

    // RLS shows a real user its own transactions (and admins everything): keep only the caller's.
    const { data, error } = await clients.forUser(caller.token)
      .from("transactions")
      .select("id, real_user_id, reference, status")
      .eq("reference", reference)
      .eq("real_user_id", caller.userId)
      .maybeSingle();
    if (error) throw toThrowable("select transactions", error);
    if (!data) {
      throw new ApiError(
        404,
        "transaction_not_found",
        "You have no transaction with this reference.",
      );
    }
    const transaction = ownTransaction.parse(data);
    if (transaction.status === "success" || transaction.status === "refunded") {
      return c.json({
        reference,
        status: transaction.status,
        outcome: "already_settled",
        credits_granted: 0,
      });
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
      return c.json({
        reference,
        status: transaction.status,
        outcome: "not_paid",
        paystack_status: paid.status,
        credits_granted: 0,
      });
    }

    const result = await callRpc(clients.service, "apply_paystack_event", {
      p_event: "charge.success",
      p_payload: asJson({ event: "charge.success", data: paid }),
      p_reference: reference,
      p_source: "verify",
    }, applyEventResult);
    return c.json({
      reference,
      status: result.status,
      outcome: result.outcome,
      credits_granted: result.credits_granted,
    });
  });

  app.all("/", (c) => methodNotAllowed(c, "POST"));
  app.all("/verify", (c) => methodNotAllowed(c, "POST"));
  return app;
}

/** Leaves the checkout marked failed when Paystack could not start it; never hides `cause`. */
async function markFailed(
  c: Context,
  clients: Clients,
  reference: string,
  cause: unknown,
) {
  const reason = cause instanceof ApiError ? cause.code : "internal_error";
  const { error } = await clients.service.rpc("mark_transaction_failed", {
    p_reference: reference,
    p_reason: reason,
  });
  if (error) {
    console.error(JSON.stringify({
      level: "error",
      path: c.req.path,
      message: "could not mark the checkout failed",
      reference,
      db_error: error.message,
    }));
  }
}
