// Keys and tokens as hosted Supabase has them now (docs/rules.md), through the gateway with
// supabase-js, on whichever kind of stack is running: `npm test` runs this file against a stack
// with signing keys (the default) and against a legacy one (FANTOOO_LEGACY_JWT=1).
import { randomUUID } from "node:crypto";
import { createClient } from "@supabase/supabase-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessToken, closeDb, db, signingKey, stack } from "../support/stack.ts";
import { generateSigningKey, signToken, userClaims } from "../support/tokens.ts";

const legacy = stack.keysMode === "legacy";
const userId = randomUUID();
const email = `keys-${userId}@example.com`;
const options = { auth: { persistSession: false, autoRefreshToken: false } };

beforeAll(async () => {
  await db().query("insert into auth.users (id, email, aud, role) values ($1, $2, 'authenticated', 'authenticated')", [userId, email]);
  await db().query(
    "insert into public.real_users (id, email, display_name, age, gender, looking_for) values ($1, $2, 'Keys', 30, 'male', 'female')",
    [userId, email],
  );
});

afterAll(async () => {
  await db().query("delete from auth.users where id = $1", [userId]);
  await closeDb();
});

/** supabase-js with `key`, optionally signed in with `token`; reads the caller's real_users rows. */
async function readOwnRows(key: string, token?: string) {
  const client = createClient(stack.apiUrl, key, {
    ...options,
    global: token ? { headers: { Authorization: `Bearer ${token}` } } : {},
  });
  return client.from("real_users").select("id");
}

