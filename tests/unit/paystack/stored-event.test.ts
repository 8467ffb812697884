// The stored copy of a Paystack event (paystack_events.payload, jsonb): what jsonb cannot hold is
// replaced, deep nesting is cut, everything else is kept as it was.
import { describe, expect, it } from "vitest";
import {
  MAX_STORED_DEPTH,
  REPLACEMENT_CHARACTER as R,
  storableJson,
  storableText,
  TRUNCATED_MARKER,
} from "../../../supabase/functions/_shared/paystack/stored-event.ts";

/** `[[[…"x"…]]]`, `levels` arrays deep. */
function nested(levels: number, leaf: unknown = "x"): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

/** How many arrays deep `value` goes. */
function depthOf(value: unknown): number {
  let depth = 0;
  while (Array.isArray(value)) {
    value = value[0];
    depth++;
  }
  return depth;
}

describe("storableText replaces what jsonb cannot hold", () => {
  const cases: Array<[string, string, string]> = [
    ["plain text is unchanged", "Ann Wanjiru", "Ann Wanjiru"],
    ["accents, emoji and other scripts are unchanged", "Zoë 😀 Łódź 東京", "Zoë 😀 Łódź 東京"],
    ["a NUL character", "Ann\u0000e", `Ann${R}e`],
    ["several NULs", "\u0000\u0000", `${R}${R}`],
    ["a lone high surrogate", "Ann\ud800e", `Ann${R}e`],
    ["a lone low surrogate", "Ann\udc00e", `Ann${R}e`],
    ["a high surrogate at the end", "Ann\ud83d", `Ann${R}`],
    ["a low surrogate at the start", "\ude00Ann", `${R}Ann`],
    ["two high surrogates then a low one: only the first is lone", "\ud83d\ud83d\ude00", `${R}😀`],
    ["a surrogate pair is kept", "\ud83d\ude00", "😀"],
    ["other control characters are kept (jsonb holds them)", "a\u0001b\tc\n", "a\u0001b\tc\n"],
  ];
  it.each(cases)("%s", (_name, input, expected) => {
    expect(storableText(input)).toBe(expected);
    // What jsonb refuses no longer appears when Postgres reads the JSON text.
    expect(JSON.stringify(storableText(input))).not.toMatch(/\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])/i);
  });
});

describe("storableJson copies a parsed event", () => {
  const cases: Array<[string, unknown, unknown]> = [
    ["scalars", { a: 1, b: true, c: null, d: "x", e: 1.5 }, { a: 1, b: true, c: null, d: "x", e: 1.5 }],
    [
      "a customer name with a NUL, in a real event",
      { event: "charge.success", data: { reference: "r", customer: { first_name: "Ann\u0000e" } } },
      { event: "charge.success", data: { reference: "r", customer: { first_name: `Ann${R}e` } } },
    ],
    ["keys too", { "na\u0000me": "v", "\ud800": 1 }, { [`na${R}me`]: "v", [R]: 1 }],
    ["strings inside arrays", { tags: ["ok", "b\ud800d"] }, { tags: ["ok", `b${R}d`] }],
    ["a __proto__ key stays a plain key", JSON.parse('{"__proto__": {"x": 1}}'), JSON.parse('{"__proto__": {"x": 1}}')],
  ];
  it.each(cases)("%s", (_name, input, expected) => {
    expect(storableJson(input)).toEqual(expected);
  });

  it("keeps nesting up to the limit", () => {
    const value = { data: nested(MAX_STORED_DEPTH - 1) };
    expect(storableJson(value)).toEqual(value);
  });

  it("replaces what is nested deeper than the limit with the marker", () => {
    const copy = storableJson({ data: nested(MAX_STORED_DEPTH + 5) }) as { data: unknown };
    expect(depthOf(copy.data)).toBe(MAX_STORED_DEPTH - 1);
    let inner: unknown = copy.data;
    while (Array.isArray(inner)) inner = inner[0];
    expect(inner).toBe(TRUNCATED_MARKER);
  });

  it("copes with 30,000 levels (what fits in 64 KiB), without recursing that deep", () => {
    const raw = `{"event":"charge.success","data":{"reference":"r","deep":${"[".repeat(30_000)}${"]".repeat(30_000)}}}`;
    const copy = storableJson(JSON.parse(raw)) as { data: { reference: string; deep: unknown } };
    expect(copy.data.reference).toBe("r");
    expect(depthOf(copy.data.deep)).toBe(MAX_STORED_DEPTH - 2);
    expect(JSON.stringify(copy).length).toBeLessThan(1000);
  });

  it("a smaller limit can be given", () => {
    expect(storableJson({ a: { b: { c: 1 } } }, 2)).toEqual({ a: { b: TRUNCATED_MARKER } });
  });

  it("leaves the input untouched", () => {
    const input = { name: "Ann\u0000e" };
    storableJson(input);
    expect(input.name).toBe("Ann\u0000e");
  });
});
