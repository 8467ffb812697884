import { describe, expect, it } from "vitest";
import { type DbError, DatabaseError, mapDbError, toThrowable } from "../../supabase/functions/_shared/db-errors.ts";
import { ApiError } from "../../supabase/functions/_shared/errors.ts";

describe("mapDbError turns SQL refusals into API errors", () => {
  // [error from PostgREST, status, code, client message]
  const cases: Array<[DbError, number, string, string]> = [
    // Any catalogued PTxyz: status xyz, code = message, message = detail; no per-code table.
    [{ code: "PT403", message: "not_operator", details: "Only operators (or admins) may do this." }, 403, "not_operator", "Only operators (or admins) may do this."],
    [{ code: "PT409", message: "operator_unavailable", details: "The operator is busy." }, 409, "operator_unavailable", "The operator is busy."],
    [{ code: "PT409", message: "at_capacity", details: "The operator already holds 2 of 2 chats." }, 409, "at_capacity", "The operator already holds 2 of 2 chats."],
    [{ code: "PT404", message: "chat_not_held", details: "The caller does not hold this chat." }, 404, "chat_not_held", "The caller does not hold this chat."],
    [{ code: "PT404", message: "chat_not_found", details: "No such chat." }, 404, "chat_not_found", "No such chat."],
    [{ code: "PT400", message: "invalid_release_reason", details: "Unknown reason." }, 400, "invalid_release_reason", "Unknown reason."],
    [{ code: "PT402", message: "insufficient_credits", details: "Not enough credits for this message." }, 402, "insufficient_credits", "Not enough credits for this message."],
    [{ code: "PT403", message: "not_real_user", details: "Only a real user buys credits." }, 403, "not_real_user", "Only a real user buys credits."],
    [{ code: "PT403", message: "account_inactive", details: "This account is deactivated." }, 403, "account_inactive", "This account is deactivated."],
    [{ code: "PT404", message: "package_not_found", details: "No active credit package has this id." }, 404, "package_not_found", "No active credit package has this id."],
    [{ code: "PT400", message: "email_required", details: "The account needs an email address to pay." }, 400, "email_required", "The account needs an email address to pay."],
    // A code this module has never heard of maps just the same.
    [{ code: "PT418", message: "brand_new_code", details: "Some new refusal." }, 418, "brand_new_code", "Some new refusal."],
    // Without a detail, a generic text for the status.
    [{ code: "PT404", message: "profile_not_found", details: null }, 404, "profile_not_found", "Not found."],
    // The standard SQLSTATEs the spec fixes keep a catalogued message as the code.
    [{ code: "42501", message: "forbidden", details: "An operator may act only for itself." }, 403, "forbidden", "An operator may act only for itself."],
    [{ code: "23514", message: "invalid_status_transition", details: "A chat cannot go from closed to waiting." }, 400, "invalid_status_transition", "A chat cannot go from closed to waiting."],
    // Postgres's and PostgREST's own refusals map by SQLSTATE, with our text.
    [{ code: "42501", message: "permission denied for function start_checkout" }, 403, "forbidden", "You may not do this."],
    [{ code: "42501", message: 'new row violates row-level security policy for table "messages"' }, 403, "forbidden", "You may not do this."],
    [{ code: "23514", message: 'new row for relation "messages" violates check constraint "messages_content_check"', details: "Failing row contains (secret)" }, 400, "invalid_request", "A value in the request is not allowed."],
    [{ code: "22P02", message: 'invalid input syntax for type uuid: "x"' }, 400, "invalid_request", "A value in the request is malformed."],
    [{ code: "22023", message: "invalid parameter" }, 400, "invalid_request", "A value in the request is not valid."],
    [{ code: "PGRST301", message: "JWSError JWSInvalidSignature" }, 401, "unauthorized", "Missing or invalid credentials."],
    [{ code: "PGRST303", message: "JWT expired" }, 401, "unauthorized", "Missing or invalid credentials."],
    // A database that cannot answer now: 503 unavailable, so callers (Paystack) retry.
    ...([
      ["57P01", "terminating connection due to administrator command"],
      ["57P03", "the database system is starting up"],
      ["08006", "connection failure"],
      ["53300", "sorry, too many clients already"],
      ["PGRST001", "Database client error. Retrying the connection."],
      ["PGRST002", "Could not query the database for the schema cache. Retrying."],
      ["PGRST003", "Timed out acquiring connection from connection pool."],
    ] as const).map(([code, message]): [DbError, number, string, string] => [
      { code, message },
      503,
      "unavailable",
      "The service is briefly unavailable. Please try again in a few seconds.",
    ]),
  ];
  it.each(cases)("%o -> %i %s", (dbError, status, code, message) => {
    const mapped = mapDbError(dbError);
    expect(mapped).toBeInstanceOf(ApiError);
    expect(mapped?.status).toBe(status);
    expect(mapped?.code).toBe(code);
    expect(mapped?.message).toBe(message);
  });

  it("never puts SQL text in the client message", () => {
    const mapped = mapDbError({ code: "42501", message: "permission denied for function start_checkout" });
    expect(mapped?.message).not.toContain("start_checkout");
  });

  const unknown: Array<[DbError]> = [
    [{ code: "PGRST202", message: "Could not find the function public.nope" }],
    [{ code: "XX000", message: "unknown_error_code", details: "errors.raise_error('x') names no row" }],
    [{ code: "PT500", message: "sweeper_not_configured", details: "The idle-sweeper target is not configured" }],
    [{ code: "PT404", message: "No such thing, in prose" }],
    [{ code: "P0001", message: "some_plain_raise" }],
    [{ code: "", message: "TypeError: fetch failed" }],
    [{}],
  ];
  it.each(unknown)("%o is not a refusal (internal error)", (dbError) => {
    expect(mapDbError(dbError)).toBeNull();
    expect(toThrowable("rpc x", dbError)).toBeInstanceOf(DatabaseError);
  });
});
