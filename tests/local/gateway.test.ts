// The local gateway's key rules (local/gateway.mjs), as the hosted API gateway applies them, and the
// relay's verify_jwt check for functions that keep it.
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain ESM modules of the local stack
import { createKeyResolver, startGateway } from "../../local/stack/gateway.mjs";
// @ts-expect-error: plain ESM modules of the local stack
import { loadProjectKeys, signHs256, verifyToken } from "../../local/stack/keys.mjs";
import { generateSigningKey, signToken, userClaims } from "../support/tokens.ts";

const dir = mkdtempSync(join(tmpdir(), "fantooo-gateway-"));
const secret = "a-test-jwt-secret-with-at-least-32-characters";
let keys: Awaited<ReturnType<typeof loadProjectKeys>>;
let legacyKeys: Awaited<ReturnType<typeof loadProjectKeys>>;

beforeAll(async () => {
  keys = await loadProjectKeys({ root: dir, jwtSecret: secret, signingKeysFile: join(dir, "signing_keys.json") });
  legacyKeys = await loadProjectKeys({ root: dir, jwtSecret: secret, legacy: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the gateway resolves keys as the hosted gateway does", () => {
  const user = () => signToken(userClaims("u1"), { jwk: keys.signingKey });

  it("a publishable key becomes an anon JWT signed with the signing key; a secret key a service_role one", async () => {
    const resolve = createKeyResolver(keys);
    for (const [key, role] of [[keys.publishableKey, "anon"], [keys.secretKey, "service_role"]]) {
      const { authorization } = await resolve({ apikey: key });
      const claims = await verifyToken(keys, authorization.replace("Bearer ", ""));
      expect(claims?.role).toBe(role);
    }
  });

  const cases: Array<[string, () => Record<string, string>, "user" | "anon-legacy" | number]> = [
    ["a user's token beside the publishable key is passed on", () => ({ apikey: keys.publishableKey, authorization: `Bearer ${user()}` }), "user"],
    ["the legacy anon key is passed on as it is", () => ({ apikey: keys.anonKey }), "anon-legacy"],
    ["an unknown sb_ key is 401", () => ({ apikey: "sb_publishable_unknown" }), 401],
    ["a publishable key of the right shape but another project is 401", () => ({ apikey: `${keys.publishableKey}x` }), 401],
    ["a JWT key signed with another secret is 401", () => ({ apikey: "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.x" }), 401],
    ["no key at all is 401", () => ({}), 401],
    ["a bearer token alone that this project did not sign is 401", () => ({ authorization: "Bearer garbage" }), 401],
    ["a bearer user token alone, signed by another key, is 401", () => ({
      authorization: `Bearer ${signToken(userClaims("u1"), { jwk: generateSigningKey(keys.signingKey.kid).jwk })}`,
    }), 401],
    ["a bearer user token alone, signed by the project, is that user", () => ({ authorization: `Bearer ${user()}` }), "user"],
    ["the secret key from a browser is 401, as hosted", () => ({ apikey: keys.secretKey, "user-agent": "Mozilla/5.0 (X11; Linux x86_64)" }), 401],
    ["the publishable key from a browser is fine", () => ({ apikey: keys.publishableKey, "user-agent": "Mozilla/5.0", authorization: `Bearer ${user()}` }), "user"],
  ];
  it.each(cases)("%s", async (_name, headers, expected) => {
    const sent = headers();
    const result = await createKeyResolver(keys)(sent);
    if (expected === "user") expect(result.authorization).toBe(sent.authorization);
    else if (expected === "anon-legacy") expect(result.authorization).toBe(`Bearer ${keys.anonKey}`);
    else expect(result.status).toBe(expected);
  });

  it("reads the key from ?apikey= as well", async () => {
    const { authorization } = await createKeyResolver(keys)({}, new URLSearchParams({ apikey: keys.publishableKey }));
    expect((await verifyToken(keys, authorization.replace("Bearer ", "")))?.role).toBe("anon");
  });

  it("a legacy project knows no sb_ keys", async () => {
    const result = await createKeyResolver(legacyKeys)({ apikey: keys.publishableKey });
    expect(result.status).toBe(401);
    const anon = await createKeyResolver(legacyKeys)({ apikey: legacyKeys.anonKey });
    expect(anon.authorization).toBe(`Bearer ${legacyKeys.anonKey}`);
  });
});

describe("verify_jwt = true, for a function that keeps it", () => {
  let upstream: Server;
  let gateway: Server;
  let url = "";
  beforeAll(async () => {
    upstream = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end('{"ran":true}'));
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const port = (upstream.address() as { port: number }).port;
    gateway = await startGateway({
      port: 0,
      keys,
      postgrestPort: 9,
      functionsPort: port,
      functions: { guarded: { verifyJwt: true }, open: { verifyJwt: false } },
    });
    url = `http://127.0.0.1:${(gateway.address() as { port: number }).port}/functions/v1`;
  });
  afterAll(() => {
    gateway.close();
    upstream.close();
  });

  const cases: Array<[string, string, () => string | undefined, number, object]> = [
    ["no Authorization", "guarded", () => undefined, 401, { code: 401, message: "Missing authorization header" }],
    ["a token that is not a JWT", "guarded", () => "Bearer nope", 401, { code: 401, message: "Invalid JWT" }],
    ["an expired user token", "guarded", () => `Bearer ${signToken(userClaims("u1", { exp: 1 }), { jwk: keys.signingKey })}`, 401, { code: 401, message: "Invalid JWT" }],
    ["a valid ES256 user token", "guarded", () => `Bearer ${signToken(userClaims("u1"), { jwk: keys.signingKey })}`, 200, { ran: true }],
    ["nothing, on a verify_jwt = false function", "open", () => undefined, 200, { ran: true }],
  ];
  it.each(cases)("%s", async (_name, fn, authorization, status, body) => {
    const value = authorization();
    const response = await fetch(`${url}/${fn}`, { method: "POST", headers: value ? { authorization: value } : {} });
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual(body);
  });

  it("an HS256 token signed with the legacy secret still passes the relay", async () => {
    const token = await signHs256(userClaims("u1"), secret);
    const response = await fetch(`${url}/guarded`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
  });
});
