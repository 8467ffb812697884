// The skeleton every function shares: routes under /<name> (the path Supabase delivers), one log
// line per request, the error shape of errors.ts, CORS for browser callers, and JSON bodies read
// with a size limit and validated with zod.
import { type Context, Hono } from "hono";
import type { z } from "zod";
import { BodyTooLarge, readBodyLimited } from "./body.ts";
import type { Json } from "./database.types.ts";
import { browserCors } from "./cors.ts";
import { ApiError, handleError, handleNotFound } from "./errors.ts";
import { requestLog } from "./log.ts";

/** A hono app serving /<name> and /<name>/..., with logging, errors and (optionally) CORS. */
export function createFunctionApp(name: string, options: { cors: boolean }) {
  const app = new Hono({ strict: false }).basePath(`/${name}`);
  app.use("*", requestLog(name));
  if (options.cors) app.use("*", browserCors());
  app.onError(handleError);
  app.notFound(handleNotFound);
  return app;
}

/** JSON request bodies of browser callers are small. */
export const MAX_JSON_BYTES = 16 * 1024;

/**
 * Reads the body once (413 above the limit), parses it (400 malformed_json) and validates it
 * (400 invalid_request naming the offending fields). An empty body counts as `{}` when
 * `emptyIsObject` is set.
 */
export async function readJson<S extends z.ZodType>(
  c: Context,
  schema: S,
  options: { emptyIsObject?: boolean } = {},
): Promise<z.infer<S>> {
  const raw = await readRaw(c.req.raw, MAX_JSON_BYTES);
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

/** The raw body bytes, or 413 payload_too_large. */
export async function readRaw(
  request: Request,
  limit: number,
): Promise<Uint8Array> {
  try {
    return await readBodyLimited(request, limit);
  } catch (err) {
    if (err instanceof BodyTooLarge) {
      throw new ApiError(
        413,
        "payload_too_large",
        `The request body is larger than ${limit} bytes.`,
      );
    }
    throw err;
  }
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
