// Buying credits over HTTP through the gateway, the way the browser (supabase-js) and Paystack
// (signed webhook calls) do it, against the local fake Paystack; the database is checked afterwards.
//
// The fake Paystack is shared by the whole stack and its "misbehave next call" switch is global,
// so every test that talks to Paystack lives in this file, and the file's tests run in order.
import { createHmac, randomUUID } from "node:crypto";
import { FunctionsHttpError } from "@supabase/supabase-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anonClient, closeDb, db, stack, userClient } from "../support/stack.ts";

const webhookUrl = `${stack.functionsUrl}/paystack-webhook`;
const buyer = randomUUID();
const operator = randomUUID();
const stranger = randomUUID();
const createdUsers = [buyer, operator, stranger];
let popular: { id: string; price: number; credits: number; bonus_credits: number; currency: string };
let starter: { id: string; price: number; credits: number; bonus_credits: number; currency: string };

function sign(body: string, key = stack.paystackSecretKey): string {
  return createHmac("sha512", key).update(body).digest("hex");
}

/** Delivers a webhook call as Paystack does: raw JSON body, HMAC-SHA512 of it in a header. */
function deliver(body: string, headers: Record<string, string> = { "x-paystack-signature": sign(body) }) {
  return fetch(webhookUrl, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
}

async function fakePaystack(path: string, body: unknown = {}) {
  const response = await fetch(`${stack.paystackApiUrl}/__fake${path}`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return response.json();
}

async function recordedPaystackRequests(): Promise<Array<{ method: string; path: string; headers: Record<string, string>; body: any }>> {
  return (await fetch(`${stack.paystackApiUrl}/__fake/requests`)).json();
}

async function balance(userId: string): Promise<number> {
  // Through supabase-js as the user, the way the app shows it.
  const { data, error } = await userClient(userId).from("real_users").select("credits").single();
  expect(error).toBeNull();
  return data!.credits;
}

/** Calls a function as a signed-in user through supabase-js; returns status and JSON body. */
async function invokeAs(userId: string, name: string, body: unknown) {
  const { data, error } = await userClient(userId).functions.invoke(name, { body });
  if (error instanceof FunctionsHttpError) {
    return { status: error.context.status as number, body: await error.context.json() };
  }
  expect(error).toBeNull();
  return { status: 200, body: data };
}

async function checkout(userId: string, packageId: string) {
  return invokeAs(userId, "credits-checkout", { package_id: packageId });
}

/** A pending transaction inserted directly (what start_checkout would have made). */
async function pendingTransaction(userId: string, amount = 45000, credits = 55, currency = "KES") {
  const reference = `fantooo-test-${randomUUID()}`;
  await db().query(
    "insert into public.transactions (real_user_id, reference, package_id, amount, currency, credits) values ($1, $2, $3, $4, $5, $6)",
    [userId, reference, popular.id, amount, currency, credits],
  );
  return reference;
}

function chargeSuccess(reference: string, overrides: Record<string, unknown> = {}) {
  return JSON.stringify({
    event: "charge.success",
    data: {
      id: Math.floor(Math.random() * 1e12),
      domain: "test",
      status: "success",
      reference,
      amount: 45000,
      currency: "KES",
      paid_at: new Date().toISOString(),
      customer: { email: "buyer@example.com" },
      ...overrides,
    },
  });
}

async function events(reference: string) {
  const { rows } = await db().query(
    "select event, outcome, deliveries, detail, source from public.paystack_events where reference = $1 order by received_at",
    [reference],
  );
  return rows;
}

async function transaction(reference: string) {
  const { rows } = await db().query("select * from public.transactions where reference = $1", [reference]);
  return rows[0];
}

beforeAll(async () => {
  for (const [id, email] of [[buyer, `buyer-${buyer}@example.com`], [operator, `op-${operator}@fantooo.local`], [stranger, `s-${stranger}@example.com`]]) {
    await db().query("insert into auth.users (id, email, aud, role) values ($1, $2, 'authenticated', 'authenticated')", [id, email]);
  }
  for (const id of [buyer, stranger]) {
    await db().query(
      "insert into public.real_users (id, display_name, age, gender, looking_for) values ($1, 'Buyer', 30, 'female', 'male')",
      [id],
    );
  }
  await db().query("insert into public.operators (id, name) values ($1, 'Operator')", [operator]);

  const { data, error } = await anonClient().from("credit_packages").select("*").order("price");
  expect(error).toBeNull();
  popular = data!.find((p) => p.name === "Popular");
  starter = data!.find((p) => p.name === "Starter");
});

afterAll(async () => {
  await db().query("delete from public.paystack_events where transaction_id in (select id from public.transactions where real_user_id = any($1))", [createdUsers]);
  await db().query("delete from public.transactions where real_user_id = any($1)", [createdUsers]);
  await db().query("delete from auth.users where id = any($1)", [createdUsers]);
  await closeDb();
});

describe("a real user buys credits", () => {
  let reference: string;
  let delivered: string;

  it("checkout creates the pending transaction and returns Paystack's authorization URL", async () => {
    const { status, body } = await checkout(buyer, popular.id);
    expect(status).toBe(200);
    expect(body).toEqual({
      authorization_url: expect.stringMatching(/^http/),
      access_code: expect.any(String),
      reference: expect.stringMatching(/^fantooo-[0-9a-f]{32}$/),
      amount: 45000,
      currency: "KES",
      credits: 55,
    });
    reference = body.reference;

    const tx = await transaction(reference);
    expect(tx).toMatchObject({ real_user_id: buyer, package_id: popular.id, amount: 45000, currency: "KES", credits: 55, status: "pending" });

    const sent = (await recordedPaystackRequests()).filter((r) => r.path === "/transaction/initialize" && r.body?.reference === reference);
    expect(sent).toHaveLength(1);
    expect(sent[0].headers.authorization).toBe(`Bearer ${stack.paystackSecretKey}`);
    expect(sent[0].body).toMatchObject({ email: `buyer-${buyer}@example.com`, amount: "45000", currency: "KES" });
  });

  it("a correctly signed charge.success credits the package's credits and bonus, visible through supabase-js", async () => {
    const event = await fakePaystack(`/transactions/${reference}/pay`);
    delivered = JSON.stringify(event);
    const response = await deliver(delivered);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: true, outcome: "credited" });

    expect(await balance(buyer)).toBe(55);
    const { data } = await userClient(buyer).from("transactions").select("status, paystack_transaction_id, paid_at").eq("reference", reference).single();
    expect(data).toEqual({ status: "success", paystack_transaction_id: event.data.id, paid_at: expect.any(String) });
    expect(await events(reference)).toEqual([
      { event: "charge.success", outcome: "credited", deliveries: 1, detail: { credits_granted: 55 }, source: "webhook" },
    ]);
  });

  it("a replayed charge.success answers 200 and credits nothing", async () => {
    const response = await deliver(delivered);
    expect(response.status).toBe(200);
    expect((await response.json()).outcome).toBe("duplicate");
    expect(await balance(buyer)).toBe(55);
    expect((await events(reference))[0].deliveries).toBe(2);
  });

  it("verify after the webhook credited changes nothing", async () => {
    const { status, body } = await invokeAs(buyer, "credits-checkout/verify", { reference });
    expect(status).toBe(200);
    expect(body).toMatchObject({ reference, status: "success", outcome: "already_settled", credits_granted: 0 });
    expect(await balance(buyer)).toBe(55);
  });
});

