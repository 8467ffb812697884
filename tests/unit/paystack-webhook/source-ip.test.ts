import { describe, expect, it } from "vitest";
import {
  checkSource,
  PAYSTACK_WEBHOOK_IPS,
  parseAllowedSources,
  parseIpAddress,
} from "../../../supabase/functions/paystack-webhook/source-ip.ts";

describe("parseIpAddress", () => {
  const cases: Array<[string, string | null]> = [
    ["52.31.139.75", "52.31.139.75"],
    ["  52.31.139.75  ", "52.31.139.75"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    ["256.1.1.1", null],
    ["52.31.139", null],
    ["52.31.139.75.1", null],
    ["052.31.139.75", null], // leading zero: octal to some parsers
    ["52.31.139.75:443", null], // a port is not part of an address
    ["0x34.31.139.75", null],
    ["2001:db8::1", "2001:db8::1"],
    ["2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // the first of two equal zero runs
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // a single zero group stays
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["::ffff:52.31.139.75", "52.31.139.75"], // IPv4-mapped is the IPv4 address
    ["::FFFF:342b:c556", "52.43.197.86"],
    ["64:ff9b::52.31.139.75", "64:ff9b::341f:8b4b"],
    ["1:2:3:4:5:6:7:8:9", null],
    ["1:2:3:4:5:6:7", null],
    ["1::2::3", null],
    [":1:2:3:4:5:6:7", null],
    ["12345::1", null],
    ["fe80::1%eth0", null],
    ["::52.31.139.75:1", null],
    ["52.31.139.75::", null],
    ["[2001:db8::1]", null],
    ["", null],
    ["unknown", null],
    ["paystack", null],
  ];
  it.each(cases)("%j -> %j", (text, expected) => {
    expect(parseIpAddress(text)).toBe(expected);
  });
});

describe("parseAllowedSources", () => {
  const accepted: Array<[string, string, string[]]> = [
    ["paystack means Paystack's three documented addresses", "paystack", ["52.31.139.75", "52.49.173.169", "52.214.14.220"]],
    ["paystack in any case", " PayStack ", [...PAYSTACK_WEBHOOK_IPS]],
    ["a list, trimmed and made canonical", "203.0.113.7 , 2001:DB8:0::1", ["203.0.113.7", "2001:db8::1"]],
    ["paystack as one entry of a list, without duplicates", "paystack,203.0.113.7,52.31.139.75", [...PAYSTACK_WEBHOOK_IPS, "203.0.113.7"]],
  ];
  it.each(accepted)("accepts %s", (_name, value, addresses) => {
    expect(parseAllowedSources(value)).toEqual({ ok: true, addresses });
  });

  const refused: Array<[string, string, RegExp]> = [
    ["a host name", "api.paystack.co", /"api\.paystack\.co" is neither/],
    ["a CIDR range", "52.31.139.0/24", /"52\.31\.139\.0\/24" is neither/],
    ["a bad address among good ones", "paystack,203.0.113.300", /"203\.0\.113\.300" is neither/],
    ["a trailing comma", "203.0.113.7,", /empty entry/],
    ["two commas", "203.0.113.7,,203.0.113.8", /empty entry/],
    ["space-separated addresses", "203.0.113.7 203.0.113.8", /is neither/],
  ];
  it.each(refused)("refuses %s", (_name, value, problem) => {
    const result = parseAllowedSources(value);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toMatch(problem);
  });
});

describe("checkSource", () => {
  const paystack = new Set(PAYSTACK_WEBHOOK_IPS);
  const cases: Array<[string, Record<string, string>, boolean, RegExp | null]> = [
    ["x-forwarded-for naming Paystack", { "x-forwarded-for": "52.31.139.75" }, true, null],
    ["Paystack first, then the platform's proxies", { "x-forwarded-for": "52.49.173.169, 172.70.1.1, 10.0.0.3" }, true, null],
    ["x-forwarded-for and x-real-ip both naming Paystack", { "x-forwarded-for": "52.214.14.220, 10.0.0.3", "x-real-ip": "52.214.14.220" }, true, null],
    ["every header naming Paystack", { "x-forwarded-for": "52.31.139.75", "x-real-ip": "52.31.139.75", "cf-connecting-ip": "52.31.139.75" }, true, null],
    ["only x-real-ip, naming Paystack", { "x-real-ip": "52.31.139.75" }, true, null],
    ["only cf-connecting-ip, naming Paystack", { "cf-connecting-ip": "52.31.139.75" }, true, null],
    ["Paystack as an IPv4-mapped IPv6 address", { "x-forwarded-for": "::ffff:52.31.139.75" }, true, null],
    ["Paystack with a port", { "x-forwarded-for": "52.31.139.75:40123" }, true, null],
    ["no source header at all", {}, false, /names no source/],
    ["an empty x-forwarded-for", { "x-forwarded-for": "  " }, false, /names no source/],
    ["another address", { "x-forwarded-for": "203.0.113.7" }, false, /x-forwarded-for names 203\.0\.113\.7/],
    ["Paystack only further down the chain", { "x-forwarded-for": "203.0.113.7, 52.31.139.75" }, false, /names 203\.0\.113\.7/],
    ["a forged x-forwarded-for that x-real-ip contradicts", { "x-forwarded-for": "52.31.139.75, 203.0.113.7", "x-real-ip": "203.0.113.7" }, false, /x-real-ip names 203\.0\.113\.7/],
    ["a forged x-forwarded-for that cf-connecting-ip contradicts", { "x-forwarded-for": "52.31.139.75", "cf-connecting-ip": "2001:db8::7" }, false, /cf-connecting-ip names 2001:db8::7/],
    ["a neighbour of Paystack's address", { "x-forwarded-for": "52.31.139.76" }, false, /names 52\.31\.139\.76/],
    ["a first entry that is not an address", { "x-forwarded-for": "unknown, 52.31.139.75" }, false, /x-forwarded-for is not an IP address/],
    ["an x-real-ip that is not an address", { "x-forwarded-for": "52.31.139.75", "x-real-ip": "localhost" }, false, /x-real-ip is not an IP address/],
  ];
  it.each(cases)("%s", (_name, headers, allowed, reason) => {
    const decision = checkSource(new Headers(headers), paystack);
    expect(decision.allowed).toBe(allowed);
    if (decision.allowed) expect(PAYSTACK_WEBHOOK_IPS).toContain(decision.address);
    else expect(decision.reason).toMatch(reason!);
  });

  it("accepts an IPv6 source named in the allow list", () => {
    const allowed = new Set(["2001:db8::7"]);
    expect(checkSource(new Headers({ "x-forwarded-for": "[2001:DB8::7]:443" }), allowed)).toMatchObject({ allowed: true, address: "2001:db8::7" });
    expect(checkSource(new Headers({ "x-forwarded-for": "52.31.139.75" }), allowed).allowed).toBe(false);
  });

  it("reports what each header claimed", () => {
    const decision = checkSource(new Headers({ "x-real-ip": "203.0.113.7", "x-forwarded-for": "52.31.139.75, 10.0.0.1" }), paystack);
    expect(decision.claims).toEqual([
      { header: "x-forwarded-for", value: "52.31.139.75, 10.0.0.1", address: "52.31.139.75" },
      { header: "x-real-ip", value: "203.0.113.7", address: "203.0.113.7" },
    ]);
  });
});
