// Paying locally as a user would: the fake Paystack's checkout page at `authorization_url`, which
// (like Paystack) delivers the signed charge.success to the webhook, retrying until it is answered
// 200, and sends the browser back to the `callback_url` checkout passed.
//
// Over HTTP as a browser would (plain fetch, form posts, redirects not followed). The webhook's
// retries are checked against a fake of our own whose webhook URL is a small local server; the
// whole purchase is checked against the stack, whose fake delivers to the stack's webhook.
import { createHmac, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { FunctionsHttpError } from "@supabase/supabase-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbOf, type RpcTransport } from "../../supabase/functions/_shared/db/mod.ts";
import { createApp as createCheckout } from "../../supabase/functions/credits-checkout/app.ts";
import {
  callbackRedirectUrl,
  escapeHtml,
  formatAmount,
  paystackSignature,
  retryDelays,
  startFakePaystack,
  TEST_CARDS,
  // @ts-ignore plain ESM without types
} from "../../local/stack/fake-paystack.mjs";
import { signToken, userClaims } from "../support/tokens.ts";
import { anonClient, closeDb, db, stack, userClient } from "../support/stack.ts";

const SUCCESS_CARD = "4084 0840 8408 4081";
const DECLINED_CARD = "4084 0800 0000 5408";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `read` until `done` holds for its value (or fails the test after `timeoutMs`). */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`still not there after ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

/** Submits the checkout form the way the browser does when a button is pressed. */
function submit(authorizationUrl: string, action: "pay" | "fail", card = SUCCESS_CARD) {
  return fetch(authorizationUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ action, card }).toString(),
    redirect: "manual",
  });
}

describe("checkout page helpers", () => {
  const redirects: Array<[string, string, string]> = [
    ["http://localhost:3000/paid", "fantooo-1", "http://localhost:3000/paid?trxref=fantooo-1&reference=fantooo-1"],
    ["https://app.example/return?from=checkout", "r2", "https://app.example/return?from=checkout&trxref=r2&reference=r2"],
    ["https://app.example/return?reference=stale", "r3", "https://app.example/return?reference=r3&trxref=r3"],
    ["https://app.example/r", "a b&c", "https://app.example/r?trxref=a+b%26c&reference=a+b%26c"],
  ];
  it.each(redirects)("the redirect after %s for %s is %s", (callback, reference, expected) => {
    expect(callbackRedirectUrl(callback, reference)).toBe(expected);
  });

  const delays: Array<[object, number[]]> = [
    [{ attempts: 5, firstDelayMs: 250, factor: 2 }, [250, 500, 1000, 2000]],
    [{ attempts: 3, firstDelayMs: 100, factor: 1 }, [100, 100]],
    [{ attempts: 1, firstDelayMs: 250, factor: 2 }, []],
    [{ attempts: 0, firstDelayMs: 250, factor: 2 }, []],
  ];
  it.each(delays)("retry waits for %j are %j", (options, expected) => {
    expect(retryDelays(options)).toEqual(expected);
  });

  const amounts: Array<[number, string, string]> = [
    [45000, "KES", "KES 450.00"],
    [400000, "KES", "KES 4,000.00"],
    [5, "NGN", "NGN 0.05"],
    [123456789, "KES", "KES 1,234,567.89"],
  ];
  it.each(amounts)("%i %s reads %s", (amount, currency, expected) => {
    expect(formatAmount(amount, currency)).toBe(expected);
  });

  it("signs like Paystack: HMAC-SHA512 of the exact bytes, hex (RFC 4231 case 2)", () => {
    expect(paystackSignature("what do ya want for nothing?", "Jefe")).toBe(
      "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
    );
    expect(paystackSignature('{"a":"é"}', "k")).toBe(createHmac("sha512", "k").update(Buffer.from('{"a":"é"}', "utf8")).digest("hex"));
  });

  it("escapes what reaches the page", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  });

  it("offers Paystack's success and declined test cards", () => {
    expect(TEST_CARDS.map((c: { number: string; outcome: string }) => [c.number, c.outcome])).toEqual([
      ["4084084084084081", "success"],
      ["4084080000005408", "failed"],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// A fake of our own, delivering to a receiver that answers what each test asks for.

type Delivery = { headers: Record<string, string | string[] | undefined>; body: string };

function startReceiver() {
  const received: Delivery[] = [];
  const answers: Array<number | "hang"> = []; // one per coming request; then 200
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      const answer = answers.shift() ?? 200;
      if (answer === "hang") return; // never answers
      res.writeHead(answer, { "content-type": "application/json" });
      res.end(JSON.stringify({ received: answer === 200 }));
    });
  });
  return new Promise<{ url: string; received: Delivery[]; answers: typeof answers; close(): Promise<void> }>((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/functions/v1/paystack-webhook`,
        received,
        answers,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

describe("the fake's checkout page", () => {
  const SECRET = "sk_test_checkout_page";
  const CALLBACK = "http://localhost:3000/credits/return?from=checkout";
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let fake: Awaited<ReturnType<typeof startFakePaystack>>;
  const logged: string[] = [];

  beforeAll(async () => {
    receiver = await startReceiver();
    fake = await startFakePaystack({
      secretKey: SECRET,
      webhookUrl: receiver.url,
      webhookRetry: { attempts: 4, firstDelayMs: 50, factor: 2, timeoutMs: 500 },
      log: (line: string) => logged.push(line),
    });
  });
  afterAll(async () => {
    await fake.close();
    await receiver.close();
  });

  async function initialize(body: Record<string, unknown> = {}) {
    const response = await fetch(`${fake.url}/transaction/initialize`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
      body: JSON.stringify({ email: "ada@example.com", amount: "45000", currency: "KES", reference: `ref-${randomUUID()}`, callback_url: CALLBACK, ...body }),
    });
    const json = await response.json();
    expect(response.status, JSON.stringify(json)).toBe(200);
    return json.data as { authorization_url: string; access_code: string; reference: string };
  }

  async function verify(reference: string) {
    const response = await fetch(`${fake.url}/transaction/verify/${reference}`, { headers: { authorization: `Bearer ${SECRET}` } });
    return (await response.json()).data;
  }

  const deliveriesOf = (reference: string) => receiver.received.filter((d) => JSON.parse(d.body).data.reference === reference);

  it("shows the amount, the email, the package and the test cards at authorization_url", async () => {
    const metadata = JSON.stringify({ custom_fields: [{ display_name: "Package", variable_name: "package", value: "Popular: <55> credits" }] });
    const { authorization_url, reference } = await initialize({ metadata, email: "o'neil@example.com" });
    const response = await fetch(authorization_url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain("KES 450.00");
    expect(html).toContain("o&#39;neil@example.com");
    expect(html).toContain(reference);
    expect(html).toContain("Popular: &lt;55&gt; credits");
    expect(html).toContain("4084 0840 8408 4081");
    expect(html).toContain("4084 0800 0000 5408");
    expect(html).toMatch(/<form method="post"[^>]*>/);
    expect(html).toContain('name="action" value="pay"');
    expect(html).toContain('name="action" value="fail"');
    expect((await verify(reference)).status).toBe("abandoned");
  });

  it("paying redirects to callback_url with trxref and reference and delivers one signed charge.success", async () => {
    const { authorization_url, reference } = await initialize();
    const response = await submit(authorization_url, "pay");
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get("location")!);
    expect(location.origin + location.pathname).toBe("http://localhost:3000/credits/return");
    expect(location.searchParams.get("from")).toBe("checkout");
    expect(location.searchParams.get("reference")).toBe(reference);
    expect(location.searchParams.get("trxref")).toBe(reference);

    const [delivery] = await eventually(async () => deliveriesOf(reference), (d) => d.length === 1);
    expect(delivery.headers["content-type"]).toBe("application/json");
    expect(delivery.headers["x-paystack-signature"]).toBe(createHmac("sha512", SECRET).update(delivery.body).digest("hex"));
    const event = JSON.parse(delivery.body);
    expect(event).toMatchObject({
      event: "charge.success",
      data: { status: "success", reference, amount: 45000, currency: "KES", customer: { email: "ada@example.com" }, paid_at: expect.any(String) },
    });
    const paid = await verify(reference);
    expect(paid).toMatchObject({ status: "success", reference, amount: 45000, id: event.data.id });

    await sleep(300); // answered 200: no retry
    expect(deliveriesOf(reference)).toHaveLength(1);
    expect(fake.deliveries.filter((d: { reference: string }) => d.reference === reference)).toEqual([
      expect.objectContaining({ event: "charge.success", attempt: 1, status: 200, error: null }),
    ]);
  });

  it("a webhook that answers 500 twice is retried with the same signed body until it answers 200", async () => {
    const { authorization_url, reference } = await initialize();
    logged.length = 0;
    receiver.answers.push(500, 500);
    expect((await submit(authorization_url, "pay")).status).toBe(302);

    const deliveries = await eventually(async () => deliveriesOf(reference), (d) => d.length === 3);
    expect(new Set(deliveries.map((d) => d.body)).size).toBe(1);
    for (const d of deliveries) {
      expect(d.headers["x-paystack-signature"]).toBe(createHmac("sha512", SECRET).update(d.body).digest("hex"));
    }
    await sleep(500);
    expect(deliveriesOf(reference)).toHaveLength(3);
    expect(fake.deliveries.filter((d: { reference: string }) => d.reference === reference).map((d: { status: number }) => d.status))
      .toEqual([500, 500, 200]);
    expect(logged.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ reference, attempt: 1, of: 4, status: 500, next: "retry in 50 ms" }),
      expect.objectContaining({ reference, attempt: 2, of: 4, status: 500, next: "retry in 100 ms" }),
    ]);
  });

  it("gives up after the configured number of tries, logging each", async () => {
    const { authorization_url, reference } = await initialize();
    logged.length = 0;
    receiver.answers.push(503, 503, 503, 503, 503);
    expect((await submit(authorization_url, "pay")).status).toBe(302);
    await eventually(async () => deliveriesOf(reference), (d) => d.length === 4);
    await sleep(600);
    expect(deliveriesOf(reference)).toHaveLength(4);
    receiver.answers.length = 0;
    expect(logged.map((line) => JSON.parse(line).next)).toEqual(["retry in 50 ms", "retry in 100 ms", "retry in 200 ms", "giving up"]);
  });

  it("a webhook that does not answer holds up neither the redirect nor the next try", async () => {
    const { authorization_url, reference } = await initialize();
    receiver.answers.push("hang");
    const started = Date.now();
    const response = await submit(authorization_url, "pay");
    expect(response.status).toBe(302);
    expect(Date.now() - started).toBeLessThan(400); // the receiver's first answer would take forever
    await eventually(async () => deliveriesOf(reference), (d) => d.length === 2);
    expect(fake.deliveries.filter((d: { reference: string }) => d.reference === reference)).toEqual([
      expect.objectContaining({ attempt: 1, status: 0, error: "no answer within 500 ms" }),
      expect.objectContaining({ attempt: 2, status: 200 }),
    ]);
  });

  const failures: Array<[string, "pay" | "fail", string]> = [
    ["the Fail button", "fail", SUCCESS_CARD],
    ["paying with the declined test card", "pay", DECLINED_CARD],
  ];
  it.each(failures)("%s marks the transaction failed, redirects the same way and delivers nothing", async (_name, action, card) => {
    const { authorization_url, reference } = await initialize();
    const response = await submit(authorization_url, action, card);
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe(callbackRedirectUrl(CALLBACK, reference));
    expect(await verify(reference)).toMatchObject({ status: "failed", gateway_response: "Declined", paid_at: null });
    await sleep(300);
    expect(deliveriesOf(reference)).toEqual([]);
  });

  it("without a callback_url, paying ends on a payment complete page", async () => {
    const { authorization_url, reference } = await initialize({ callback_url: undefined });
    const response = await submit(authorization_url, "pay");
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain("Payment complete");
    expect(html).toContain(reference);
    await eventually(async () => deliveriesOf(reference), (d) => d.length === 1);
  });

  it("without a callback_url, failing ends on a payment failed page", async () => {
    const { authorization_url, reference } = await initialize({ callback_url: undefined });
    const response = await submit(authorization_url, "fail");
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("Payment failed");
    expect((await verify(reference)).status).toBe("failed");
  });

  it("a settled checkout cannot be paid again (409) and is delivered once", async () => {
    const { authorization_url, reference } = await initialize();
    expect((await submit(authorization_url, "pay")).status).toBe(302);
    const again = await submit(authorization_url, "pay");
    expect(again.status).toBe(409);
    expect(await again.text()).toContain("Payment complete");
    const page = await fetch(authorization_url);
    expect(page.status).toBe(200);
    expect(await page.text()).not.toContain("<form");
    await sleep(300);
    expect(deliveriesOf(reference)).toHaveLength(1);
  });

  it("a card that is not a test card is refused and leaves the transaction open", async () => {
    const { authorization_url, reference } = await initialize();
    const response = await submit(authorization_url, "pay", "4111 1111 1111 1111");
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("Use one of the test cards");
    expect((await verify(reference)).status).toBe("abandoned");
  });

  it("an unknown access code is a 404 page", async () => {
    const response = await fetch(`${fake.url}/checkout/nope`);
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
  });

  it("initialize refuses a callback_url that is not an http(s) URL", async () => {
    const response = await fetch(`${fake.url}/transaction/initialize`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
      body: JSON.stringify({ email: "ada@example.com", amount: "100", callback_url: "javascript:alert(1)" }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ status: false, message: "Invalid callback_url" });
  });

  it("credits-checkout passes PAYSTACK_CALLBACK_URL to Paystack as callback_url, and the page returns there", async () => {
    const jwtSecret = "a-test-jwt-secret-of-at-least-32-characters";
    const rpc = () =>
      Promise.resolve({
        data: {
          transaction_id: "t1", reference: `fantooo-${randomUUID()}`, amount: 45000, currency: "KES", credits: 55,
          email: "ada@example.com", real_user_id: "u1", package: { id: "p1", name: "Popular", credits: 50, bonus_credits: 5 },
        },
        error: null,
      });
    const client = { rpc } as unknown as RpcTransport;
    const env = {
      SUPABASE_URL: "http://127.0.0.1:9",
      SUPABASE_ANON_KEY: "anon",
      SUPABASE_SERVICE_ROLE_KEY: "service",
      LEGACY_JWT_SECRET: jwtSecret,
      PAYSTACK_SECRET_KEY: SECRET,
      PAYSTACK_API_URL: fake.url,
      PAYSTACK_TIMEOUT_MS: 2000,
      PAYSTACK_CALLBACK_URL: CALLBACK,
    } as unknown as Parameters<typeof createCheckout>[0];
    const app = createCheckout(env, { db: dbOf({ service: client, forUser: () => client }) });
    const token = signToken(userClaims("u1"), { secret: jwtSecret });
    const response = await app.fetch(new Request("http://fn/credits-checkout", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ package_id: randomUUID() }),
    }));
    const body = await response.json();
    expect(response.status, JSON.stringify(body)).toBe(200);
    const sent = fake.requests.filter((r: { path: string; body: { reference?: string } }) =>
      r.path === "/transaction/initialize" && r.body?.reference === body.reference
    );
    expect(sent).toHaveLength(1);
    expect(sent[0].body.callback_url).toBe(CALLBACK);

    const paid = await submit(body.authorization_url, "pay");
    expect(paid.status).toBe(302);
    expect(paid.headers.get("location")).toBe(callbackRedirectUrl(CALLBACK, body.reference));
  });
});

