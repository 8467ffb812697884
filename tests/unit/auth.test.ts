// The functions' one authentication module (_shared/auth.ts): user tokens against the JWKS (inline
// or fetched), HS256 only with a legacy secret, secret keys in constant time.
import { createServer, type Server } from "node:http";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bearerToken,
  createSecretKeyAuth,
  createUserAuth,
  jwksUrl,
  sameSecret,
} from "../../supabase/functions/_shared/auth.ts";
import { handleError } from "../../supabase/functions/_shared/errors.ts";
import { createVerifiedTokens } from "../../supabase/functions/_shared/verified-tokens.ts";
import { generateSigningKey, signToken, userClaims } from "../support/tokens.ts";

const LEGACY_SECRET = "legacy-secret-with-at-least-32-characters";
const key = generateSigningKey();
const impostor = generateSigningKey(key.jwk.kid); // same kid, another key
const userId = "11111111-1111-4111-8111-111111111111";

/** A hono app answering the caller's id, or the shared error body. */
function appWith(auth: ReturnType<typeof createUserAuth>) {
  const app = new Hono();
  app.onError(handleError);
  app.get("/", async (c) => c.json({ user: (await auth.requireUser(c)).userId }));
  return app;
}

async function call(app: Hono, authorization?: string) {
  const res = await app.fetch(new Request("http://fn/", { headers: authorization ? { authorization } : {} }));
  return { status: res.status, body: await res.json() };
}

