// The payment findings of the security review (007_payments.sql), over HTTP through the
// gateway the way Paystack (signed webhook calls) and the browser (supabase-js) reach them, against
// the local fake Paystack; the database is checked afterwards. Helpers as in payments.test.ts.
//
// Every purchase here is its own (own users, own references), and nothing uses the fake Paystack's
// global "misbehave" switch.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anonClient, closeDb, db, stack, userClient } from "../support/stack.ts";
import { balance, deliver, fakePaystack, invokeAs, newBuyer as newPaystackBuyer } from "../support/paystack.ts";

const createdUsers: string[] = [];
let popular: { id: string; price: number; credits: number; bonus_credits: number; currency: string };
let starter: { id: string; price: number; credits: number; bonus_credits: number; currency: string };

/** A real user with a profile row (and an email, which checkout needs). */
function newBuyer(): Promise<string> {
  return newPaystackBuyer(createdUsers, "hardening");
}

async function checkout(userId: string, packageId = popular.id) {
  return invokeAs(userId, "credits-checkout", { package_id: packageId });
}

/** Checkout through the function, so the fake Paystack knows the reference too. */
async function startedPurchase(userId: string, packageId = popular.id): Promise<string> {
  const { status, body } = await checkout(userId, packageId);
  expect(status).toBe(200);
  return body.reference;
}

async function events(reference: string) {
  const { rows } = await db().query(
    "select event, outcome, deliveries, detail, source, dedupe_key, payload from public.paystack_events where reference = $1 order by received_at, outcome",
    [reference],
  );
  return rows;
}

async function transaction(reference: string) {
  const { rows } = await db().query("select * from public.transactions where reference = $1", [reference]);
  return rows[0];
}

/** As if 5 seconds had passed since the last verify of this reference. */
async function forgetVerify(reference: string) {
  await db().query(
    `update private.payment_verify_calls set last_called_at = last_called_at - interval '5 seconds'
      where transaction_id = (select id from public.transactions where reference = $1)`,
    [reference],
  );
}

beforeAll(async () => {
  const { data, error } = await anonClient().from("credit_packages").select("*").order("price");
  expect(error).toBeNull();
  popular = data!.find((p) => p.name === "Popular");
  starter = data!.find((p) => p.name === "Starter");
});

afterAll(async () => {
  await db().query("delete from public.payment_disputes where real_user_id = any($1)", [createdUsers]);
  await db().query(
    "delete from public.paystack_events where transaction_id in (select id from public.transactions where real_user_id = any($1))",
    [createdUsers],
  );
  await db().query("delete from public.transactions where real_user_id = any($1)", [createdUsers]);
  await db().query("delete from auth.users where id = any($1)", [createdUsers]);
  await closeDb();
});

describe("a mismatched event does not block its reference", () => {
  it("a signed charge.success with the wrong amount is recorded; the correct one that follows credits once", async () => {
    const buyer = await newBuyer();
    const reference = await startedPurchase(buyer);
    const correct = await fakePaystack(`/transactions/${reference}/pay`);
    const wrong = JSON.stringify({ ...correct, data: { ...correct.data, amount: 4500 } });

    expect((await deliver(wrong)).body).toEqual({ received: true, outcome: "amount_mismatch" });
    expect((await deliver(wrong)).body.outcome).toBe("duplicate");
    expect((await deliver(JSON.stringify(correct))).body).toEqual({ received: true, outcome: "credited" });
    expect((await deliver(JSON.stringify(correct))).body.outcome).toBe("duplicate");
    expect(await balance(buyer)).toBe(55);
    expect((await transaction(reference)).status).toBe("success");

    const verify = await invokeAs(buyer, "credits-checkout/verify", { reference });
    expect(verify.body).toMatchObject({ status: "success", outcome: "already_settled", credits_granted: 0 });
    expect(await balance(buyer)).toBe(55);
    expect((await events(reference)).map((e) => [e.outcome, e.deliveries])).toEqual([
      ["amount_mismatch", 2],
      ["credited", 2],
    ]);
  });

  it("after a currency mismatch, a verify call credits the purchase once", async () => {
    const buyer = await newBuyer();
    const reference = await startedPurchase(buyer);
    const correct = await fakePaystack(`/transactions/${reference}/pay`);
    const wrong = JSON.stringify({ ...correct, data: { ...correct.data, currency: "NGN" } });
    expect((await deliver(wrong)).body.outcome).toBe("currency_mismatch");

    const verify = await invokeAs(buyer, "credits-checkout/verify", { reference });
    expect(verify.status).toBe(200);
    expect(verify.body).toMatchObject({ status: "success", outcome: "credited", credits_granted: 55 });
    expect((await deliver(JSON.stringify(correct))).body.outcome).toBe("duplicate");
    expect(await balance(buyer)).toBe(55);
  });
});

