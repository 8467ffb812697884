// The function apps built in-process with test doubles for the database (and a local fake Paystack),
// checking the HTTP contract that does not need the stack: methods, sizes, signatures, error shape,
// CORS, and what reaches the SQL functions.
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadEnv } from "../../supabase/functions/_shared/env.ts";
import { createUserClients } from "../../supabase/functions/_shared/db/data-api.ts";
import { dbOf, type RpcTransport } from "../../supabase/functions/_shared/db/mod.ts";
import { createApp as createWebhook, envSchema as webhookEnv } from "../../supabase/functions/paystack-webhook/app.ts";
import { createApp as createCheckout, envSchema as checkoutEnv } from "../../supabase/functions/credits-checkout/app.ts";
import { createApp as createAssign, envSchema as assignEnv } from "../../supabase/functions/assign-chat/app.ts";
import { createApp as createSweeper, envSchema as sweeperEnv } from "../../supabase/functions/idle-sweeper/app.ts";
import { generateSigningKey, signToken, userClaims } from "../support/tokens.ts";
// @ts-ignore plain ESM without types
import { startFakePaystack } from "../../local/stack/fake-paystack.mjs";

const SECRET = "sk_test_unit_functions";
const signingKey = generateSigningKey();
const sourceEnv = {
  SUPABASE_URL: "http://127.0.0.1:9",
  SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: "sb_publishable_unit" }),
  SUPABASE_SECRET_KEYS: JSON.stringify({ default: "sb_secret_unit", cron: "sb_secret_unit_cron" }),
  SUPABASE_JWKS: JSON.stringify(signingKey.jwks),
  SUPABASE_SERVICE_ROLE_KEY: "service-role-key",
  PAYSTACK_SECRET_KEY: SECRET,
  PAYSTACK_TIMEOUT_MS: "300",
};
// Each function validates only its own variables; one object that satisfies all four.
const env = {
  ...loadEnv(webhookEnv, sourceEnv),
  ...loadEnv(checkoutEnv, sourceEnv),
  ...loadEnv(assignEnv, sourceEnv),
  ...loadEnv(sweeperEnv, sourceEnv),
};

type Call = { fn: string; args: Record<string, unknown> };
type Answer = { data: unknown; error: unknown };

function fakeDb(answer: (fn: string, args: Record<string, unknown>) => Answer) {
  const calls: Call[] = [];
  const client = {
    rpc: (fn: string, args: Record<string, unknown>) => {
      calls.push({ fn, args });
      return Promise.resolve(answer(fn, args));
    },
  } as RpcTransport;
  return { calls, client, db: dbOf({ service: client, forUser: () => client }) };
}

const sign = (body: string) => createHmac("sha512", SECRET).update(body).digest("hex");
/** A user's access token signed with the key SUPABASE_JWKS publishes. */
const jwt = (sub: string) => signToken(userClaims(sub), { jwk: signingKey.jwk });

beforeAll(() => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  vi.spyOn(console, "warn").mockImplementation(() => {});
  vi.spyOn(console, "error").mockImplementation(() => {});
});
afterAll(() => vi.restoreAllMocks());

