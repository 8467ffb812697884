// The Paystack transaction as this project reads it, in one schema for both ways it arrives: the
// `data` of a charge.success webhook event and the `data` of checkout's transaction/verify call.
// Also what apply_paystack_event (migrations/*_payments.sql) returns to either caller. Pure (zod
// only).
import { z } from "zod";
import type { Json } from "../database.types.ts";
import { storableJson } from "./stored-event.ts";

/** Amounts are integers in subunits; refund events have been seen with them as digit strings. */
export const subunits = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d{1,15}$/).transform(Number),
]);
export const transactionReference = z.string().min(1).max(200);
/**
 * A reference as Paystack accepts them (letters, digits, `-`, `.`, `=`; ours are
 * `fantooo-<hex>`): what a caller may ask about. Anything else (a NUL, a lone surrogate) can name
 * no transaction, and is refused before it reaches SQL.
 */
export const paystackReference = z.string().regex(/^[A-Za-z0-9.=-]{1,200}$/);
export const currencyCode = z.string().regex(/^[A-Za-z]{3}$/);
/** A Paystack object id (refunds, disputes): a number, or a short string of safe characters. */
export const paystackId = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^[A-Za-z0-9_.=-]{1,64}$/),
]);

/**
 * A Paystack transaction (extra fields kept). `status` is optional because the webhook must not
 * refuse a charge.success for lacking it (the event name says it succeeded); the verify path
 * treats a missing status as not paid.
 */
export const paystackTransaction = z.looseObject({
  id: z.number().int().positive(),
  status: z.string().optional(),
  reference: transactionReference,
  amount: subunits.describe(
    "What the customer was charged, in subunits (the price plus fees when the customer pays them); " +
      "credited only when at least the price.",
  ),
  requested_amount: subunits.nullable().optional().describe(
    "The amount asked for, when Paystack sends it: must be the price (else amount must be).",
  ),
  currency: currencyCode,
  // Not narrowed to what Postgres's timestamptz holds (zod accepts offsets to ±23:59 and the year
  // 0000): a signed event with such a time is recorded as unprocessable by apply_paystack_event and
  // answered 200, where refusing it here would be a 400 that Paystack retries and nobody sees.
  paid_at: z.iso.datetime({ offset: true }).nullable().optional(),
});
export type PaystackTransaction = z.infer<typeof paystackTransaction>;

export const applyEventResult = z.object({
  outcome: z.enum([
    "credited",
    "duplicate",
    "unknown_reference",
    "amount_mismatch",
    "currency_mismatch",
    "paystack_id_conflict",
    "unprocessable",
    "refunded",
    "disputed",
    "ignored",
  ]),
  event_id: z.string(),
  transaction_id: z.string().nullable(),
  status: z.string().nullable(),
  credits_granted: z.number().int(),
  credits_reversed: z.number().int(),
});
export type ApplyEventResult = z.infer<typeof applyEventResult>;

/**
 * The copy to store of a value that came from JSON (e.g. Paystack's validated answer), typed as
 * Json: what jsonb cannot hold replaced (stored-event.ts).
 */
export function asJson(value: unknown): Json {
  return storableJson(value);
}
