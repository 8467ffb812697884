// Access tokens this instance has verified, remembered until they expire: what PostgREST's JWT
// cache (PGRST_JWT_CACHE_MAX_LIFETIME, on in hosted Supabase) does for the Data API. An ES256
// signature check costs more CPU than everything else a function does for a request
// (bench/README.md, "The HTTP layer"); a user's token is sent with every request for up to an
// hour, so it is checked once. The key is the whole token, signature included: a token with the
// same claims and another signature is a different entry and is verified from scratch. An entry
// lasts until the token's exp and at most maxAgeMs (a minute by default, set by auth.ts): a token
// signed with a key the project has since revoked is honoured at most that much longer than
// jose's JWKS cache alone would honour it. At most `capacity` entries; the oldest goes first.
import type { JWTPayload } from "jose";

export type VerifiedTokens = {
  /** The payload of a token verified before and not yet expired, else null. */
  get(token: string): JWTPayload | null;
  /** Remembers a verified token (not one without exp, nor one already expired). */
  remember(token: string, payload: JWTPayload): void;
  readonly size: number;
};

/** A cache of verified tokens: `capacity` entries, each kept until its exp and at most maxAgeMs. */
export function createVerifiedTokens({
  capacity = 1000,
  maxAgeMs = 10 * 60 * 1000,
  now = Date.now,
}: { capacity?: number; maxAgeMs?: number; now?: () => number } =
  {}): VerifiedTokens {
  const entries = new Map<string, { payload: JWTPayload; until: number }>();
  return {
    get(token) {
      const entry = entries.get(token);
      if (!entry) return null;
      if (now() >= entry.until) {
        entries.delete(token);
        return null;
      }
      return entry.payload;
    },
    remember(token, payload) {
      if (typeof payload.exp !== "number") return;
      const until = Math.min(payload.exp * 1000, now() + maxAgeMs);
      if (until <= now() || capacity < 1) return;
      entries.delete(token);
      while (entries.size >= capacity) {
        entries.delete(entries.keys().next().value!);
      }
      entries.set(token, { payload, until });
    },
    get size() {
      return entries.size;
    },
  };
}