describe("paystack-webhook", () => {
  const charge = JSON.stringify({
    event: "charge.success",
    data: { id: 1, reference: "fantooo-1", amount: 45000, currency: "KES", paid_at: "2025-01-01T00:00:00Z" },
  });
  const credited = { data: { outcome: "credited", event_id: "e", transaction_id: "t", status: "success", credits_granted: 55, credits_reversed: 0 }, error: null };

  const post = (body: string, headers: Record<string, string> = {}) =>
    new Request("http://fn/paystack-webhook", { method: "POST", body, headers });

  const refusals: Array<[string, () => Request, number, string]> = [
    ["a GET is 405", () => new Request("http://fn/paystack-webhook"), 405, "method_not_allowed"],
    ["no signature is 401", () => post(charge), 401, "missing_signature"],
    ["a wrong signature is 401", () => post(charge, { "x-paystack-signature": sign(charge + " ") }), 401, "invalid_signature"],
    ["a tampered body is 401", () => post(charge.replace("45000", "4500"), { "x-paystack-signature": sign(charge) }), 401, "invalid_signature"],
    ["a body over 64 KiB is 413 even when signed", () => {
      const big = JSON.stringify({ event: "charge.success", data: { pad: "x".repeat(70_000) } });
      return post(big, { "x-paystack-signature": sign(big) });
    }, 413, "payload_too_large"],
    ["signed malformed JSON is 400", () => post("{nope", { "x-paystack-signature": sign("{nope") }), 400, "malformed_json"],
    ["a signed event without reference is 400", () => {
      const body = JSON.stringify({ event: "charge.success", data: { id: 1, amount: 1, currency: "KES" } });
      return post(body, { "x-paystack-signature": sign(body) });
    }, 400, "invalid_event"],
    ["an unknown path is 404", () => new Request("http://fn/paystack-webhook/other", { method: "POST" }), 404, "not_found"],
  ];
  it.each(refusals)("%s, the database untouched", async (_name, request, status, code) => {
    const db = fakeDb(() => credited);
    const res = await createWebhook(env, { db: db.db }).fetch(request());
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code, message: expect.any(String) } });
    expect(db.calls).toHaveLength(0);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("a signed charge.success is handed to apply_paystack_event as received", async () => {
    const db = fakeDb(() => credited);
    const res = await createWebhook(env, { db: db.db })
      .fetch(post(charge, { "x-paystack-signature": sign(charge) }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, outcome: "credited" });
    expect(db.calls).toEqual([{
      fn: "apply_paystack_event",
      args: { p_event: "charge.success", p_reference: "fantooo-1", p_payload: JSON.parse(charge), p_source: "webhook" },
    }]);
  });

  it("an event naming no reference reaches SQL without one (the body is its dedupe key there)", async () => {
    const db = fakeDb(() => ({ ...credited, data: { ...credited.data, outcome: "ignored" } }));
    const body = JSON.stringify({ event: "subscription.create", data: { code: "SUB_1" } });
    const res = await createWebhook(env, { db: db.db }).fetch(post(body, { "x-paystack-signature": sign(body) }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, outcome: "ignored" });
    expect(db.calls).toHaveLength(1);
    expect(db.calls[0].args).not.toHaveProperty("p_reference", expect.anything());
    expect(db.calls[0].args.p_payload).toEqual(JSON.parse(body));
  });

  it("a signed event jsonb cannot hold as is reaches SQL as its storable copy (NUL, lone surrogate, 30,000 levels)", async () => {
    const db = fakeDb(() => credited);
    // The raw text as Paystack could send it: \u0000 and \ud800 escapes, then deep nesting under 64 KiB.
    const body = `{"event":"charge.success","data":{"id":1,"reference":"fantooo-1","amount":45000,"currency":"KES",` +
      `"customer":{"first_name":"Ann\\u0000e","last_name":"B\\ud800"},"metadata":{"deep":${"[".repeat(30_000)}${"]".repeat(30_000)}}}}`;
    expect(body.length).toBeLessThan(64 * 1024);
    const res = await createWebhook(env, { db: db.db }).fetch(post(body, { "x-paystack-signature": sign(body) }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, outcome: "credited" });
    expect(db.calls).toHaveLength(1);
    const payload = db.calls[0].args.p_payload as { data: { customer: unknown; metadata: { deep: unknown } } };
    expect(db.calls[0].args.p_reference).toBe("fantooo-1");
    expect(payload.data.customer).toEqual({ first_name: "Ann\uFFFDe", last_name: "B\uFFFD" });
    expect(JSON.stringify(payload)).toContain("[removed: nested deeper than 32 levels]");
    expect(JSON.stringify(payload).length).toBeLessThan(1000);
  });

  it("a database failure is a 500 without database details, so Paystack retries", async () => {
    const db = fakeDb(() => ({ data: null, error: { code: "XX000", message: "internal error in the server", details: "secret" } }));
    const res = await createWebhook(env, { db: db.db })
      .fetch(post(charge, { "x-paystack-signature": sign(charge) }));
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text).error.code).toBe("internal_error");
    expect(text).not.toMatch(/internal error in|secret|XX000/);
  });

  it("a database that is down is 503 unavailable without database details, so Paystack retries", async () => {
    const db = fakeDb(() => ({ data: null, error: { code: "08006", message: "connection to server lost", details: "secret" } }));
    const res = await createWebhook(env, { db: db.db })
      .fetch(post(charge, { "x-paystack-signature": sign(charge) }));
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text).error.code).toBe("unavailable");
    expect(text).not.toMatch(/connection|secret|08006/);
  });

  it("an unreachable database (real supabase-js, closed port) is a 500", async () => {
    const res = await createWebhook(env).fetch(post(charge, { "x-paystack-signature": sign(charge) }));
    expect(res.status).toBe(500);
    expect((await res.json()).error.code).toBe("internal_error");
  });
});

