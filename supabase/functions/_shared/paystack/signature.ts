// Paystack webhook signatures: `x-paystack-signature` is the lowercase hex HMAC-SHA512 of the raw
// request body, keyed with the secret key. Always verify the bytes as received, never a
// re-serialised parse of them. Pure (Web Crypto only): runs under Deno and Node.
import { encodeHex } from "deno-std/encoding/hex.js";
import { timingSafeEqual } from "deno-std/crypto/timing_safe_equal.js";

const encoder = new TextEncoder();
const SIGNATURE_PATTERN = /^[0-9a-f]{128}$/;

// The HMAC key of each secret, imported once (importing costs as much as signing a body); a
// project has one secret key, two while it rotates it.
const hmacKeys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    if (hmacKeys.size >= 4) hmacKeys.clear();
    key = crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-512" },
      false,
      ["sign"],
    );
    key.catch(() => hmacKeys.delete(secret));
    hmacKeys.set(secret, key);
  }
  return key;
}

/** Hex HMAC-SHA512 of `body` with `secret` (what Paystack puts in x-paystack-signature). */
export async function signPaystackBody(
  secret: string,
  body: Uint8Array | string,
): Promise<string> {
  const key = await hmacKey(secret);
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const mac = await crypto.subtle.sign("HMAC", key, bytes as BufferSource);
  return encodeHex(new Uint8Array(mac));
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
