// `npm run bench`: the hot paths on a throwaway stack (free ports, its own data folder, removed
// afterwards), each beside ceilings measured in the same run on the same machine (SPEC 13), so that
// ratios mean something on any hardware; latency percentiles for every row; growth of discovery,
// of a chat's history, of the idle sweep and of the assignment queue. SQL load comes from pgbench,
// HTTP load from autocannon. A full run writes bench/results/latest.json and latest.svg (and the
// query plans of the largest sizes in explain.txt); bench/README.md says what each row measures.
//
//   npm run bench                          everything (about 10 minutes on 2 CPUs)
//   npm run bench -- queue webhook         only those sections (results not written)
//   npm run bench -- --quick               tiny sizes, a few seconds of load: the smoke run
//   npm run bench -- --messages 10000000   the largest history size (default below)
//   npm run bench -- --out DIR             write latest.json / latest.svg there (any run)
//   npm run bench -- --capacity            every section, then the capacity table (docs/capacity.md)
//
// Every load is timed for CPU too (lib/cpu.mjs): each row gets `cpu_ms_per_op` by process group,
// and a run that writes bench/results/ writes docs/capacity.md from the same rows (lib/capacity.mjs);
// with --out DIR, --capacity writes DIR/capacity.md instead.
//
// Exits non-zero if a measured call failed or a check after a load did not hold (never because a
// target was missed: targets are read from the table, the JSON and the chart).
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";
import { StackError, startThrowawayStack } from "../local/stack/stack.mjs";
import { createFixtures } from "./fixtures.mjs";
import { renderCapacityDoc } from "./lib/capacity.mjs";
import { createCpuSampler, setCpuSampler } from "./lib/cpu.mjs";
import { benchRealtime } from "./realtime.mjs";
import {
  benchDiscovery,
  benchFunctions,
  benchHistory,
  benchMessages,
  benchQueue,
  benchRest,
  benchSweep,
  benchWebhook,
  writePlans,
} from "./sections.mjs";
import { formatTable, meetsTarget, publicRow } from "./lib/stats.mjs";
import { renderSvg } from "./lib/svg.mjs";

export const SECTIONS = {
  queue: benchQueue,
  messages: benchMessages,
  rest: benchRest,
  functions: benchFunctions,
  webhook: benchWebhook,
  sweep: benchSweep,
  discovery: benchDiscovery,
  history: benchHistory,
  realtime: benchRealtime,
};

/** Sizes of a full run and of the smoke run (`--quick`). */
export const SIZES = {
  full: {
    clients: 16,
    operators: 2000, // client i draws for operators i, i+16, …
    queueUsers: 1000, // x 100 bench profiles = 100,000 waiting chats
    queueDraw: 20000, // assignments per queue run
    longChatMessages: 5000,
    sqlSeconds: 5,
    httpWarmupS: 1,
    httpSeconds: 2,
    httpRounds: 2,
    webhookReferences: 40000,
    webhookBuyers: 1000,
    sweepChats: 10000,
    sweepReps: 3,
    profiles: [10000, 100000, 1000000],
    messages: [100000, 1000000, 10000000],
    latencySeconds: 5,
    realtimeClients: 1000, // 500 chats, their real user and their operator each on a socket
    realtimeRate: 200, // messages per second
    realtimeSeconds: 10,
    realtimeWarmupS: 1,
  },
  quick: {
    clients: 4,
    operators: 40,
    queueUsers: 30, // 3,000 waiting: the HTTP rows assign chats too
    queueDraw: 80,
    longChatMessages: 50,
    sqlSeconds: 1,
    httpWarmupS: 0.3,
    httpSeconds: 0.5,
    httpRounds: 1,
    webhookReferences: 5000,
    webhookBuyers: 50,
    sweepChats: 200,
    sweepReps: 1,
    profiles: [1000, 5000],
    messages: [2000, 20000],
    latencySeconds: 1,
    realtimeClients: 40,
    realtimeRate: 50,
    realtimeSeconds: 1,
    realtimeWarmupS: 0.2,
  },
};

/** The options of a run from its arguments. Throws on what it does not know. */
export function parseArgs(args) {
  const options = { sections: [], quick: false, messages: null, out: null, capacity: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--quick") options.quick = true;
    else if (arg === "--capacity") options.capacity = true;
    else if (arg === "--messages") options.messages = Number(args[++i]);
    else if (arg === "--out") options.out = args[++i];
    else if (arg.startsWith("-")) throw new Error(`unknown option ${arg}`);
    else if (SECTIONS[arg]) options.sections.push(arg);
    else throw new Error(`unknown bench section ${arg}: use ${Object.keys(SECTIONS).join(", ")}`);
  }
  if (options.messages !== null && !(Number.isInteger(options.messages) && options.messages >= 100)) {
    throw new Error("--messages wants a whole number of at least 100");
  }
  // The table needs the messages, functions, webhook, discovery and history rows, and the Data
  // API's (rest): in practice every section, and a run whose latest.json it can be made again from.
  if (options.capacity && options.sections.length) throw new Error("--capacity runs every section: leave the sections out");
  return options;
}

function sizesFor(options) {
  const size = { ...SIZES[options.quick ? "quick" : "full"] };
  if (options.messages) size.messages = [options.messages / 100, options.messages / 10, options.messages].map(Math.round);
  return size;
}