describe(`the Data API on a ${legacy ? "legacy" : "signing-keys"} stack`, () => {
  it("prints the keys of its kind: sb_ keys beside the legacy ones, or the legacy ones alone", () => {
    if (legacy) {
      expect(process.env.PUBLISHABLE_KEY ?? null).toBeNull();
      expect(stack.publishableKey).toBe(stack.anonKey);
    } else {
      expect(stack.publishableKey).toMatch(/^sb_publishable_/);
      expect(stack.secretKey).toMatch(/^sb_secret_/);
    }
  });

  it("the publishable key acts as anon: the pricing page, and nothing of real_users", async () => {
    const client = createClient(stack.apiUrl, stack.publishableKey, options);
    const packages = await client.from("credit_packages").select("id");
    expect(packages.error).toBeNull();
    expect(packages.data!.length).toBeGreaterThan(0);
    const users = await client.from("real_users").select("id");
    expect(users.error?.code).toBe("42501");
  });

  it("the secret key acts as service_role (bypasses RLS)", async () => {
    const { data, error } = await readOwnRows(stack.secretKey);
    expect(error).toBeNull();
    expect(data!.map((r) => r.id)).toContain(userId);
    expect(data!.length).toBeGreaterThan(1);
  });

  it("a user's access token acts as that user, beside the publishable key", async () => {
    const { data, error } = await readOwnRows(stack.publishableKey, accessToken(userId));
    expect(error).toBeNull();
    expect(data).toEqual([{ id: userId }]);
  });

  it("the token kinds of the project: ES256 with a kid, and HS256 with the legacy secret", async () => {
    const hs256 = signToken(userClaims(userId), { secret: stack.jwtSecret });
    const hs = await readOwnRows(stack.publishableKey, hs256);
    expect(hs.data).toEqual([{ id: userId }]);
    const es256 = legacy ? signToken(userClaims(userId), generateSigningKey()) : signToken(userClaims(userId), { jwk: signingKey() });
    const es = await readOwnRows(stack.publishableKey, es256);
    // A legacy project publishes no signing key: an ES256 token cannot be one of its own.
    if (legacy) expect(es.error).not.toBeNull();
    else expect(es.data).toEqual([{ id: userId }]);
  });

  const refusedTokens: Array<[string, () => string]> = [
    [legacy ? "an ES256 token (a legacy project has no signing key)" : "a token signed by another key with the same kid", () =>
      signToken(userClaims(userId), { jwk: generateSigningKey(legacy ? undefined : signingKey().kid).jwk })],
    // PostgREST allows 30 s of clock skew.
    ["an expired token", () => accessToken(userId, { exp: Math.floor(Date.now() / 1000) - 120 })],
    ["a token signed with another secret", () => signToken(userClaims(userId), { secret: `${stack.jwtSecret}-other` })],
  ];
  it.each(refusedTokens)("refuses %s with 401", async (_name, token) => {
    const response = await fetch(`${stack.apiUrl}/rest/v1/real_users?select=id`, {
      headers: { apikey: stack.publishableKey, Authorization: `Bearer ${token()}` },
    });
    expect(response.status).toBe(401);
  });

  const refusedKeys: Array<[string, Record<string, string>, string]> = [
    ["an unknown publishable key", { apikey: "sb_publishable_unknown0000000000000000" }, "Invalid API key"],
    ["an unknown secret key", { apikey: "sb_secret_unknown00000000000000000000" }, "Invalid API key"],
    ["a secret key in Authorization only, when unknown", { Authorization: "Bearer sb_secret_nope" }, "Invalid API key"],
    ["no key at all", {}, "No API key found in request"],
    ["a bearer that is neither a key nor a token of the project", { Authorization: "Bearer garbage" }, "Invalid API key"],
  ];
  it.each(refusedKeys)("answers %s with 401 before PostgREST", async (_name, headers, message) => {
    const response = await fetch(`${stack.apiUrl}/rest/v1/credit_packages?select=id`, { headers });
    expect(response.status).toBe(401);
    expect((await response.json()).message).toBe(message);
  });

  it("takes the key from ?apikey= and strips it before PostgREST, which would read it as a filter (and log the key)", async () => {
    const key = legacy ? stack.anonKey : stack.publishableKey;
    const response = await fetch(
      `${stack.apiUrl}/rest/v1/credit_packages?select=id,is_active&apikey=${encodeURIComponent(key)}&is_active=eq.true`,
    );
    const text = await response.text();
    expect(response.status, text).toBe(200);
    expect(text).not.toContain(key);
    const rows = JSON.parse(text) as Array<{ is_active: boolean }>;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((row) => row.is_active)).toBe(true); // the other parameters still reach PostgREST
  });

  it("refuses the Auth API without a key, before it runs", async () => {
    for (const headers of [{}, { Authorization: "Bearer garbage" }] as Record<string, string>[]) {
      const response = await fetch(`${stack.apiUrl}/auth/v1/signup`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...headers },
        body: JSON.stringify({ email: `nokey-${randomUUID()}@example.com`, password: "long-enough-1" }),
      });
      expect(response.status).toBe(401);
    }
  });

  it("serves the JWKS without a key: the public halves of the signing keys only", async () => {
    const response = await fetch(`${stack.apiUrl}/auth/v1/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    const { keys } = await response.json();
    if (legacy) {
      expect(keys).toEqual([]);
    } else {
      expect(keys.map((k: { kid: string }) => k.kid)).toEqual([signingKey().kid]);
      for (const key of keys) expect(key).not.toHaveProperty("d");
    }
  });
});

describe("functions authenticate in their own code", () => {
  const assign = (headers: Record<string, string>) =>
    fetch(`${stack.functionsUrl}/assign-chat`, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: "{}" });

  it("a signed-in real user reaches assign-chat and is refused there as not an operator", async () => {
    const client = createClient(stack.apiUrl, stack.publishableKey, {
      ...options,
      global: { headers: { Authorization: `Bearer ${accessToken(userId)}` } },
    });
    const { error } = await client.functions.invoke("assign-chat", { body: {} });
    expect(error).not.toBeNull();
    const response = (error as { context: Response }).context;
    expect(response.status).toBe(403);
    expect((await response.json()).error.code).toBe("not_operator");
  });

  const refused: Array<[string, () => Record<string, string>]> = [
    ["no credentials", () => ({})],
    ["the publishable key alone", () => ({ apikey: stack.publishableKey, Authorization: `Bearer ${stack.publishableKey}` })],
    ["an expired token", () => ({ Authorization: `Bearer ${accessToken(userId, { exp: Math.floor(Date.now() / 1000) - 120 })}` })],
    [legacy ? "an ES256 token (a legacy project has no signing key)" : "a token signed by another key with the same kid", () => ({
      Authorization: `Bearer ${signToken(userClaims(userId), { jwk: generateSigningKey(legacy ? undefined : signingKey().kid).jwk })}`,
    })],
  ];
  it.each(refused)("assign-chat refuses %s with 401 unauthorized", async (_name, headers) => {
    const response = await assign(headers());
    expect(response.status).toBe(401);
    expect((await response.json()).error.code).toBe("unauthorized");
  });

  const sweeperCases: Array<[string, () => Record<string, string>, number]> = [
    ["the secret key in apikey", () => ({ apikey: stack.secretKey }), 200],
    ["the legacy service-role key as a bearer token", () => ({ Authorization: `Bearer ${stack.serviceRoleKey}` }), 200],
    ["the publishable key", () => ({ apikey: stack.publishableKey }), 401],
    ["an unknown secret key", () => ({ apikey: "sb_secret_unknown00000000000000000000" }), 401],
    ["a user's token", () => ({ Authorization: `Bearer ${accessToken(userId)}` }), 401],
  ];
  it.each(sweeperCases)("the idle sweeper with %s answers %s", async (_name, headers, status) => {
    const response = await fetch(`${stack.functionsUrl}/idle-sweeper`, { method: "POST", headers: headers() });
    expect(response.status).toBe(status);
    const body = await response.json();
    if (status === 200) expect(body).toMatchObject({ released: expect.any(Number), flagged: expect.any(Number) });
    else expect(body.error.code).toBe("unauthorized");
  });
});
