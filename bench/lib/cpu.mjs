// CPU time per process group of the throwaway stack during one load (utime + stime from
// /proc/<pid>/stat), so that a row can say how many ms of Postgres, PostgREST, functions, gateway
// and Realtime CPU one operation costs (bench/README.md, "Capacity"): steadier than ops/s on a
// shared machine, and what docs/capacity.md scales to the hosted compute sizes.
//
// Groups:
//   postgres   the postmaster (data dir's postmaster.pid) and every process under it
//   postgrest, functions (deno: the stack's server and the bench's second one), realtime,
//   relay (the bench's ws echo server): children of the bench process, by their command line
//   gateway    the bench's own Node process without the load's worker thread: the gateway, and the
//              Auth API, pg_net drainer and fake Paystack, which run in that process too
//   load       the load generator: pgbench (a child of the bench process) or autocannon's thread
//
// Processes that start and end inside the load (pgbench, its backends, autovacuum workers) are
// counted through their parent's cutime + cstime, which Linux adds when the parent reaps them: a
// group's total is, for each live member, utime + stime + cutime + cstime. Postgres CPU is every
// backend's, not only the load's (autovacuum, the Realtime server's WAL reader, pg_cron, the
// pg_net drainer's polling): the rate of an idle window taken just before the load is subtracted.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const CPU_GROUPS = ["postgres", "postgrest", "functions", "realtime", "gateway", "load", "relay", "other"];

/**
 * The fields of one /proc/<pid>/stat line that matter here (clock ticks). The command name is in
 * parentheses and may hold spaces or parentheses itself, so fields are counted after the last ")".
 */
export function parseStat(text) {
  const close = text.lastIndexOf(")");
  const pid = Number(text.slice(0, text.indexOf("(")).trim());
  const comm = text.slice(text.indexOf("(") + 1, close);
  const f = text.slice(close + 2).trim().split(/\s+/); // f[0] is field 3 (state)
  return {
    pid,
    comm,
    ppid: Number(f[1]),
    utime: Number(f[11]),
    stime: Number(f[12]),
    cutime: Number(f[13]),
    cstime: Number(f[14]),
  };
}

/** The group of a child of the bench process (and everything under it) from its command line. */
export function groupOfCommand(cmdline) {
  if (/\bpgbench\b/.test(cmdline)) return "load";
  if (/postgrest/.test(cmdline)) return "postgrest";
  if (/\bdeno\b/.test(cmdline)) return "functions";
  if (/realtime\/main\.mjs/.test(cmdline)) return "realtime";
  if (/echo-server\.mjs/.test(cmdline)) return "relay";
  return "other";
}

/**
 * Ticks per group from a process table (`[{pid, ppid, utime, stime, cutime, cstime}]`), the
 * postmaster's pid, the bench's pid and the group of each direct child of the bench (`childGroup`:
 * pid -> group). The bench process itself: its own utime + stime in `bench` (gateway plus the load's
 * worker thread, told apart by the caller), its cutime + cstime (reaped children: pgbench) in `load`.
 */
export function ticksByGroup(processes, { postmasterPid, benchPid, childGroup }) {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const groupOf = new Map();
  const resolve = (pid) => {
    const chain = [];
    let group = null;
    for (let p = byPid.get(pid); p; p = byPid.get(p.ppid)) {
      if (groupOf.has(p.pid)) { group = groupOf.get(p.pid); break; }
      chain.push(p.pid);
      if (p.pid === postmasterPid) { group = "postgres"; break; }
      if (p.ppid === benchPid) { group = childGroup(p.pid); break; }
      if (p.ppid <= 1 || chain.length > 64) break;
    }
    for (const c of chain) groupOf.set(c, group);
    return group;
  };
  const ticks = { bench: 0 };
  for (const p of processes) {
    if (p.pid === benchPid) {
      ticks.bench += p.utime + p.stime;
      ticks.load = (ticks.load ?? 0) + p.cutime + p.cstime;
      continue;
    }
    const group = resolve(p.pid);
    if (!group) continue;
    ticks[group] = (ticks[group] ?? 0) + p.utime + p.stime + p.cutime + p.cstime;
  }
  return ticks;
}

/**
 * CPU ms per group of a load from three snapshots (ticks by group): `idle` and `start` bound an
 * idle window of `idleMs` just before the load, `start` and `end` the load of `loadMs`. The idle
 * rate is subtracted from each group but the load generator's (never below 0): the window's, or the
 * stack's quiet rate (`quietRate`: {group: ms per ms}, measured once) when that is lower, since a
 * window right after another load may still see that load's tail (the WAL it left to decode, an
 * autovacuum it started), which is not this load's to be spared. `threadMs` is the CPU of the
 * load's own worker thread inside the bench process, moved from `bench` to `load`; what remains
 * of `bench` is the gateway's. Groups with nothing are left out.
 */
