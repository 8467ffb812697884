// The shape of the Paystack events the webhook accepts, validated after the signature check.
// Paystack sends no event id, so events are told apart by `<event>:<reference>` (computed in
// SQL). Pure (zod only): runs under Deno and Node.
import { z } from "zod";
import {
  currencyCode,
  paystackId,
  paystackTransaction,
  subunits,
  transactionReference,
} from "./payments.ts";

/** Paystack's webhook bodies are small; anything above this is refused with 413. */
export const MAX_WEBHOOK_BYTES = 64 * 1024;

/** Every webhook body: the event name and its data (validated further for the events we act on). */
export const paystackEventEnvelope = z.object({
  event: z.string().min(1).max(100),
  data: z.record(z.string(), z.unknown()),
});

/** refund.processed: one refund (full or partial) of a charge; `id` (the refund's) is its dedupe key. */
const refundData = z.looseObject({
  id: paystackId.optional(),
  transaction_reference: transactionReference,
  amount: subunits.optional(),
  currency: currencyCode.optional(),
});

/** charge.dispute.*: a dispute (`id`, its dedupe key) about the charge in `transaction`. */
const disputeData = z.looseObject({
  id: paystackId.optional(),
  transaction: z.looseObject({ reference: transactionReference }),
  refund_amount: subunits.nullable().optional(),
  currency: currencyCode.optional(),
});

export type PaystackEvent = {
  event: string;
  /** The transaction reference the event is about, when it names one. */
  reference: string | null;
};

export type ParseResult =
  | { ok: true; value: PaystackEvent }
  | { ok: false; problem: string };

/**
 * Validates a parsed webhook body: the envelope always, and the data of the events we act on
 * (charge.success, refund.processed, charge.dispute.create). Give it the stored copy
 * (stored-event.ts), so that the reference handed to SQL is text Postgres can hold.
 */
export function parsePaystackEvent(json: unknown): ParseResult {
  const outer = paystackEventEnvelope.safeParse(json);
  if (!outer.success) return { ok: false, problem: describe(outer.error) };
  const { event, data } = outer.data;
  if (event === "charge.success") {
    // charge.success carries the transaction, in the schema the verify call uses too.
    const inner = paystackTransaction.safeParse(data);
    if (!inner.success) {
      return { ok: false, problem: describe(inner.error, "data") };
    }
    return { ok: true, value: { event, reference: inner.data.reference } };
  }
  if (event === "refund.processed") {
    const inner = refundData.safeParse(data);
    if (!inner.success) {
      return { ok: false, problem: describe(inner.error, "data") };
    }
    return {
      ok: true,
      value: { event, reference: inner.data.transaction_reference },
    };
  }
  if (event === "charge.dispute.create") {
    const inner = disputeData.safeParse(data);
    if (!inner.success) {
      return { ok: false, problem: describe(inner.error, "data") };
    }
    return {
      ok: true,
      value: { event, reference: inner.data.transaction.reference },
    };
  }
  const reference =
    typeof data.reference === "string" && data.reference.length > 0 &&
      data.reference.length <= 200
      ? data.reference
      : null;
  return { ok: true, value: { event, reference } };
}

function describe(error: z.ZodError, prefix?: string): string {
  const paths = error.issues.map((issue) =>
    [prefix, ...issue.path].filter((p) => p !== undefined).join(".") || "body"
  );
  return [...new Set(paths)].map((path) => `${path} is missing or invalid`)
    .join("; ");
}
