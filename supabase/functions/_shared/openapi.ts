// The functions' OpenAPI documents, built from the same zod schemas the handlers validate with
// (@hono/zod-openapi). Each route is declared once (http.ts `postRoute`) and registered for the
// document only (`documentPost`, called by http.ts `post`): bodies are read through http.ts (size
// limit, malformed_json, invalid_request), because `app.openapi()` would add its own validator and
// a 415 media-type gate that the API does not have. Every error answer has one shape, listed per
// route with the codes it can carry (the SQL codes are those of docs/errors.md that the route's SQL
// functions raise).
import {
  createRoute,
  type OpenAPIHono,
  type RouteConfig,
} from "@hono/zod-openapi";
import { z } from "zod";

/** `{"error": {"code", "message"}}`, with the codes one status can carry. */
export function errorSchema(codes: readonly string[]) {
  return z.object({
    error: z.object({
      code: z.enum(codes as [string, ...string[]]).describe(
        "A snake_case code clients switch on.",
      ),
      message: z.string().describe("Human text; may change."),
    }),
  });
}

/** Codes a route can answer, by status. */
export type ErrorCodes = Partial<Record<number, readonly string[]>>;

/** The codes every POST route shares: method, unexpected failure, the database down. */
export const commonErrors = {
  405: ["method_not_allowed"],
  500: ["internal_error"],
  503: ["unavailable"],
} as const satisfies ErrorCodes;

/** The codes of a route that reads its JSON body (`body.json()` of http.ts `post`). */
export const jsonBodyErrors = {
  400: ["malformed_json", "invalid_request"],
  413: ["payload_too_large"],
} as const satisfies ErrorCodes;

/** Paystack's API failing, as _shared/paystack/client.ts answers it. */
export const paystackErrors = {
  502: [
    "paystack_timeout",
    "paystack_unreachable",
    "paystack_error",
    "paystack_bad_response",
  ],
} as const satisfies ErrorCodes;

/** Merges code lists by status, without duplicates. */
export function errors(...lists: ErrorCodes[]): ErrorCodes {
  const merged: Record<number, string[]> = {};
  for (const list of lists) {
    for (const [status, codes] of Object.entries(list)) {
      const into = merged[Number(status)] ??= [];
      for (const code of codes ?? []) if (!into.includes(code)) into.push(code);
    }
  }
  return merged;
}

function errorResponses(codes: ErrorCodes): RouteConfig["responses"] {
  const responses: RouteConfig["responses"] = {};
  for (const [status, list] of Object.entries(codes)) {
    if (!list || list.length === 0) continue;
    responses[status] = {
      description: list.join(", "),
      content: { "application/json": { schema: errorSchema(list) } },
    };
  }
  return responses;
}

/** How a route authenticates (_shared/auth.ts, paystack/signature.ts). */
export const security: Record<string, Array<Record<string, string[]>>> = {
  /** A signed-in user's access token. */
  user: [{ userAccessToken: [] }],
  /** A secret key (or the legacy service-role key), in `apikey` or as a bearer token. */
  secretKey: [{ secretKey: [] }, { secretKeyBearer: [] }],
  /** Paystack's HMAC-SHA512 of the raw body. */
  paystack: [{ paystackSignature: [] }],
};

const securitySchemes = {
  userAccessToken: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "A user access token from Supabase Auth (ES256/RS256 with a kid, verified against the " +
      "project's JWKS; HS256 only when LEGACY_JWT_SECRET is set).",
  },
  secretKey: {
    type: "apiKey",
    in: "header",
    name: "apikey",
    description:
      "A secret key (any of SUPABASE_SECRET_KEYS) or the legacy service-role key.",
  },
  secretKeyBearer: {
    type: "http",
    scheme: "bearer",
    description: "The same key as `Authorization: Bearer <key>`.",
  },
  paystackSignature: {
    type: "apiKey",
    in: "header",
    name: "x-paystack-signature",
    description:
      "Lowercase hex HMAC-SHA512 of the raw request body, keyed with PAYSTACK_SECRET_KEY.",
  },
} as const;

/** What the document says of a POST route (http.ts `postRoute` declares the rest). */
export type RouteDoc = {
  path: string;
  summary: string;
  description: string;
  security: Array<Record<string, string[]>>;
  /** Its JSON body, when it reads one. */
  body?: z.ZodType;
  /** False when an empty body is accepted (as `{}`). */
  bodyRequired?: boolean;
  headers?: z.ZodObject;
  response: z.ZodType;
  /** Every error code it can answer, by status (405, 500 and 503 are added). */
  errors: ErrorCodes;
};

/** Registers a POST route in the app's document, without adding validation to the route itself. */
export function documentPost(app: OpenAPIHono, route: RouteDoc) {
  app.openAPIRegistry.registerPath(createRoute({
    method: "post",
    path: route.path,
    summary: route.summary,
    description: route.description,
    security: route.security,
    request: {
      ...(route.headers ? { headers: route.headers } : {}),
      ...(route.body
        ? {
          body: {
            required: route.bodyRequired ?? true,
            content: { "application/json": { schema: route.body } },
          },
        }
        : {}),
    },
    responses: {
      200: {
        description: "OK",
        content: { "application/json": { schema: route.response } },
      },
      ...errorResponses(errors(route.errors, commonErrors)),
    },
  }));
}

/** The OpenAPI 3.1 document of one function's app. */
export function buildDocument(
  app: OpenAPIHono,
  name: string,
  description: string,
) {
  const document = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: { title: name, version: "1.0.0", description },
    servers: [
      {
        url: "https://{project_ref}.supabase.co/functions/v1",
        variables: { project_ref: { default: "your-project-ref" } },
      },
      { url: "http://127.0.0.1:54321/functions/v1", description: "npm start" },
    ],
  });
  return {
    ...document,
    components: { ...document.components, securitySchemes },
  };
}
