// The local project's API keys and JWT signing keys, in the shapes hosted Supabase has them
// (docs/rules.md), built on jose.
//
// Two kinds of project:
// - "signing-keys" (the default): an ES256 signing key with a `kid` signs user tokens and is
//   published as a JWKS; the publishable (`sb_publishable_…`) and secret (`sb_secret_…`) keys are
//   the API keys. The legacy HS256 secret is not revoked yet, as on a hosted project in the middle
//   of its move: HS256 tokens and the legacy anon/service_role JWT keys stay valid.
// - "legacy" (FANTOOO_LEGACY_JWT=1): HS256 user tokens signed with the JWT secret, the anon and
//   service_role JWTs as API keys, no `sb_` keys and an empty JWKS.
//
// The private signing key lives where the Supabase CLI keeps it: `supabase/signing_keys.json`
// (`[auth] signing_keys_path` in config.toml), a JSON array of private JWKs, made when absent.
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
} from "jose";

export const DEFAULT_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
// The Supabase CLI's local publishable and secret keys (what `supabase start` prints), so that
// frontends configured for `supabase start` work unchanged against `npm start`.
export const LOCAL_PUBLISHABLE_KEY = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH";
export const LOCAL_SECRET_KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz";
const LEGACY_KEY_EXPIRY = 1983812996; // the expiry Supabase's local demo keys carry

const PUBLIC_EC_FIELDS = ["kty", "crv", "x", "y", "kid", "alg", "use"];

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header) {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1] ?? null;
}

/** The path of the signing keys file named by config.toml's [auth] signing_keys_path. */
export function signingKeysPath(root, configuredPath = "./signing_keys.json") {
  return resolve(join(root, "supabase"), configuredPath);
}

/** A new private ES256 JWK shaped like `supabase gen signing-key` writes it. */
export async function generateSigningKey() {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { kid: randomUUID(), use: "sig", key_ops: ["sign", "verify"], alg: "ES256", ext: true, ...jwk };
}

/** The private signing keys of the file, made (with one new ES256 key) when the file is absent. */
export async function loadOrCreateSigningKeys(path) {
  if (!existsSync(path)) {
    if (!existsSync(dirname(path))) throw new Error(`cannot create ${path}: its folder is missing`);
    writeFileSync(path, `${JSON.stringify([await generateSigningKey()], null, 2)}\n`, { mode: 0o600 });
  }
  let keys;
  try {
    keys = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`cannot read the JWT signing keys in ${path}: ${error.message}`);
  }
  if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => k?.kty !== "EC" || !k.kid || !k.d)) {
    throw new Error(`${path} must be a JSON array of private ES256 JWKs with a kid (delete it to get a new one)`);
  }
  return keys;
}

/** The public half of a private JWK, as a JWKS endpoint publishes it. */
export function publicJwk(privateJwk) {
  return Object.fromEntries(PUBLIC_EC_FIELDS.filter((f) => privateJwk[f] !== undefined).map((f) => [f, privateJwk[f]]));
}

/** The legacy HS256 secret as a JWK (what PostgREST is given beside the public keys). */
export function secretJwk(secret) {
  const kid = createHash("sha256").update(secret).digest("base64url").slice(0, 16);
  return { kty: "oct", k: Buffer.from(secret).toString("base64url"), alg: "HS256", kid };
}

function hs256Key(secret) {
  return new TextEncoder().encode(secret);
}

/** Signs an HS256 token with the legacy secret (no kid, as GoTrue did before signing keys). */
export function signHs256(payload, secret) {
  return new SignJWT(payload).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(hs256Key(secret));
}

/** Signs an ES256 token with a private JWK, naming its kid. */
export async function signEs256(payload, privateJwk) {
  // The file's key_ops name both halves ("sign", "verify"); WebCrypto takes a private key for
  // signing only.
  const { key_ops: _ops, ...jwk } = privateJwk;
  const key = await importJWK(jwk, "ES256");
  return new SignJWT(payload).setProtectedHeader({ alg: "ES256", kid: privateJwk.kid, typ: "JWT" }).sign(key);
}

