// The pure helpers of `npm run simulate` (local/commands/simulate/format.mjs): percentiles as
// Postgres' percentile_cont computes them, the aligned tables it prints, the simulated clock, the
// seeded choices that make a run repeatable, and its options.
import { describe, expect, it } from "vitest";
import {
  activityAt,
  clockLabel,
  formatSeconds,
  formatTable,
  parseSimulateArgs,
  percentile,
  SCALES,
  seededRandom,
  // @ts-ignore plain ESM without types
} from "../../local/commands/simulate/format.mjs";
// @ts-expect-error: a plain ESM module of the local commands
import { scopedQuery } from "../../local/commands/simulate/checks.mjs";

describe("percentile", () => {
  const cases: Array<[number[], number, number | null]> = [
    [[], 50, null],
    [[7], 50, 7],
    [[7], 95, 7],
    [[1, 2, 3, 4], 50, 2.5],
    [[4, 1, 3, 2], 50, 2.5], // order of the input does not matter
    [[1, 2, 3, 4, 5], 0, 1],
    [[1, 2, 3, 4, 5], 100, 5],
    [[1, 2, 3, 4, 5], 95, 4.8],
    [[10, 20], 95, 19.5],
    [[1, 1, 1, 100], 50, 1],
  ];
  it.each(cases)("of %j at %i is %s", (values, p, expected) => {
    if (expected === null) expect(percentile(values, p)).toBeNull();
    else expect(percentile(values, p)).toBeCloseTo(expected, 10);
  });

  it.each([-1, 101])("refuses the percentile %i", (p) => {
    expect(() => percentile([1, 2], p)).toThrow(RangeError);
  });
});

describe("formatTable", () => {
  const cases: Array<[string, string[], unknown[][], string]> = [
    [
      "pads columns to their widest cell, numbers right-aligned",
      ["figure", "value"],
      [["purchases", 12], ["credits sold", 1500]],
      "figure        value\n------------  -----\npurchases        12\ncredits sold   1500",
    ],
    [
      "keeps text columns left-aligned and trims trailing spaces",
      ["invariant", "result"],
      [["credits never negative", "pass"], ["flags", "FAIL"]],
      "invariant               result\n----------------------  ------\ncredits never negative  pass\nflags                   FAIL",
    ],
    [
      "shows null and undefined as '-', still a number column",
      ["name", "n"],
      [["a", null], ["b", 3], ["c", undefined]],
      "name  n\n----  -\na     -\nb     3\nc     -",
    ],
    [
      "treats values with a unit as numbers",
      ["what", "latency"],
      [["assign", "18 ms"], ["insert", "120 ms"]],
      "what    latency\n------  -------\nassign    18 ms\ninsert   120 ms",
    ],
    [
      "prints only the header and rule without rows",
      ["a", "bb"],
      [],
      "a  bb\n-  --",
    ],
  ];
  it.each(cases)("%s", (_what, header, rows, expected) => {
    expect(formatTable(header, rows)).toBe(expected);
  });
});

describe("formatSeconds", () => {
  const cases: Array<[number | null, string]> = [
    [null, "-"],
    [0.0812, "0.08 s"],
    [9.999, "10.00 s"],
    [12.34, "12.3 s"],
    [245, "4 min 05 s"],
  ];
  it.each(cases)("%s reads %s", (seconds, expected) => {
    expect(formatSeconds(seconds)).toBe(expected);
  });
});

describe("clockLabel", () => {
  const cases: Array<[number, number, string]> = [
    [0, 30, "06:00"],
    [1, 30, "06:30"],
    [36, 30, "00:00"],
    [47, 30, "05:30"],
    [48, 30, "06:00"],
    [3, 144, "13:12"],
  ];
  it.each(cases)("tick %i of %i minutes starts at %s", (tick, minutes, expected) => {
    expect(clockLabel(tick, minutes)).toBe(expected);
  });

  it.each(Object.entries(SCALES))("a %s run covers 24 simulated hours", (_name, plan: { ticks: number; minutesPerTick: number }) => {
    expect(plan.ticks * plan.minutesPerTick).toBe(24 * 60);
  });
});

describe("activityAt", () => {
  const cases: Array<[string, number]> = [
    ["06:00", 0.3],
    ["17:59", 0.7],
    ["18:00", 1],
    ["23:30", 1],
    ["00:30", 0.7],
    ["01:00", 0.3],
    ["06:59", 0.3],
    ["07:00", 0.7],
  ];
  it.each(cases)("at %s users are %s busy", (clock, expected) => {
    expect(activityAt(clock)).toBe(expected);
  });
});

describe("seededRandom", () => {
  it("gives the same choices for the same seed, others for another", () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const draw = (r: { next: () => number }) => Array.from({ length: 5 }, () => r.next());
    const first = draw(a);
    expect(draw(b)).toEqual(first);
    expect(draw(c)).not.toEqual(first);
  });

  it("stays within its ranges", () => {
    const r = seededRandom(1);
    for (let i = 0; i < 500; i++) {
      const n = r.next();
      expect(n).toBeGreaterThanOrEqual(0);
      expect(n).toBeLessThan(1);
      expect(r.int(2, 4)).toBeGreaterThanOrEqual(2);
      expect(r.int(2, 4)).toBeLessThanOrEqual(4);
      expect(["x", "y"]).toContain(r.pick(["x", "y"]));
    }
  });
});

describe("parseSimulateArgs", () => {
  const cases: Array<[string[], object]> = [
    [[], { scale: "day", throwaway: false, seed: undefined, scope: "run" }],
    [["--small"], { scale: "small", throwaway: false, seed: undefined, scope: "run" }],
    [["--throwaway", "--small"], { scale: "small", throwaway: true, seed: undefined, scope: "run" }],
    [["--seed", "7"], { scale: "day", throwaway: false, seed: 7, scope: "run" }],
    [["--seed=12", "--all"], { scale: "day", throwaway: false, seed: 12, scope: "all" }],
  ];
  it.each(cases)("%j gives %j", (args, expected) => {
    expect(parseSimulateArgs(args)).toEqual(expected);
  });

  const refused: Array<[string[], RegExp]> = [
    [["--big"], /unknown option --big/],
    [["--seed"], /--seed needs a whole number/],
    [["--seed", "x"], /--seed needs a whole number, not x/],
  ];
  it.each(refused)("%j is refused", (args, message) => {
    expect(() => parseSimulateArgs(args)).toThrow(message);
  });
});

describe("scopedQuery", () => {
  const cases: Array<[string, string, unknown[]]> = [
    ["select $1::uuid[] and $2::uuid[]", "select $1::uuid[] and $2::uuid[]", [["u"], ["o"]]],
    ["select $1::uuid[]", "select $1::uuid[]", [["u"]]],
    ["select $2::uuid[], $2::uuid[]", "select $1::uuid[], $1::uuid[]", [["o"]]],
    ["select 1", "select 1", []],
  ];
  it.each(cases)("passes %s only the parameters it uses", async (sql, expectedSql, expectedParams) => {
    const calls: Array<[string, unknown[]]> = [];
    await scopedQuery({ query: async (text: string, params: unknown[]) => calls.push([text, params]) }, sql, [["u"], ["o"]]);
    expect(calls).toEqual([[expectedSql, expectedParams]]);
  });
});