// ---------------------------------------------------------------------------------------------
// The whole purchase on the local stack: its fake delivers to the stack's paystack-webhook.

describe("a real user pays on the checkout page of the local stack", () => {
  const buyer = randomUUID();
  let popular: { id: string; price: number; currency: string; credits: number; bonus_credits: number };
  let starter: { id: string; price: number; currency: string };

  beforeAll(async () => {
    await db().query("insert into auth.users (id, email, aud, role) values ($1, $2, 'authenticated', 'authenticated')", [
      buyer,
      `payer-${buyer}@example.com`,
    ]);
    await db().query(
      "insert into public.real_users (id, display_name, age, gender, looking_for) values ($1, 'Payer', 30, 'female', 'male')",
      [buyer],
    );
    const { data, error } = await anonClient().from("credit_packages").select("*").order("price");
    expect(error).toBeNull();
    popular = data!.find((p) => p.name === "Popular");
    starter = data!.find((p) => p.name === "Starter");
  });

  afterAll(async () => {
    await db().query("delete from public.paystack_events where transaction_id in (select id from public.transactions where real_user_id = $1)", [buyer]);
    await db().query("delete from public.transactions where real_user_id = $1", [buyer]);
    await db().query("delete from auth.users where id = $1", [buyer]);
    await closeDb();
  });

  async function invoke(name: string, body: unknown) {
    const { data, error } = await userClient(buyer).functions.invoke(name, { body });
    if (error instanceof FunctionsHttpError) {
      return { status: error.context.status as number, body: await error.context.json() };
    }
    expect(error).toBeNull();
    return { status: 200, body: data };
  }

  async function balance(): Promise<number> {
    const { data, error } = await userClient(buyer).from("real_users").select("credits").single();
    expect(error).toBeNull();
    return data!.credits;
  }

  async function transaction(reference: string) {
    const { rows } = await db().query("select status, credits from public.transactions where reference = $1", [reference]);
    return rows[0];
  }

  async function events(reference: string) {
    const { rows } = await db().query(
      "select event, outcome, deliveries, source from public.paystack_events where reference = $1",
      [reference],
    );
    return rows;
  }

  async function fakeControl(path: string) {
    return (await fetch(`${stack.paystackApiUrl}/__fake${path}`)).json();
  }

  /** What checkout sent Paystack as callback_url for `reference` (null: none configured). */
  async function sentCallback(reference: string): Promise<string | null> {
    const requests = await fakeControl("/requests");
    const sent = requests.filter((r: { path: string; body: { reference?: string } }) =>
      r.path === "/transaction/initialize" && r.body?.reference === reference
    );
    expect(sent).toHaveLength(1);
    return sent[0].body.callback_url ?? null;
  }

  /** The browser after submitting: redirected to the callback checkout passed, else a result page. */
  async function expectLanding(response: Response, reference: string, title: string) {
    const callback = await sentCallback(reference);
    if (callback) {
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe(callbackRedirectUrl(callback, reference));
    } else {
      expect(response.status).toBe(200);
      expect(await response.text()).toContain(title);
    }
  }

  it("pays with the success test card: the webhook credits the package's credits exactly once", async () => {
    const before = await balance();
    const { status, body } = await invoke("credits-checkout", { package_id: popular.id });
    expect(status, JSON.stringify(body)).toBe(200);
    const { authorization_url, reference } = body;

    const page = await fetch(authorization_url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(formatAmount(popular.price, popular.currency));
    expect(html).toContain(`payer-${buyer}@example.com`);

    const paid = await submit(authorization_url, "pay");
    await expectLanding(paid, reference, "Payment complete");

    const settled = await eventually(() => transaction(reference), (tx) => tx.status === "success");
    expect(settled.credits).toBe(popular.credits + popular.bonus_credits);
    expect(await balance()).toBe(before + popular.credits + popular.bonus_credits);
    expect(await events(reference)).toEqual([{ event: "charge.success", outcome: "credited", deliveries: 1, source: "webhook" }]);

    await sleep(700); // nothing more arrives: the first answer was 200
    const attempts = (await fakeControl("/webhooks")).filter((d: { reference: string }) => d.reference === reference);
    expect(attempts).toEqual([expect.objectContaining({ event: "charge.success", attempt: 1, status: 200 })]);
    expect(await balance()).toBe(before + popular.credits + popular.bonus_credits);
    expect((await events(reference))[0].deliveries).toBe(1);
  });

  it("the Fail button leaves the purchase pending and uncredited, with no event recorded", async () => {
    const before = await balance();
    const { status, body } = await invoke("credits-checkout", { package_id: starter.id });
    expect(status).toBe(200);
    const { authorization_url, reference } = body;
    expect((await fetch(authorization_url)).status).toBe(200);

    const failed = await submit(authorization_url, "fail");
    await expectLanding(failed, reference, "Payment failed");

    const verified = await invoke("credits-checkout/verify", { reference });
    expect(verified.body).toMatchObject({ status: "pending", outcome: "not_paid", paystack_status: "failed", credits_granted: 0 });
    await sleep(700);
    expect(await transaction(reference)).toMatchObject({ status: "pending" });
    expect(await balance()).toBe(before);
    expect(await events(reference)).toEqual([]);
    expect((await fakeControl("/webhooks")).filter((d: { reference: string }) => d.reference === reference)).toEqual([]);
  });
});