describe("the verify path", () => {
  it("credits a paid purchase whose webhook never came, once, for its owner only", async () => {
    const { body } = await checkout(buyer, starter.id);
    const reference = body.reference;
    const before = await balance(buyer);

    const unpaid = await invokeAs(buyer, "credits-checkout/verify", { reference });
    expect(unpaid.status).toBe(200);
    expect(unpaid.body).toMatchObject({ status: "pending", outcome: "not_paid", paystack_status: "abandoned", credits_granted: 0 });

    await fakePaystack(`/transactions/${reference}/pay`);
    const other = await invokeAs(stranger, "credits-checkout/verify", { reference });
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe("transaction_not_found");

    // One verify per reference every 5 seconds (api_private.start_payment_verify): as if they had passed since the first.
    await db().query(
      `update private.payment_verify_calls set last_called_at = last_called_at - interval '5 seconds'
        where transaction_id = (select id from public.transactions where reference = $1)`,
      [reference],
    );
    const paid = await invokeAs(buyer, "credits-checkout/verify", { reference });
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({ status: "success", outcome: "credited", credits_granted: 10 });
    expect(await balance(buyer)).toBe(before + 10);
    expect(await events(reference)).toEqual([
      expect.objectContaining({ event: "charge.success", outcome: "credited", source: "verify" }),
    ]);

    // The webhook arriving late is a duplicate.
    const late = await deliver(chargeSuccess(reference, { amount: starter.price }));
    expect((await late.json()).outcome).toBe("duplicate");
    expect(await balance(buyer)).toBe(before + 10);
  });
});

