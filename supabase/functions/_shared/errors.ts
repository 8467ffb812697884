// One way to answer with an error: {"error": {"code": "<snake_case>", "message": "<human text>"}}.
//
// Two kinds of failure: an ApiError is a known refusal whose code and message go to the client;
// anything else is logged with its context and answered with a generic 500, so that no stack
// trace, SQL text or upstream detail ever reaches a response.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export type ErrorBody = { error: { code: string; message: string } };

/** A refusal the client should see: bad input, not allowed, conflict, upstream down. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ApiError";
  }
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** Builds the JSON error response through the context, so middleware headers (CORS) stay on it. */
export function errorResponse(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
): Response {
  return c.json(errorBody(code, message), status);
}

const defaultCodes: Partial<Record<number, [string, string]>> = {
  400: ["bad_request", "The request is not valid."],
  401: ["unauthorized", "Missing or invalid credentials."],
  403: ["forbidden", "You may not do this."],
  404: ["not_found", "Nothing here."],
  405: ["method_not_allowed", "This method is not allowed here."],
  413: ["payload_too_large", "The request body is too large."],
};

/** The app's onError: known refusals keep their code, everything else becomes a logged 500. */
export function handleError(err: Error, c: Context): Response {
  if (err instanceof ApiError) {
    // A 5xx we can name (503 unavailable: the database is down) still tells operators why.
    if (err.status >= 500 && err.cause !== undefined) {
      console.warn(JSON.stringify({
        level: "warn",
        method: c.req.method,
        path: c.req.path,
        code: err.code,
        cause: describeCause(err.cause),
      }));
    }
    return errorResponse(c, err.status, err.code, err.message);
  }
  if (err instanceof HTTPException && err.status < 500) {
    const [code, message] = defaultCodes[err.status] ??
      ["request_refused", "The request was refused."];
    return errorResponse(c, err.status, code, message);
  }
  console.error(JSON.stringify({
    level: "error",
    method: c.req.method,
    path: c.req.path,
    error: err.name,
    message: err.message,
    cause: describeCause(err.cause),
    stack: err.stack,
  }));
  return errorResponse(
    c,
    500,
    "internal_error",
    "Something went wrong on our side. Please try again.",
  );
}

/** The app's notFound: unknown paths answer in the same shape. */
export function handleNotFound(c: Context): Response {
  return errorResponse(c, 404, "not_found", "No such route.");
}

/** For routes that exist with another method. */
export function methodNotAllowed(c: Context, allow: string): Response {
  c.header("Allow", allow);
  return errorResponse(
    c,
    405,
    "method_not_allowed",
    `Use ${allow} for this route.`,
  );
}

function describeCause(cause: unknown): unknown {
  if (cause === undefined || cause === null) return undefined;
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  return cause;
}
