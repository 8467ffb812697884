// What apply_paystack_event (009_payments.sql) returns, shared by the webhook and the verify path.
import { z } from "zod";
import type { Json } from "./database.types.ts";

export const applyEventResult = z.object({
  outcome: z.enum([
    "credited",
    "duplicate",
    "unknown_reference",
    "amount_mismatch",
    "currency_mismatch",
    "refunded",
    "ignored",
  ]),
  event_id: z.string(),
  transaction_id: z.string().nullable(),
  status: z.string().nullable(),
  credits_granted: z.number().int(),
  credits_reversed: z.number().int(),
});
export type ApplyEventResult = z.infer<typeof applyEventResult>;

/** A JSON copy of a value that came from JSON (e.g. Paystack's validated answer), typed as Json. */
export function asJson(value: unknown): Json {
  return JSON.parse(JSON.stringify(value));
}
