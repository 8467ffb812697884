// The API gateway of the local stack, in the place of Supabase's Kong and Edge Functions relay:
// one port serving /rest/v1/* (PostgREST) and /functions/v1/<name>/* (the Deno functions server).
// Like the hosted relay, it refuses a function call without a valid JWT when the function has
// verify_jwt = true, before any function code runs.
import { createServer, request } from "node:http";
import { verifyJwt } from "./jwt.mjs";

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function proxy(req, res, target, path) {
  const headers = { ...req.headers, host: `127.0.0.1:${target.port}` };
  headers["x-forwarded-host"] ??= req.headers.host ?? "";
  headers["x-forwarded-proto"] ??= "http";
  const upstream = request(
    { host: "127.0.0.1", port: target.port, method: req.method, path, headers },
    (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.pipe(res);
    },
  );
  upstream.on("error", (error) => {
    if (res.headersSent) return res.destroy(error);
    sendJson(res, 502, { message: `upstream ${target.name} unavailable: ${error.code ?? error.message}` });
  });
  req.pipe(upstream);
}

/**
 * @param {{ port: number, host?: string, jwtSecret: string, postgrestPort: number,
 *   functionsPort: number, functions: Record<string, {verifyJwt: boolean}> }} options
 */
export function startGateway({ port, host = "127.0.0.1", jwtSecret, postgrestPort, functionsPort, functions }) {
  const postgrest = { name: "PostgREST", port: postgrestPort };
  const functionsServer = { name: "Edge Functions", port: functionsPort };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://gateway");
    if (url.pathname === "/rest/v1" || url.pathname === "/rest/v1/") {
      // Like hosted Supabase since 2026: the OpenAPI description of the whole schema (every table
      // and function an API role may touch) is for the service role only.
      const header = req.headers.authorization ?? "";
      const token = /^Bearer\s+(.+)$/i.exec(header)?.[1] ?? req.headers.apikey;
      const claims = typeof token === "string" ? verifyJwt(token, jwtSecret) : null;
      if (!claims) return sendJson(res, 401, { message: "Invalid authentication credentials" });
      if (claims.role !== "service_role") {
        return sendJson(res, 403, { message: "The Data API root (OpenAPI) requires the service_role key" });
      }
    }
    if (url.pathname === "/rest/v1" || url.pathname.startsWith("/rest/v1/")) {
      const rest = url.pathname.slice("/rest/v1".length) || "/";
      return proxy(req, res, postgrest, rest + url.search);
    }
    const fn = /^\/functions\/v1\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (fn) {
      const [, name] = fn;
      const config = functions[name];
      if (!config || config.enabled === false) {
        return sendJson(res, 404, { code: "NOT_FOUND", message: "Requested function was not found" });
      }
      // Browsers send CORS preflights without credentials; the relay lets them through.
      if (config.verifyJwt && req.method !== "OPTIONS") {
        const header = req.headers.authorization ?? "";
        const token = /^Bearer\s+(.+)$/i.exec(header)?.[1];
        if (!token) return sendJson(res, 401, { code: 401, message: "Missing authorization header" });
        if (!verifyJwt(token, jwtSecret)) return sendJson(res, 401, { code: 401, message: "Invalid JWT" });
      }
      return proxy(req, res, functionsServer, url.pathname.slice("/functions/v1".length) + url.search);
    }
    sendJson(res, 404, { message: "no Route matched with those values" });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}
