import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  signPaystackBody,
  verifyPaystackSignature,
} from "../../../supabase/functions/_shared/paystack/signature.ts";

const secret = "sk_test_unit_secret";
const body = '{"event":"charge.success","data":{"reference":"r-1","amount":45000}}';
const bytes = new TextEncoder().encode(body);
// Independent oracle: Node's own HMAC.
const good = createHmac("sha512", secret).update(body).digest("hex");

describe("signPaystackBody", () => {
  it("is the lowercase hex HMAC-SHA512 of the raw body", async () => {
    expect(await signPaystackBody(secret, bytes)).toBe(good);
    expect(await signPaystackBody(secret, body)).toBe(good);
  });
});

describe("verifyPaystackSignature", () => {
  const cases: Array<[string, string | null | undefined, Uint8Array, boolean]> = [
    ["accepts the signature of the exact bytes", good, bytes, true],
    ["accepts the signature in uppercase hex", good.toUpperCase(), bytes, true],
    ["accepts surrounding whitespace in the header", ` ${good} `, bytes, true],
    [
      "refuses a tampered body (one byte changed)",
      good,
      new TextEncoder().encode(body.replace("45000", "45001")),
      false,
    ],
    [
      "refuses a re-serialised body (same JSON, other bytes)",
      good,
      new TextEncoder().encode(JSON.stringify(JSON.parse(body), null, 1)),
      false,
    ],
    [
      "refuses a signature made with another key",
      createHmac("sha512", "sk_other").update(body).digest("hex"),
      bytes,
      false,
    ],
    ["refuses a SHA-256 HMAC", createHmac("sha256", secret).update(body).digest("hex"), bytes, false],
    ["refuses a truncated signature", good.slice(0, 127), bytes, false],
    ["refuses a non-hex signature of the right length", "z".repeat(128), bytes, false],
    ["refuses an empty header", "", bytes, false],
    ["refuses a missing header", null, bytes, false],
    ["refuses undefined", undefined, bytes, false],
  ];
  it.each(cases)("%s", async (_name, signature, payload, expected) => {
    expect(await verifyPaystackSignature(secret, payload, signature)).toBe(expected);
  });
});