/** A project whose /auth/v1/.well-known/jwks.json publishes `key` (what the inline set holds too). */
const project = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(key.jwks)));
let projectUrl = "";
beforeAll(async () => {
  await new Promise<void>((resolve) => project.listen(0, "127.0.0.1", resolve));
  projectUrl = `http://127.0.0.1:${(project.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => project.close(() => resolve())));

describe("user tokens against an inline JWKS (SUPABASE_JWKS)", () => {
  // Built per test: the project's URL is known once the server listens.
  const apps = {
    withLegacy: () => appWith(createUserAuth({ SUPABASE_URL: projectUrl, SUPABASE_JWKS: key.jwks, LEGACY_JWT_SECRET: LEGACY_SECRET })),
    withoutLegacy: () => appWith(createUserAuth({ SUPABASE_URL: projectUrl, SUPABASE_JWKS: key.jwks })),
  };
  const es256 = (claims: Record<string, unknown> = {}) => signToken(userClaims(userId, claims), { jwk: key.jwk });
  const hs256 = (claims: Record<string, unknown> = {}) => signToken(userClaims(userId, claims), { secret: LEGACY_SECRET });

  type Kind = keyof typeof apps;
  const accepted: Array<[string, () => string, Kind]> = [
    ["an ES256 token signed by the project's key", () => es256(), "withoutLegacy"],
    ["an HS256 token where the legacy secret is configured", () => hs256(), "withLegacy"],
  ];
  it.each(accepted)("accepts %s", async (_name, token, kind) => {
    expect(await call(apps[kind](), `Bearer ${token()}`)).toEqual({ status: 200, body: { user: userId } });
  });

  const refused: Array<[string, () => string | undefined, Kind]> = [
    ["no Authorization header", () => undefined, "withLegacy"],
    ["a token signed by another key with the same kid", () => `Bearer ${signToken(userClaims(userId), { jwk: impostor.jwk })}`, "withLegacy"],
    ["an expired token", () => `Bearer ${es256({ exp: Math.floor(Date.now() / 1000) - 5 })}`, "withLegacy"],
    ["an ES256 token without a kid", () => `Bearer ${signToken(userClaims(userId), { jwk: key.jwk, header: { kid: undefined } })}`, "withLegacy"],
    ["a token naming an unknown kid", () => `Bearer ${signToken(userClaims(userId), { jwk: { ...key.jwk, kid: "other" } })}`, "withLegacy"],
    ["an HS256 token where no legacy secret is configured", () => `Bearer ${hs256()}`, "withoutLegacy"],
    ["an HS256 token signed with another secret", () => `Bearer ${signToken(userClaims(userId), { secret: `${LEGACY_SECRET}x` })}`, "withLegacy"],
    ["a token of the anon role (an API key, not a user)", () => `Bearer ${es256({ role: "anon" })}`, "withLegacy"],
    ["a service_role token", () => `Bearer ${es256({ role: "service_role" })}`, "withLegacy"],
    ["a token without sub", () => `Bearer ${es256({ sub: undefined })}`, "withLegacy"],
    ["a token for another audience", () => `Bearer ${es256({ aud: "other" })}`, "withLegacy"],
    // GoTrue always sets exp: a token without one would never expire.
    ["an ES256 token without exp", () => `Bearer ${es256({ exp: undefined })}`, "withLegacy"],
    ["an HS256 token without exp", () => `Bearer ${hs256({ exp: undefined })}`, "withLegacy"],
    ["a publishable key as bearer", () => "Bearer sb_publishable_abc", "withLegacy"],
    ["a string that is not a JWT", () => "Bearer not-a-jwt", "withLegacy"],
    ["an alg=none token", () => {
      const part = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
      return `Bearer ${part({ alg: "none", kid: key.jwk.kid })}.${part(userClaims(userId))}.`;
    }, "withLegacy"],
  ];
  it.each(refused)("refuses %s with 401 unauthorized", async (_name, header, kind) => {
    const { status, body } = await call(apps[kind](), header());
    expect(status).toBe(401);
    expect(body.error.code).toBe("unauthorized");
  });
});

describe("verified tokens are remembered until they expire (verified-tokens.ts)", () => {
  const auth = () => appWith(createUserAuth({ SUPABASE_URL: projectUrl, SUPABASE_JWKS: key.jwks }));

  it("refuses the same claims under another signature after accepting the real token", async () => {
    const app = auth();
    const token = signToken(userClaims(userId), { jwk: key.jwk });
    expect((await call(app, `Bearer ${token}`)).status).toBe(200);
    const [header, payload] = token.split(".");
    const forged = `${header}.${payload}.${signToken(userClaims(userId), { jwk: impostor.jwk }).split(".")[2]}`;
    expect((await call(app, `Bearer ${forged}`)).status).toBe(401);
    expect((await call(app, `Bearer ${token}`)).status).toBe(200);
  });

  it("refuses a remembered token once it has expired", async () => {
    const app = auth();
    const token = signToken(userClaims(userId, { exp: Math.floor(Date.now() / 1000) + 2 }), { jwk: key.jwk });
    expect((await call(app, `Bearer ${token}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2100));
    const { status, body } = await call(app, `Bearer ${token}`);
    expect(status).toBe(401);
    expect(body.error.message).toMatch(/expired/);
  });

  let clock = 0;
  const payload = (exp?: number) => ({ sub: userId, role: "authenticated", ...(exp === undefined ? {} : { exp }) });
  // [what, steps: remember (token, exp in s) or get (token, expected), at clock ms]
  type Step = ["remember", string, number | undefined, number] | ["get", string, boolean, number];
  const cases: Array<[string, Step[]]> = [
    ["answers a token until its exp", [["remember", "a", 10, 0], ["get", "a", true, 9999], ["get", "a", false, 10000]]],
    ["answers a token at most maxAgeMs (60 s here)", [["remember", "a", 3600, 0], ["get", "a", true, 59999], ["get", "a", false, 60000]]],
    ["does not keep a token without exp", [["remember", "a", undefined, 0], ["get", "a", false, 0]]],
    ["does not keep an expired token", [["remember", "a", 5, 6000], ["get", "a", false, 6000]]],
    ["knows nothing of a token never remembered", [["remember", "a", 10, 0], ["get", "b", false, 0]]],
    ["drops the oldest beyond its capacity (2 here)", [
      ["remember", "a", 10, 0], ["remember", "b", 10, 0], ["remember", "c", 10, 0],
      ["get", "a", false, 1], ["get", "b", true, 1], ["get", "c", true, 1],
    ]],
    ["keeps a token remembered again as the newest", [
      ["remember", "a", 10, 0], ["remember", "b", 10, 0], ["remember", "a", 10, 0], ["remember", "c", 10, 0],
      ["get", "a", true, 1], ["get", "b", false, 1],
    ]],
  ];
  it.each(cases)("%s", (_name, steps) => {
    const tokens = createVerifiedTokens({ capacity: 2, maxAgeMs: 60000, now: () => clock });
    for (const step of steps) {
      clock = step[3];
      if (step[0] === "remember") tokens.remember(step[1], payload(step[2]));
      else expect(tokens.get(step[1]) !== null).toBe(step[2]);
    }
  });
});

