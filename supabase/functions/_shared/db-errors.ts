// Maps errors coming back from PostgREST (SQL functions and RLS) to the API's refusals.
//
// The SQL functions raise custom SQLSTATEs whose message is the snake_case code the API
// answers with (e.g. `raise exception 'at_capacity' using errcode = ...`), so the message is
// matched first and the SQLSTATE only when the message is not one we know. Anything unknown is
// not a refusal: the caller treats it as an internal error (logged, generic 500).
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError } from "./errors.ts";

/** The fields of a PostgREST error as supabase-js returns them. */
export type DbError = {
  code?: string | null;
  message?: string | null;
  details?: string | null;
  hint?: string | null;
};

// Messages raised by the SQL functions (004, 006, 007 and 009 list them in their headers).
const byMessage: Record<string, [ContentfulStatusCode, string]> = {
  not_operator: [403, "Only an active operator can do this."],
  operator_unavailable: [409, "Set your status to available to take chats."],
  at_capacity: [409, "You already hold as many chats as you may."],
  chat_not_held: [404, "You do not hold this chat."],
  chat_not_found: [404, "No such chat."],
  operator_not_found: [404, "No such operator."],
  invalid_release_reason: [400, "Unknown release reason."],
  invalid_days: [400, "The number of days is not valid."],
  insufficient_credits: [402, "Not enough credits."],
  not_real_user: [403, "Only a signed-in member can buy credits."],
  account_inactive: [403, "This account is deactivated."],
  package_not_found: [404, "No active credit package with this id."],
  email_required: [400, "Your account needs an email address to pay."],
  forbidden: [403, "You may not do this."],
};

const bySqlState: Record<string, [ContentfulStatusCode, string, string]> = {
  "42501": [403, "forbidden", "You may not do this."],
  PT402: [402, "insufficient_credits", "Not enough credits."],
  "22P02": [400, "invalid_request", "A value in the request is malformed."],
  "22023": [400, "invalid_request", "A value in the request is not valid."],
  "23514": [400, "invalid_request", "A value in the request is not allowed."],
  PGRST301: [401, "unauthorized", "Missing or invalid credentials."],
  PGRST302: [401, "unauthorized", "Missing or invalid credentials."],
  PGRST303: [401, "unauthorized", "Missing or invalid credentials."],
};

/** Returns the API refusal for a database error, or null when it is not a known refusal. */
export function mapDbError(err: DbError): ApiError | null {
  const message = (err.message ?? "").trim();
  const known = byMessage[message];
  if (known) return new ApiError(known[0], message, known[1]);
  const state = bySqlState[err.code ?? ""];
  if (state) return new ApiError(state[0], state[1], state[2]);
  return null;
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
