#!/usr/bin/env node
// `node bench/profile-functions.mjs [assign-chat|paystack-webhook] [--seconds N] [--save FILE]`: where the
// functions server's CPU goes under the bench's load of that function (16 connections straight at
// the server, as the bench's `functions` and `webhook` sections send them), by stage of the path
// (lib/cpu-profile.mjs): a V8 CPU profile of a second functions server started with the inspector
// on a throwaway stack. Prints the busy share of the server's main thread and each stage's share of
// that busy time; bench/README.md ("The HTTP layer") records a run. Not part of `npm run bench`:
// the profiler itself slows the server down, so its throughput is not a figure to compare.
import { writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { userAccessToken } from "../local/stack/keys.mjs";
import { ensurePrerequisites } from "../local/stack/prerequisites.mjs";
import { freePort, startThrowawayStack } from "../local/stack/stack.mjs";
import { createFixtures, createPendingPayments } from "./fixtures.mjs";
import { stageShares, recordProfile } from "./lib/cpu-profile.mjs";
import { httpLoad } from "./lib/http.mjs";
import { SIZES } from "./run.mjs";
import { startFunctionsServer } from "./sections.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const fn = args.find((a, i) => !a.startsWith("-") && !["--seconds", "--save"].includes(args[i - 1])) ?? "assign-chat";
const seconds = args.includes("--seconds") ? Number(args[args.indexOf("--seconds") + 1]) : 6;
if (!["assign-chat", "paystack-webhook"].includes(fn) || !(seconds > 0)) {
  console.error("usage: node bench/profile-functions.mjs [assign-chat|paystack-webhook] [--seconds N] [--save FILE]");
  process.exit(2);
}

await ensurePrerequisites(root);
const stack = await startThrowawayStack({
  root,
  prefix: "fantooo-profile-",
  functionsDb: "direct",
  functionsEnv: { FUNCTIONS_DB_POOL_SIZE: String(SIZES.full.clients) }, // as `npm run bench` has it
  log: () => {},
});
const db = new pg.Client({ connectionString: stack.dbUrl });
await db.connect();
let server;
try {
  const size = { ...SIZES.full, queueUsers: 200, operators: 160 };
  const fixtures = await createFixtures(db, size);
  const inspectPort = await freePort();
  server = await startFunctionsServer(stack, { inspectPort, logName: "functions-profiled" });
  let job;
  if (fn === "assign-chat") {
    const headers = await Promise.all(fixtures.operators.slice(0, size.clients).map(async (o) => ({
      apikey: stack.publishableKey ?? stack.anonKey,
      authorization: `Bearer ${await userAccessToken(stack.keys, { id: o.id, email: o.email, apiUrl: stack.apiUrl })}`,
      "content-type": "application/json",
    })));
    job = { url: `${server.url}/assign-chat`, headers, body: "{}", bodyIncludes: '"chat":' };
  } else {
    // 1,000 buyers' pending payments, as the webhook section has them.
    await createPendingPayments(db, { buyers: 1000, count: 60000, prefixes: ["bench-"] });
    const { rows } = await db.query("select reference from public.transactions where reference like 'bench-%' order by reference");
    const references = rows.map((r) => r.reference);
    job = {
      url: `${server.url}/paystack-webhook`,
      headers: [{ "content-type": "application/json" }],
      bodyIncludes: '"received":true',
      webhook: { secret: stack.paystackSecretKey, references, amount: 10000, currency: "KES", idOffset: 0 },
    };
  }
  const warm = await httpLoad({ ...job, connections: size.clients, durationS: 1 });
  if (job.webhook) job = { ...job, webhook: { ...job.webhook, references: job.webhook.references.slice(warm.issued), idOffset: warm.issued } };
  const { profile, result } = await recordProfile(inspectPort, () => httpLoad({ ...job, connections: size.clients, durationS: seconds }));
  if (result.errors) throw new Error(`${result.errors} failed calls, first: ${result.firstError}`);
  const save = args.indexOf("--save");
  if (save >= 0) writeFileSync(args[save + 1], JSON.stringify(profile)); // for Chrome DevTools
  const { busyShare, busyMicros, stages } = stageShares(profile);
  const perRequest = busyMicros / result.ops / 1000;
  console.log(`${fn}: ${result.ops} requests in ${seconds} s under the profiler; the server's main thread busy ` +
    `${(busyShare * 100).toFixed(0)}% of the time, ${perRequest.toFixed(3)} ms per request`);
  for (const { stage, share } of stages) {
    console.log(`${(share * 100).toFixed(1).padStart(5)}%  ${(share * perRequest).toFixed(3)} ms  ${stage}`);
  }
} finally {
  server?.stop();
  await db.end();
  await stack.stop();
  stack.remove();
}
