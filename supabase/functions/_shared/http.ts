// The skeleton every function shares: routes under /<name> (the path Supabase delivers), one log
// line per request, the error shape of errors.ts, CORS for browser callers, and each route declared
// once (postRoute) and served by `post`: its OpenAPI entry, its body limited in size (hono's
// bodyLimit) and validated with its own zod schema, 405 for any other method.
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
  methodNotAllowed,
} from "./errors.ts";
import { requestLog } from "./log.ts";
import { buildDocument, documentPost, type RouteDoc } from "./openapi.ts";

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

export type FunctionApp = ReturnType<typeof createFunctionApp>;

/** JSON request bodies of browser callers are small. */
export const MAX_JSON_BYTES = 16 * 1024;

/** A POST route, declared once: what its document says, and how its body is read. */
export type PostRoute<B extends z.ZodType | undefined = z.ZodType | undefined> =
  & RouteDoc
  & {
    /** The JSON body, validated with this schema when the handler reads it (`request.json()`). */
    body?: B;
    /** The largest body accepted (413 above), for a route with a body: MAX_JSON_BYTES unless set. */
    maxBytes?: number;
  };

/** Declares a route (typed by its body schema); `post` serves it. */
export function postRoute<B extends z.ZodType | undefined = undefined>(
  route: PostRoute<B>,
): PostRoute<B> {
  return route;
}

/** What a route's body schema parses to. */
export type BodyOf<B> = B extends z.ZodType ? z.infer<B> : never;

/**
 * The body of a request, read when the handler asks: after it has authenticated the caller, so
 * that a request without credentials is 401 whatever its body.
 */
export type RouteBody<B extends z.ZodType | undefined> = {
  /**
   * The JSON body validated with the route's schema: 400 malformed_json, 400 invalid_request
   * naming the offending fields; an empty body counts as `{}` when the route's body is optional.
   */
  json(): Promise<BodyOf<B>>;
  /** The raw bytes, as received (the webhook checks its signature on them). */
  raw(): Promise<Uint8Array>;
};

/**
 * Serves a declared route: registers its document entry, limits the body of a route that has one
 * (limitBody), hands the handler the body reader for the route's own schema, and answers any other
 * method on the path 405 method_not_allowed.
 */
export function post<B extends z.ZodType | undefined>(
  app: FunctionApp,
  route: PostRoute<B>,
  handler: (
    c: Context,
    body: RouteBody<B>,
  ) => Response | Promise<Response>,
) {
  documentPost(app, route);
  const schema = route.body;
  const serve = (c: Context) =>
    handler(c, {
      json: () =>
        schema
          ? readJson(c, schema, {
            emptyIsObject: route.bodyRequired === false,
          }) as Promise<BodyOf<B>>
          : Promise.reject(new Error(`${route.path} declares no body`)),
      raw: () => readRaw(c),
    });
  if (schema) {
    app.post(route.path, limitBody(route.maxBytes ?? MAX_JSON_BYTES), serve);
  } else {
    app.post(route.path, serve);
  }
  app.all(route.path, (c) => methodNotAllowed(c, "POST"));
}

/**
 * Refuses a request body above `maxBytes` with 413 payload_too_large before the handler reads it:
 * at once when the declared content-length is larger, and for a chunked body as soon as the bytes
 * read grow past the limit (the rest is never buffered). `post` puts it on every route with a body.
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
