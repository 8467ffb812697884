import { describe, expect, it } from "vitest";
import { BodyTooLarge, readBodyLimited } from "../../supabase/functions/_shared/body.ts";
import { bearerToken, decodeJwtClaims, isServiceRoleKey } from "../../supabase/functions/_shared/auth.ts";

const post = (body: BodyInit | null, headers: Record<string, string> = {}) =>
  new Request("http://x/", { method: "POST", body, headers, duplex: "half" } as RequestInit);

function streamOf(chunks: number, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent++ < chunks) controller.enqueue(new Uint8Array(size));
      else controller.close();
    },
  });
}

describe("readBodyLimited", () => {
  const cases: Array<[string, () => Request, number | "too large"]> = [
    ["reads a small body", () => post("hello"), 5],
    ["reads a body of exactly the limit", () => post("x".repeat(64)), 64],
    ["reads an empty body", () => post(null), 0],
    ["refuses a declared content-length above the limit", () => post("x", { "content-length": "65" }), "too large"],
    ["refuses a body above the limit", () => post("x".repeat(65)), "too large"],
    ["refuses a chunked stream that grows above the limit", () => post(streamOf(5, 20)), "too large"],
    ["reads a chunked stream under the limit", () => post(streamOf(3, 20)), 60],
  ];
  it.each(cases)("%s", async (_name, request, expected) => {
    const result = readBodyLimited(request(), 64);
    if (expected === "too large") await expect(result).rejects.toBeInstanceOf(BodyTooLarge);
    else expect((await result).byteLength).toBe(expected);
  });
});

const jwt = (claims: object) =>
  ["e30", Buffer.from(JSON.stringify(claims)).toString("base64url"), "sig"].join(".");

describe("bearer tokens and claims", () => {
  const tokens: Array<[string | undefined, string | null]> = [
    ["Bearer abc.def.ghi", "abc.def.ghi"],
    ["bearer abc", "abc"],
    ["Basic abc", null],
    ["Bearer", null],
    [undefined, null],
  ];
  it.each(tokens)("bearerToken(%s) -> %s", (header, expected) => {
    expect(bearerToken(header)).toBe(expected);
  });

  it("decodes a JWT's claims", () => {
    expect(decodeJwtClaims(jwt({ sub: "u1", role: "authenticated" }))).toEqual({ sub: "u1", role: "authenticated" });
  });
  it.each([["not-a-jwt"], ["a.b"], ["e30.!!!.sig"], [`e30.${Buffer.from("[1]").toString("base64url")}.s`]])(
    "returns null for %s",
    (token) => expect(decodeJwtClaims(token)).toBeNull(),
  );

  const keys: Array<[string | null, boolean]> = [
    ["service-key", true],
    ["service-kex", false],
    ["service-key-longer", false],
    ["", false],
    [null, false],
  ];
  it.each(keys)("isServiceRoleKey(%s) -> %s", (token, expected) => {
    expect(isServiceRoleKey("service-key", token)).toBe(expected);
  });
});
