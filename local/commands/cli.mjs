#!/usr/bin/env node
// Entry of `npm start`, `npm run status`, `npm run db:reset`, `npm run db:down`, `npm test`,
// `npm run gen:types`, `npm run gen:docs` and `npm run simulate`.
// Installs what is missing first (Node's built-ins only until then), then runs the command.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensurePrerequisites } from "../stack/prerequisites.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
// `npm test` also drives a headless browser (Debian's chromium).
await ensurePrerequisites(root, { browser: process.argv[2] === "test" });

const { existsSync, readFileSync, rmSync, writeFileSync } = await import("node:fs");
const { parseArgs } = await import("node:util");
const { loadProjectKeys, signingKeysPath } = await import("../stack/keys.mjs");
const { StackError, seededUsersWithTokens, startStack, statusEnv } = await import("../stack/stack.mjs");
const { Cluster } = await import("../stack/postgres.mjs");
const { readProjectConfig } = await import("../stack/config.mjs");
const { resetDatabase } = await import("../stack/database.mjs");

const dataDir = process.env.FANTOOO_DATA_DIR ? resolve(process.env.FANTOOO_DATA_DIR) : join(root, ".local");
const stateFile = join(dataDir, "stack.json");
const [command = "start", ...args] = process.argv.slice(2);

const log = (line) => process.stderr.write(`[stack] ${line}\n`);

function fail(error) {
  const known = error instanceof StackError || /migration failed|port \d+|not found|cannot/.test(error.message);
  log(known ? error.message : error.stack ?? String(error));
  process.exit(1);
}

function printStatus(state, users) {
  const rows = [
    ["API URL", state.API_URL],
    ["REST URL", `${state.API_URL}/rest/v1`],
    ["Auth URL", `${state.API_URL}/auth/v1`],
    ["Functions URL", state.FUNCTIONS_URL],
    ["Realtime URL", state.REALTIME_URL],
    ["JWKS URL", state.JWKS_URL],
    ["Mailpit URL", state.MAILPIT_URL],
    ["DB URL", state.DB_URL],
    ["Publishable key", state.PUBLISHABLE_KEY],
    ["Secret key", state.SECRET_KEY],
    ["JWT secret", state.JWT_SECRET],
    ["anon key", state.ANON_KEY],
    ["service_role key", state.SERVICE_ROLE_KEY],
    ["Paystack API URL", state.PAYSTACK_API_URL],
    ["Paystack secret key", state.PAYSTACK_SECRET_KEY],
    ["Functions reach SQL", state.FUNCTIONS_DB && (state.FUNCTIONS_DB === "direct"
      ? "over SUPABASE_DB_URL (assign-chat, paystack-webhook), else the Data API"
      : "through the Data API (FUNCTIONS_DB=data-api)")],
  ].filter(([, value]) => value !== undefined);
  const width = Math.max(...rows.map(([k]) => k.length));
  const kind = state.KEYS_MODE === "legacy"
    ? "a legacy-key project (FANTOOO_LEGACY_JWT=1): HS256 user tokens, anon/service_role keys"
    : "a project with JWT signing keys (ES256 user tokens) and publishable/secret keys; the legacy keys still work";
  console.log(`\nFantooo local stack is running: ${kind}.\n`);
  for (const [key, value] of rows) console.log(`${key.padStart(width)}: ${value}`);
  if (users.length) {
    console.log(
      "\nSeeded users: sign in at /auth/v1 (supabase.auth.signInWithPassword) with these passwords, or use the " +
        "printed access tokens (valid 24 h; `npm run status` prints fresh ones):",
    );
    for (const user of users) {
      console.log(`  ${user.email} / ${user.password} (${user.persona ?? "user"}, ${user.id}):\n    ${user.accessToken}`);
    }
  }
  console.log("");
}

function readState() {
  if (!existsSync(stateFile)) return null;
  return JSON.parse(readFileSync(stateFile, "utf8"));
}

/** The state of the running stack, or exit 1 saying how to start one. */
async function requireRunningStack() {
  const state = readState();
  if (!state || !(await isRunning(state))) {
    log("the local stack is not running: start it with `npm start`");
    process.exit(1);
  }
  return state;
}

async function isRunning(state) {
  try {
    const response = await fetch(`${state.API_URL}/rest/v1/`, { headers: { apikey: state.SERVICE_ROLE_KEY } });
    return response.status < 500;
  } catch {
    return false;
  }
}

