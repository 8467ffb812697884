// Tokens as the local Realtime server sees them, verified as the rest of the local stack verifies
// them (keys.mjs verifyToken: ES256 against the JWKS, HS256 with the legacy secret), with hosted
// Realtime's outcomes: claims must carry `role` and `exp`; an expired token is told apart from a
// forged one ("Token has expired N seconds ago"); an `sb_` key stands for the socket's own key.
import { decodeJwt, decodeProtectedHeader } from "jose";
import { verifyToken } from "../keys.mjs";
import { messages } from "./protocol.mjs";

// What an `sb_` key's role token carries: no user, and no expiry a connection would outlive.
const KEY_TOKEN_LIFETIME_S = 10 * 365 * 24 * 3600;

/**
 * The claims of an API key given as `apikey` (publishable → anon, secret → service_role, a legacy
 * anon/service_role JWT → its claims), or null when this project does not know the key.
 */
export async function apiKeyClaims(keys, apikey, now = Date.now()) {
  if (!apikey) return null;
  const iat = Math.floor(now / 1000);
  if (keys.publishableKey && apikey === keys.publishableKey) {
    return { iss: "supabase", role: "anon", iat, exp: iat + KEY_TOKEN_LIFETIME_S };
  }
  if (keys.secretKey && apikey === keys.secretKey) {
    return { iss: "supabase", role: "service_role", iat, exp: iat + KEY_TOKEN_LIFETIME_S };
  }
  if (apikey.startsWith("sb_")) return null;
  const claims = await verifyToken(keys, apikey);
  return claims && (claims.role === "anon" || claims.role === "service_role") ? claims : null;
}

/**
 * Checks an access token: {claims} or {error: {code, message}} with code "malformed",
 * "signature", "expired" or "missing_claims" (messages in protocol.mjs, as hosted words them).
 */
export async function checkAccessToken(keys, token, now = Date.now()) {
  if (typeof token !== "string" || token === "") return { error: { code: "malformed", message: messages.malformed } };
  let payload;
  try {
    decodeProtectedHeader(token);
    payload = decodeJwt(token);
  } catch {
    return { error: { code: "malformed", message: messages.malformed } };
  }
  const nowS = Math.floor(now / 1000);
  const expired = typeof payload.exp === "number" && payload.exp <= nowS;
  // An expired token is still checked for its signature (at a moment it was valid), so a forged
  // token is never reported as merely expired.
  const claims = await verifyToken(
    keys,
    token,
    expired ? { currentDate: new Date((payload.exp - 1) * 1000) } : { currentDate: new Date(now) },
  );
  if (!claims) return { error: { code: "signature", message: messages.badSignature } };
  if (expired) return { error: { code: "expired", message: messages.expired(nowS - payload.exp) } };
  if (typeof claims.role !== "string" || typeof claims.exp !== "number") {
    return { error: { code: "missing_claims", message: messages.missingClaims } };
  }
  return { claims };
}