describe("customer-controlled text and deep nesting never stop a payment", () => {
  const cases: Array<[string, (event: any) => string]> = [
    ["a NUL character in the customer's name", (event) =>
      JSON.stringify({ ...event, data: { ...event.data, customer: { ...event.data.customer, first_name: "Ann\u0000e" } } })],
    ["a lone UTF-16 surrogate in the customer's name", (event) =>
      JSON.stringify({ ...event, data: { ...event.data, customer: { ...event.data.customer, last_name: "Ann\ud800e" } } })],
    ["data nested 30,000 levels deep (under 64 KiB)", (event) =>
      JSON.stringify(event).replace(/}}$/, `,"metadata":{"deep":${"[".repeat(30_000)}${"]".repeat(30_000)}}}}`)],
  ];
  it.each(cases)("a signed charge.success with %s is recorded and credited on its first delivery, once", async (_name, build) => {
    const buyer = await newBuyer();
    const reference = await startedPurchase(buyer);
    const body = build(await fakePaystack(`/transactions/${reference}/pay`));
    expect(Buffer.byteLength(body)).toBeLessThan(64 * 1024);

    const first = await deliver(body);
    expect(first).toEqual({ status: 200, body: { received: true, outcome: "credited" } });
    expect((await deliver(body)).body.outcome).toBe("duplicate");
    expect(await balance(buyer)).toBe(55);

    const [stored] = await events(reference);
    expect(stored).toMatchObject({ outcome: "credited", deliveries: 2 });
    const text = JSON.stringify(stored.payload);
    expect(text).not.toMatch(/\\u0000|\\ud800/);
    expect(text.length).toBeLessThan(5000);
    expect(text.includes("\uFFFD") || text.includes("[removed: nested deeper than 32 levels]")).toBe(true);
  }, 30_000);
});

describe("credits-checkout/verify with a reference no transaction can have", () => {
  it.each([
    ["a NUL character", "fantooo-\u0000abc"],
    ["a lone UTF-16 surrogate", "fantooo-\ud800abc"],
    ["a character Paystack refuses in references", "fantooo-abc def"],
  ])("%s is 400 invalid_request, not a 500", async (_name, reference) => {
    const buyer = await newBuyer();
    const answer = await invokeAs(buyer, "credits-checkout/verify", { reference });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("invalid_request");
  });
});

describe("the customer pays the fees", () => {
  it("a charge.success whose amount includes the fees is credited on its requested_amount", async () => {
    const buyer = await newBuyer();
    const reference = await startedPurchase(buyer);
    const event = await fakePaystack(`/transactions/${reference}/pay`, { amount: 45_000 + 775, requested_amount: 45_000 });
    expect((await deliver(JSON.stringify(event))).body.outcome).toBe("credited");
    expect(await balance(buyer)).toBe(55);
    expect((await events(reference))[0].detail).toEqual({ credits_granted: 55, amount_paid: 45_775 });
  });

  it("a requested_amount below the price is still an amount_mismatch", async () => {
    const buyer = await newBuyer();
    const reference = await startedPurchase(buyer);
    const event = await fakePaystack(`/transactions/${reference}/pay`, { amount: 45_000, requested_amount: 40_000 });
    expect((await deliver(JSON.stringify(event))).body.outcome).toBe("amount_mismatch");
    expect(await balance(buyer)).toBe(0);
  });
});

