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
// the header the platform wrote. Pure (no Deno or Node APIs): runs under both.

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

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX_GROUP = /^[0-9a-f]{1,4}$/i;

function ipv4Octets(text: string): number[] | null {
  const match = IPV4.exec(text);
  if (!match) return null;
  const octets = match.slice(1).map((part) =>
    // A leading zero reads as octal to some parsers: refuse it rather than guess.
    part.length > 1 && part.startsWith("0") ? Number.NaN : Number(part)
  );
  return octets.every((octet) => octet >= 0 && octet <= 255) ? octets : null;
}

function ipv6Groups(text: string): number[] | null {
  if (text.includes("%")) return null; // zone ids name a local interface, never a client
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const toGroups = (part: string): number[] | null => {
    if (part === "") return [];
    const pieces = part.split(":");
    const groups: number[] = [];
    for (const [index, piece] of pieces.entries()) {
      if (index === pieces.length - 1 && piece.includes(".")) {
        const octets = ipv4Octets(piece);
        if (!octets) return null;
        groups.push(octets[0] * 256 + octets[1], octets[2] * 256 + octets[3]);
      } else if (HEX_GROUP.test(piece)) {
        groups.push(parseInt(piece, 16));
      } else {
        return null;
      }
    }
    return groups;
  };
  const head = toGroups(halves[0]);
  const tail = halves.length === 2 ? toGroups(halves[1]) : [];
  if (!head || !tail) return null;
  // An embedded IPv4 address may only end the address.
  if (halves.length === 2 && halves[0].includes(".")) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const missing = 8 - head.length - tail.length;
  return missing >= 1
    ? [...head, ...new Array(missing).fill(0), ...tail]
    : null;
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run of two or more zero groups as `::`. */
function formatIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8;) {
    if (groups[start] !== 0) {
      start++;
      continue;
    }
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${
    hex.slice(bestStart + bestLength).join(":")
  }`;
}

/**
 * The canonical text of an IPv4 or IPv6 address, or null when `text` is not one. IPv4-mapped
 * IPv6 addresses (`::ffff:52.31.139.75`) become the IPv4 address, so both spellings compare equal.
 */
export function parseIpAddress(text: string): string | null {
  const trimmed = text.trim();
  const octets = ipv4Octets(trimmed);
  if (octets) return octets.join(".");
  const groups = ipv6Groups(trimmed);
  if (!groups) return null;
  if (
    groups.slice(0, 6).every((group, i) => group === (i === 5 ? 0xffff : 0))
  ) {
    return [groups[6] >> 8, groups[6] & 255, groups[7] >> 8, groups[7] & 255]
      .join(".");
  }
  return formatIpv6(groups);
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
