// HTTP plumbing of the Auth stand-in: GoTrue's error bodies, JSON bodies in and out, CORS.
//
// GoTrue answers errors in one of two shapes, chosen by the `X-Supabase-Api-Version` request
// header (internal/api/errors.go, HandleResponseError):
// - 2024-01-01 or later (what supabase-js sends): `{"code": "<error_code>", "message": "…"}`, and
//   the version is echoed in the response header, which is how auth-js knows to read `code` as
//   the error code (lib/fetch.js, handleError);
// - no header or an unknown one (the initial version): `{"code": <status>, "error_code": "…",
//   "msg": "…"}`.
// A weak password adds `weak_password: {reasons}` to either shape.

const API_VERSION_HEADER = "x-supabase-api-version";
const API_VERSION_2024_01_01 = "2024-01-01";
const MAX_BODY_BYTES = 1024 * 1024;

/** A known refusal, answered with GoTrue's status, error code and message. */
export class AuthError extends Error {
  /**
   * @param {number} status
   * @param {string} code GoTrue's error code (apierrors/errorcode.go)
   * @param {string} message
   * @param {object} [extra] fields GoTrue adds to the body (weak_password)
   */
  constructor(status, code, message, extra = undefined) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

export const badRequest = (code, message) => new AuthError(400, code, message);
export const forbidden = (code, message) => new AuthError(403, code, message);
export const notFound = (code, message) => new AuthError(404, code, message);
export const unprocessable = (code, message) => new AuthError(422, code, message);

/**
 * GoTrue's OAuth-style error (`{"error", "error_description"}`, always 400), which it still
 * uses for a refresh_token grant without a refresh token.
 */
export class OAuthError extends Error {
  constructor(error, description) {
    super(description);
    this.error = error;
    this.description = description;
  }
}

/** The API version the caller asked for, as GoTrue picks it: the newest one not after the date. */
function requestedApiVersion(req) {
  const value = req.headers[API_VERSION_HEADER];
  if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return null;
  const date = Date.parse(`${value}T00:00:00Z`);
  if (Number.isNaN(date)) return null;
  return date >= Date.parse(`${API_VERSION_2024_01_01}T00:00:00Z`) ? API_VERSION_2024_01_01 : null;
}

// Hosted Supabase's gateway answers browsers' CORS for Auth; the local gateway leaves it to us.
const CORS_HEADERS = {
  "access-control-allow-origin": "*",
  "access-control-expose-headers": "X-Total-Count, Link, X-Supabase-Api-Version",
};

export function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...CORS_HEADERS,
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendNoContent(res) {
  res.writeHead(204, CORS_HEADERS);
  res.end();
}

/** A browser's preflight: what supabase-js sends (apikey, authorization, x-client-info, …). */
export function sendPreflight(req, res) {
  res.writeHead(204, {
    ...CORS_HEADERS,
    "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS",
    "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "*",
    "access-control-max-age": "86400",
  });
  res.end();
}

/** Answers an AuthError or OAuthError in the shape the caller's API version expects. */
export function sendError(req, res, error) {
  if (error instanceof OAuthError) {
    return sendJson(res, 400, { error: error.error, error_description: error.description });
  }
  const version = requestedApiVersion(req);
  if (version) {
    return sendJson(
      res,
      error.status,
      { code: error.code, message: error.message, ...error.extra },
      { "x-supabase-api-version": version },
    );
  }
  return sendJson(res, error.status, { code: error.status, error_code: error.code, msg: error.message, ...error.extra });
}

/** The request body, read once. */
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new AuthError(413, "request_timeout", "Request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/**
 * The JSON body checked against a zod schema. Like GoTrue's retrieveRequestParams (Go's
 * json.Unmarshal into a typed struct), malformed JSON and fields of the wrong type are both
 * `400 bad_json`; unknown fields are ignored.
 *
 * @param {{ allowEmpty?: boolean }} [options] allowEmpty: an empty body is `{}` (GoTrue parses
 *   the body of DELETE /admin/users/{id} only when there is one)
 */
export async function readJsonBody(req, schema, { allowEmpty = false } = {}) {
  const text = await readBody(req);
  if (allowEmpty && text.trim() === "") return schema.parse({});
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badRequest("bad_json", `Could not parse request body as JSON: ${error.message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.join(".") || "body";
    throw badRequest("bad_json", `Could not parse request body as JSON: ${field}: ${issue.message}`);
  }
  return parsed.data;
}
