// JWTs for tests, signed synchronously with node:crypto: ES256 with a private JWK (its kid in the
// header, as Supabase Auth signs with JWT signing keys) or HS256 with a secret (legacy projects).
import { createHmac, createPrivateKey, generateKeyPairSync, randomUUID, sign } from "node:crypto";

export type PrivateJwk = { kid: string; kty: string; crv: string; x: string; y: string; d: string };

const b64url = (value: unknown) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** A new ES256 key pair: the private JWK and the JWKS that publishes its public half. */
export function generateSigningKey(kid: string = randomUUID()): { jwk: PrivateJwk; jwks: { keys: object[] } } {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const { kty, crv, x, y, d } = privateKey.export({ format: "jwk" }) as PrivateJwk;
  return {
    jwk: { kid, kty, crv, x, y, d },
    jwks: { keys: [{ kty, crv, x, y, kid, alg: "ES256", use: "sig" }] },
  };
}

/** Signs claims as a JWT: ES256 with `jwk` (its kid in the header), or HS256 with `secret`. */
export function signToken(
  claims: Record<string, unknown>,
  key: { jwk: PrivateJwk; header?: Record<string, unknown> } | { secret: string },
): string {
  if ("secret" in key) {
    const input = `${b64url({ alg: "HS256", typ: "JWT" })}.${b64url(claims)}`;
    return `${input}.${createHmac("sha256", key.secret).update(input).digest("base64url")}`;
  }
  const input = `${b64url({ alg: "ES256", kid: key.jwk.kid, typ: "JWT", ...key.header })}.${b64url(claims)}`;
  const { kty, crv, x, y, d } = key.jwk;
  const privateKey = createPrivateKey({ key: { kty, crv, x, y, d }, format: "jwk" });
  const signature = sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" });
  return `${input}.${signature.toString("base64url")}`;
}

/** GoTrue's access-token claims for a user, valid for an hour unless `overrides` say otherwise. */
export function userClaims(userId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: userId,
    role: "authenticated",
    aud: "authenticated",
    iat: now,
    exp: now + 3600,
    session_id: randomUUID(),
    is_anonymous: false,
    ...overrides,
  };
}
