// A local stand-in for the two Paystack API calls Fantooo makes, and for Paystack's checkout page,
// for development and tests.
//
//   POST /transaction/initialize         Bearer secret key; {email, amount, currency?, reference?,
//                                        callback_url?, ...}
//                                        -> {status: true, message: "Authorization URL created",
//                                            data: {authorization_url, access_code, reference}}
//   GET  /transaction/verify/:reference  Bearer secret key
//                                        -> {status: true, message: "Verification successful",
//                                            data: {id, status, reference, amount, currency, paid_at,
//                                                   customer: {email}, ...}}
//
// Shapes follow Paystack's API reference; a transaction stays "abandoned" until it is paid or
// failed, on the checkout page or through a test-control route, which can also put it in every
// other state verify reports ("reversed", "ongoing"). An unknown reference is answered 400
// {status: false, message: "Transaction reference not found", code: "transaction_not_found"}.
//
// The checkout page (no auth), what `authorization_url` opens in a browser:
//
//   GET  /checkout/:access_code          HTML: amount, email, Paystack's test cards, Pay and Fail
//   POST /checkout/:access_code          form {action: "pay"|"fail", card?}. Paying with a test
//                                        card that succeeds marks the transaction "success" and,
//                                        like Paystack, POSTs the signed charge.success event to
//                                        `webhookUrl` (x-paystack-signature: HMAC-SHA512 hex of the
//                                        body with the secret key), retrying with backoff while the
//                                        answer is not 200; a declined card or Fail marks it
//                                        "failed" and sends nothing. Either way the browser goes
//                                        302 to `callback_url?trxref=<ref>&reference=<ref>` when
//                                        initialize had one, else gets a result page. Delivery never
//                                        holds up the answer.
//
// Every API request is recorded. Test-control routes (no auth), usable from another process:
//
//   GET    /__fake/requests                    recorded API requests (oldest first)
//   DELETE /__fake/requests                    forget them
//   GET    /__fake/transactions                known transactions
//   GET    /__fake/webhooks                    webhook delivery attempts (oldest first):
//                                              {reference, event, attempt, status, error, at}
//   POST   /__fake/transactions/:ref/pay       {amount?, currency?, requested_amount?} mark paid
//                                              (requested_amount: the customer paid the fees, amount
//                                              is then what it paid in all); answers the
//                                              charge.success event body Paystack would send (and
//                                              sends it nowhere: the caller delivers it)
//   POST   /__fake/transactions/:ref/fail      mark failed
//   POST   /__fake/transactions/:ref/reverse   mark reversed (paid, then reversed: Paystack's
//                                              "reversed")
//   POST   /__fake/transactions/:ref/processing  mark still being processed (Paystack's "ongoing":
//                                              the customer started paying, no outcome yet)
//   POST   /__fake/transactions/:ref/refund    {amount?, id?} answers the refund.processed event body
//                                              Paystack would send for a refund of that paid
//                                              transaction (amount: all of it by default; id: a new
//                                              refund id by default); sent nowhere
//   POST   /__fake/transactions/:ref/dispute   {id?} answers the charge.dispute.create event body
//                                              for that transaction; sent nowhere
//   POST   /__fake/next                        {mode: "error"|"refuse"|"hang"|"garbage", count?, status?}
//                                              the next `count` (default 1) API calls misbehave:
//                                              error = HTTP 500, refuse = HTTP 400 {status:false},
//                                              hang = never answer, garbage = 200 with a non-JSON body
//   POST   /__fake/reset                       forget everything
//
// Run directly: `PORT=54329 PAYSTACK_SECRET_KEY=sk_test_... PAYSTACK_WEBHOOK_URL=http://...
// node local/stack/fake-paystack.mjs` prints its URL on stdout. A hono app (like the functions),
// served from node:http by hono-node.mjs.
//
// The pieces: createLedger (the transactions and the events Paystack would send about them),
// createWebhookSender (signed delivery with retries), createTrouble (misbehaviour on demand), and
// one hono route group each for the API, the checkout page and the test controls.
import { createHmac, randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import { Hono } from "hono";
import { serveApp } from "./hono-node.mjs";

/** The key used when none is given (the local stack passes its own fixed test key). */
export const DEFAULT_SECRET_KEY = "sk_test_local_fantooo_0000000000000000000000";

/** Paystack's documented test cards that the checkout page accepts (any future expiry). */
export const TEST_CARDS = [
  { number: "4084084084084081", cvv: "408", outcome: "success", note: "Visa, no validation: succeeds" },
  { number: "4084080000005408", cvv: "001", outcome: "failed", note: "Visa: declined" },
];

/**
 * How webhook delivery retries by default: a handful of tries over a few seconds, which suits a
 * local stack (Paystack itself keeps retrying for hours). `attempts` counts the first try.
 */
export const DEFAULT_WEBHOOK_RETRY = { attempts: 5, firstDelayMs: 250, factor: 2, timeoutMs: 5000 };

/**
 * Starts the fake on 127.0.0.1:`port` (0 = any free port). `webhookUrl`: where paying on the
 * checkout page delivers charge.success (none: nothing is delivered). `webhookRetry`: overrides of
 * DEFAULT_WEBHOOK_RETRY. `log`: where failed delivery attempts are reported (one JSON line each).
 * @returns {Promise<{url: string, port: number, requests: object[], transactions: Map<string, object>,
 *   deliveries: object[], misbehave(mode: string, count?: number): void,
 *   pay(reference: string, overrides?: object): object, fail(reference: string): object,
 *   reset(): void, close(): Promise<void>}>}
 */
export async function startFakePaystack({
  port = 0,
  secretKey = DEFAULT_SECRET_KEY,
  webhookUrl = "",
  webhookRetry = {},
  log = (line) => console.warn(line),
} = {}) {
  let url = "";
  const requests = [];
  const ledger = createLedger({ checkoutBase: () => url });
  const webhooks = createWebhookSender({ webhookUrl, secretKey, retry: { ...DEFAULT_WEBHOOK_RETRY, ...webhookRetry }, log });
  const trouble = createTrouble();
  const reset = () => {
    requests.length = 0;
    ledger.reset();
    webhooks.deliveries.length = 0;
    trouble.clear();
  };

  const app = new Hono();
  controlRoutes(app, { requests, ledger, webhooks, trouble, reset });
  checkoutRoutes(app, { ledger, webhooks });
  apiRoutes(app, { requests, ledger, trouble, secretKey });
  app.onError((err) => json(500, { status: false, message: `fake paystack error: ${err.message}` }));

  const server = await serveApp(app, { port });
  const actualPort = server.address().port;
  url = `http://127.0.0.1:${actualPort}`;

  return {
    url,
    port: actualPort,
    secretKey,
    requests,
    transactions: ledger.transactions,
    deliveries: webhooks.deliveries,
    pay: ledger.pay,
    fail: ledger.fail,
    misbehave: trouble.queue,
    reset,
    close: () =>
      new Promise((resolve) => {
        webhooks.close();
        trouble.close();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/**
 * The transactions and what Paystack says about them: initialize, verify's `data`, and the event
 * bodies it would send (charge.success, refund.processed, charge.dispute.create). No HTTP here:
 * each answer is `{status, body}` for the routes to send. `checkoutBase()` is the fake's URL.
 */
function createLedger({ checkoutBase }) {
  const transactions = new Map();
  const accessCodes = new Map(); // access_code -> reference
  let nextId = 5_000_000_000 + Math.floor(Math.random() * 1_000_000);
  let nextObjectId = 7_000_000;

  function initialize(input) {
    if (input === null || typeof input !== "object") {
      return { status: 400, body: { status: false, message: "Invalid request body" } };
    }
    const amount = Number(input.amount);
    if (!input.email || typeof input.email !== "string") {
      return { status: 400, body: { status: false, message: "Email is required" } };
    }
    if (!Number.isInteger(amount) || amount <= 0) {
      return { status: 400, body: { status: false, message: "Invalid Amount Sent" } };
    }
    const reference = typeof input.reference === "string" && input.reference
      ? input.reference
      : randomBytes(8).toString("hex");
    if (transactions.has(reference)) {
      return { status: 400, body: { status: false, message: "Duplicate Transaction Reference" } };
    }
    const callbackUrl = input.callback_url ?? null;
    if (callbackUrl !== null && !isHttpUrl(callbackUrl)) {
      return { status: 400, body: { status: false, message: "Invalid callback_url" } };
    }
    const accessCode = randomBytes(8).toString("hex");
    accessCodes.set(accessCode, reference);
    transactions.set(reference, {
      id: nextId++,
      reference,
      access_code: accessCode,
      amount,
      currency: typeof input.currency === "string" ? input.currency : "NGN",
      email: input.email,
      metadata: input.metadata ?? null,
      callback_url: callbackUrl,
      status: "abandoned",
      paid_at: null,
      created_at: new Date().toISOString(),
    });
    return {
      status: 200,
      body: {
        status: true,
        message: "Authorization URL created",
        data: { authorization_url: `${checkoutBase()}/checkout/${accessCode}`, access_code: accessCode, reference },
      },
    };
  }

  function verify(reference) {
    const tx = transactions.get(reference);
    if (!tx) {
      return {
        status: 400,
        body: {
          status: false,
          message: "Transaction reference not found",
          type: "validation_error",
          code: "transaction_not_found",
        },
      };
    }
    return { status: 200, body: { status: true, message: "Verification successful", data: transactionData(tx) } };
  }

  function pay(reference, overrides = {}) {
    const tx = transactions.get(reference);
    if (!tx) throw new Error(`unknown reference ${reference}`);
    tx.status = "success";
    tx.paid_at = new Date().toISOString();
    const event = { event: "charge.success", data: { ...transactionData(tx), ...overrides } };
    return event;
  }

  function fail(reference) {
    return setStatus(reference, "failed");
  }

  /** Puts a transaction in one of the states verify reports (failed, reversed, ongoing). */
  function setStatus(reference, status) {
    const tx = transactions.get(reference);
    if (!tx) throw new Error(`unknown reference ${reference}`);
    tx.status = status;
    if (status === "reversed") tx.paid_at ??= new Date().toISOString();
    return transactionData(tx);
  }

  // refund.processed as Paystack sends it: the refund's own id, the charge's reference, the amount as
  // a string of digits.
  function refundEvent(reference, { amount, id } = {}) {
    const tx = transactions.get(reference);
    return {
      event: "refund.processed",
      data: {
        id: id ?? ++nextObjectId,
        status: "processed",
        transaction_reference: tx.reference,
        refund_reference: null,
        amount: String(amount ?? tx.amount),
        currency: tx.currency,
        processor: "fake",
        customer: { email: tx.email },
        integration: 1,
        domain: "test",
      },
    };
  }

  // charge.dispute.create: the dispute, with the disputed transaction inside.
  function disputeEvent(reference, { id } = {}) {
    const tx = transactions.get(reference);
    return {
      event: "charge.dispute.create",
      data: {
        id: id ?? ++nextObjectId,
        refund_amount: tx.amount,
        currency: tx.currency,
        status: "awaiting-merchant-feedback",
        resolution: null,
        domain: "test",
        category: "fraud",
        transaction: transactionData(tx),
        customer: { email: tx.email },
        due_at: new Date(Date.now() + 7 * 86_400_000).toISOString(),
        created_at: new Date().toISOString(),
      },
    };
  }

  return {
    transactions,
    byAccessCode: (accessCode) => transactions.get(accessCodes.get(accessCode)),
    initialize,
    verify,
    pay,
    fail,
    setStatus,
    refundEvent,
    disputeEvent,
    reset() {
      transactions.clear();
      accessCodes.clear();
    },
  };
}

/** verify's `data` for a transaction (also the `data` of its charge.success). */
function transactionData(tx) {
  return {
    id: tx.id,
    domain: "test",
    status: tx.status,
    reference: tx.reference,
    amount: tx.amount,
    gateway_response: tx.status === "success" ? "Successful" : tx.status === "failed" ? "Declined" : "The transaction was not completed",
    paid_at: tx.paid_at,
    created_at: tx.created_at,
    channel: "card",
    currency: tx.currency,
    metadata: tx.metadata,
    fees: tx.status === "success" ? Math.round(tx.amount * 0.015) : null,
    customer: { id: 1, email: tx.email, customer_code: "CUS_fakefantooo" },
    authorization: { authorization_code: "AUTH_fake", card_type: "visa", last4: "4081", reusable: true },
  };
}

/**
 * Like Paystack: POST the signed event to `webhookUrl`, again after a backoff while the answer is
 * not 200. Every attempt is kept in `deliveries`; close() cancels what is scheduled or under way.
 */
function createWebhookSender({ webhookUrl, secretKey, retry, log }) {
  const deliveries = [];
  const timers = new Set(); // scheduled delivery attempts
  const inFlight = new Set(); // AbortControllers of delivery attempts under way
  let closed = false;

  function deliver(event) {
    const reference = event.data.reference;
    if (!webhookUrl) {
      log(JSON.stringify({ level: "warn", fake: "paystack", event: event.event, reference, detail: "no webhookUrl: not delivered" }));
      return;
    }
    const body = JSON.stringify(event);
    const signature = paystackSignature(body, secretKey);
    const delays = retryDelays(retry);
    const attempt = async (index) => {
      const controller = new AbortController();
      inFlight.add(controller);
      const timeout = setTimeout(() => controller.abort(new Error(`no answer within ${retry.timeoutMs} ms`)), retry.timeoutMs);
      let status = 0;
      let error = null;
      try {
        const response = await fetch(webhookUrl, {
          method: "POST",
          headers: { "content-type": "application/json", "x-paystack-signature": signature },
          body,
          signal: controller.signal,
        });
        status = response.status;
        await response.arrayBuffer().catch(() => {});
      } catch (err) {
        error = controller.signal.aborted ? String(controller.signal.reason?.message ?? "aborted") : String(err.cause?.message ?? err.message);
      } finally {
        clearTimeout(timeout);
        inFlight.delete(controller);
      }
      deliveries.push({ reference, event: event.event, attempt: index + 1, status, error, at: new Date().toISOString() });
      if (status === 200 || closed) return;
      const wait = delays[index];
      log(JSON.stringify({
        level: "warn",
        fake: "paystack",
        webhook: webhookUrl,
        event: event.event,
        reference,
        attempt: index + 1,
        of: retry.attempts,
        status,
        error,
        next: wait === undefined ? "giving up" : `retry in ${wait} ms`,
      }));
      if (wait !== undefined) schedule(() => attempt(index + 1), wait);
    };
    schedule(() => attempt(0), 0);
  }

  function schedule(fn, ms) {
    if (closed) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  }

  return {
    deliveries,
    deliver,
    close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const controller of inFlight) controller.abort(new Error("fake Paystack closed"));
    },
  };
}

/**
 * Misbehaviour on demand (POST /__fake/next): a queue of the next API calls' fates. `answer`
 * gives the Response of one (a hang never answers: its connection is destroyed on close()).
 */
function createTrouble() {
  const pending = []; // queued misbehaviours: {mode, status}
  const hanging = new Set();

  function queue(mode, count = 1, status) {
    if (!["error", "refuse", "hang", "garbage"].includes(mode)) throw new Error(`unknown mode ${mode}`);
    for (let i = 0; i < count; i++) pending.push({ mode, status });
  }

  function answer({ mode, status }, outgoing) {
    if (mode === "hang") {
      hanging.add(outgoing);
      outgoing.on("close", () => hanging.delete(outgoing));
      return new Promise(() => {});
    }
    if (mode === "garbage") {
      return new Response("<html>upstream hiccup</html>", { status: status ?? 200, headers: { "content-type": "text/html" } });
    }
    if (mode === "refuse") return json(status ?? 400, { status: false, message: "Refused by fake" });
    return json(status ?? 500, { status: false, message: "Internal fake error" });
  }

  return {
    queue,
    answer,
    next: () => pending.shift(),
    get length() {
      return pending.length;
    },
    clear() {
      pending.length = 0;
    },
    close() {
      for (const outgoing of hanging) outgoing.destroy();
    },
  };
}

/**
 * The API Fantooo calls: every request is recorded, may be made to misbehave, and needs the
 * secret key (in that order), then initialize or verify; anything else is Paystack's 404.
 */
function apiRoutes(app, { requests, ledger, trouble, secretKey }) {
  app.use("*", async (c, next) => {
    const { incoming, outgoing } = c.env;
    requests.push({
      method: c.req.method,
      path: c.req.path,
      headers: { ...incoming.headers },
      body: parseOrRaw(await c.req.text()),
      received_at: new Date().toISOString(),
    });
    const queued = trouble.next();
    if (queued) return trouble.answer(queued, outgoing);
    if (incoming.headers.authorization !== `Bearer ${secretKey}`) {
      return json(401, { status: false, message: "Invalid key" });
    }
    await next();
  });
  app.post("/transaction/initialize", async (c) => {
    const { status, body } = ledger.initialize(parseOrRaw(await c.req.text()));
    return json(status, body);
  });
  app.get("/transaction/verify/:reference", (c) => {
    const { status, body } = ledger.verify(c.req.param("reference"));
    return json(status, body);
  });
  app.notFound(() => json(404, { status: false, message: "Route not found" }));
}

/** The checkout page: what a browser sees at authorization_url (no auth). */
function checkoutRoutes(app, { ledger, webhooks }) {
  app.all("/checkout/:accessCode", async (c) => {
    const accessCode = c.req.param("accessCode");
    const tx = ledger.byAccessCode(accessCode);
    if (!tx) return html(404, resultPage("Checkout not found", "No transaction has this access code."));
    const method = c.req.method;
    const action = `/checkout/${encodeURIComponent(accessCode)}`;
    if (method === "GET") {
      if (tx.status !== "abandoned") return html(200, settledPage(tx));
      return html(200, checkoutHtml(tx, action));
    }
    if (method !== "POST") return html(405, resultPage("Method not allowed", "Use GET or POST."));
    if (tx.status !== "abandoned") return html(409, settledPage(tx));
    const form = new URLSearchParams(await c.req.text());
    const choice = form.get("action");
    let paid = false;
    if (choice === "pay") {
      const card = TEST_CARDS.find((c) => c.number === (form.get("card") ?? "").replace(/[\s-]/g, ""));
      if (!card) return html(400, checkoutHtml(tx, action, "Use one of the test cards below."));
      paid = card.outcome === "success";
    } else if (choice !== "fail") {
      return html(400, resultPage("Bad request", "The form needs action=pay or action=fail."));
    }
    if (paid) webhooks.deliver(ledger.pay(tx.reference));
    else ledger.fail(tx.reference);
    if (tx.callback_url) {
      return new Response(null, { status: 302, headers: { location: callbackRedirectUrl(tx.callback_url, tx.reference) } });
    }
    return html(200, settledPage(tx));
  });
}

/** The test controls under /__fake/ (no auth), usable from another process. */
function controlRoutes(app, { requests, ledger, webhooks, trouble, reset }) {
  const input = async (c) => parseOrRaw(await c.req.text()) ?? {};
  app.get("/__fake/requests", () => json(200, requests));
  app.delete("/__fake/requests", () => {
    requests.length = 0;
    return json(200, { ok: true });
  });
  app.get("/__fake/transactions", () => json(200, [...ledger.transactions.values()]));
  app.get("/__fake/webhooks", () => json(200, webhooks.deliveries));
  app.post("/__fake/reset", () => {
    reset();
    return json(200, { ok: true });
  });
  app.post("/__fake/next", async (c) => {
    const { mode, count, status } = await input(c);
    try {
      trouble.queue(mode, count ?? 1, status);
    } catch (err) {
      return json(400, { ok: false, message: err.message });
    }
    return json(200, { ok: true, queued: trouble.length });
  });
  app.post("/__fake/transactions/:reference/:action{pay|fail|reverse|processing|refund|dispute}", async (c) => {
    const { reference, action } = c.req.param();
    const body = await input(c);
    if (!ledger.transactions.has(reference)) return json(404, { ok: false, message: "unknown reference" });
    if (action === "fail") return json(200, ledger.fail(reference));
    if (action === "reverse") return json(200, ledger.setStatus(reference, "reversed"));
    if (action === "processing") return json(200, ledger.setStatus(reference, "ongoing"));
    if (action === "refund") return json(200, ledger.refundEvent(reference, body));
    if (action === "dispute") return json(200, ledger.disputeEvent(reference, body));
    const overrides = {};
    if (body.amount !== undefined) overrides.amount = body.amount;
    if (body.currency !== undefined) overrides.currency = body.currency;
    if (body.requested_amount !== undefined) overrides.requested_amount = body.requested_amount;
    return json(200, ledger.pay(reference, overrides));
  });
  app.all("/__fake/*", () => json(404, { ok: false, message: "unknown control route" }));
}

function parseOrRaw(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function json(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8" } });
}

function html(status, text) {
  return new Response(text, { status, headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } });
}

/** Paystack's x-paystack-signature: HMAC-SHA512 of the exact body bytes with the secret key, hex. */
export function paystackSignature(body, secretKey) {
  return createHmac("sha512", secretKey).update(body).digest("hex");
}

/** Where Paystack sends the browser after checkout: the callback URL with trxref and reference added. */
export function callbackRedirectUrl(callbackUrl, reference) {
  const url = new URL(callbackUrl);
  url.searchParams.set("trxref", reference);
  url.searchParams.set("reference", reference);
  return url.href;
}

/** The waits between delivery attempts: `attempts - 1` of them, growing by `factor`. */
export function retryDelays({ attempts, firstDelayMs, factor }) {
  return Array.from({ length: Math.max(0, attempts - 1) }, (_, i) => Math.round(firstDelayMs * factor ** i));
}

/** A subunit amount as people read it: 45000 KES -> "KES 450.00". */
export function formatAmount(amount, currency) {
  return `${currency} ${(amount / 100).toFixed(2).replace(/\B(?=(\d{3})+(?!\d))/g, ",")}`;
}

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function isHttpUrl(value) {
  if (typeof value !== "string") return false;
  try {
    return ["http:", "https:"].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** The display_name/value pairs of `metadata.custom_fields` (Paystack shows them on checkout). */
function customFields(metadata) {
  const parsed = typeof metadata === "string" ? parseOrRaw(metadata) : metadata;
  const fields = parsed !== null && typeof parsed === "object" ? parsed.custom_fields : undefined;
  return Array.isArray(fields) ? fields.filter((f) => f && f.display_name && f.value !== undefined) : [];
}

function page(title, content) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse}td,th{padding:.2rem .6rem .2rem 0;text-align:left}
.note{color:#666;font-size:.9rem}.error{color:#b00020}button{font-size:1rem;padding:.5rem 1rem;margin-right:.5rem}</style>
</head><body>
<p class="note">Fake Paystack (local test mode): no money moves.</p>
${content}
</body></html>
`;
}

function resultPage(title, message) {
  return page(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`);
}

function settledPage(tx) {
  const amount = formatAmount(tx.amount, tx.currency);
  return tx.status === "success"
    ? resultPage("Payment complete", `${amount} paid. Reference ${tx.reference}. You can close this window.`)
    : resultPage("Payment failed", `The payment of ${amount} did not go through. Reference ${tx.reference}.`);
}

function checkoutHtml(tx, action, problem = "") {
  const amount = formatAmount(tx.amount, tx.currency);
  const fields = customFields(tx.metadata)
    .map((f) => `<tr><th>${escapeHtml(f.display_name)}</th><td>${escapeHtml(f.value)}</td></tr>`).join("");
  const cards = TEST_CARDS
    .map((c) => `<tr><td><code>${c.number.replace(/(\d{4})(?=\d)/g, "$1 ")}</code></td><td>${c.cvv}</td><td>${escapeHtml(c.note)}</td></tr>`)
    .join("");
  return page(`Pay ${amount}`, `<h1>Pay ${escapeHtml(amount)}</h1>
<table>
<tr><th>Email</th><td>${escapeHtml(tx.email)}</td></tr>
<tr><th>Reference</th><td>${escapeHtml(tx.reference)}</td></tr>
${fields}
</table>
${problem ? `<p class="error">${escapeHtml(problem)}</p>` : ""}
<form method="post" action="${escapeHtml(action)}">
<p><label>Card number <input name="card" value="${TEST_CARDS[0].number.replace(/(\d{4})(?=\d)/g, "$1 ")}" size="24" autocomplete="off"></label></p>
<p class="note">Only the card number decides the outcome: this fake asks for no expiry, CVV or PIN.</p>
<p><button name="action" value="pay">Pay ${escapeHtml(amount)}</button><button name="action" value="fail">Fail payment</button></p>
</form>
<h2>Test cards</h2>
<table><tr><th>Card</th><th>CVV</th><th></th></tr>${cards}</table>`);
}

// `node local/stack/fake-paystack.mjs`: serve until killed, printing the URL.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const fake = await startFakePaystack({
    port: Number(process.env.PORT ?? 0),
    secretKey: process.env.PAYSTACK_SECRET_KEY || DEFAULT_SECRET_KEY,
    webhookUrl: process.env.PAYSTACK_WEBHOOK_URL ?? "",
  });
  console.log(fake.url);
  const stop = () => fake.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
