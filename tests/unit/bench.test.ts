// The pure helpers of `npm run bench` (bench/lib): nearest-rank percentiles, the rows of
// latest.json and how a row is held against SPEC 13's target, pgbench's log and summary, the
// progress bar, the chart, and the bench's options.
import { describe, expect, it } from "vitest";
import {
  formatTable,
  makeRow,
  meetsTarget,
  parsePgbenchLog,
  parsePgbenchSummary,
  percentiles,
  progressLine,
  publicRow,
  targetText,
  // @ts-ignore plain ESM without types
} from "../../bench/lib/stats.mjs";
// @ts-ignore plain ESM without types
import { decodeFrame, encodeFrame, joinFrame, schedule, tallyDeliveries } from "../../bench/lib/realtime.mjs";
// @ts-ignore plain ESM without types
import { barLabel, renderSvg } from "../../bench/lib/svg.mjs";
// @ts-ignore plain ESM without types
import { parseArgs, SIZES } from "../../bench/run.mjs";

describe("percentiles (nearest rank)", () => {
  const cases: Array<[string, number[], number[], Array<number | null>]> = [
    ["no samples", [], [50, 95, 99], [null, null, null]],
    ["one sample", [7], [50, 95, 99], [7, 7, 7]],
    ["1..100", Array.from({ length: 100 }, (_, i) => i + 1), [50, 95, 99], [50, 95, 99]],
    ["unsorted input", [5, 1, 4, 2, 3], [50, 100], [3, 5]],
    ["sorted as numbers, not text", [10, 9, 100, 2], [50, 99], [9, 100]],
    ["p0 is the minimum", [3, 1, 2], [0], [1]],
    ["a slow tail shows at p99 only", [...Array(99).fill(1), 500], [50, 95, 99, 100], [1, 1, 1, 500]],
  ];
  it.each(cases)("%s", (_name, samples, ps, expected) => {
    expect(percentiles(samples, ps)).toEqual(expected);
  });
});

describe("rows and targets", () => {
  const ceiling = makeRow("queue: bare dequeue", { ops: 10000, seconds: 2, latenciesMs: [1, 2, 3] });

  it("a row holds exactly the fields of latest.json once made public", () => {
    const row = makeRow("queue: assign vs bare", { ops: 3000, seconds: 1, latenciesMs: [2, 4] },
      { baseline: ceiling, target: 0.5, section: "queue" });
    expect(Object.keys(publicRow(row))).toEqual(["name", "ops_per_s", "p50_ms", "p95_ms", "p99_ms", "baseline", "ratio", "target"]);
    expect(publicRow(row)).toEqual({
      name: "queue: assign vs bare", ops_per_s: 3000, p50_ms: 2, p95_ms: 4, p99_ms: 4,
      baseline: "queue: bare dequeue", ratio: 0.6, target: 0.5,
    });
    expect(row.section).toBe("queue"); // kept for the chart, not written
  });

  const cases: Array<[string, object, boolean | null, string]> = [
    ["ratio above its minimum", { ratio: 0.83, target: 0.8, p95_ms: 9 }, true, ">= 0.8 met"],
    ["ratio on its minimum", { ratio: 0.8, target: 0.8, p95_ms: 9 }, true, ">= 0.8 met"],
    ["ratio below its minimum", { ratio: 0.21, target: 0.5, p95_ms: 1 }, false, ">= 0.5 MISSED"],
    ["latency under its maximum", { ratio: null, target: 5, p95_ms: 0.7 }, true, "p95 <= 5 ms met"],
    ["latency over its maximum", { ratio: null, target: 5, p95_ms: 439 }, false, "p95 <= 5 ms MISSED"],
    ["no target", { ratio: 0.7, target: null, p95_ms: 3 }, null, "-"],
    ["nothing measured", { ratio: null, target: 5, p95_ms: null }, null, "p95 <= 5 ms ?"],
  ];
  it.each(cases)("%s", (_name, row, met, text) => {
    expect(meetsTarget(row)).toBe(met);
    expect(targetText(row)).toBe(text);
  });

  it("the table has a header and one aligned line per row", () => {
    const rows = [ceiling, makeRow("queue: assign vs bare", { ops: 3000, seconds: 1, latenciesMs: [2] }, { baseline: ceiling, target: 0.5 })];
    const lines = formatTable(rows);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^name\s+ops\/s\s+p50 ms\s+p95 ms\s+p99 ms\s+ratio\s+target$/);
    expect(lines[1]).toContain("ceiling");
    expect(lines[2]).toMatch(/0\.60\s+>= 0\.5 met$/);
  });
});

