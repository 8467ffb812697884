// Where a request says it comes from, and whether that source may call the Paystack webhook.
// A second check next to the signature (which stays mandatory): it only ever refuses more.
//
// Paystack documents that its webhooks come from 52.31.139.75, 52.49.173.169 and 52.214.14.220,
// the same in test and live mode (paystack.com/docs/payments/webhooks). An Edge Function never
// sees the TCP peer, only the headers the platform's proxies forward, and Supabase documents no
// contract for which of them a caller cannot forge. The leftmost `x-forwarded-for` entry is the
// address the first proxy saw, but a caller can send its own `x-forwarded-for`, which proxies
// extend rather than replace; `x-real-ip` and Cloudflare's `cf-connecting-ip` are set by the
// platform's proxies. So a request passes only when every one of these it carries names an
// allowed address, and at least one is present: a forged `x-forwarded-for` is then betrayed by
// the header the platform wrote. Addresses are parsed by ipaddr.js; no Deno or Node APIs, so this
// runs under both.
import ipaddr from "ipaddr.js";

/** Paystack's documented webhook source addresses. */
export const PAYSTACK_WEBHOOK_IPS: readonly string[] = [
  "52.31.139.75",
  "52.49.173.169",
  "52.214.14.220",
];

/** The headers that name the client, read in this order. */
export const SOURCE_HEADERS = [
  "x-forwarded-for",
  "x-real-ip",
  "cf-connecting-ip",
] as const;

/**
 * The canonical text of an IPv4 or IPv6 address, or null when `text` is not one: IPv4 in
 * four-part decimal only (no leading zeros, which some parsers read as octal; no hex, no short
 * forms), IPv6 in RFC 5952 form (lowercase, no leading zeros, the longest zero run as `::`),
 * without a zone id (`%eth0` names a local interface, never a client). IPv4-mapped IPv6
 * addresses (`::ffff:52.31.139.75`) become the IPv4 address, so both spellings compare equal.
 */
export function parseIpAddress(text: string): string | null {
  const trimmed = text.trim();
  if (ipaddr.IPv4.isValidFourPartDecimal(trimmed)) {
    return ipaddr.IPv4.parse(trimmed).toString();
  }
  if (trimmed.includes("%") || !ipaddr.IPv6.isValid(trimmed)) return null;
  const address = ipaddr.IPv6.parse(trimmed);
  return address.isIPv4MappedAddress()
    ? address.toIPv4Address().toString()
    : address.toRFC5952String();
}

/**
 * The allow list of PAYSTACK_WEBHOOK_ALLOWED_IPS: comma-separated addresses, where `paystack`
 * stands for Paystack's documented ones. Canonical, without duplicates, in the order given.
 */
export function parseAllowedSources(
  value: string,
): { ok: true; addresses: string[] } | { ok: false; problem: string } {
  const entries = value.split(",").map((entry) => entry.trim());
  const addresses = new Set<string>();
  for (const entry of entries) {
    if (entry === "") {
      return {
        ok: false,
        problem: "has an empty entry (two commas, or one at an end)",
      };
    }
    if (entry.toLowerCase() === "paystack") {
      for (const address of PAYSTACK_WEBHOOK_IPS) addresses.add(address);
      continue;
    }
    const address = parseIpAddress(entry);
    if (!address) {
      return {
        ok: false,
        problem:
          `must be "paystack" or comma-separated IP addresses ("${entry}" is neither)`,
      };
    }
    addresses.add(address);
  }
  return { ok: true, addresses: [...addresses] };
}

/** The address one source header names: the leftmost entry of x-forwarded-for, else the value. */
function claimedAddress(header: string, value: string): string {
  const first = header === "x-forwarded-for" ? value.split(",")[0] : value;
  const entry = first.trim();
  // Some proxies add the client's port: `[2001:db8::1]:443`, `203.0.113.7:443`.
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
  if (bracketed) return bracketed[1];
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(entry);
  return withPort ? withPort[1] : entry;
}

export type SourceClaim = {
  header: string;
  value: string;
  address: string | null;
};

export type SourceDecision =
  | { allowed: true; address: string; claims: SourceClaim[] }
  | { allowed: false; reason: string; claims: SourceClaim[] };

/**
 * Whether the request's source is in `allowed` (canonical addresses, as parseAllowedSources
 * returns them): every source header present must name an allowed address, and one must be present.
 */
export function checkSource(
  headers: Headers,
  allowed: ReadonlySet<string>,
): SourceDecision {
  const claims: SourceClaim[] = [];
  for (const header of SOURCE_HEADERS) {
    const value = headers.get(header)?.trim();
    if (!value) continue;
    claims.push({
      header,
      value,
      address: parseIpAddress(claimedAddress(header, value)),
    });
  }
  if (claims.length === 0) {
    return {
      allowed: false,
      reason: "the request names no source address",
      claims,
    };
  }
  const refused = claims.find((claim) =>
    claim.address === null || !allowed.has(claim.address)
  );
  if (refused) {
    return {
      allowed: false,
      reason: refused.address === null
        ? `${refused.header} is not an IP address`
        : `${refused.header} names ${refused.address}, which is not allowed`,
      claims,
    };
  }
  return { allowed: true, address: claims[0].address as string, claims };
}
