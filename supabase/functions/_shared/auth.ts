// Who is calling: the one place the functions authenticate (every function runs with
// verify_jwt = false, which cannot check the new keys anyway; docs/rules.md).
//
// - User routes take `Authorization: Bearer <access token>`. A token signed with an asymmetric
//   signing key (ES256/RS256, with a `kid`) is verified against the project's JWKS: SUPABASE_JWKS
//   when the platform provides it, else fetched from <SUPABASE_URL>/auth/v1/.well-known/jwks.json
//   and cached (https only, except on a loopback host). An HS256 token is accepted only when
//   LEGACY_JWT_SECRET is configured (a project still on, or moving off, the legacy secret). The
//   token must name a user (`sub`) with role `authenticated` and carry `exp` (GoTrue always sets it).
//   A verified token is not verified again until it expires (verified-tokens.ts: PostgREST's JWT
//   cache, for the functions).
// - The idle sweeper takes a secret key (any of SUPABASE_SECRET_KEYS) or the legacy service-role
//   key, in `apikey` or `Authorization: Bearer`, compared in constant time.
// - The webhook takes only a Paystack signature (signature.ts).
// Anything else is `401 {"error": {"code": "unauthorized", ...}}`.
//
// These are the rules of Supabase's own @supabase/server (`user` and `secret` modes), written on
// jose, which that package is built on: its `user` mode refuses tokens without a `kid` (every
// token of a legacy project), it reads secret keys only from `apikey`, and its hono adapter
// builds clients per request and answers in its own error shape. See the README's decisions.
import type { Context } from "hono";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
} from "jose";
import { ApiError } from "./errors.ts";
import type { JsonWebKeySet } from "./env.ts";
import { createVerifiedTokens } from "./verified-tokens.ts";

export type Caller = {
  token: string;
  userId: string;
  role: string;
  claims: JWTPayload;
};

const encoder = new TextEncoder();

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | null | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match ? match[1] : null;
}

const unauthorized = (message: string) =>
  new ApiError(401, "unauthorized", message);

const isLoopback = (host: string) =>
  host === "localhost" || host === "[::1]" ||
  /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

/** The project's JWKS endpoint, refused unless https (or http on a loopback host). */
export function jwksUrl(supabaseUrl: string): URL {
  const url = new URL(supabaseUrl);
  url.pathname = `${
    url.pathname.replace(/\/+$/, "")
  }/auth/v1/.well-known/jwks.json`;
  url.search = "";
  if (url.protocol !== "https:" && !isLoopback(url.hostname)) {
    throw new Error(
      `SUPABASE_URL ${supabaseUrl} is not https: set SUPABASE_JWKS instead of fetching keys over plain http`,
    );
  }
  return url;
}

export type UserAuthConfig = {
  SUPABASE_URL: string;
  SUPABASE_JWKS?: JsonWebKeySet;
  LEGACY_JWT_SECRET?: string;
};

/**
 * jose's codes for a token that is bad (expired, forged, unknown key, wrong claims): the caller's
 * fault, 401. Anything else (the JWKS could not be fetched or read) is ours: a logged 500, so an
 * Auth outage does not look like every user signing out.
 */
const TOKEN_ERRORS =
  /^ERR_(JWT_|JWS_|JWKS_NO_MATCHING_KEY|JWKS_MULTIPLE_MATCHING_KEYS|JOSE_ALG_NOT_ALLOWED|JOSE_NOT_SUPPORTED)/;

/** How long fetched signing keys are trusted without asking the project again. */
const JWKS_CACHE_MS = 10 * 60 * 1000;

/** How long a verified token is taken on trust before it is verified again. */
const VERIFIED_TOKEN_MS = 60 * 1000;

