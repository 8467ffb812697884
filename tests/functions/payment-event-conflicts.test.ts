// Correctly signed Paystack events that used to be credited wrongly or answered 500 on every retry
// (apply_paystack_event): a Paystack transaction id another purchase already holds, an amount charged
// below the price, and values the database cannot hold. Over HTTP through the gateway, as Paystack
// (signed webhook calls) and the browser (supabase-js) reach them, against the local fake Paystack;
// the database is checked afterwards. Paystack's side through tests/support/paystack.ts.
//
// Every purchase here is its own (own users, own references).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anonClient, closeDb, db, stack } from "../support/stack.ts";
import { balance, deliver, fakePaystack, invokeAs, newBuyer as newPaystackBuyer } from "../support/paystack.ts";

const createdUsers: string[] = [];
let popular: { id: string; price: number };

/** A real user with a profile row (and an email, which checkout needs). */
function newBuyer(): Promise<string> {
  return newPaystackBuyer(createdUsers, "conflicts");
}

/** Checkout through the function, so the fake Paystack knows the reference too. */
async function startedPurchase(userId: string): Promise<string> {
  const { status, body } = await invokeAs(userId, "credits-checkout", { package_id: popular.id });
  expect(status).toBe(200);
  return body.reference;
}

/** A buyer whose purchase is paid at the fake Paystack; its charge.success not yet delivered. */
async function paidPurchase() {
  const buyer = await newBuyer();
  const reference = await startedPurchase(buyer);
  const event = await fakePaystack(`/transactions/${reference}/pay`);
  return { buyer, reference, event };
}

async function events(reference: string) {
  const { rows } = await db().query(
    "select event, outcome, deliveries, detail, dedupe_key from public.paystack_events where reference = $1 order by received_at, outcome",
    [reference],
  );
  return rows;
}

async function transaction(reference: string) {
  const { rows } = await db().query("select * from public.transactions where reference = $1", [reference]);
  return rows[0];
}

/** `event` with its data changed. */
function withData(event: { event: string; data: Record<string, unknown> }, data: Record<string, unknown>): string {
  return JSON.stringify({ ...event, data: { ...event.data, ...data } });
}

