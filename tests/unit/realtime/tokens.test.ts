// Tokens as the local Realtime server checks them (local/stack/realtime/tokens.mjs): the stack's
// own verification (ES256 with the JWKS, HS256 with the legacy secret) with hosted's outcomes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain ESM modules of the local stack
import { loadProjectKeys } from "../../../local/stack/keys.mjs";
// @ts-expect-error: plain ESM modules of the local stack
import { apiKeyClaims, checkAccessToken } from "../../../local/stack/realtime/tokens.mjs";
import { generateSigningKey, signToken, userClaims } from "../../support/tokens.ts";

const dir = mkdtempSync(join(tmpdir(), "fantooo-realtime-tokens-"));
const secret = "a-test-jwt-secret-with-at-least-32-characters";
let keys: Awaited<ReturnType<typeof loadProjectKeys>>;
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  keys = await loadProjectKeys({ root: dir, jwtSecret: secret, signingKeysFile: join(dir, "signing_keys.json") });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("checkAccessToken", () => {
  const user = "11111111-1111-4111-8111-111111111111";
  const cases: [string, () => string, string | null][] = [
    ["an ES256 user token", () => signToken(userClaims(user), { jwk: keys.signingKey }), null],
    ["an HS256 user token (legacy secret)", () => signToken(userClaims(user), { secret }), null],
    ["not a JWT", () => "sb_publishable_x", "malformed"],
    ["a token signed by another key", () => signToken(userClaims(user), { jwk: generateSigningKey(keys.signingKey.kid).jwk }), "signature"],
    ["an expired token", () => signToken(userClaims(user, { exp: now() - 5 }), { jwk: keys.signingKey }), "expired"],
    ["an expired forged token", () => signToken(userClaims(user, { exp: now() - 5 }), { secret: "x".repeat(40) }), "signature"],
    ["a token without role", () => signToken({ sub: user, exp: now() + 60 }, { secret }), "missing_claims"],
  ];
  it.each(cases)("%s", async (_name, token, code) => {
    const result = await checkAccessToken(keys, token());
    if (code === null) expect(result.claims).toMatchObject({ sub: user, role: "authenticated" });
    else expect(result.error.code).toBe(code);
  });

  it("says how long ago the token expired, as hosted does", async () => {
    const result = await checkAccessToken(keys, signToken(userClaims(user, { exp: now() - 5 }), { secret }));
    expect(result.error.message).toMatch(/^Token has expired (5|6) seconds ago$/);
  });
});

describe("apiKeyClaims", () => {
  it.each([
    ["the publishable key", () => keys.publishableKey, "anon"],
    ["the secret key", () => keys.secretKey, "service_role"],
    ["the legacy anon key", () => keys.anonKey, "anon"],
    ["the legacy service_role key", () => keys.serviceRoleKey, "service_role"],
    ["an unknown sb_ key", () => "sb_publishable_nope", null],
    ["a user token", () => signToken(userClaims("u"), { secret }), null],
    ["nothing", () => null, null],
  ])("%s → %s", async (_name, key, role) => {
    const claims = await apiKeyClaims(keys, key());
    expect(claims?.role ?? null).toBe(role);
  });
});