/** Verifies user access tokens as described above; one per function instance (keys are cached). */
export function createUserAuth(config: UserAuthConfig) {
  const remoteKeys = () =>
    createRemoteJWKSet(jwksUrl(config.SUPABASE_URL), {
      cacheMaxAge: JWKS_CACHE_MS,
      cooldownDuration: 30 * 1000,
      timeoutDuration: 5000,
    });
  // SUPABASE_JWKS is read when the worker starts; a key rotated in since is fetched from the
  // project (only for a kid the inline set does not have).
  const inlineKeys = config.SUPABASE_JWKS
    ? createLocalJWKSet(
      config.SUPABASE_JWKS as Parameters<typeof createLocalJWKSet>[0],
    )
    : null;
  let fetchedKeys: JWTVerifyGetKey | null = inlineKeys ? null : remoteKeys();
  const legacySecret = config.LEGACY_JWT_SECRET
    ? encoder.encode(config.LEGACY_JWT_SECRET)
    : null;
  // GoTrue always sets exp: a token without one would never expire, so it is refused.
  const asymmetric = {
    algorithms: ["ES256", "RS256"],
    audience: "authenticated",
    requiredClaims: ["exp"],
  };

  async function verifyAsymmetric(token: string): Promise<JWTPayload> {
    if (inlineKeys) {
      try {
        return (await jwtVerify(token, inlineKeys, asymmetric)).payload;
      } catch (err) {
        if ((err as { code?: string })?.code !== "ERR_JWKS_NO_MATCHING_KEY") {
          throw err;
        }
        fetchedKeys ??= remoteKeys();
      }
    }
    return (await jwtVerify(token, fetchedKeys!, asymmetric)).payload;
  }

  // Tokens verified before (signature, audience, exp) are not verified again for a minute at most:
  // a user sends many requests a minute, and a revoked signing key is honoured a minute longer.
  const verified = createVerifiedTokens({ maxAgeMs: VERIFIED_TOKEN_MS });

  async function verify(token: string): Promise<JWTPayload> {
    const known = verified.get(token);
    if (known) return known;
    const payload = await verifyToken(token);
    verified.remember(token, payload);
    return payload;
  }

  async function verifyToken(token: string): Promise<JWTPayload> {
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw unauthorized("The access token is not a JWT.");
    }
    try {
      if (header.alg === "HS256") {
        if (!legacySecret) {
          throw unauthorized(
            "This project does not accept tokens signed with the legacy JWT secret.",
          );
        }
        return (await jwtVerify(token, legacySecret, {
          algorithms: ["HS256"],
          audience: "authenticated",
          requiredClaims: ["exp"],
        })).payload;
      }
      if (!header.kid) {
        throw unauthorized("The access token names no signing key (kid).");
      }
      return await verifyAsymmetric(token);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      const code = (err as { code?: string })?.code ?? "";
      if (!TOKEN_ERRORS.test(code)) {
        throw new Error(
          `cannot verify tokens: the project's JWKS is unavailable (${
            code || err
          })`,
          {
            cause: err,
          },
        );
      }
      throw unauthorized(
        code === "ERR_JWT_EXPIRED"
          ? "The access token has expired: refresh the session."
          : "The access token is not valid for this project.",
      );
    }
  }

  return {
    /** The signed-in user calling this request; 401 when there is none. */
    async requireUser(c: Context): Promise<Caller> {
      const token = bearerToken(c.req.header("authorization"));
      if (!token || token.startsWith("sb_")) {
        throw unauthorized(
          "Sign in first: send the user's access token as Authorization: Bearer.",
        );
      }
      const claims = await verify(token);
      if (typeof claims.sub !== "string" || claims.role !== "authenticated") {
        throw unauthorized("Sign in first: the token names no signed-in user.");
      }
      return { token, userId: claims.sub, role: claims.role, claims };
    },
  };
}

export type UserAuth = ReturnType<typeof createUserAuth>;

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.digest("SHA-256", encoder.encode(text)),
  );
}

/** Constant-time equality of two SHA-256 digests. */
function sameDigest(x: Uint8Array, y: Uint8Array): boolean {
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

/** Constant-time equality of two strings (compares their SHA-256 digests, so lengths leak nothing). */
export async function sameSecret(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([sha256(a), sha256(b)]);
  return sameDigest(x, y);
}

/** Accepts only a request carrying one of `keys` (secret keys, legacy service-role key). */
export function createSecretKeyAuth(keys: string[]) {
  // The keys' digests are made once per instance; a request costs one digest per offered value.
  const keyDigests = Promise.all(keys.map(sha256));
  return {
    async requireSecretKey(c: Context): Promise<void> {
      const offered = [
        c.req.header("apikey") ?? null,
        bearerToken(c.req.header("authorization")),
      ].filter((v): v is string => !!v);
      const expected = await keyDigests;
      let matched = false;
      for (const given of await Promise.all(offered.map(sha256))) {
        for (const key of expected) {
          // No early exit: every comparison runs, whichever matches.
          if (sameDigest(key, given)) matched = true;
        }
      }
      if (!matched) {
        throw unauthorized(
          "Only the scheduler may call this: send a secret key.",
        );
      }
    },
  };
}
