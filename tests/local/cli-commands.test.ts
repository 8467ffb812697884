// The local commands as a new user meets them (README "Two commands"): a second `npm start` in the
// same folder refuses at once, naming the running stack, and touches nothing; `npm start` names the
// migrations it applies (a rolled-back one applied again included); `npm run db:reset` works with
// the stack stopped (it starts the cluster, rebuilds, stops it). Runs the CLI on a stack of its own
// (a temporary data folder, free ports), never on the one the other files share.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, chmodSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..", "..");
const node = join(root, "node_modules", ".bin", "node");
const cli = join(root, "local", "commands", "cli.mjs");
let dataDir = "";
let ports = { api: 0, db: 0 };
let first: ChildProcess | null = null;
let firstLog = "";

/** A free port above the ephemeral range's usual start, with its +9..+13 internal ports free too. */
async function freeBlock(): Promise<number> {
  const free = (port: number) => new Promise<boolean>((done) => {
    const probe = createServer().once("error", () => done(false)).listen(port, "127.0.0.1", () => probe.close(() => done(true)));
  });
  for (;;) {
    const base = 61000 + Math.floor(Math.random() * 4000);
    const wanted = [base, base + 1, ...[9, 10, 11, 12, 13].map((d) => base + d)];
    if ((await Promise.all(wanted.map(free))).every(Boolean)) return base;
  }
}

function env(apiPort: number) {
  return { ...process.env, FANTOOO_DATA_DIR: dataDir, FANTOOO_API_PORT: String(apiPort), FANTOOO_DB_PORT: String(ports.db) };
}

/** Starts `npm start`'s CLI; resolves once it is ready. */
function startStack(): Promise<void> {
  firstLog = "";
  first = spawn(node, [cli, "start"], { cwd: root, env: env(ports.api), stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((done, fail) => {
    const onData = (chunk: Buffer) => {
      firstLog += chunk;
      if (/ready in [\d.]+ s/.test(firstLog)) done();
    };
    first!.stdout!.on("data", onData);
    first!.stderr!.on("data", onData);
    first!.once("exit", (code) => fail(new Error(`npm start exited with ${code}:\n${firstLog}`)));
  });
}

function stopStack(): Promise<void> {
  const child = first;
  first = null;
  if (!child || child.exitCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.removeAllListeners("exit");
    child.once("exit", () => done());
    child.kill("SIGINT");
  });
}

function runCli(args: string[], apiPort = ports.api) {
  return spawnSync(node, [cli, ...args], { cwd: root, env: env(apiPort), encoding: "utf8", timeout: 180_000 });
}

const clusterRunning = () =>
  spawnSync("pg_isready", ["-h", "127.0.0.1", "-p", String(ports.db)], { encoding: "utf8" }).status === 0;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "fantooo-cli-"));
  chmodSync(dataDir, 0o755);
  const base = await freeBlock();
  ports = { api: base, db: base + 1 };
  await startStack();
}, 240_000);

afterAll(async () => {
  await stopStack();
  spawnSync("pg_ctl", ["-D", join(dataDir, "postgres", "data"), "-m", "immediate", "stop"], { encoding: "utf8" });
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the local commands", () => {
  it("names the migrations it applies", () => {
    expect(firstLog).toMatch(/migrations applied: \d+ migrations \(001_platform … \d{3}_\w+\)/);
  });

  it("a second `npm start` in the same folder refuses at once, naming the running stack, and touches nothing", async () => {
    const state = readFileSync(join(dataDir, "stack.json"), "utf8");
    const started = Date.now();
    const second = runCli(["start"], await freeBlock()); // other ports: only the folder is shared
    expect(second.status).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(second.stderr).toContain(`a stack is already running from ${dataDir} (pid ${first!.pid}, http://127.0.0.1:${ports.api})`);
    expect(readFileSync(join(dataDir, "stack.json"), "utf8")).toBe(state);
    expect(clusterRunning()).toBe(true);
    const response = await fetch(`http://127.0.0.1:${ports.api}/rest/v1/credit_packages?select=id`, {
      headers: { apikey: JSON.parse(state).PUBLISHABLE_KEY ?? JSON.parse(state).ANON_KEY },
    });
    expect(response.status).toBe(200);
  });

  it("`npm start` after `npm run db:down` names the migration it applies again", async () => {
    const down = runCli(["db:down"]);
    expect(down.status, down.stderr).toBe(0);
    const name = /rolled back (\d{3}_\w+)/.exec(down.stderr)?.[1];
    expect(name).toBeTruthy();
    await stopStack();
    await startStack();
    expect(firstLog).toContain(`migrations applied: ${name}`);
  }, 240_000);

  it("`npm run db:reset` with the stack stopped starts the cluster, rebuilds the database and stops it again", async () => {
    await stopStack();
    expect(clusterRunning()).toBe(false);
    const reset = runCli(["db:reset"]);
    expect(reset.status, reset.stderr).toBe(0);
    expect(reset.stderr).toContain("database rebuilt from migrations and seed");
    expect(reset.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(clusterRunning()).toBe(false);
    expect(existsSync(join(dataDir, "stack.lock"))).toBe(false);
  }, 240_000);

  it("`npm run db:reset` says what to do when the cluster cannot start (its port is taken)", async () => {
    const blocker = createServer().listen(ports.db, "127.0.0.1");
    await new Promise((done) => blocker.once("listening", done));
    try {
      const reset = runCli(["db:reset"]);
      expect(reset.status).toBe(1);
      expect(reset.stderr).toContain("did not start for the rebuild");
      expect(reset.stderr).toContain("FANTOOO_DB_PORT");
      expect(reset.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await new Promise((done) => blocker.close(done));
    }
  });
});