describe("paystack-webhook source check (PAYSTACK_WEBHOOK_ALLOWED_IPS)", () => {
  const charge = JSON.stringify({
    event: "charge.success",
    data: { id: 2, reference: "fantooo-2", amount: 45000, currency: "KES" },
  });
  const credited = { data: { outcome: "credited", event_id: "e", transaction_id: "t", status: "success", credits_granted: 55, credits_reversed: 0 }, error: null };
  const checked = { ...env, ...loadEnv(webhookEnv, { ...sourceEnv, PAYSTACK_WEBHOOK_ALLOWED_IPS: "paystack" }) };

  /** A signed POST whose body stream notes whether anyone read it. */
  const delivery = (headers: Record<string, string>, signature = sign(charge)) => {
    const bytes = new TextEncoder().encode(charge);
    const read = { pulled: false };
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        read.pulled = true;
        controller.enqueue(bytes);
        controller.close();
      },
    }, { highWaterMark: 0 }); // pulled only when someone reads
    const request = new Request("http://fn/paystack-webhook", {
      method: "POST",
      body,
      headers: { "x-paystack-signature": signature, ...headers },
      duplex: "half",
    } as RequestInit);
    return { request, read };
  };

  const refused: Array<[string, Record<string, string>]> = [
    ["no source header", {}],
    ["another address", { "x-forwarded-for": "203.0.113.7" }],
    ["Paystack only further down x-forwarded-for", { "x-forwarded-for": "203.0.113.7, 52.31.139.75" }],
    ["a forged x-forwarded-for that x-real-ip contradicts", { "x-forwarded-for": "52.31.139.75, 203.0.113.7", "x-real-ip": "203.0.113.7" }],
    ["a source that is not an address", { "x-forwarded-for": "unknown" }],
  ];
  it.each(refused)("a correctly signed call from %s is 403 forbidden_source; body unread, nothing recorded", async (_name, headers) => {
    const db = fakeDb(() => credited);
    const { request, read } = delivery(headers);
    const res = await createWebhook(checked, { db: db.db }).fetch(request);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: { code: "forbidden_source", message: expect.any(String) } });
    expect(read.pulled).toBe(false);
    expect(request.bodyUsed).toBe(false);
    expect(db.calls).toHaveLength(0);
  });

  it("a call from another source is 403 whatever its method", async () => {
    const res = await createWebhook(checked, { db: fakeDb(() => credited).db })
      .fetch(new Request("http://fn/paystack-webhook", { headers: { "x-forwarded-for": "203.0.113.7" } }));
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("forbidden_source");
  });

  const passed: Array<[string, Record<string, string>]> = [
    ["x-forwarded-for naming Paystack", { "x-forwarded-for": "52.31.139.75" }],
    ["Paystack first in x-forwarded-for, x-real-ip agreeing", { "x-forwarded-for": "52.214.14.220, 172.70.1.1", "x-real-ip": "52.214.14.220" }],
  ];
  it.each(passed)("a signed charge.success from %s is credited", async (_name, headers) => {
    const db = fakeDb(() => credited);
    const { request, read } = delivery(headers);
    const res = await createWebhook(checked, { db: db.db }).fetch(request);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, outcome: "credited" });
    expect(read.pulled).toBe(true); // the sensor of the refusals above does notice a read
    expect(db.calls.map((call) => call.fn)).toEqual(["apply_paystack_event"]);
  });

  it.each(passed)("the signature stays mandatory for %s: a wrong one is 401", async (_name, headers) => {
    const db = fakeDb(() => credited);
    const { request } = delivery(headers, sign(charge + " "));
    const res = await createWebhook(checked, { db: db.db }).fetch(request);
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe("invalid_signature");
    expect(db.calls).toHaveLength(0);
  });

  it("a custom list allows its own addresses and no longer Paystack's", async () => {
    const custom = { ...env, ...loadEnv(webhookEnv, { ...sourceEnv, PAYSTACK_WEBHOOK_ALLOWED_IPS: "203.0.113.7, 2001:db8::7" }) };
    const statuses = [];
    for (const source of ["203.0.113.7", "2001:DB8:0::7", "52.31.139.75"]) {
      const { request } = delivery({ "x-forwarded-for": source });
      statuses.push((await createWebhook(custom, { db: fakeDb(() => credited).db }).fetch(request)).status);
    }
    expect(statuses).toEqual([200, 200, 403]);
  });

  it("unset, there is no source check: a signed call from anywhere, or naming no source, is credited", async () => {
    expect(env.PAYSTACK_WEBHOOK_ALLOWED_IPS).toBeNull();
    for (const headers of [{}, { "x-forwarded-for": "203.0.113.7" }]) {
      const db = fakeDb(() => credited);
      const { request } = delivery(headers);
      const res = await createWebhook(env, { db: db.db }).fetch(request);
      expect(res.status).toBe(200);
      expect(db.calls).toHaveLength(1);
    }
  });
});

