// HTTP load with autocannon, from a worker thread so that the load generator and the gateway
// (which runs in the bench's own event loop) do not share a thread. Every response's latency is
// kept, so percentiles are exact. A response with another status than `expect`, or a body without
// `bodyIncludes`, is an error.
//
// job: {url, method, headers: [one object per connection, reused round-robin], body,
//       expect, bodyIncludes, connections, durationS, webhook?: {secret, references, amount, currency, idOffset}}
// With `webhook`, every request is a distinct charge.success for the next unused reference, signed
// on its exact bytes (x-paystack-signature: hex HMAC-SHA512 with the secret key), as Paystack
// sends it; the references answered 200 are returned (`answered`), with `issued` (how many sent).
// With a CPU sampler configured (lib/cpu.mjs), the result carries `cpu` ({group: ms}); the worker
// reports its own thread's CPU so that it counts as the load's, not the gateway's.
import { createHmac } from "node:crypto";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { withCpu } from "./cpu.mjs";

export function httpLoad(job) {
  return withCpu(() => new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { benchHttp: job } });
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) => code !== 0 && reject(new Error(`HTTP load worker exited with ${code}`)));
  }));
}

/** CPU time of this thread since it started, in ms (user + system). */
function threadCpuMs() {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
}

async function run(job) {
  const { default: autocannon } = await import("autocannon");
  const { url, method = "POST", headers, body = null, expect = 200, bodyIncludes = "", webhook } = job;
  const latenciesMs = [];
  const answered = [];
  let ops = 0;
  let errors = 0;
  let firstError = null;
  let nextConnection = 0;
  let nextReference = 0;

  const request = {
    method,
    setupRequest(req, context) {
      context.headers ??= headers[nextConnection++ % headers.length];
      if (!webhook) return { ...req, headers: context.headers, body: body ?? undefined };
      const reference = webhook.references[nextReference++];
      if (!reference) throw new Error("the webhook load ran out of pending references");
      context.reference = reference;
      const payload = JSON.stringify({
        event: "charge.success",
        data: {
          id: 9e11 + (webhook.idOffset ?? 0) + nextReference, // Paystack's transaction id: unique too
          status: "success",
          reference,
          amount: webhook.amount,
          currency: webhook.currency,
          paid_at: new Date().toISOString(),
        },
      });
      const signature = createHmac("sha512", webhook.secret).update(payload).digest("hex");
      return { ...req, headers: { ...context.headers, "x-paystack-signature": signature }, body: payload };
    },
    onResponse(status, responseBody, context) {
      if (status === expect && responseBody.includes(bodyIncludes)) {
        ops++;
        if (webhook) answered.push(context.reference);
      } else {
        errors++;
        firstError ??= `${status} ${String(responseBody).slice(0, 200)}`;
      }
    },
  };

  const instance = autocannon({
    url,
    connections: job.connections ?? headers.length,
    duration: job.durationS,
    requests: [request],
  });
  instance.on("response", (_client, _status, _bytes, responseTime) => latenciesMs.push(responseTime));
  const result = await instance;
  errors += result.errors + result.timeouts;
  if (result.errors && !firstError) firstError = `${result.errors} connection errors`;
  return {
    ops,
    seconds: job.durationS,
    latenciesMs,
    errors,
    firstError,
    ...(webhook ? { answered, issued: nextReference } : {}),
    threadCpuMs: threadCpuMs(),
  };
}

if (!isMainThread && workerData?.benchHttp) {
  parentPort.postMessage(await run(workerData.benchHttp));
}
