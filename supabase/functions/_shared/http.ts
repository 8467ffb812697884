// The skeleton every function shares: routes under /<name> (the path Supabase delivers), one log
// line per request, the error shape of errors.ts, CORS for browser callers, request bodies limited
// in size (hono's bodyLimit) and JSON bodies validated with zod.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import type { Json } from "./database.types.ts";
import { browserCors } from "./cors.ts";
import {
  ApiError,
  errorResponse,
  handleError,
  handleNotFound,
} from "./errors.ts";
import { requestLog } from "./log.ts";
import { buildDocument } from "./openapi.ts";

/**
 * A hono app serving /<name> and /<name>/..., with logging, errors and (optionally) CORS, and its
 * OpenAPI document at GET /<name>/openapi.json (no auth: it documents, it grants nothing; it is
 * registered before any middleware the function adds, such as the webhook's source check).
 */
export function createFunctionApp(
  name: string,
  options: { cors: boolean; description?: string },
) {
  const app = new OpenAPIHono({ strict: false }).basePath(`/${name}`);
  app.use("*", requestLog(name));
  if (options.cors) app.use("*", browserCors());
  app.onError(handleError);
  app.notFound(handleNotFound);
  app.get(
    "/openapi.json",
    (c) => c.json(buildDocument(app, name, options.description ?? name)),
  );
  return app;
}

/** JSON request bodies of browser callers are small. */
export const MAX_JSON_BYTES = 16 * 1024;

/**
 * Refuses a request body above `maxBytes` with 413 payload_too_large before the handler reads it:
 * at once when the declared content-length is larger, and for a chunked body as soon as the bytes
 * read grow past the limit (the rest is never buffered). Put it on every route that reads a body.
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      errorResponse(
        c,
        413,
        "payload_too_large",
        `The request body is larger than ${maxBytes} bytes.`,
      ),
  });
}

/**
 * Reads the body once (behind limitBody), parses it (400 malformed_json) and validates it (400
 * invalid_request naming the offending fields). An empty body counts as `{}` when `emptyIsObject`
 * is set.
 */
export async function readJson<S extends z.ZodType>(
  c: Context,
  schema: S,
  options: { emptyIsObject?: boolean } = {},
): Promise<z.infer<S>> {
  const raw = await readRaw(c);
  let json: unknown;
  if (raw.byteLength === 0 && options.emptyIsObject) {
    json = {};
  } else {
    json = parseJson(raw);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const fields = [
      ...new Set(
        parsed.error.issues.map((issue) => issue.path.join(".") || "body"),
      ),
    ];
    throw new ApiError(
      400,
      "invalid_request",
      `Invalid request: ${
        fields.map((f) => `${f} is missing or invalid`).join("; ")
      }.`,
    );
  }
  return parsed.data;
}

/** The raw body bytes, as received (behind limitBody). */
export async function readRaw(c: Context): Promise<Uint8Array> {
  return new Uint8Array(await c.req.arrayBuffer());
}

/** Strict UTF-8 JSON, or 400 malformed_json. */
export function parseJson(raw: Uint8Array): Json {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch {
    throw new ApiError(
      400,
      "malformed_json",
      "The request body is not valid JSON.",
    );
  }
}
