// The copy of a Paystack event that is stored (paystack_events.payload, a jsonb column). The text of
// an event is partly customer-controlled (names, metadata) and jsonb cannot hold everything JSON can:
// a NUL character (\u0000) and a lone UTF-16 surrogate (\ud800 without its pair) are refused, and a
// very deep nesting (30,000 levels fit in 64 KiB) exceeds Postgres's stack. Any of them would make
// every delivery of a correctly signed event fail with a 500, so the event would never be recorded.
// The stored copy therefore replaces each such character with U+FFFD and each object or array nested
// deeper than MAX_STORED_DEPTH with a marker string. The signature is checked on the raw bytes before
// this; only the stored copy changes. Pure: runs under Deno and Node.
import type { Json } from "../database.types.ts";

/** How deep the stored copy nests (the envelope is depth 0, `data` depth 1); Paystack uses about 5. */
export const MAX_STORED_DEPTH = 32;
/** What replaces an object or array nested deeper than MAX_STORED_DEPTH. */
export const TRUNCATED_MARKER =
  `[removed: nested deeper than ${MAX_STORED_DEPTH} levels]`;
/** What replaces a character jsonb cannot hold. */
export const REPLACEMENT_CHARACTER = "\uFFFD";

// A high surrogate not followed by a low one, or a low surrogate not preceded by a high one, and NUL.
const UNSTORABLE =
  // deno-lint-ignore no-control-regex -- NUL is exactly what jsonb refuses
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\u0000/g;

/** `text` with every NUL and lone surrogate replaced by U+FFFD (the same string when none). */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE, REPLACEMENT_CHARACTER);
}

/**
 * A copy of `value` (parsed JSON) that jsonb can hold: strings and keys through storableText, and
 * objects or arrays deeper than `maxDepth` replaced by TRUNCATED_MARKER. Never recurses deeper than
 * `maxDepth`, so any input is safe.
 */
export function storableJson(
  value: unknown,
  maxDepth = MAX_STORED_DEPTH,
): Json {
  return copy(value, 0, maxDepth);
}

function copy(value: unknown, depth: number, maxDepth: number): Json {
  if (typeof value === "string") return storableText(value);
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "boolean" || value === null) return value;
  if (typeof value !== "object") return null;
  if (depth >= maxDepth) return TRUNCATED_MARKER;
  if (Array.isArray(value)) {
    return value.map((item) => copy(item, depth + 1, maxDepth));
  }
  // fromEntries defines own properties, so a "__proto__" key stays a plain key.
  return Object.fromEntries(
    Object.entries(value).map((
      [key, item],
    ) => [storableText(key), copy(item, depth + 1, maxDepth)]),
  );
}