/** The parent pid of process `pid` (from /proc), or null. */
function parentOf(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ")[1]);
  } catch {
    return null;
  }
}

/** Calls `onGone` once our parent, or its parent (npm above `sh -c`), is replaced. */
function watchLauncher(onGone) {
  const parent = process.ppid;
  const grandparent = parentOf(parent);
  if (parent <= 1) return;
  const timer = setInterval(() => {
    const grandNow = parentOf(parent);
    if (process.ppid !== parent || (grandparent > 1 && grandNow !== grandparent)) {
      clearInterval(timer);
      onGone();
    }
  }, 1000);
  timer.unref();
}

async function start() {
  let stack;
  let starting = true;
  let stopping = false;
  const stopAndExit = async (code) => {
    await stack?.stop();
    rmSync(stateFile, { force: true });
    log("stopped");
    process.exit(code);
  };
  // A stop asked for while the stack is still starting waits for the start to end (it has started
  // processes only it can stop), then stops everything; asked for twice, it leaves at once.
  let stopAskedAt = 0;
  const shutdown = async (code = 0) => {
    if (stopping) {
      // The same Ctrl-C can arrive twice (from the terminal and passed on by a parent process).
      if (starting && Date.now() - stopAskedAt > 1000) process.exit(130);
      return;
    }
    stopping = true;
    stopAskedAt = Date.now();
    log(starting ? "stopping once the start in progress has ended (again to leave at once)…" : "stopping…");
    if (!starting) await stopAndExit(code);
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));
  process.on("SIGHUP", () => void shutdown(0));
  // `npm start` runs this under npm (its script `exec`s us, so npm's SIGINT/SIGTERM reach us): when
  // npm is killed outright (kill -9), notice that our launcher is gone and stop as a whole rather
  // than hold the ports.
  watchLauncher(() => {
    log("the process that started us (npm) is gone");
    void shutdown(0);
  });
  const startedAt = Date.now();
  try {
    stack = await startStack({
      root,
      dataDir,
      log,
      echoFunctionLogs: true,
      logHttp: process.env.FANTOOO_LOG_PG_NET ? log : undefined,
    });
  } catch (error) {
    if (stopping) process.exit(0); // startStack stopped what it had started
    fail(error);
  }
  starting = false;
  if (stopping) return stopAndExit(0);
  const state = statusEnv(stack);
  writeFileSync(stateFile, JSON.stringify({ ...state, pid: process.pid }, null, 2));
  printStatus(state, stack.users);
  log(`ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; Ctrl-C stops it`);
}

async function status() {
  let options;
  try {
    ({ values: options } = parseArgs({ args, options: { output: { type: "string", short: "o" } } }));
  } catch (error) {
    log(`${error.message}: use \`npm run status -- -o env\` (or json)`);
    process.exit(2);
  }
  const state = await requireRunningStack();
  const format = options.output;
  if (format !== undefined) {
    if (format === "env") {
      for (const [key, value] of Object.entries(state)) {
        if (key !== "pid") console.log(`${key}="${value}"`);
      }
      return;
    }
    if (format === "json") {
      const { pid: _pid, ...values } = state;
      return console.log(JSON.stringify(values, null, 2));
    }
    log(`unknown output format ${format}: use env or json`);
    process.exit(2);
  }
  const cluster = new Cluster({ dir: join(dataDir, "postgres"), port: Number(new URL(state.DB_URL).port) });
  const keys = await loadProjectKeys({
    root,
    jwtSecret: state.JWT_SECRET,
    legacy: state.KEYS_MODE === "legacy",
    signingKeysFile: signingKeysPath(root, readProjectConfig(root).signingKeysPath),
  });
  printStatus(state, await seededUsersWithTokens(cluster, state.API_URL, keys));
}