describe("pgbench output", () => {
  it("reads every transaction's latency (µs) from --log lines", () => {
    expect(parsePgbenchLog("0 1 1500 0 1700000000 123456\n1 1 250 0 1700000000 123999\n\nbad line\n")).toEqual([1.5, 0.25]);
  });
  it("reads transactions, tps and failures from the summary", () => {
    const output = [
      "number of transactions actually processed: 20000/20000",
      "number of failed transactions: 0 (0.000%)",
      "tps = 1987.654321 (without initial connection time)",
    ].join("\n");
    expect(parsePgbenchSummary(output)).toEqual({ transactions: 20000, tps: 1987.654321, failed: 0 });
    expect(parsePgbenchSummary("connection failed")).toEqual({ transactions: 0, tps: null, failed: 0 });
  });
});

describe("progress bar", () => {
  const cases: Array<[number, number, string]> = [
    [0, 10, "load [..........]   0%"],
    [5, 10, "load [#####.....]  50%"],
    [10, 10, "load [##########] 100%"],
    [12, 10, "load [##########] 100%"],
    [0, 0, "load [##########] 100%"],
  ];
  it.each(cases)("%i of %i", (done, total, line) => {
    expect(progressLine("load", done, total, 10)).toBe(line);
  });
});

describe("the chart", () => {
  const bare = makeRow("queue: bare dequeue", { ops: 9000, seconds: 1, latenciesMs: [1] }, { section: "queue" });
  const rows = [
    bare,
    makeRow("queue: assign vs bare dequeue", { ops: 2000, seconds: 1, latenciesMs: [4] }, { baseline: bare, target: 0.5, section: "queue" }),
    makeRow("queue: assign vs bare dequeue again", { ops: 2000, seconds: 1, latenciesMs: [4] }, { baseline: bare, section: "queue" }),
    ...[10000, 100000, 1000000].map((size, i) => makeRow(`discovery: ${size}`, { ops: 10, seconds: 1, latenciesMs: [1 + i * 3] },
      { section: "discovery", series: "discovery", size, target: size === 1000000 ? 5 : null })),
  ];
  const svg = renderSvg(rows, { date: "2026-01-01", cpus: 2, model: "test <cpu>", postgres: "15.8", node: "v24" });

  it("is one SVG document with the machine in its title, escaped", () => {
    expect(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")).toBe(true);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("test &lt;cpu&gt;");
    expect(svg).not.toContain("NaN");
  });
  it("draws one bar per measurement (a row compared with two ceilings once) and one point per size", () => {
    expect(svg.match(/<rect x="440"/g)).toHaveLength(2); // the bare dequeue, and assign once
    expect(svg.match(/<circle /g)).toHaveLength(3);
    expect(svg).toContain("class=\"target\""); // the 5 ms line
    expect(svg).toContain("class=\"missed\""); // 2000/9000 < 0.5; 7 ms > 5 ms
  });
  it.each([
    ["queue: assign_chat_to_operator (operator's claims), 100,000 waiting vs same-work", "assign_chat_to_operator (operator's claims), 100,000 waiting"],
    ["webhook: POST paystack-webhook, distinct signed charge.success, vs trivial RPC", "POST paystack-webhook, distinct signed charge.success"],
    ["rest: bench_noop() straight to PostgREST", "bench_noop() straight to PostgREST"],
  ])("labels %s", (name, label) => {
    expect(barLabel(name)).toBe(label);
  });
});

describe("bench options", () => {
  const cases: Array<[string[], object]> = [
    [[], { sections: [], quick: false, messages: null, out: null, capacity: false }],
    [["queue", "webhook"], { sections: ["queue", "webhook"], quick: false, messages: null, out: null, capacity: false }],
    [["--quick", "--out", "/tmp/x"], { sections: [], quick: true, messages: null, out: "/tmp/x", capacity: false }],
    [["history", "--messages", "10000000"], { sections: ["history"], quick: false, messages: 10000000, out: null, capacity: false }],
    [["--capacity"], { sections: [], quick: false, messages: null, out: null, capacity: true }],
  ];
  it.each(cases)("%j", (args, options) => {
    expect(parseArgs(args)).toEqual(options);
  });
  it("realtime is a section of its own", () => {
    expect(parseArgs(["realtime", "--quick"])).toEqual({ sections: ["realtime"], quick: true, messages: null, out: null, capacity: false });
  });
  it.each([[["nope"]], [["--fast"]], [["--messages", "ten"]], [["--capacity", "queue"]]])("refuses %j", (args) => {
    expect(() => parseArgs(args)).toThrow();
  });
  it("the quick sizes divide as the loads need (operators and draws per client)", () => {
    for (const size of Object.values(SIZES) as Array<Record<string, number>>) {
      expect(size.operators % size.clients).toBe(0);
      expect(size.queueDraw % size.clients).toBe(0);
      expect(size.sweepChats % 100).toBe(0);
      expect(size.realtimeClients % 2).toBe(0); // a real user and an operator per chat
    }
  });
});

describe("realtime bench frames (Phoenix vsn 2.0.0)", () => {
  it("a join is realtime-js's: private channel, no self, no ack, presence off, the user's token", () => {
    expect(JSON.parse(joinFrame("chat:c1", "tok", "1"))).toEqual([
      "1", "1", "realtime:chat:c1", "phx_join",
      {
        config: { broadcast: { ack: false, self: false }, presence: { key: "", enabled: false }, postgres_changes: [], private: true },
        access_token: "tok",
      },
    ]);
  });
  it("a text frame decodes to its five fields", () => {
    const text = encodeFrame({ joinRef: "1", ref: "1", topic: "realtime:chat:c1", event: "phx_reply", payload: { status: "ok", response: {} } });
    expect(decodeFrame(text, false)).toEqual({
      joinRef: "1", ref: "1", topic: "realtime:chat:c1", event: "phx_reply", payload: { status: "ok", response: {} },
    });
  });
  // kind 4, topic size, event size, metadata size, encoding, then the four parts.
  const binary = (topic: string, event: string, meta: string, encoding: number, payload: string) =>
    Buffer.concat([
      Buffer.from([4, topic.length, event.length, meta.length, encoding]),
      Buffer.from(topic), Buffer.from(event), Buffer.from(meta), Buffer.from(payload),
    ]);
  it("a binary broadcast (kind 4) decodes topic, user event, metadata and JSON payload", () => {
    const frame = binary("realtime:chat:c1", "message_created", '{"id":"m1"}', 1, '{"content":"rt 7"}');
    expect(decodeFrame(frame, true)).toEqual({
      topic: "realtime:chat:c1", event: "broadcast", userEvent: "message_created", meta: { id: "m1" }, payload: { content: "rt 7" },
    });
  });
  it("a binary payload stays bytes; no metadata is null", () => {
    const frame = decodeFrame(binary("t", "e", "", 0, "\x01\x02"), true);
    expect(frame.meta).toBeNull();
    expect(Buffer.isBuffer(frame.payload)).toBe(true);
  });
  it("refuses a binary frame of another kind", () => {
    expect(() => decodeFrame(Buffer.from([3, 0, 0, 0, 0, 0, 0]), true)).toThrow(/kind 3/);
  });
});

describe("realtime bench schedule and delivery tally", () => {
  it.each([
    [200, 0.02, [0, 5, 10, 15]],
    [50, 0.1, [0, 20, 40, 60, 80]],
    [10, 0, []],
  ])("%d/s for %d s sends at %j ms", (rate, seconds, times) => {
    expect(schedule(rate, seconds)).toEqual(times);
  });

  const members = (message: number) => [`${message % 2}:0`, `${message % 2}:1`];
  const cases: Array<[string, Array<[string, number]>, object]> = [
    ["every member once", [["0:0", 0], ["0:1", 0], ["1:0", 1], ["1:1", 1]],
      { expected: 4, delivered: 4, missing: 0, duplicates: 0, strays: 0, firstMissing: null }],
    ["one member missed a message", [["0:0", 0], ["1:0", 1], ["1:1", 1]],
      { expected: 4, delivered: 3, missing: 1, duplicates: 0, strays: 0, firstMissing: "0:1|0" }],
    ["a doubled delivery", [["0:0", 0], ["0:1", 0], ["0:1", 0], ["1:0", 1], ["1:1", 1]],
      { expected: 4, delivered: 4, missing: 0, duplicates: 1, strays: 0, firstMissing: null }],
    ["another chat's message, and one never sent", [["0:0", 0], ["0:1", 0], ["1:0", 1], ["1:1", 1], ["0:0", 1], ["0:0", 9]],
      { expected: 4, delivered: 4, missing: 0, duplicates: 0, strays: 2, firstMissing: null }],
    ["nothing arrived", [],
      { expected: 4, delivered: 0, missing: 4, duplicates: 0, strays: 0, firstMissing: "0:0|0" }],
  ];
  it.each(cases)("%s", (_name, received, tally) => {
    expect(tallyDeliveries([0, 1], members, received)).toEqual(tally);
  });
});