describe("credits-checkout", () => {
  let fake: Awaited<ReturnType<typeof startFakePaystack>>;
  let app: ReturnType<typeof createCheckout>;
  let lastReference = "";
  const db = fakeDb((fn) =>
    fn === "start_checkout"
      ? {
        data: {
          transaction_id: "t1", reference: (lastReference = `fantooo-${Math.random().toString(36).slice(2)}`), amount: 45000,
          currency: "KES", credits: 55, email: "alice@example.com", real_user_id: "u1",
          package: { id: "p1", name: "Popular", credits: 50, bonus_credits: 5 },
        },
        error: null,
      }
      : { data: true, error: null }
  );

  beforeAll(async () => {
    fake = await startFakePaystack({ secretKey: SECRET });
    app = createCheckout(
      { ...env, PAYSTACK_API_URL: fake.url },
      { db: db.db },
    );
  });
  afterAll(() => fake.close());

  const checkout = (body: string, headers: Record<string, string> = { authorization: `Bearer ${jwt("u1")}` }) =>
    app.fetch(new Request("http://fn/credits-checkout", { method: "POST", body, headers }));

  it("answers the CORS preflight of a browser", async () => {
    const res = await app.fetch(new Request("http://fn/credits-checkout", {
      method: "OPTIONS",
      headers: { origin: "https://app.fantooo.example", "access-control-request-method": "POST" },
    }));
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-headers")).toContain("authorization");
    expect(res.headers.get("access-control-allow-headers")).toContain("apikey");
  });

  const refusals: Array<[string, () => Promise<Response>, number, string]> = [
    ["no token is 401", () => checkout('{"package_id":"7a1c2b7e-1111-4111-8111-111111111111"}', {}), 401, "unauthorized"],
    ["malformed JSON is 400", () => checkout("{"), 400, "malformed_json"],
    ["a package_id that is not a uuid is 400", () => checkout('{"package_id":"popular"}'), 400, "invalid_request"],
  ];
  it.each(refusals)("%s, with CORS headers on the error", async (_name, send, status, code) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect((await res.json()).error.code).toBe(code);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("sends Paystack the copied price, currency, email and reference and returns its URL", async () => {
    const res = await checkout('{"package_id":"7a1c2b7e-1111-4111-8111-111111111111"}');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ access_code: expect.any(String), amount: 45000, currency: "KES", credits: 55 });
    const sent = fake.requests.at(-1);
    expect(sent.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(sent.body).toMatchObject({ email: "alice@example.com", amount: "45000", currency: "KES", reference: body.reference });
    expect(body.authorization_url).toBe(`${fake.url}/checkout/${body.access_code}`);
  });

  describe("the database's abuse limits", () => {
    const limited = (detail: string) => ({
      data: null,
      error: { code: "PT429", message: "rate_limited", details: detail, hint: null },
    });
    const build = (answer: Parameters<typeof fakeDb>[0]) => {
      const limitedDb = fakeDb(answer);
      const limitedApp = createCheckout(
        { ...env, PAYSTACK_API_URL: fake.url },
        { db: limitedDb.db },
      );
      return { limitedDb, limitedApp };
    };
    const call = (app: ReturnType<typeof createCheckout>, path: string, body: string) =>
      app.fetch(new Request(`http://fn/credits-checkout${path}`, {
        method: "POST",
        body,
        headers: { authorization: `Bearer ${jwt("u1")}`, origin: "https://app.fantooo.example" },
      }));

    it("an 11th pending checkout within the hour is 429 rate_limited with Retry-After, and Paystack is not called", async () => {
      const { limitedApp } = build(() => limited("At most 10 checkouts per hour may wait for payment: try again in 1234 seconds."));
      const before = fake.requests.length;
      const res = await call(limitedApp, "", '{"package_id":"7a1c2b7e-1111-4111-8111-111111111111"}');
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("1234");
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(await res.json()).toEqual({ error: { code: "rate_limited", message: expect.stringContaining("1234 seconds") } });
      expect(fake.requests.length).toBe(before);
    });

    it("a second verify within 5 seconds is 429 rate_limited with Retry-After, and Paystack is not asked", async () => {
      const { limitedDb, limitedApp } = build(() => limited("Verify a payment at most every 5 seconds: try again in 3 seconds."));
      const before = fake.requests.length;
      const res = await call(limitedApp, "/verify", '{"reference":"fantooo-x"}');
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("3");
      expect((await res.json()).error.code).toBe("rate_limited");
      expect(limitedDb.calls).toEqual([{ fn: "start_payment_verify", args: { p_reference: "fantooo-x" } }]);
      expect(fake.requests.length).toBe(before);
    });

    it("a verify of someone else's reference is 404 transaction_not_found, without Retry-After", async () => {
      const { limitedApp } = build(() => ({
        data: null,
        error: { code: "PT404", message: "transaction_not_found", details: "You have no transaction with this reference.", hint: null },
      }));
      const res = await call(limitedApp, "/verify", '{"reference":"fantooo-y"}');
      expect(res.status).toBe(404);
      expect(res.headers.get("retry-after")).toBeNull();
      expect((await res.json()).error.code).toBe("transaction_not_found");
    });
  });

  const upstream: Array<[string, string, string]> = [
    ["Paystack hanging past the timeout", "hang", "paystack_timeout"],
    ["Paystack answering 500", "error", "paystack_error"],
    ["Paystack refusing", "refuse", "paystack_error"],
    ["Paystack answering garbage", "garbage", "paystack_error"],
  ];
  it.each(upstream)("%s is 502 %s and the checkout is marked failed", async (_name, mode, code) => {
    fake.misbehave(mode);
    db.calls.length = 0;
    const res = await checkout('{"package_id":"7a1c2b7e-1111-4111-8111-111111111111"}');
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ error: { code, message: expect.any(String) } });
    const failed = db.calls.find((call) => call.fn === "mark_transaction_failed");
    expect(failed?.args).toEqual({ p_reference: lastReference, p_reason: code });
  });
});

