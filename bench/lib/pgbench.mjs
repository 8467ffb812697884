// SQL load with pgbench (PostgreSQL's own load generator): a custom script (`-f`), N clients on
// 2 threads, bounded by a duration (`-T`) or transactions per client (`-t`), every transaction's
// latency from `--log`. Returns {ops, seconds, latenciesMs}, and `cpu` ({group: ms}, lib/cpu.mjs)
// when the run configured a CPU sampler.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withCpu } from "./cpu.mjs";
import { parsePgbenchLog, parsePgbenchSummary } from "./stats.mjs";

/** pgbench of the PostgreSQL the stack runs (15), else the one on PATH. */
export function pgbenchPath() {
  for (const version of [17, 16, 15]) {
    const path = `/usr/lib/postgresql/${version}/bin/pgbench`;
    if (existsSync(path)) return path;
  }
  return "pgbench";
}

/**
 * Runs `script` (pgbench's script language; `:client_id` is 0…clients-1) against `dbUrl`.
 * `seconds` or `perClient` bounds the run. Throws with pgbench's output when a client aborted
 * or a transaction failed. `role` makes the connections act as that role (e.g. authenticated).
 * `protocol`: pgbench's -M, `prepared` (the default) or `extended` (unnamed statements, parsed on
 * every call, as a driver with `prepare: false` sends them); scripts with `\startpipeline` need one.
 */
export async function pgbench(dbUrl, script, {
  clients = 16, threads = 2, seconds, perClient, name = "bench", role, protocol = "prepared",
}) {
  const dir = mkdtempSync(join(tmpdir(), "fantooo-pgbench-"));
  try {
    const file = join(dir, `${name.replace(/\W+/g, "_")}.sql`);
    writeFileSync(file, script);
    const url = new URL(dbUrl);
    const args = [
      "-n", "-M", protocol, "-c", String(clients), "-j", String(Math.min(threads, clients)),
      ...(perClient ? ["-t", String(perClient)] : ["-T", String(Math.max(1, Math.round(seconds)))]),
      "-f", file, "--log", `--log-prefix=${join(dir, "log")}`,
      "-h", url.hostname, "-p", url.port, "-U", decodeURIComponent(url.username), url.pathname.slice(1),
    ];
    const env = { ...process.env, PGPASSWORD: decodeURIComponent(url.password), PGAPPNAME: `bench ${name}` };
    // The role every statement runs as (PostgREST's `set local role`), set once per connection.
    if (role) env.PGOPTIONS = `-c role=${role}`;
    const { code, output, cpu } = await withCpu(() => new Promise((resolve) => {
      const child = spawn(pgbenchPath(), args, { env, stdio: ["ignore", "pipe", "pipe"] });
      let text = "";
      child.stdout.on("data", (c) => (text += c));
      child.stderr.on("data", (c) => (text += c));
      child.on("error", (error) => resolve({ code: 127, output: error.message }));
      child.on("exit", (status) => resolve({ code: status ?? 1, output: text }));
    }));
    const summary = parsePgbenchSummary(output);
    if (code !== 0 || summary.failed > 0 || summary.transactions === 0) {
      throw new Error(`pgbench (${name}) exited with ${code}:\n${output.trim().split("\n").slice(-15).join("\n")}`);
    }
    const latenciesMs = readdirSync(dir)
      .filter((f) => f.startsWith("log."))
      .flatMap((f) => parsePgbenchLog(readFileSync(join(dir, f), "utf8")));
    // Seconds of the measured window: transactions / tps (pgbench's tps excludes connecting).
    return { ops: summary.transactions, seconds: summary.transactions / summary.tps, latenciesMs, ...(cpu ? { cpu } : {}) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
