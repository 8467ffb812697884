// Request and response types of the Edge Functions, for a frontend to import (types only:
// `import type { CheckoutResponse } from ".../supabase/functions/api-types.ts"`), beside the
// generated database types (_shared/database.types.ts). Inferred from the zod schemas the functions
// validate with and document in docs/openapi/<name>.json, so they cannot drift from what the
// functions accept and answer. Every error answer is an ApiErrorBody. Not shared code: it imports
// every app, so it sits beside them, outside _shared/, and no function imports it.
import type { z } from "zod";
import type {
  createAccountRequest,
  createAccountResponse,
} from "./admin-accounts/app.ts";
import type {
  assignRequest,
  assignResponse,
  heartbeatRequest,
  heartbeatResponse,
  releaseRequest,
  releaseResponse,
} from "./assign-chat/app.ts";
import type {
  checkoutRequest,
  checkoutResponse,
  verifyRequest,
  verifyResponse,
} from "./credits-checkout/app.ts";
import type { sweepResponse } from "./idle-sweeper/app.ts";
import type { webhookResponse } from "./paystack-webhook/app.ts";
import type { reconcileResponse } from "./reconcile-payments/app.ts";

/** `{"error": {"code", "message"}}`: the body of every error answer. */
export type { ErrorBody as ApiErrorBody } from "./_shared/errors.ts";

/** POST /assign-chat (an operator's access token). */
export type AssignChatRequest = z.input<typeof assignRequest>;
export type AssignChatResponse = z.infer<typeof assignResponse>;
/** POST /assign-chat/release (an operator's access token). */
export type ReleaseChatRequest = z.input<typeof releaseRequest>;
export type ReleaseChatResponse = z.infer<typeof releaseResponse>;
/** POST /assign-chat/heartbeat (an operator's access token). */
export type HeartbeatRequest = z.input<typeof heartbeatRequest>;
export type HeartbeatResponse = z.infer<typeof heartbeatResponse>;

/** POST /credits-checkout (a real user's access token). */
export type CheckoutRequest = z.input<typeof checkoutRequest>;
export type CheckoutResponse = z.infer<typeof checkoutResponse>;
/** POST /credits-checkout/verify (a real user's access token). */
export type VerifyPaymentRequest = z.input<typeof verifyRequest>;
export type VerifyPaymentResponse = z.infer<typeof verifyResponse>;

/** POST /idle-sweeper (a secret key; pg_cron only). */
export type SweepResponse = z.infer<typeof sweepResponse>;
/** POST /paystack-webhook (Paystack's signature; Paystack only). */
export type PaystackWebhookResponse = z.infer<typeof webhookResponse>;
/** POST /reconcile-payments (a secret key; pg_cron only). */
export type ReconcileResponse = z.infer<typeof reconcileResponse>;

/** POST /admin-accounts (an admin's access token). */
export type CreateAccountRequest = z.input<typeof createAccountRequest>;
export type CreateAccountResponse = z.infer<typeof createAccountResponse>;