describe("assign-chat maps the SQL refusals", () => {
  const cases: Array<[string, Answer, number, string | null]> = [
    ["not_operator", { data: null, error: { code: "PT403", message: "not_operator" } }, 403, "not_operator"],
    ["operator_unavailable", { data: null, error: { code: "PT409", message: "operator_unavailable" } }, 409, "operator_unavailable"],
    ["at_capacity", { data: null, error: { code: "PT409", message: "at_capacity" } }, 409, "at_capacity"],
    ["nothing waiting", { data: { chat: null }, error: null }, 200, null],
  ];
  it.each(cases)("%s", async (_name, answer, status, code) => {
    const db = fakeDb(() => answer);
    const app = createAssign(env, { db: db.db });
    const res = await app.fetch(new Request("http://fn/assign-chat", {
      method: "POST",
      headers: { authorization: `Bearer ${jwt("op-1")}` },
    }));
    expect(res.status).toBe(status);
    const body = await res.json();
    if (code) expect(body.error.code).toBe(code);
    else expect(body).toEqual({ chat: null });
    // one RPC: the assignment and its details in one transaction (api_private.assign_next_chat)
    expect(db.calls).toEqual([{ fn: "assign_next_chat", args: {} }]);
  });

  it("answers the chat's details from the one RPC, with the caller's token", async () => {
    const chat = { id: "7a1c2b7e-1111-4111-8111-111111111111", status: "assigned", messages: [] };
    const db = fakeDb(() => ({ data: { chat }, error: null }));
    const tokens: string[] = [];
    const forUser = (caller: { token: string }) => {
      tokens.push(caller.token);
      return db.client;
    };
    const app = createAssign(env, { db: dbOf({ service: db.client, forUser }) });
    const token = await jwt("op-1");
    const res = await app.fetch(new Request("http://fn/assign-chat", {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body: "{}",
    }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ chat });
    expect(tokens).toEqual([token]);
    expect(db.calls).toEqual([{ fn: "assign_next_chat", args: {} }]);
  });

  it("an answer that is not {chat} is a 500, not a made-up chat", async () => {
    const db = fakeDb(() => ({ data: "7a1c2b7e-1111-4111-8111-111111111111", error: null }));
    const app = createAssign(env, { db: db.db });
    const res = await app.fetch(new Request("http://fn/assign-chat", {
      method: "POST",
      headers: { authorization: `Bearer ${jwt("op-1")}` },
    }));
    expect(res.status).toBe(500);
  });

  it("a release with an unknown reason is 400 before reaching SQL", async () => {
    const db = fakeDb(() => ({ data: true, error: null }));
    const app = createAssign(env, { db: db.db });
    const res = await app.fetch(new Request("http://fn/assign-chat/release", {
      method: "POST",
      headers: { authorization: `Bearer ${jwt("op-1")}` },
      body: JSON.stringify({ chat_id: "7a1c2b7e-1111-4111-8111-111111111111", reason: "bored" }),
    }));
    expect(res.status).toBe(400);
    expect(db.calls).toHaveLength(0);
  });
});

