import { describe, expect, it } from "vitest";
import { parsePaystackEvent } from "../../../supabase/functions/_shared/paystack/webhook-event.ts";

const charge = {
  event: "charge.success",
  data: { id: 302961, reference: "fantooo-abc", amount: 45000, currency: "KES", paid_at: "2025-03-01T10:15:00.000Z", status: "success" },
};

describe("parsePaystackEvent accepts Paystack's events", () => {
  const accepted: Array<[string, unknown, string, string | null]> = [
    ["a charge.success", charge, "charge.success", "fantooo-abc"],
    ["a charge.success without paid_at", { ...charge, data: { ...charge.data, paid_at: null } }, "charge.success", "fantooo-abc"],
    ["a charge.success with the amount as digits", { ...charge, data: { ...charge.data, amount: "45000" } }, "charge.success", "fantooo-abc"],
    ["a refund.processed (reference of the charge)", { event: "refund.processed", data: { status: "processed", transaction_reference: "fantooo-abc", amount: "45000", currency: "KES" } }, "refund.processed", "fantooo-abc"],
    ["a charge.success where the customer paid the fees (requested_amount)", { ...charge, data: { ...charge.data, amount: 45678, requested_amount: 45000 } }, "charge.success", "fantooo-abc"],
    ["a charge.success with requested_amount null (amount is checked)", { ...charge, data: { ...charge.data, requested_amount: null } }, "charge.success", "fantooo-abc"],
    ["a refund.processed with its refund id", { event: "refund.processed", data: { id: 7000001, status: "processed", transaction_reference: "fantooo-abc", amount: "15000", currency: "KES" } }, "refund.processed", "fantooo-abc"],
    ["a charge.dispute.create (reference of the disputed charge)", { event: "charge.dispute.create", data: { id: 88, status: "awaiting-merchant-feedback", refund_amount: 45000, currency: "KES", transaction: { id: 302961, reference: "fantooo-abc" } } }, "charge.dispute.create", "fantooo-abc"],
    ["an event we do not act on, with a reference", { event: "transfer.success", data: { reference: "TRF_1" } }, "transfer.success", "TRF_1"],
    ["an event we do not act on, without one", { event: "subscription.create", data: { code: "SUB_1" } }, "subscription.create", null],
  ];
  it.each(accepted)("%s", (_name, body, event, reference) => {
    const result = parsePaystackEvent(body);
    expect(result).toEqual({ ok: true, value: { event, reference } });
  });
});

describe("parsePaystackEvent refuses malformed events", () => {
  const refused: Array<[string, unknown, string]> = [
    ["a JSON array", [charge], "body"],
    ["no event name", { data: charge.data }, "event"],
    ["no data", { event: "charge.success" }, "data"],
    ["a charge.success without reference", { ...charge, data: { ...charge.data, reference: undefined } }, "data.reference"],
    ["a charge.success with a fractional amount", { ...charge, data: { ...charge.data, amount: 450.5 } }, "data.amount"],
    ["a charge.success with a negative amount", { ...charge, data: { ...charge.data, amount: -1 } }, "data.amount"],
    ["a charge.success with a bad currency", { ...charge, data: { ...charge.data, currency: "shillings" } }, "data.currency"],
    ["a charge.success with a bad paid_at", { ...charge, data: { ...charge.data, paid_at: "yesterday" } }, "data.paid_at"],
    ["a charge.success without Paystack id", { ...charge, data: { ...charge.data, id: undefined } }, "data.id"],
    ["a refund.processed without transaction_reference", { event: "refund.processed", data: { amount: 1 } }, "data.transaction_reference"],
    ["a refund.processed with an object as its id", { event: "refund.processed", data: { id: { x: 1 }, transaction_reference: "fantooo-abc" } }, "data.id"],
    ["a charge.success with a fractional requested_amount", { ...charge, data: { ...charge.data, requested_amount: 1.5 } }, "data.requested_amount"],
    ["a charge.dispute.create without the disputed transaction", { event: "charge.dispute.create", data: { id: 88 } }, "data.transaction"],
  ];
  it.each(refused)("%s", (_name, body, field) => {
    const result = parsePaystackEvent(body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toContain(`${field} is missing or invalid`);
  });
});
