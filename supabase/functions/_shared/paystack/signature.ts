// Paystack webhook signatures: `x-paystack-signature` is the lowercase hex HMAC-SHA512 of the raw
// request body, keyed with the secret key. Always verify the bytes as received, never a
// re-serialised parse of them. Pure: node:crypto, which Deno and Node both serve. Not Web Crypto:
// its HMAC is an asynchronous operation costing about three times as much per body under Deno
// (about 90 µs against 35 µs; a quarter of the webhook's main-thread time in the functions
// server's profile, bench/README.md "The HTTP layer"), plus a key import per secret.
import { createHmac, timingSafeEqual } from "node:crypto";

const encoder = new TextEncoder();
const SIGNATURE_PATTERN = /^[0-9a-f]{128}$/;

/** Hex HMAC-SHA512 of `body` with `secret` (what Paystack puts in x-paystack-signature). */
export function signPaystackBody(
  secret: string,
  body: Uint8Array | string,
): Promise<string> {
  return Promise.resolve(
    createHmac("sha512", secret).update(body).digest("hex"),
  );
}

/**
 * True when `signature` is the HMAC of `body`. The comparison of the two digests takes the same
 * time wherever they differ; a header that is not 128 hex digits is refused before any work.
 */
export async function verifyPaystackSignature(
  secret: string,
  body: Uint8Array,
  signature: string | null | undefined,
): Promise<boolean> {
  if (!signature) return false;
  const given = signature.trim().toLowerCase();
  if (!SIGNATURE_PATTERN.test(given)) return false;
  const expected = await signPaystackBody(secret, body);
  return timingSafeEqual(encoder.encode(expected), encoder.encode(given));
}