describe("user tokens against the JWKS fetched from the project", () => {
  let server: Server;
  let fetches = 0;
  let url = "";
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url !== "/auth/v1/.well-known/jwks.json") return res.writeHead(404).end();
      fetches++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(key.jwks));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("fetches <SUPABASE_URL>/auth/v1/.well-known/jwks.json once and verifies many tokens with it", async () => {
    const app = appWith(createUserAuth({ SUPABASE_URL: url }));
    for (let i = 0; i < 5; i++) {
      const token = signToken(userClaims(userId), { jwk: key.jwk });
      expect(await call(app, `Bearer ${token}`)).toEqual({ status: 200, body: { user: userId } });
    }
    expect(fetches).toBe(1);
    const forged = signToken(userClaims(userId), { jwk: impostor.jwk });
    expect((await call(app, `Bearer ${forged}`)).status).toBe(401);
  });

  it("with SUPABASE_JWKS set, fetches the project's keys only for a kid the inline set lacks (a rotation)", async () => {
    const before = fetches;
    const stale = generateSigningKey(); // the inline set the worker started with
    const app = appWith(createUserAuth({ SUPABASE_URL: url, SUPABASE_JWKS: stale.jwks }));
    expect((await call(app, `Bearer ${signToken(userClaims(userId), { jwk: stale.jwk })}`)).status).toBe(200);
    expect(fetches).toBe(before);
    expect((await call(app, `Bearer ${signToken(userClaims(userId), { jwk: key.jwk })}`)).status).toBe(200);
    expect(fetches).toBe(before + 1);
  });

  const urls: Array<[string, string | null]> = [
    ["https://ref.supabase.co", "https://ref.supabase.co/auth/v1/.well-known/jwks.json"],
    ["http://127.0.0.1:54321/", "http://127.0.0.1:54321/auth/v1/.well-known/jwks.json"],
    ["http://localhost:54321", "http://localhost:54321/auth/v1/.well-known/jwks.json"],
    ["http://kong:8000", null],
  ];
  it.each(urls)("derives the JWKS URL of %s (plain http only on loopback)", (base, expected) => {
    if (expected) expect(jwksUrl(base).href).toBe(expected);
    else expect(() => jwksUrl(base)).toThrow(/not https/);
  });
});

describe("when the project's keys cannot be fetched", () => {
  let server: Server;
  let base = "";
  beforeAll(async () => {
    server = createServer((_req, res) => res.writeHead(503).end("auth is down"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const outages: Array<[string, () => string]> = [
    ["the JWKS endpoint answers 503", () => base],
    ["nothing listens there", () => "http://127.0.0.1:9"],
  ];
  it.each(outages)("%s: a logged 500, not a 401 that would sign every user out", async (_name, supabaseUrl) => {
    const app = appWith(createUserAuth({ SUPABASE_URL: supabaseUrl() }));
    const { status, body } = await call(app, `Bearer ${signToken(userClaims(userId), { jwk: key.jwk })}`);
    expect(status).toBe(500);
    expect(body.error.code).toBe("internal_error");
  });
});

describe("secret keys", () => {
  const auth = createSecretKeyAuth(["sb_secret_a", "sb_secret_b", "legacy-service-role-jwt"]);
  const app = new Hono();
  app.onError(handleError);
  app.post("/", async (c) => {
    await auth.requireSecretKey(c);
    return c.json({ ok: true });
  });
  const cases: Array<[string, Record<string, string>, number]> = [
    ["the default secret key in apikey", { apikey: "sb_secret_a" }, 200],
    ["a second (rotated-in) secret key", { apikey: "sb_secret_b" }, 200],
    ["a secret key as Authorization: Bearer", { authorization: "Bearer sb_secret_a" }, 200],
    ["the legacy service-role key", { authorization: "Bearer legacy-service-role-jwt" }, 200],
    ["nothing", {}, 401],
    ["an unknown secret key", { apikey: "sb_secret_c" }, 401],
    ["a prefix of a key", { apikey: "sb_secret_" }, 401],
    ["a key with a suffix", { apikey: "sb_secret_ab" }, 401],
    ["a publishable key", { apikey: "sb_publishable_a" }, 401],
  ];
  it.each(cases)("%s -> %s", async (_name, headers, status) => {
    const res = await app.fetch(new Request("http://fn/", { method: "POST", headers }));
    expect(res.status).toBe(status);
    if (status === 401) expect((await res.json()).error.code).toBe("unauthorized");
  });

  const pairs: Array<[string, string, boolean]> = [
    ["same", "same", true],
    ["same", "samf", false],
    ["same", "same-longer", false],
    ["", "", true],
    ["", "x", false],
  ];
  it.each(pairs)("sameSecret(%s, %s) -> %s", async (a, b, expected) => {
    expect(await sameSecret(a, b)).toBe(expected);
  });
});

describe("bearer tokens", () => {
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
});