async function dbReset() {
  const state = readState();
  const running = state && (await isRunning(state));
  const port = running ? Number(new URL(state.DB_URL).port) : readProjectConfig(root).dbPort;
  const cluster = new Cluster({ dir: join(dataDir, "postgres"), port });
  if (!cluster.exists) {
    log("there is no local database yet: `npm start` creates it");
    process.exit(1);
  }
  // With the stack stopped, the cluster is started for the rebuild and stopped again after it.
  let startedHere;
  try {
    startedHere = cluster.start();
  } catch (error) {
    throw new StackError(
      `PostgreSQL (${cluster.dataDir}, port ${port}) did not start for the rebuild. Its log says:\n` +
        `${cluster.logTail(5).trimEnd()}\n` +
        "If the port is taken, stop what uses it or set FANTOOO_DB_PORT; then run `npm run db:reset` again " +
        `(or \`npm start\`, and \`npm run db:reset\` while it runs). (${error.message.split("\n")[0]})`,
    );
  }
  if (startedHere) log(`PostgreSQL started for the rebuild (port ${port}); it is stopped again after it`);
  try {
    const sweeperKey = state?.SECRET_KEY ?? state?.SERVICE_ROLE_KEY;
    resetDatabase(root, cluster, running ? { apiUrl: state.API_URL, sweeperKey } : null);
    // pg_cron's launcher does not come back by itself once its database was dropped.
    if (!startedHere) cluster.restart();
    log(`database rebuilt from migrations and seed${running ? "; the running stack uses it now" : ""}`);
  } finally {
    if (startedHere) cluster.stop();
  }
}

/** Rolls back the newest applied migration on the running stack's database (local/commands/db-down.mjs). */
async function dbDown() {
  const state = await requireRunningStack();
  const { rollbackNewest } = await import("./db-down.mjs");
  try {
    const { version, name, file } = await rollbackNewest({ root, dbUrl: state.DB_URL });
    log(`rolled back ${version}_${name} with ${file}; \`npm start\` or \`supabase migration up\` applies it again`);
  } catch (error) {
    log(error.message);
    process.exit(1);
  }
}

/**
 * Regenerates supabase/functions/_shared/database.types.ts and the takeaway folder types/
 * (database.types.ts, constants.ts, functions.ts) from the running stack's database;
 * `-- --out <dir>` writes the takeaway folder there instead (`--out <file>.ts`: only the database
 * types, to that file).
 */
async function genTypes() {
  let out;
  try {
    ({ values: { out } } = parseArgs({ args, options: { out: { type: "string", short: "o" } } }));
  } catch (error) {
    log(`${error.message}: use \`npm run gen:types\` or \`npm run gen:types -- --out <dir>\``);
    process.exit(2);
  }
  const state = await requireRunningStack();
  const { TAKEAWAY_DIR, TYPES_FILE, generateTakeaway, generateTypes } = await import("./gen-types.mjs");
  const { mkdirSync } = await import("node:fs");
  const databaseTypes = generateTypes(root, state.DB_URL);
  if (out?.endsWith(".ts")) {
    mkdirSync(dirname(resolve(out)), { recursive: true });
    writeFileSync(resolve(out), databaseTypes);
    return log(`wrote ${out}`);
  }
  if (out === undefined) {
    writeFileSync(join(root, TYPES_FILE), databaseTypes);
    log(`wrote ${TYPES_FILE}`);
  }
  const dir = out === undefined ? join(root, TAKEAWAY_DIR) : resolve(out);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(await generateTakeaway(root, state.DB_URL, databaseTypes))) {
    writeFileSync(join(dir, name), text);
  }
  log(`wrote ${out ?? TAKEAWAY_DIR}/ (database.types.ts, constants.ts, functions.ts)`);
}

/** Regenerates docs/data-api.md from the running stack's database. */
async function genDocs() {
  const state = await requireRunningStack();
  const { DATA_API_DOC, generateDataApiDoc } = await import("./gen-docs.mjs");
  writeFileSync(join(root, DATA_API_DOC), await generateDataApiDoc(state.DB_URL));
  log(`wrote ${DATA_API_DOC}`);
}

/** `npm run simulate [-- --small] [--throwaway]`: a compressed day on the running stack (or a throwaway one). */
async function simulate() {
  const { simulateCommand } = await import("./simulate.mjs");
  process.exit(await simulateCommand({ root, args, runningStack: requireRunningStack }));
}

const commands = { start, status, "db:reset": dbReset, "db:down": dbDown, "gen:types": genTypes, "gen:docs": genDocs, simulate };
if (command === "test") {
  const { runTests } = await import("./test-runner.mjs");
  process.exit(await runTests({ root, args }));
}
if (!commands[command]) {
  log(`unknown command ${command}: use start, status, db:reset, db:down, test, gen:types, gen:docs or simulate`);
  process.exit(2);
}
await commands[command]().catch(fail);