describe("checkout refusals", () => {
  it("an operator cannot buy credits (403 not_real_user)", async () => {
    const { status, body } = await checkout(operator, popular.id);
    expect(status).toBe(403);
    expect(body).toEqual({ error: { code: "not_real_user", message: expect.any(String) } });
  });

  it("an unknown package is 404 package_not_found", async () => {
    const { status, body } = await checkout(buyer, randomUUID());
    expect(status).toBe(404);
    expect(body.error.code).toBe("package_not_found");
  });

  it("a body without a valid package_id is 400", async () => {
    const { status, body } = await checkout(buyer, "popular");
    expect(status).toBe(400);
    expect(body.error.code).toBe("invalid_request");
  });

  it("without a JWT the gateway refuses the call", async () => {
    const response = await fetch(`${stack.functionsUrl}/credits-checkout`, { method: "POST", body: JSON.stringify({ package_id: popular.id }) });
    expect(response.status).toBe(401);
  });

  it("answers a browser's CORS preflight", async () => {
    const response = await fetch(`${stack.functionsUrl}/credits-checkout`, {
      method: "OPTIONS",
      headers: { origin: "http://localhost:3000", "access-control-request-method": "POST", "access-control-request-headers": "authorization, apikey, content-type, x-client-info" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-allow-headers")).toMatch(/authorization.*x-client-info.*apikey.*content-type|authorization/);
  });

  const upstream: Array<[string, string, string]> = [
    ["Paystack answering 500", "error", "paystack_error"],
    ["Paystack hanging past the timeout", "hang", "paystack_timeout"],
  ];
  it.each(upstream)("%s (fake mode %s) is 502 %s and leaves the transaction failed", async (_name, mode, code) => {
    await fakePaystack("/next", { mode });
    const started = Date.now();
    const { status, body } = await checkout(buyer, popular.id);
    expect(status).toBe(502);
    expect(body).toEqual({ error: { code, message: expect.any(String) } });
    const { rows } = await db().query(
      "select status, failure_reason from public.transactions where real_user_id = $1 and created_at >= to_timestamp($2 / 1000.0) order by created_at desc limit 1",
      [buyer, started - 1000],
    );
    expect(rows).toEqual([{ status: "failed", failure_reason: code }]);
  }, 30_000);
});

describe("webhook refusals", () => {
  it("a missing signature is 401 and records nothing", async () => {
    const reference = await pendingTransaction(buyer);
    const response = await deliver(chargeSuccess(reference), {});
    expect(response.status).toBe(401);
    expect((await response.json()).error.code).toBe("missing_signature");
    expect(await events(reference)).toEqual([]);
  });

  it("a bad signature is 401 and credits nothing", async () => {
    const reference = await pendingTransaction(buyer);
    const before = await balance(buyer);
    const body = chargeSuccess(reference);
    for (const signature of [sign(body, "sk_test_someone_else"), "0".repeat(128), "not-hex"]) {
      const response = await deliver(body, { "x-paystack-signature": signature });
      expect(response.status).toBe(401);
      expect((await response.json()).error.code).toBe("invalid_signature");
    }
    expect(await balance(buyer)).toBe(before);
    expect((await transaction(reference)).status).toBe("pending");
  });

  it("a tampered body (signature of the original) is 401", async () => {
    const reference = await pendingTransaction(buyer, 450000, 600);
    const original = chargeSuccess(reference, { amount: 100 });
    const tampered = original.replace('"amount":100', '"amount":450000');
    const response = await deliver(tampered, { "x-paystack-signature": sign(original) });
    expect(response.status).toBe(401);
    expect((await transaction(reference)).status).toBe("pending");
  });

  it("an amount mismatch answers 200, credits nothing and is recorded for admins", async () => {
    const reference = await pendingTransaction(buyer);
    const before = await balance(buyer);
    const response = await deliver(chargeSuccess(reference, { amount: 4500 }));
    expect(response.status).toBe(200);
    expect((await response.json()).outcome).toBe("amount_mismatch");
    expect(await balance(buyer)).toBe(before);
    expect((await transaction(reference)).status).toBe("pending");
    expect(await events(reference)).toEqual([
      expect.objectContaining({ outcome: "amount_mismatch", detail: { expected_amount: 45000, received_amount: 4500 } }),
    ]);
  });

  it("a currency mismatch answers 200, credits nothing and is recorded", async () => {
    const reference = await pendingTransaction(buyer);
    const before = await balance(buyer);
    const response = await deliver(chargeSuccess(reference, { currency: "NGN" }));
    expect(response.status).toBe(200);
    expect((await response.json()).outcome).toBe("currency_mismatch");
    expect(await balance(buyer)).toBe(before);
    expect((await events(reference))[0].outcome).toBe("currency_mismatch");
  });

  it("an unknown reference answers 200 and is recorded", async () => {
    const reference = `fantooo-nobody-${randomUUID()}`;
    const response = await deliver(chargeSuccess(reference));
    expect(response.status).toBe(200);
    expect((await response.json()).outcome).toBe("unknown_reference");
    expect(await events(reference)).toEqual([expect.objectContaining({ outcome: "unknown_reference" })]);
    await db().query("delete from public.paystack_events where reference = $1", [reference]);
  });

  it("malformed JSON (correctly signed) is 400", async () => {
    const body = '{"event":"charge.success","data":';
    const response = await deliver(body);
    expect(response.status).toBe(400);
    expect((await response.json()).error.code).toBe("malformed_json");
  });

  it("a signed event missing required fields is 400", async () => {
    const body = JSON.stringify({ event: "charge.success", data: { amount: 45000 } });
    const response = await deliver(body);
    expect(response.status).toBe(400);
    expect((await response.json()).error.code).toBe("invalid_event");
  });

  it("a body over 64 KiB is 413", async () => {
    const reference = await pendingTransaction(buyer);
    const body = chargeSuccess(reference, { padding: "x".repeat(70 * 1024) });
    const response = await deliver(body);
    expect(response.status).toBe(413);
    expect((await response.json()).error.code).toBe("payload_too_large");
    expect(await events(reference)).toEqual([]);
  });

  it("a method other than POST is 405", async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const response = await fetch(webhookUrl, { method });
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("POST");
      expect((await response.json()).error.code).toBe("method_not_allowed");
    }
  });

  it("an event we do not handle answers 200 and is recorded as ignored", async () => {
    const reference = `TRF_${randomUUID()}`;
    const response = await deliver(JSON.stringify({ event: "transfer.success", data: { reference, amount: 100 } }));
    expect(response.status).toBe(200);
    expect((await response.json()).outcome).toBe("ignored");
    expect(await events(reference)).toEqual([expect.objectContaining({ event: "transfer.success", outcome: "ignored" })]);
    await db().query("delete from public.paystack_events where reference = $1", [reference]);
  });

  it("the webhook sends no CORS headers (it is not for browsers)", async () => {
    const response = await deliver("{}", { "x-paystack-signature": sign("{}"), origin: "http://localhost:3000" });
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("concurrent deliveries", () => {
  it("50 simultaneous deliveries of one charge.success credit exactly once", async () => {
    const reference = await pendingTransaction(buyer);
    const before = await balance(buyer);
    const body = chargeSuccess(reference);
    const responses = await Promise.all(Array.from({ length: 50 }, () => deliver(body)));
    const outcomes = await Promise.all(responses.map(async (r) => [r.status, (await r.json()).outcome]));
    expect(outcomes.filter(([status]) => status === 200)).toHaveLength(50);
    expect(outcomes.filter(([, outcome]) => outcome === "credited")).toHaveLength(1);
    expect(outcomes.filter(([, outcome]) => outcome === "duplicate")).toHaveLength(49);
    expect(await balance(buyer)).toBe(before + 55);
    expect(await events(reference)).toEqual([expect.objectContaining({ outcome: "credited", deliveries: 50 })]);
  }, 30_000);
});

describe("refunds", () => {
  it("refund.processed takes back the purchase's credits, never below zero, recording the shortfall", async () => {
    const reference = await pendingTransaction(stranger);
    await deliver(chargeSuccess(reference));
    expect(await balance(stranger)).toBe(55);
    // The user spends 50 of them.
    await db().query("update public.real_users set credits = 5 where id = $1", [stranger]);

    const refund = JSON.stringify({
      event: "refund.processed",
      data: { status: "processed", transaction_reference: reference, amount: "45000", currency: "KES" },
    });
    const response = await deliver(refund);
    expect(response.status).toBe(200);
    expect((await response.json()).outcome).toBe("refunded");
    expect(await balance(stranger)).toBe(0);
    expect(await transaction(reference)).toMatchObject({ status: "refunded", credits_reversed: 5, refund_shortfall: 50 });

    const replay = await deliver(refund);
    expect((await replay.json()).outcome).toBe("duplicate");
    await db().query("update public.real_users set credits = 7 where id = $1", [stranger]);
    await deliver(refund);
    expect(await balance(stranger)).toBe(7);
  });
});
