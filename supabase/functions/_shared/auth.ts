// Who is calling. Functions with verify_jwt = true sit behind the gateway, which has already
// checked the token's signature; the token is then passed through to PostgREST, which checks it
// again and is what the database trusts (auth.uid()). Here we only read claims for routing and
// for passing the caller's own id to SQL functions that refuse to act for anyone else.
import type { Context } from "hono";
import { decodeBase64Url } from "deno-std/encoding/base64url.js";
import { timingSafeEqual } from "deno-std/crypto/timing_safe_equal.js";
import { ApiError } from "./errors.ts";

export type Caller = { token: string; userId: string; role: string };

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | null | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match ? match[1] : null;
}

/** The claims of a JWT, without verifying it (see above), or null when it is not a JWT. */
export function decodeJwtClaims(token: string): Record<string, unknown> | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const claims: unknown = JSON.parse(
      decoder.decode(decodeBase64Url(parts[1])),
    );
    return claims !== null && typeof claims === "object" &&
        !Array.isArray(claims)
      ? claims as Record<string, unknown>
      : null;
  } catch {
    return null;
  }
}

/** The signed-in user calling this request; 401 when there is none. */
export function requireCaller(c: Context): Caller {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) {
    throw new ApiError(
      401,
      "unauthorized",
      "Sign in first: missing bearer token.",
    );
  }
  const claims = decodeJwtClaims(token);
  const userId = typeof claims?.sub === "string" ? claims.sub : null;
  if (!claims || !userId) {
    throw new ApiError(
      401,
      "unauthorized",
      "Sign in first: the token names no user.",
    );
  }
  const role = typeof claims.role === "string" ? claims.role : "";
  return { token, userId, role };
}

/** True when `token` is exactly the service-role key (constant-time comparison). */
export function isServiceRoleKey(
  serviceRoleKey: string,
  token: string | null,
): boolean {
  if (!token) return false;
  const expected = encoder.encode(serviceRoleKey);
  const given = encoder.encode(token);
  if (expected.byteLength !== given.byteLength) return false;
  return timingSafeEqual(expected, given);
}