/**
 * Everything the stack, the Auth stand-in, the gateway and the tests need to know about keys.
 *
 * @param {{ root: string, jwtSecret?: string, legacy?: boolean, signingKeysFile?: string }} options
 */
export async function loadProjectKeys({ root, jwtSecret = DEFAULT_JWT_SECRET, legacy = false, signingKeysFile }) {
  const anonKey = await signHs256({ iss: "supabase-demo", role: "anon", exp: LEGACY_KEY_EXPIRY }, jwtSecret);
  const serviceRoleKey = await signHs256({ iss: "supabase-demo", role: "service_role", exp: LEGACY_KEY_EXPIRY }, jwtSecret);
  const signingKeys = legacy ? [] : await loadOrCreateSigningKeys(signingKeysFile ?? signingKeysPath(root));
  return {
    mode: legacy ? "legacy" : "signing-keys",
    jwtSecret,
    anonKey,
    serviceRoleKey,
    publishableKey: legacy ? null : LOCAL_PUBLISHABLE_KEY,
    secretKey: legacy ? null : LOCAL_SECRET_KEY,
    /** The key new user tokens are signed with (the first of the file), or null in legacy mode. */
    signingKey: signingKeys[0] ?? null,
    /** What /auth/v1/.well-known/jwks.json serves: public keys only (empty in legacy mode). */
    jwks: { keys: signingKeys.map(publicJwk) },
  };
}

/** PostgREST's jwt-secret: the JWKS plus the legacy secret as an oct key, or the bare secret. */
export function postgrestJwtSecret(keys) {
  if (!keys.signingKey) return keys.jwtSecret;
  return JSON.stringify({ keys: [...keys.jwks.keys, secretJwk(keys.jwtSecret)] });
}

/** Signs a token the way GoTrue does on this project: ES256 with the signing key, else HS256. */
export function signAccessToken(keys, payload) {
  return keys.signingKey ? signEs256(payload, keys.signingKey) : signHs256(payload, keys.jwtSecret);
}

/**
 * The claims of a token this project accepts (ES256 against its JWKS; HS256 with the legacy
 * secret, which both kinds of project still accept), or null when it is invalid or expired.
 * `options` are jose's jwtVerify options (the Realtime server passes `currentDate` to tell an
 * expired token from a forged one).
 */
export async function verifyToken(keys, token, options = {}) {
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return null;
  }
  try {
    if (header.alg === "HS256") {
      return (await jwtVerify(token, hs256Key(keys.jwtSecret), { ...options, algorithms: ["HS256"] })).payload;
    }
    if (keys.jwks.keys.length === 0) return null;
    keys.jwksResolver ??= createLocalJWKSet(keys.jwks);
    return (await jwtVerify(token, keys.jwksResolver, { ...options, algorithms: ["ES256", "RS256"] })).payload;
  } catch {
    return null;
  }
}

/**
 * A user access token with GoTrue's claims, for printed tokens and tests (the Auth stand-in signs
 * its own sessions the same way).
 */
export function userAccessToken(keys, { id, email, apiUrl, ttlSeconds = 24 * 3600, sessionId = randomUUID(), extra = {} }) {
  const iat = Math.floor(Date.now() / 1000);
  return signAccessToken(keys, {
    iss: `${apiUrl}/auth/v1`,
    sub: id,
    aud: "authenticated",
    exp: iat + ttlSeconds,
    iat,
    email,
    phone: "",
    app_metadata: { provider: "email", providers: ["email"] },
    user_metadata: {},
    role: "authenticated",
    aal: "aal1",
    amr: [{ method: "password", timestamp: iat }],
    session_id: sessionId,
    is_anonymous: false,
    ...extra,
  });
}
