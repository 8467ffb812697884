import { describe, expect, it } from "vitest";
import { DatabaseError, mapDbError, toThrowable } from "../../supabase/functions/_shared/db-errors.ts";
import { ApiError } from "../../supabase/functions/_shared/errors.ts";

describe("mapDbError turns SQL refusals into API errors", () => {
  const cases: Array<[{ code?: string; message?: string }, number, string]> = [
    [{ code: "PT403", message: "not_operator" }, 403, "not_operator"],
    [{ code: "PT409", message: "operator_unavailable" }, 409, "operator_unavailable"],
    [{ code: "PT409", message: "at_capacity" }, 409, "at_capacity"],
    [{ code: "PT404", message: "chat_not_held" }, 404, "chat_not_held"],
    [{ code: "PT404", message: "chat_not_found" }, 404, "chat_not_found"],
    [{ code: "22023", message: "invalid_release_reason" }, 400, "invalid_release_reason"],
    [{ code: "42501", message: "forbidden" }, 403, "forbidden"],
    [{ code: "PT402", message: "insufficient_credits" }, 402, "insufficient_credits"],
    [{ code: "42501", message: "not_real_user" }, 403, "not_real_user"],
    [{ code: "42501", message: "account_inactive" }, 403, "account_inactive"],
    [{ code: "P0002", message: "package_not_found" }, 404, "package_not_found"],
    // By SQLSTATE when the message is not a code we know.
    [{ code: "42501", message: "permission denied for function start_checkout" }, 403, "forbidden"],
    [{ code: "22P02", message: 'invalid input syntax for type uuid: "x"' }, 400, "invalid_request"],
    [{ code: "PGRST301", message: "JWSError JWSInvalidSignature" }, 401, "unauthorized"],
  ];
  it.each(cases)("%o -> %i %s", (dbError, status, code) => {
    const mapped = mapDbError(dbError);
    expect(mapped).toBeInstanceOf(ApiError);
    expect(mapped?.status).toBe(status);
    expect(mapped?.code).toBe(code);
  });

  it("never puts SQL text in the client message", () => {
    const mapped = mapDbError({ code: "42501", message: "permission denied for function start_checkout" });
    expect(mapped?.message).not.toContain("start_checkout");
  });

  const unknown: Array<[{ code?: string; message?: string }]> = [
    [{ code: "08006", message: "connection failure" }],
    [{ code: "PGRST202", message: "Could not find the function public.nope" }],
    [{ code: "", message: "TypeError: fetch failed" }],
    [{}],
  ];
  it.each(unknown)("%o is not a refusal (internal error)", (dbError) => {
    expect(mapDbError(dbError)).toBeNull();
    expect(toThrowable("rpc x", dbError)).toBeInstanceOf(DatabaseError);
  });
});