async function machine(db) {
  const { rows: [{ version }] } = await db.query("select current_setting('server_version') as version");
  return {
    cpus: availableParallelism(),
    model: cpus()[0]?.model?.trim() ?? "unknown",
    memory_gb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    postgres: version,
    load_average: Number(loadavg()[0].toFixed(2)),
    date: new Date().toISOString(),
  };
}

/**
 * Where the capacity table goes: docs/capacity.md when the results go to bench/results (the
 * committed run), else `out`/capacity.md with --capacity; null when none is written.
 */
export function capacityPath(root, options, out) {
  if (!out) return null;
  if (out === join(root, "bench", "results")) return join(root, "docs", "capacity.md");
  return options.capacity ? join(out, "capacity.md") : null;
}

/** Writes latest.json (machine and rows, exactly) and latest.svg into `dir`. */
export function writeResults(dir, { machine: info, rows }) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "latest.json"), `${JSON.stringify({ machine: info, rows: rows.map(publicRow) }, null, 2)}\n`);
  writeFileSync(join(dir, "latest.svg"), renderSvg(rows, info));
}

/**
 * Runs the benchmark. `args` as on the command line (sections, --quick, --messages N, --out DIR).
 * Resolves with the exit status; `onResult` (if given) receives {machine, rows}.
 */
export async function runBench({ root, args = [], onResult } = {}) {
  let options;
  try {
    options = parseArgs(args);
  } catch (error) {
    console.error(`[bench] ${error.message}`);
    return 2;
  }
  const size = sizesFor(options);
  const chosen = Object.keys(SECTIONS).filter((s) => !options.sections.length || options.sections.includes(s));
  const full = !options.quick && options.sections.length === 0;
  const out = options.out ?? (full ? join(root, "bench", "results") : null);
  console.log(`[bench] ${availableParallelism()} CPUs, load average ${loadavg()[0].toFixed(2)} before start; ` +
    `${options.quick ? "quick" : "full"} sizes; sections ${chosen.join(", ")}`);

  let stack;
  let db;
  const rows = [];
  const plans = [];
  let info = null;
  let ok = true;
  const started = Date.now();
  try {
    // Functions on SUPABASE_DB_URL, as hosted (whatever FANTOOO_FUNCTIONS_DB says): the functions
    // section compares that with a second functions server on the Data API.
    stack = await startThrowawayStack({
      root,
      prefix: "fantooo-bench-",
      functionsDb: "direct",
      // As many connections to Postgres as the load has clients, so that a function over HTTP and
      // its own SQL call (pgbench, as many clients) meet the database with the same concurrency.
      functionsEnv: { FUNCTIONS_DB_POOL_SIZE: String(size.clients) },
      log: (line) => console.log(`[stack] ${line}`),
    });
    console.log(`[bench] stack up in ${((Date.now() - started) / 1000).toFixed(1)} s at ${stack.apiUrl}`);
    // CPU per process group of every load from here on (lib/cpu.mjs): an idle window before each.
    const sampler = createCpuSampler({ postgresDataDir: stack.cluster.dataDir, idleMs: options.quick ? 100 : 500 });
    setCpuSampler(sampler);
    db = new pg.Client({ connectionString: stack.dbUrl });
    await db.connect();
    info = await machine(db);
    const fixtures = await createFixtures(db, size);
    // The stack's own background (the Realtime server's WAL polling, pg_cron, the drainer) at rest.
    const quiet = await sampler?.calibrate(options.quick ? 300 : 2000);
    if (quiet) console.log(`[bench] CPU of the idle stack: ${Object.entries(quiet).filter(([, r]) => r > 0).map(([g, r]) => `${g} ${(r * 100).toFixed(1)}%`).join(", ") || "none"}`);
    for (const section of chosen) {
      const at = Date.now();
      console.log(`[bench] ${section}…`);
      rows.push(...(await SECTIONS[section]({ stack, db, fixtures, size, plans })));
      console.log(`[bench] ${section} done in ${((Date.now() - at) / 1000).toFixed(0)} s`);
    }
  } catch (error) {
    console.error(`[bench] ${error instanceof StackError ? error.message : error.stack}`);
    ok = false;
  } finally {
    setCpuSampler(null);
    await db?.end().catch(() => {});
    await stack?.stop();
    stack?.remove();
  }

  console.log(`[bench] done in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  if (rows.length) {
    for (const line of formatTable(rows)) console.log(line);
    console.log("ratio = ops/s ÷ the ceiling's ops/s in this run; target: SPEC 13 (a minimum ratio, or a maximum p95).");
    const missed = rows.filter((r) => meetsTarget(r) === false).length;
    const targets = rows.filter((r) => r.target != null).length;
    console.log(`targets: ${targets - missed} of ${targets} met`);
  }
  if (ok && out && rows.length) {
    writeResults(out, { machine: info, rows });
    if (plans.length) writePlans(join(out, "explain.txt"), plans);
    console.log(`[bench] wrote ${join(out, "latest.json")} and latest.svg`);
    const capacityFile = capacityPath(root, options, out);
    const page = capacityFile && renderCapacityDoc({ machine: info, rows: rows.map(publicRow) });
    if (page) {
      mkdirSync(dirname(capacityFile), { recursive: true });
      writeFileSync(capacityFile, page);
      console.log(`[bench] wrote ${capacityFile}`);
    } else if (options.capacity) {
      console.error("[bench] no CPU figures were measured (no /proc?): the capacity table was not written");
    }
  }
  onResult?.({ machine: info, rows });
  return ok ? 0 : 1;
}