export function cpuOfLoad({ idle, start, end }, { msPerTick, idleMs, loadMs, threadMs = 0, quietRate = null }) {
  const delta = (a, b, g) => Math.max(0, ((b[g] ?? 0) - (a[g] ?? 0)) * msPerTick);
  const groups = new Set([...Object.keys(start), ...Object.keys(end)]);
  const raw = {};
  const idleRate = {};
  for (const g of groups) {
    raw[g] = delta(start, end, g);
    idleRate[g] = idle && idleMs > 0 ? delta(idle, start, g) / idleMs : 0;
  }
  raw.gateway = Math.max(0, (raw.bench ?? 0) - threadMs);
  raw.load = (raw.load ?? 0) + threadMs;
  idleRate.gateway = idleRate.bench ?? 0;
  delete raw.bench;
  if (quietRate) {
    for (const g of Object.keys(idleRate)) idleRate[g] = Math.min(idleRate[g], quietRate[g] ?? 0);
  }
  const cpu = {};
  for (const g of CPU_GROUPS) {
    if (raw[g] == null) continue;
    const net = Math.max(0, raw[g] - (g === "load" ? 0 : (idleRate[g] ?? 0) * loadMs));
    if (net > 0) cpu[g] = Number(net.toFixed(1));
  }
  return cpu;
}

/**
 * Sums the cpu objects of several runs (a group missing in a run counts 0). Null unless every run
 * has one: a sum over some of the runs would be divided by the operations of all.
 */
export function sumCpu(cpus) {
  if (!cpus.length || cpus.some((cpu) => !cpu)) return null;
  const present = cpus;
  const total = {};
  for (const cpu of present) {
    for (const [g, ms] of Object.entries(cpu)) total[g] = Number(((total[g] ?? 0) + ms).toFixed(1));
  }
  return total;
}

/** ms of CPU per operation and group, 4 decimals; null without a cpu object or operations. */
export function cpuPerOp(cpu, ops) {
  if (!cpu || !(ops > 0)) return null;
  return Object.fromEntries(Object.entries(cpu).map(([g, ms]) => [g, Number((ms / ops).toFixed(4))]));
}

// I/O ---------------------------------------------------------------------------------------------

function readProcesses() {
  const processes = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      processes.push(parseStat(readFileSync(join("/proc", name, "stat"), "utf8")));
    } catch { /* ended meanwhile */ }
  }
  return processes;
}

function readPostmasterPid(dataDir) {
  try {
    const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * A sampler for the stack whose Postgres data folder is `postgresDataDir` (the bench's children are
 * found from this process). `idleMs`: the idle window before each load. Null where there is no /proc.
 */
export function createCpuSampler({ postgresDataDir, idleMs = 500, benchPid = process.pid }) {
  let clockTicks;
  try {
    clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    readFileSync(`/proc/${benchPid}/stat`, "utf8");
  } catch {
    return null;
  }
  const groupByChild = new Map(); // pid -> group: a command line is read once per child
  const childGroup = (pid) => {
    if (!groupByChild.has(pid)) {
      let cmdline = "";
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      } catch { /* ended */ }
      groupByChild.set(pid, groupOfCommand(cmdline));
    }
    return groupByChild.get(pid);
  };
  const snapshot = () => ticksByGroup(readProcesses(), {
    postmasterPid: readPostmasterPid(postgresDataDir),
    benchPid,
    childGroup,
  });
  let quietRate = null;
  return {
    idleMs,
    /** Measures the stack's quiet rate ({group: ms per ms}) over `ms` with nothing loading it. */
    async calibrate(ms) {
      const start = snapshot();
      await new Promise((r) => setTimeout(r, ms));
      const end = snapshot();
      const msPerTick = 1000 / clockTicks;
      quietRate = {};
      for (const g of new Set([...Object.keys(start), ...Object.keys(end)])) {
        quietRate[g === "bench" ? "gateway" : g] = Math.max(0, ((end[g] ?? 0) - (start[g] ?? 0)) * msPerTick) / ms;
      }
      return quietRate;
    },
    /**
     * Runs `load` (resolving with a result that may carry `threadCpuMs`, the CPU of its worker
     * thread) after an idle window; resolves with `{result, cpu}`.
     */
    async measure(load) {
      const idle = snapshot();
      await new Promise((r) => setTimeout(r, idleMs));
      const start = snapshot();
      const startedAt = performance.now();
      const result = await load();
      // The load's connections end with it: wait until their backends have exited and the
      // postmaster has reaped them (their CPU then counts in its cutime), so that none is missed by
      // a snapshot read while it exits. The idle rate covers the wait.
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const loadMs = performance.now() - startedAt;
      const end = snapshot();
      const cpu = cpuOfLoad({ idle, start, end }, {
        msPerTick: 1000 / clockTicks, idleMs, loadMs, threadMs: result?.threadCpuMs ?? 0, quietRate,
      });
      return { result, cpu };
    },
  };
}

/** How long after a load its processes are given to exit before the end snapshot (ms). */
const SETTLE_MS = 150;

let current = null;

/** Sets (or clears, with null) the sampler pgbench() and httpLoad() measure with. */
export function setCpuSampler(sampler) {
  current = sampler;
}

/**
 * Runs `load` under the configured sampler: its result gets `cpu` ({group: ms}) when one is set,
 * and loses `threadCpuMs` either way. Without a sampler, the load runs as it is.
 */
export async function withCpu(load) {
  if (!current) {
    const { threadCpuMs: _t, ...result } = await load();
    return result;
  }
  const { result, cpu } = await current.measure(load);
  const { threadCpuMs: _t, ...rest } = result;
  return { ...rest, cpu };
}