describe("createUserClients: one client per instance, the caller's token per call", () => {
  it("sends each RPC with its own caller's token and the publishable key, never another's", async () => {
    const seen: Array<{ path: string; authorization?: string; apikey?: string }> = [];
    const server = createServer((req, res) => {
      seen.push({
        path: req.url ?? "",
        authorization: req.headers.authorization,
        apikey: req.headers.apikey as string | undefined,
      });
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ chat: null }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const forUser = createUserClients({ ...env, SUPABASE_URL: `http://127.0.0.1:${port}` });
      const [a, b] = await Promise.all([
        forUser({ token: "token-a", claims: {} }).rpc("assign_next_chat", {}),
        forUser({ token: "token-b", claims: {} }).rpc("assign_next_chat", {}),
      ]);
      expect(a.data).toEqual({ chat: null });
      expect(b.data).toEqual({ chat: null });
      await forUser({ token: "token-c", claims: {} }).rpc("get_chat_with_details", { p_chat_id: "c" });
      expect(seen.map((r) => r.path)).toEqual([
        "/rest/v1/rpc/assign_next_chat",
        "/rest/v1/rpc/assign_next_chat",
        "/rest/v1/rpc/get_chat_with_details",
      ]);
      expect(seen.map((r) => r.authorization).sort()).toEqual(["Bearer token-a", "Bearer token-b", "Bearer token-c"]);
      expect(new Set(seen.map((r) => r.apikey))).toEqual(new Set(["sb_publishable_unit"]));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("idle-sweeper", () => {
  const sweep = (headers: Record<string, string>) => {
    const db = fakeDb(() => ({ data: { released: 2, flagged: 1 }, error: null }));
    const app = createSweeper(env, { db: db.db });
    return { db, res: app.fetch(new Request("http://fn/idle-sweeper", { method: "POST", headers })) };
  };
  const refused: Array<[string, Record<string, string>]> = [
    ["no key", {}],
    ["the publishable key", { apikey: "sb_publishable_unit" }],
    ["an unknown secret key", { apikey: "sb_secret_unit_other" }],
    ["a secret key with a suffix", { apikey: "sb_secret_unit2" }],
    ["a user's token", { authorization: `Bearer ${jwt("u1")}` }],
    ["the legacy key with a suffix", { authorization: "Bearer service-role-key2" }],
  ];
  it.each(refused)("refuses %s with 401 unauthorized", async (_name, headers) => {
    const { db, res } = sweep(headers);
    const answer = await res;
    expect(answer.status).toBe(401);
    expect((await answer.json()).error.code).toBe("unauthorized");
    expect(db.calls).toHaveLength(0);
  });
  const accepted: Array<[string, Record<string, string>]> = [
    ["the default secret key in apikey", { apikey: "sb_secret_unit" }],
    ["another named secret key (rotation)", { apikey: "sb_secret_unit_cron" }],
    ["a secret key as a bearer token", { authorization: "Bearer sb_secret_unit" }],
    ["the legacy service-role key", { authorization: "Bearer service-role-key" }],
  ];
  it.each(accepted)("runs the sweep for %s and reports its duration", async (_name, headers) => {
    const { db, res } = sweep(headers);
    const answer = await res;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ released: 2, flagged: 1, duration_ms: expect.any(Number) });
    expect(db.calls).toEqual([{ fn: "sweep_idle_chats", args: {} }]);
  });
});
