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
// node local/fake-paystack.mjs` prints its URL on stdout. Plain Node ESM, no dependencies.
import { createServer } from "node:http";
import { createHmac, randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";

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
  const retry = { ...DEFAULT_WEBHOOK_RETRY, ...webhookRetry };
  const requests = [];
  const transactions = new Map();
  const accessCodes = new Map(); // access_code -> reference
  const deliveries = []; // webhook delivery attempts
  const pending = []; // queued misbehaviours: {mode, status}
  const hanging = new Set();
  const timers = new Set(); // scheduled delivery attempts
  const inFlight = new Set(); // AbortControllers of delivery attempts under way
  let closed = false;
  let nextId = 5_000_000_000 + Math.floor(Math.random() * 1_000_000);
  let url = "";

  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const path = new URL(req.url ?? "/", "http://fake").pathname;
    try {
      if (path.startsWith("/__fake/")) return control(req.method, path, body, res);
      const page = /^\/checkout\/([^/]+)$/.exec(path);
      if (page) return checkoutPage(req.method, decodeURIComponent(page[1]), body, res);
      requests.push({
        method: req.method,
        path,
        headers: { ...req.headers },
        body: parseOrRaw(body),
        received_at: new Date().toISOString(),
      });
      const trouble = pending.shift();
      if (trouble) return misbehave(trouble, req, res);
      if (req.headers.authorization !== `Bearer ${secretKey}`) {
        return send(res, 401, { status: false, message: "Invalid key" });
      }
      if (req.method === "POST" && path === "/transaction/initialize") {
        return initialize(parseOrRaw(body), res);
      }
      const verify = /^\/transaction\/verify\/([^/]+)$/.exec(path);
      if (req.method === "GET" && verify) {
        return verifyTransaction(decodeURIComponent(verify[1]), res);
      }
      return send(res, 404, { status: false, message: "Route not found" });
    } catch (err) {
      return send(res, 500, { status: false, message: `fake paystack error: ${err.message}` });
    }
  });

  function initialize(input, res) {
    if (input === null || typeof input !== "object") {
      return send(res, 400, { status: false, message: "Invalid request body" });
    }
    const amount = Number(input.amount);
    if (!input.email || typeof input.email !== "string") {
      return send(res, 400, { status: false, message: "Email is required" });
    }
    if (!Number.isInteger(amount) || amount <= 0) {
      return send(res, 400, { status: false, message: "Invalid Amount Sent" });
    }
    const reference = typeof input.reference === "string" && input.reference
      ? input.reference
      : randomBytes(8).toString("hex");
    if (transactions.has(reference)) {
      return send(res, 400, { status: false, message: "Duplicate Transaction Reference" });
    }
    const callbackUrl = input.callback_url ?? null;
    if (callbackUrl !== null && !isHttpUrl(callbackUrl)) {
      return send(res, 400, { status: false, message: "Invalid callback_url" });
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
    return send(res, 200, {
      status: true,
      message: "Authorization URL created",
      data: { authorization_url: `${url}/checkout/${accessCode}`, access_code: accessCode, reference },
    });
  }

  function verifyTransaction(reference, res) {
    const tx = transactions.get(reference);
    if (!tx) {
      return send(res, 400, {
        status: false,
        message: "Transaction reference not found",
        type: "validation_error",
        code: "transaction_not_found",
      });
    }
    return send(res, 200, { status: true, message: "Verification successful", data: transactionData(tx) });
  }

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

  function pay(reference, overrides = {}) {
    const tx = transactions.get(reference);
    if (!tx) throw new Error(`unknown reference ${reference}`);
    tx.status = "success";
    tx.paid_at = new Date().toISOString();
    const event = { event: "charge.success", data: { ...transactionData(tx), ...overrides } };
    return event;
  }

  let nextObjectId = 7_000_000;

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

  // The checkout page: what a browser sees at authorization_url.
  function checkoutPage(method, accessCode, body, res) {
    const tx = transactions.get(accessCodes.get(accessCode));
    if (!tx) return sendHtml(res, 404, resultPage("Checkout not found", "No transaction has this access code."));
    if (method === "GET") {
      if (tx.status !== "abandoned") return sendHtml(res, 200, settledPage(tx));
      return sendHtml(res, 200, checkoutHtml(tx, `/checkout/${encodeURIComponent(accessCode)}`));
    }
    if (method !== "POST") return sendHtml(res, 405, resultPage("Method not allowed", "Use GET or POST."));
    if (tx.status !== "abandoned") return sendHtml(res, 409, settledPage(tx));
    const form = new URLSearchParams(body);
    const action = form.get("action");
    let paid = false;
    if (action === "pay") {
      const card = TEST_CARDS.find((c) => c.number === (form.get("card") ?? "").replace(/[\s-]/g, ""));
      if (!card) {
        return sendHtml(res, 400, checkoutHtml(tx, `/checkout/${encodeURIComponent(accessCode)}`, "Use one of the test cards below."));
      }
      paid = card.outcome === "success";
    } else if (action !== "fail") {
      return sendHtml(res, 400, resultPage("Bad request", "The form needs action=pay or action=fail."));
    }
    if (paid) deliverWebhook(pay(tx.reference));
    else fail(tx.reference);
    if (tx.callback_url) {
      res.writeHead(302, { location: callbackRedirectUrl(tx.callback_url, tx.reference) });
      return res.end();
    }
    return sendHtml(res, 200, settledPage(tx));
  }

  // Like Paystack: POST the signed event, again after a backoff while the answer is not 200.
  function deliverWebhook(event) {
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

  function queueMisbehaviour(mode, count = 1, status) {
    if (!["error", "refuse", "hang", "garbage"].includes(mode)) throw new Error(`unknown mode ${mode}`);
    for (let i = 0; i < count; i++) pending.push({ mode, status });
  }

  function misbehave({ mode, status }, req, res) {
    if (mode === "hang") {
      hanging.add(res);
      res.on("close", () => hanging.delete(res));
      return;
    }
    if (mode === "garbage") {
      res.writeHead(status ?? 200, { "content-type": "text/html" });
      return res.end("<html>upstream hiccup</html>");
    }
    if (mode === "refuse") return send(res, status ?? 400, { status: false, message: "Refused by fake" });
    return send(res, status ?? 500, { status: false, message: "Internal fake error" });
  }

  function reset() {
    requests.length = 0;
    transactions.clear();
    accessCodes.clear();
    deliveries.length = 0;
    pending.length = 0;
  }

  function control(method, path, body, res) {
    const input = parseOrRaw(body) ?? {};
    if (path === "/__fake/requests" && method === "GET") return send(res, 200, requests);
    if (path === "/__fake/requests" && method === "DELETE") {
      requests.length = 0;
      return send(res, 200, { ok: true });
    }
    if (path === "/__fake/transactions" && method === "GET") return send(res, 200, [...transactions.values()]);
    if (path === "/__fake/webhooks" && method === "GET") return send(res, 200, deliveries);
    if (path === "/__fake/reset" && method === "POST") {
      reset();
      return send(res, 200, { ok: true });
    }
    if (path === "/__fake/next" && method === "POST") {
      try {
        queueMisbehaviour(input.mode, input.count ?? 1, input.status);
      } catch (err) {
        return send(res, 400, { ok: false, message: err.message });
      }
      return send(res, 200, { ok: true, queued: pending.length });
    }
    const action = /^\/__fake\/transactions\/([^/]+)\/(pay|fail|reverse|processing|refund|dispute)$/.exec(path);
    if (action && method === "POST") {
      const reference = decodeURIComponent(action[1]);
      if (!transactions.has(reference)) return send(res, 404, { ok: false, message: "unknown reference" });
      if (action[2] === "fail") return send(res, 200, fail(reference));
      if (action[2] === "reverse") return send(res, 200, setStatus(reference, "reversed"));
      if (action[2] === "processing") return send(res, 200, setStatus(reference, "ongoing"));
      if (action[2] === "refund") return send(res, 200, refundEvent(reference, input));
      if (action[2] === "dispute") return send(res, 200, disputeEvent(reference, input));
      const overrides = {};
      if (input.amount !== undefined) overrides.amount = input.amount;
      if (input.currency !== undefined) overrides.currency = input.currency;
      if (input.requested_amount !== undefined) overrides.requested_amount = input.requested_amount;
      return send(res, 200, pay(reference, overrides));
    }
    return send(res, 404, { ok: false, message: "unknown control route" });
  }

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const actualPort = server.address().port;
  url = `http://127.0.0.1:${actualPort}`;

  return {
    url,
    port: actualPort,
    secretKey,
    requests,
    transactions,
    deliveries,
    pay,
    fail,
    misbehave: queueMisbehaviour,
    reset,
    close: () =>
      new Promise((resolve) => {
        closed = true;
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        for (const controller of inFlight) controller.abort(new Error("fake Paystack closed"));
        for (const res of hanging) res.destroy();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseOrRaw(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

function sendHtml(res, status, html) {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(html);
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
<p class="note">Expiry: any future date. CVV: the card's own.</p>
<p><button name="action" value="pay">Pay ${escapeHtml(amount)}</button><button name="action" value="fail">Fail payment</button></p>
</form>
<h2>Test cards</h2>
<table><tr><th>Card</th><th>CVV</th><th></th></tr>${cards}</table>`);
}

// `node local/fake-paystack.mjs`: serve until killed, printing the URL.
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
