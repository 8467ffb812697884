// `npm start` refuses bad configuration with a message that says what to do, and a failed start
// leaves the data folder usable. Each case runs the real CLI in a scratch copy of the project.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
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
  const result = spawnSync(process.execPath, [join(project, "local", "cli.mjs"), "start"], {
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
    const child = spawn(process.execPath, [join(project, "local", "cli.mjs"), "start"], {
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

/** Free ports for a scratch stack: an API port whose internal neighbours (+9 to +12) are free too. */
async function freePorts(): Promise<Record<string, string>> {
  for (;;) {
    const probes = await Promise.all([listen(), listen()]);
    const [api, db] = probes.map((s) => (s.address() as { port: number }).port);
    await Promise.all(probes.map((s) => new Promise((r) => s.close(r))));
    const neighbours = await Promise.all([9, 10, 11, 12].map((offset) => canListen(api + offset)));
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
    const reset = spawnSync(process.execPath, [join(project, "local", "cli.mjs"), "db:reset"], {
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
  });
});