beforeAll(async () => {
  const { data, error } = await anonClient().from("credit_packages").select("*").order("price");
  expect(error).toBeNull();
  popular = data!.find((p) => p.name === "Popular");
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

describe("a Paystack transaction id another purchase already holds", () => {
  it("answers 200 paystack_id_conflict, is recorded for admins naming the other purchase, and the reference still credits once", async () => {
    const first = await paidPurchase();
    expect((await deliver(JSON.stringify(first.event))).body.outcome).toBe("credited");
    const second = await paidPurchase();
    const conflicting = withData(second.event, { id: first.event.data.id });

    expect(await deliver(conflicting)).toEqual({ status: 200, body: { received: true, outcome: "paystack_id_conflict" } });
    expect(await deliver(conflicting)).toEqual({ status: 200, body: { received: true, outcome: "duplicate" } });
    expect(await balance(second.buyer)).toBe(0);
    expect(await transaction(second.reference)).toMatchObject({ status: "pending", paystack_transaction_id: null });
    const [recorded] = await events(second.reference);
    expect(recorded).toMatchObject({
      outcome: "paystack_id_conflict",
      deliveries: 2,
      detail: {
        paystack_transaction_id: first.event.data.id,
        conflicting_transaction_id: (await transaction(first.reference)).id,
        conflicting_reference: first.reference,
      },
    });
    expect(recorded.dedupe_key).toMatch(new RegExp(`^charge\\.success:${second.reference}:paystack_id_conflict:[0-9a-f]{32}$`));

    expect((await deliver(JSON.stringify(second.event))).body).toEqual({ received: true, outcome: "credited" });
    expect((await invokeAs(second.buyer, "credits-checkout/verify", { reference: second.reference })).body)
      .toMatchObject({ status: "success", outcome: "already_settled", credits_granted: 0 });
    expect(await balance(second.buyer)).toBe(55);
    expect(await balance(first.buyer)).toBe(55);
    expect((await transaction(first.reference)).paystack_transaction_id).toBe(String(first.event.data.id));
  }, 30_000);

  it("two purchases given one Paystack id at the same moment: one is credited, the other a conflict, none a 500", async () => {
    const a = await paidPurchase();
    const b = await paidPurchase();
    const sharedId = a.event.data.id;
    // A holds the id in a transaction that has not committed yet, so B's check cannot see it and
    // B's write waits on the unique index until A commits.
    const holder = await db().connect();
    try {
      const { rows: [{ pid }] } = await holder.query("select pg_backend_pid() as pid");
      await holder.query("begin");
      const applied = await holder.query(
        "select public.apply_paystack_event('charge.success', $1::jsonb, $2, 'webhook') ->> 'outcome' as outcome",
        [JSON.stringify(a.event), a.reference],
      );
      expect(applied.rows[0].outcome).toBe("credited");
      const delivery = deliver(withData(b.event, { id: sharedId }));
      await expect.poll(async () => {
        const { rows } = await db().query(
          "select count(*)::int as n from pg_stat_activity where $1::int = any(pg_blocking_pids(pid))",
          [pid],
        );
        return rows[0].n;
      }, { timeout: 10_000, interval: 50 }).toBe(1);
      await holder.query("commit");
      expect(await delivery).toEqual({ status: 200, body: { received: true, outcome: "paystack_id_conflict" } });
    } finally {
      holder.release();
    }
    expect((await events(b.reference))[0].detail).toMatchObject({
      paystack_transaction_id: sharedId,
      conflicting_transaction_id: (await transaction(a.reference)).id,
    });
    expect(await balance(a.buyer)).toBe(55);
    expect(await balance(b.buyer)).toBe(0);
    expect((await deliver(JSON.stringify(b.event))).body.outcome).toBe("credited");
    expect(await balance(b.buyer)).toBe(55);
  }, 30_000);
});

describe("what was charged must cover the price", () => {
  it("requested_amount equal to the price with a lower amount charged is an amount_mismatch; the full payment then credits once", async () => {
    const buyer = await newBuyer();
    const reference = await startedPurchase(buyer);
    const short = await fakePaystack(`/transactions/${reference}/pay`, { amount: 40_000, requested_amount: 45_000 });
    expect(await deliver(JSON.stringify(short))).toEqual({ status: 200, body: { received: true, outcome: "amount_mismatch" } });
    expect(await balance(buyer)).toBe(0);
    expect(await transaction(reference)).toMatchObject({ status: "pending" });
    expect((await events(reference))[0].detail).toEqual({
      expected_amount: 45_000,
      received_amount: 40_000,
      received_requested_amount: 45_000,
    });

    const full = await fakePaystack(`/transactions/${reference}/pay`, { amount: 45_000, requested_amount: 45_000 });
    expect((await deliver(JSON.stringify(full))).body.outcome).toBe("credited");
    expect((await deliver(JSON.stringify(full))).body.outcome).toBe("duplicate");
    expect(await balance(buyer)).toBe(55);
  });
});

describe("values the database cannot hold", () => {
  it("a paid_at with an offset of +16:00 answers 200 unprocessable, recorded with the error; a verify then credits once", async () => {
    const { buyer, reference, event } = await paidPurchase();
    const body = withData(event, { paid_at: "2025-04-01T09:00:00+16:00" });

    expect(await deliver(body)).toEqual({ status: 200, body: { received: true, outcome: "unprocessable" } });
    expect(await deliver(body)).toEqual({ status: 200, body: { received: true, outcome: "duplicate" } });
    expect(await balance(buyer)).toBe(0);
    expect(await transaction(reference)).toMatchObject({ status: "pending", paid_at: null });
    const [recorded] = await events(reference);
    expect(recorded).toMatchObject({
      outcome: "unprocessable",
      deliveries: 2,
      detail: { sqlstate: "22009", would_have_been: "credited", error: expect.stringMatching(/time zone displacement/) },
    });
    expect(recorded.dedupe_key).toMatch(new RegExp(`^charge\\.success:${reference}:unprocessable:[0-9a-f]{32}$`));

    const verify = await invokeAs(buyer, "credits-checkout/verify", { reference });
    expect(verify).toMatchObject({ status: 200, body: { status: "success", outcome: "credited", credits_granted: 55 } });
    expect((await deliver(JSON.stringify(event))).body.outcome).toBe("duplicate");
    expect(await balance(buyer)).toBe(55);
  });

  it("a dispute whose refund_amount is out of range answers 200 unprocessable and leaves the dispute's key free", async () => {
    const { reference, event } = await paidPurchase();
    expect((await deliver(JSON.stringify(event))).body.outcome).toBe("credited");
    const dispute = await fakePaystack(`/transactions/${reference}/dispute`);
    const huge = withData(dispute, { refund_amount: "999999999999999" });

    expect(await deliver(huge)).toEqual({ status: 200, body: { received: true, outcome: "unprocessable" } });
    const { rows } = await db().query("select count(*)::int as n from public.payment_disputes where reference = $1", [reference]);
    expect(rows[0].n).toBe(0);
    expect((await deliver(JSON.stringify(dispute))).body.outcome).toBe("disputed");
  });
});
