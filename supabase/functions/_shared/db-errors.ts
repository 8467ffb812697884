// Maps errors coming back from PostgREST (SQL functions and RLS) to the API's refusals.
//
// The SQL functions refuse through one catalogue (errors.catalogue, documented in docs/errors.md):
// SQLSTATE `PTxyz` means HTTP status xyz, the MESSAGE is the snake_case code the API answers with
// and the DETAIL is human text written for clients. So any `PT4xx` maps generically, with no table
// of codes here: status xyz, code = message, message = detail. The few standard SQLSTATEs the spec
// fixes (42501 forbidden, 23514 a refused value) and Postgres's and PostgREST's own refusals map by
// SQLSTATE; when such an error carries a catalogue code as its message it keeps that code.
// A database that cannot answer now (shutting down, starting up, unreachable, out of connections;
// PostgREST's PGRST000-003) is 503 unavailable, so callers (Paystack included) retry.
// Anything else (PT5xx included) is not a refusal: the caller treats it as an internal error
// (logged, generic 500), so no SQL text ever reaches a client.
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError } from "./errors.ts";

/** The fields of a PostgREST error as supabase-js returns them. */
export type DbError = {
  code?: string | null;
  message?: string | null;
  details?: string | null;
  hint?: string | null;
};

/** Human text when a catalogued refusal carries no detail. */
const byStatus: Partial<Record<number, string>> = {
  400: "A value in the request is not valid.",
  402: "Not enough credits.",
  403: "You may not do this.",
  404: "Not found.",
  409: "This conflicts with the current state.",
};

/** Standard SQLSTATEs that are refusals: status, default code, default text. */
const bySqlState: Record<string, [ContentfulStatusCode, string, string]> = {
  "42501": [403, "forbidden", "You may not do this."],
  "23514": [400, "invalid_request", "A value in the request is not allowed."],
  "22P02": [400, "invalid_request", "A value in the request is malformed."],
  "22023": [400, "invalid_request", "A value in the request is not valid."],
  PGRST301: [401, "unauthorized", "Missing or invalid credentials."],
  PGRST302: [401, "unauthorized", "Missing or invalid credentials."],
  PGRST303: [401, "unauthorized", "Missing or invalid credentials."],
};

const catalogueCode = /^[a-z][a-z0-9_]*$/;
const customState = /^PT(4\d\d)$/;

/**
 * SQLSTATEs of a database that cannot answer now: class 08 (connection exception), 57P01-57P03
 * (shutting down, crashed, starting up), 53300 (too many connections); and PostgREST's PGRST000-003
 * (it cannot reach the database, or waited too long for a connection of its pool).
 */
const unavailableState = /^(08[0-9A-Z]{3}|57P0[123]|53300|PGRST00[0-3])$/;

/** 503 unavailable: the database cannot answer now; `cause` is logged, never returned. */
export function databaseUnavailable(
  operation: string,
  cause: unknown,
): ApiError {
  return new ApiError(
    503,
    "unavailable",
    "The service is briefly unavailable. Please try again in a few seconds.",
    { cause: new DatabaseError(operation, describeDbCause(cause)) },
  );
}

function describeDbCause(cause: unknown): DbError {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return {
      code: typeof code === "string" ? code : cause.name,
      message: cause.message,
    };
  }
  return cause as DbError;
}

/** Returns the API refusal for a database error, or null when it is not a known refusal. */
export function mapDbError(err: DbError): ApiError | null {
  const state = err.code ?? "";
  if (unavailableState.test(state)) return databaseUnavailable("database", err);
  const message = (err.message ?? "").trim();
  const detail = (err.details ?? "").trim();
  const catalogued = catalogueCode.test(message);

  const custom = customState.exec(state);
  if (custom) {
    if (!catalogued) return null;
    const status = Number(custom[1]) as ContentfulStatusCode;
    return new ApiError(
      status,
      message,
      detail || byStatus[status] || "The request was refused.",
    );
  }

  const standard = bySqlState[state];
  if (!standard) return null;
  const [status, code, text] = standard;
  // Postgres's own messages ("permission denied for ...") are never catalogue codes.
  return catalogued
    ? new ApiError(status, message, detail || text)
    : new ApiError(status, code, text);
}

/** An unexpected database failure; its details are logged, never returned. */
export class DatabaseError extends Error {
  constructor(readonly operation: string, readonly dbError: DbError) {
    super(
      `${operation} failed: ${dbError.code ?? "no code"} ${
        dbError.message ?? ""
      }`,
    );
    this.name = "DatabaseError";
  }
}

/** The error to throw for a failed database call: a refusal if known, else a DatabaseError. */
export function toThrowable(operation: string, err: DbError): Error {
  return mapDbError(err) ?? new DatabaseError(operation, err);
}
