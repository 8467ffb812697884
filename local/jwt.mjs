// HS256 JSON Web Tokens, as GoTrue issues them and PostgREST and the Edge Functions relay check
// them. Node's crypto is all it takes; no Auth server runs locally.
import { createHmac, timingSafeEqual } from "node:crypto";

const base64url = (input) => Buffer.from(input).toString("base64url");

export function signJwt(payload, secret) {
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = base64url(JSON.stringify(payload));
  const signature = createHmac("sha256", secret).update(`${header}.${body}`).digest("base64url");
  return `${header}.${body}.${signature}`;
}

/** Returns the payload of a valid, unexpired HS256 token, or null. */
export function verifyJwt(token, secret, now = Date.now()) {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const [header, body, signature] = parts;
  let parsedHeader, payload;
  try {
    parsedHeader = JSON.parse(Buffer.from(header, "base64url").toString("utf8"));
    payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  if (parsedHeader?.alg !== "HS256" || typeof payload !== "object" || payload === null) return null;
  const expected = createHmac("sha256", secret).update(`${header}.${body}`).digest();
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  if (typeof payload.exp === "number" && payload.exp * 1000 <= now) return null;
  return payload;
}

/** Supabase's local API keys: the same claims `supabase start` signs. */
export function apiKeys(secret) {
  const exp = 1983812996; // the expiry Supabase's local demo keys carry
  return {
    anonKey: signJwt({ iss: "supabase-demo", role: "anon", exp }, secret),
    serviceRoleKey: signJwt({ iss: "supabase-demo", role: "service_role", exp }, secret),
  };
}

/** An access token for a user, shaped like the ones GoTrue issues after sign-in. */
export function userAccessToken({ id, email, apiUrl, secret, ttlSeconds = 24 * 3600 }) {
  const iat = Math.floor(Date.now() / 1000);
  return signJwt({
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
    is_anonymous: false,
  }, secret);
}
