// The shape of the Paystack events the webhook accepts, validated after the signature check.
// Paystack sends no event id, so events are told apart by `<event>:<reference>` (computed in
// SQL). Pure (zod only): runs under Deno and Node.
import { z } from "zod";

/** Paystack's webhook bodies are small; anything above this is refused with 413. */
export const MAX_WEBHOOK_BYTES = 64 * 1024;

// Amounts are integers in subunits; refund events have been seen with them as digit strings.
const subunits = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d{1,15}$/).transform(Number),
]);
const reference = z.string().min(1).max(200);
const currency = z.string().regex(/^[A-Za-z]{3}$/);

const envelope = z.object({
  event: z.string().min(1).max(100),
  data: z.record(z.string(), z.unknown()),
});

const chargeData = z.looseObject({
  id: z.number().int().positive(),
  reference,
  amount: subunits,
  currency,
  paid_at: z.iso.datetime({ offset: true }).nullable().optional(),
});

const refundData = z.looseObject({
  transaction_reference: reference,
  amount: subunits.optional(),
  currency: currency.optional(),
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
 * (charge.success, refund.processed). The body itself is stored as received.
 */
export function parsePaystackEvent(json: unknown): ParseResult {
  const outer = envelope.safeParse(json);
  if (!outer.success) return { ok: false, problem: describe(outer.error) };
  const { event, data } = outer.data;
  if (event === "charge.success") {
    const inner = chargeData.safeParse(data);
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