describe("refunds and disputes", () => {
  it("each partial refund takes back its share of the credits (rounded up), keyed by its refund id", async () => {
    const buyer = await newBuyer();
    const reference = await startedPurchase(buyer);
    await deliver(JSON.stringify(await fakePaystack(`/transactions/${reference}/pay`)));
    expect(await balance(buyer)).toBe(55);

    const first = await fakePaystack(`/transactions/${reference}/refund`, { amount: 15_000 });
    expect((await deliver(JSON.stringify(first))).body.outcome).toBe("refunded");
    expect(await balance(buyer)).toBe(55 - 19); // ceil(55 / 3)
    expect(await transaction(reference)).toMatchObject({ status: "success", refunded_amount: 15_000, credits_reversed: 19 });

    const second = await fakePaystack(`/transactions/${reference}/refund`, { amount: 15_000 });
    expect((await deliver(JSON.stringify(second))).body.outcome).toBe("refunded");
    expect((await deliver(JSON.stringify(second))).body.outcome).toBe("duplicate");
    expect(await balance(buyer)).toBe(55 - 37); // ceil(110 / 3) in all

    const last = await fakePaystack(`/transactions/${reference}/refund`, { amount: 15_000 });
    expect((await deliver(JSON.stringify(last))).body.outcome).toBe("refunded");
    expect(await balance(buyer)).toBe(0);
    expect(await transaction(reference)).toMatchObject({
      status: "refunded",
      refunded_amount: 45_000,
      credits_reversed: 55,
      refund_shortfall: 0,
    });
    const keys = (await events(reference)).filter((e) => e.event === "refund.processed").map((e) => e.dedupe_key).sort();
    expect(keys).toEqual([first, second, last].map((e) => `refund.processed:${e.data.id}`).sort());
  });

  it("a refund after the credits were spent stops at zero and records the shortfall", async () => {
    const buyer = await newBuyer();
    const reference = await startedPurchase(buyer);
    await deliver(JSON.stringify(await fakePaystack(`/transactions/${reference}/pay`)));
    await db().query("update public.real_users set credits = 5 where id = $1", [buyer]);
    const refund = await fakePaystack(`/transactions/${reference}/refund`, { amount: 22_500 });
    expect((await deliver(JSON.stringify(refund))).body.outcome).toBe("refunded");
    expect(await balance(buyer)).toBe(0);
    expect(await transaction(reference)).toMatchObject({ credits_reversed: 5, refund_shortfall: 23 }); // ceil(27.5) = 28
  });

  it("charge.dispute.create flags the purchase and the buyer for admins only", async () => {
    const buyer = await newBuyer();
    const admin = randomUUID();
    createdUsers.push(admin);
    await db().query("insert into auth.users (id, email) values ($1, $2)", [admin, `admin-${admin}@fantooo.local`]);
    await db().query("insert into public.admins (id, name) values ($1, 'Disputes admin')", [admin]);
    const reference = await startedPurchase(buyer);
    await deliver(JSON.stringify(await fakePaystack(`/transactions/${reference}/pay`)));

    const dispute = await fakePaystack(`/transactions/${reference}/dispute`);
    expect((await deliver(JSON.stringify(dispute))).body).toEqual({ received: true, outcome: "disputed" });
    expect((await deliver(JSON.stringify(dispute))).body.outcome).toBe("duplicate");
    expect(await balance(buyer)).toBe(55);

    const asBuyer = await userClient(buyer).from("payment_disputes").select("*");
    expect(asBuyer).toMatchObject({ error: null, data: [] });
    const asAdmin = await userClient(admin).from("payment_disputes").select("*").eq("reference", reference);
    expect(asAdmin.error).toBeNull();
    expect(asAdmin.data).toEqual([
      expect.objectContaining({
        paystack_dispute_id: String(dispute.data.id),
        real_user_id: buyer,
        transaction_id: (await transaction(reference)).id,
        category: "fraud",
      }),
    ]);
    await db().query("delete from public.admins where id = $1", [admin]);
  });
});

describe("abuse limits", () => {
  it("at most 10 pending checkouts per user per hour, even when 12 arrive at once: then 429 with Retry-After", async () => {
    const buyer = await newBuyer();
    const answers = await Promise.all(Array.from({ length: 12 }, () => checkout(buyer, starter.id)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(10);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(2);
    for (const answer of refused) {
      expect(answer.body).toEqual({ error: { code: "rate_limited", message: expect.any(String) } });
      expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(3000);
      expect(Number(answer.headers.get("retry-after"))).toBeLessThanOrEqual(3600);
    }
    const { rows } = await db().query("select count(*)::int as n from public.transactions where real_user_id = $1", [buyer]);
    expect(rows[0].n).toBe(10);
    // Another user is not held back.
    expect((await checkout(await newBuyer(), starter.id)).status).toBe(200);
  }, 30_000);

  it("one verify per reference every 5 seconds, even when 5 arrive at once: then 429 with Retry-After", async () => {
    const buyer = await newBuyer();
    const reference = await startedPurchase(buyer, starter.id);
    const answers = await Promise.all(Array.from({ length: 5 }, () => invokeAs(buyer, "credits-checkout/verify", { reference })));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(4);
    for (const answer of refused) {
      expect(answer.body.error.code).toBe("rate_limited");
      expect(Number(answer.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(Number(answer.headers.get("retry-after"))).toBeLessThanOrEqual(5);
    }
    await fakePaystack(`/transactions/${reference}/pay`);
    await forgetVerify(reference);
    const paid = await invokeAs(buyer, "credits-checkout/verify", { reference });
    expect(paid.body).toMatchObject({ outcome: "credited", credits_granted: 10 });
  }, 30_000);
});

describe("what a real user reads of its transactions", () => {
  it("select=* works and shows no Paystack event; admins find it in paystack_events", async () => {
    const buyer = await newBuyer();
    const reference = await startedPurchase(buyer);
    await deliver(JSON.stringify(await fakePaystack(`/transactions/${reference}/pay`)));
    const { data, error } = await userClient(buyer).from("transactions").select("*").eq("reference", reference).single();
    expect(error).toBeNull();
    expect(data).toMatchObject({ reference, status: "success", raw_event: null });
    expect(JSON.stringify(data)).not.toContain("authorization");
    const { rows } = await db().query(
      "select payload -> 'data' ->> 'reference' as reference from public.paystack_events where transaction_id = $1 and outcome = 'credited'",
      [data!.id],
    );
    expect(rows).toEqual([{ reference }]);
  });
});
