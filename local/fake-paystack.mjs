// A local stand-in for the two Paystack API calls Fantooo makes, for development and tests.
//
//   POST /transaction/initialize         Bearer secret key; {email, amount, currency?, reference?, ...}
//                                        -> {status: true, message: "Authorization URL created",
//                                            data: {authorization_url, access_code, reference}}
//   GET  /transaction/verify/:reference  Bearer secret key
//                                        -> {status: true, message: "Verification successful",
//                                            data: {id, status, reference, amount, currency, paid_at,
//                                                   customer: {email}, ...}}
//
// Shapes follow Paystack's API reference; a transaction stays "abandoned" until a test marks it
// paid or failed. Every request is recorded. Test-control routes (no auth), usable from another
// process:
//
//   GET    /__fake/requests                    recorded API requests (oldest first)
//   DELETE /__fake/requests                    forget them
//   GET    /__fake/transactions                known transactions
//   POST   /__fake/transactions/:ref/pay       {amount?, currency?} mark paid; answers the
//                                              charge.success event body Paystack would send
//   POST   /__fake/transactions/:ref/fail      mark failed
//   POST   /__fake/next                        {mode: "error"|"refuse"|"hang"|"garbage", count?, status?}
//                                              the next `count` (default 1) API calls misbehave:
//                                              error = HTTP 500, refuse = HTTP 400 {status:false},
//                                              hang = never answer, garbage = 200 with a non-JSON body
//   POST   /__fake/reset                       forget everything
//
// Run directly: `PORT=54329 PAYSTACK_SECRET_KEY=sk_test_... node local/fake-paystack.mjs` prints
// its URL on stdout. Plain Node ESM, no dependencies.
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";

/** The key used when none is given (the local stack passes its own fixed test key). */
export const DEFAULT_SECRET_KEY = "sk_test_local_fantooo_0000000000000000000000";

/**
 * Starts the fake on 127.0.0.1:`port` (0 = any free port).
 * @returns {Promise<{url: string, port: number, requests: object[], transactions: Map<string, object>,
 *   misbehave(mode: string, count?: number): void, pay(reference: string, overrides?: object): object,
 *   fail(reference: string): object, reset(): void, close(): Promise<void>}>}
 */
export async function startFakePaystack({ port = 0, secretKey = DEFAULT_SECRET_KEY } = {}) {
  const requests = [];
  const transactions = new Map();
  const pending = []; // queued misbehaviours: {mode, status}
  const hanging = new Set();
  let nextId = 5_000_000_000 + Math.floor(Math.random() * 1_000_000);
  let url = "";

  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const path = new URL(req.url ?? "/", "http://fake").pathname;
    try {
      if (path.startsWith("/__fake/")) return control(req.method, path, body, res);
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
    const accessCode = randomBytes(8).toString("hex");
    transactions.set(reference, {
      id: nextId++,
      reference,
      access_code: accessCode,
      amount,
      currency: typeof input.currency === "string" ? input.currency : "NGN",
      email: input.email,
      metadata: input.metadata ?? null,
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
    if (!tx) return send(res, 400, { status: false, message: "Transaction reference not found" });
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

  function fail(reference) {
    const tx = transactions.get(reference);
    if (!tx) throw new Error(`unknown reference ${reference}`);
    tx.status = "failed";
    return transactionData(tx);
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
    const action = /^\/__fake\/transactions\/([^/]+)\/(pay|fail)$/.exec(path);
    if (action && method === "POST") {
      const reference = decodeURIComponent(action[1]);
      if (!transactions.has(reference)) return send(res, 404, { ok: false, message: "unknown reference" });
      if (action[2] === "fail") return send(res, 200, fail(reference));
      const overrides = {};
      if (input.amount !== undefined) overrides.amount = input.amount;
      if (input.currency !== undefined) overrides.currency = input.currency;
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
    pay,
    fail,
    misbehave: queueMisbehaviour,
    reset,
    close: () =>
      new Promise((resolve) => {
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

// `node local/fake-paystack.mjs`: serve until killed, printing the URL.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const fake = await startFakePaystack({
    port: Number(process.env.PORT ?? 0),
    secretKey: process.env.PAYSTACK_SECRET_KEY || DEFAULT_SECRET_KEY,
  });
  console.log(fake.url);
  const stop = () => fake.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
