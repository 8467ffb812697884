import { describe, expect, it } from "vitest";
import { describeCredits, formatMoney } from "../../../supabase/functions/credits-checkout/format.ts";

describe("formatMoney shows subunits as money", () => {
  const cases: Array<[number, string, string]> = [
    [10000, "KES", "KES 100.00"],
    [45000, "KES", "KES 450.00"],
    [85000, "kes", "KES 850.00"],
    [400000, "KES", "KES 4,000.00"],
    [123456789, "NGN", "NGN 1,234,567.89"],
    [5, "KES", "KES 0.05"],
    [0, "USD", "USD 0.00"],
    [-2550, "KES", "-KES 25.50"],
  ];
  it.each(cases)("%i %s -> %s", (subunits, currency, expected) => {
    expect(formatMoney(subunits, currency)).toBe(expected);
  });
  it("refuses fractional subunits", () => {
    expect(() => formatMoney(10.5, "KES")).toThrow(RangeError);
  });
});

describe("describeCredits names credits and bonus", () => {
  const cases: Array<[number, number, string]> = [
    [10, 0, "10 credits"],
    [50, 5, "50 credits + 5 bonus"],
    [500, 100, "500 credits + 100 bonus"],
    [1, 0, "1 credit"],
  ];
  it.each(cases)("%i + %i -> %s", (credits, bonus, expected) => {
    expect(describeCredits(credits, bonus)).toBe(expected);
  });
});
