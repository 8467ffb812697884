// `npm start` refuses bad configuration with a message that says what to do, and a failed start
// leaves the data folder usable. Each case runs the real CLI in a scratch copy of the project.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createClient } from "@supabase/supabase-js";
import { afterAll, describe, expect, it } from "vitest";

const repo = resolve(import.meta.dirname, "..", "..");
const scratch: string[] = [];

/** A copy of the project (sharing node_modules) whose supabase/ folder a test may break. */
function scratchProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "fantooo-badconfig-"));
  chmodSync(dir, 0o755); // the postgres OS user must reach the cluster folder inside
  scratch.push(dir);
  for (const entry of ["local", "supabase", "package.json", "package-lock.json"]) {
    cpSync(join(repo, entry), join(dir, entry), { recursive: true, preserveTimestamps: true });
  }
  symlinkSync(join(repo, "node_modules"), join(dir, "node_modules"));
  return dir;
}

/** The CLI's environment for a scratch project: its own data folder, not the test stack's. */
function cliEnv(project: string, env: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, API_URL: "", DB_URL: "", FANTOOO_DATA_DIR: join(project, ".local"), ...env };
}

/** Runs `npm start`'s CLI until it is up (then Ctrl-C) or fails; returns its status and output. */
function start(project: string, env: Record<string, string>) {
  const result = spawnSync(process.execPath, [join(project, "local", "commands", "cli.mjs"), "start"], {
    env: cliEnv(project, env),
    encoding: "utf8",
    timeout: 120_000,
    killSignal: "SIGINT",
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Runs `npm start`'s CLI until it prints that it is running, then stops it with Ctrl-C. */
function startUntilReady(project: string, env: Record<string, string>): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(project, "local", "commands", "cli.mjs"), "start"], {
      env: cliEnv(project, env),
    });
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.includes("Fantooo local stack is running")) child.kill("SIGINT");
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const timer = setTimeout(() => child.kill("SIGINT"), 120_000); // Ctrl-C stops what it started
    child.on("exit", (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

/** Resolves with the output of a started `npm start` once it says it is ready (2.5 min at most). */
function untilRunning(child: ChildProcess): Promise<string> {
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not up in time:\n${output}`)), 150_000);
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.includes("Ctrl-C stops it")) {
        clearTimeout(timer);
        resolve(output);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
  });
}

/** Free ports for a scratch stack: an API port whose internal neighbours (+9 to +12) are free too. */
async function freePorts(): Promise<Record<string, string>> {
  for (;;) {
    const probes = await Promise.all([listen(), listen()]);
    const [api, db] = probes.map((s) => (s.address() as { port: number }).port);
    await Promise.all(probes.map((s) => new Promise((r) => s.close(r))));
    const neighbours = await Promise.all([9, 10, 11, 12, 13].map((offset) => canListen(api + offset)));
    if (neighbours.every(Boolean)) {
      return { FANTOOO_API_PORT: String(api), FANTOOO_DB_PORT: String(db), PAYSTACK_SECRET_KEY: "sk_test_x" };
    }
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

function listen(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe("npm start with bad configuration", () => {
  it("stops with a message naming a port that is already taken", async () => {
    const taken = await listen();
    const port = (taken.address() as { port: number }).port;
    try {
      const { status, output } = start(scratchProject(), { FANTOOO_API_PORT: String(port) });
      expect(status).toBe(1);
      expect(output).toContain(`port ${port} (API gateway) is already in use`);
      expect(output).toMatch(/FANTOOO_API_PORT/);
    } finally {
      taken.close();
    }
  });

  it("stops with a message saying how to get missing PostgreSQL binaries", async () => {
    const { status, output } = start(scratchProject(), { PG_BIN: "/nonexistent/pg/bin", ...(await freePorts()) });
    expect(status).toBe(1);
    expect(output).toMatch(/\/nonexistent\/pg\/bin\/initdb not found: install postgresql-15 or set PG_BIN/);
  });

  it("stops on a failed migration, names it, and starts fine once it is fixed", { timeout: 240_000 }, async () => {
    const project = scratchProject();
    const broken = join(project, "supabase", "migrations", "999_broken.sql");
    writeFileSync(broken, "create tabel oops (id int);\n");
    const failed = start(project, await freePorts());
    expect(failed.status).toBe(1);
    expect(failed.output).toContain("a migration failed");
    expect(failed.output).toContain("999_broken.sql");
    expect(failed.output).toContain('syntax error at or near "tabel"');

    rmSync(broken);
    // db:reset on the stopped stack rebuilds the same cluster's database, then start reuses it.
    const reset = spawnSync(process.execPath, [join(project, "local", "commands", "cli.mjs"), "db:reset"], {
      env: cliEnv(project, await freePorts()),
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(`${reset.stdout}${reset.stderr}`).toContain("database rebuilt from migrations and seed");
    expect(reset.status).toBe(0);
    const fixed = await startUntilReady(project, await freePorts());
    expect(fixed.output).toContain("PostgreSQL reused"); // the same data folder, not a new cluster
    expect(fixed.output).toContain("Fantooo local stack is running");
    expect(fixed.status).toBe(0);

    // A migration the database applied is edited afterwards: start stops and says to reset.
    const applied = join(project, "supabase", "migrations", "002_people.sql");
    writeFileSync(applied, `${readFileSync(applied, "utf8")}\n-- edited after it was applied\n`);
    const changed = start(project, await freePorts());
    expect(changed.status).toBe(1);
    expect(changed.output).toContain("supabase/migrations changed since this local database was built (002_people.sql)");
    expect(changed.output).toContain("npm run db:reset");
  });
});

describe("npm run status", () => {
  it("prints both kinds of keys, and the seeded users' passwords, in every form of -o", { timeout: 180_000 }, async () => {
    const project = scratchProject();
    const env = cliEnv(project, await freePorts());
    const cli = join(project, "local", "commands", "cli.mjs");
    const child = spawn(process.execPath, [cli, "start"], { env });
    const output = await untilRunning(child);
    try {
      expect(output).toMatch(/Publishable key: sb_publishable_/);
      expect(output).toMatch(/Secret key: sb_secret_/);
      // The printed password signs the seeded user in through the Auth API, and the printed token works.
      const password = /alice@example\.com \/ (\S+) \(real_user/.exec(output)?.[1];
      const token = new RegExp(`alice@example\\.com[^\\n]*\\n\\s+(\\S+)`).exec(output)?.[1];
      const apiUrl = `http://127.0.0.1:${env.FANTOOO_API_PORT}`;
      const publishable = /Publishable key: (\S+)/.exec(output)![1];
      const client = createClient(apiUrl, publishable, { auth: { persistSession: false, autoRefreshToken: false } });
      const signedIn = await client.auth.signInWithPassword({ email: "alice@example.com", password: password! });
      expect(signedIn.error).toBeNull();
      expect((await client.auth.getUser(token)).data.user?.email).toBe("alice@example.com");
      const status = (...args: string[]) => spawnSync(process.execPath, [cli, "status", ...args], { env, encoding: "utf8" });
      for (const args of [["-o", "env"], ["--output", "env"], ["--output=env"]]) {
        const result = status(...args);
        expect(result.status, args.join(" ")).toBe(0);
        const lines = Object.fromEntries(result.stdout.trim().split("\n").map((line) => {
          const [key, value] = line.split(/=(.*)/s);
          return [key, JSON.parse(value)];
        }));
        expect(lines.PUBLISHABLE_KEY).toMatch(/^sb_publishable_/);
        expect(lines.SECRET_KEY).toMatch(/^sb_secret_/);
        expect(lines.ANON_KEY).toMatch(/^eyJ/);
        expect(lines.SERVICE_ROLE_KEY).toMatch(/^eyJ/);
        expect(lines.JWKS_URL).toBe(`${lines.API_URL}/auth/v1/.well-known/jwks.json`);
      }
      expect(JSON.parse(status("-o", "json").stdout).PUBLISHABLE_KEY).toMatch(/^sb_publishable_/);
      const unknown = status("-o", "yaml");
      expect(unknown.status).toBe(2);
      expect(unknown.stderr).toContain("unknown output format yaml");
      const badFlag = status("--outptu", "env");
      expect(badFlag.status).toBe(2);
      expect(badFlag.stderr).toContain("--outptu");
    } finally {
      child.kill("SIGINT");
      await new Promise((resolve) => child.once("exit", resolve));
    }
  });
});

describe("npm start as a process", () => {
  // SIGINT to npm alone (not to its process group, as a terminal's Ctrl-C would be): npm passes it to
  // its script, which `exec`s the CLI, so the CLI stops everything (through a `sh -c` it never came).
  it("stops as a whole when the npm that launched it gets SIGINT", { timeout: 180_000 }, async () => {
    const project = scratchProject();
    const env = cliEnv(project, await freePorts());
    // `npm start` itself, as a user runs it: npm, then sh, then the CLI.
    const npm = spawn("npm", ["start"], { cwd: project, env });
    const output = await untilRunning(npm);
    const pids = JSON.parse(readFileSync(join(project, ".local", "pids.json"), "utf8"));
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(alive(pids.stack)).toBe(true);
    npm.kill("SIGINT");
    const everything = [pids.stack, pids.postgrest, pids.functions, pids.realtime, pids.postgres];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && everything.some(alive)) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect({
      cli: alive(pids.stack),
      postgrest: alive(pids.postgrest),
      functions: alive(pids.functions),
      realtime: alive(pids.realtime),
      postgres: alive(pids.postgres),
    }).toEqual({ cli: false, postgrest: false, functions: false, realtime: false, postgres: false });
  });
});
