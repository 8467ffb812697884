// The API gateway of the local stack, in the place of hosted Supabase's API gateway and Edge
// Functions relay: one port serving /rest/v1/* (PostgREST), /auth/v1/* (the Auth stand-in),
// /functions/v1/<name>/* (the Deno functions server) and the websocket /realtime/v1/websocket (the
// local Realtime server: the key is checked here, then the upgrade is proxied to its port).
//
// Keys are treated as the hosted gateway treats them (docs/rules.md):
// - the key comes from the `apikey` header (or `?apikey=`, which is not passed on to PostgREST),
//   else from `Authorization: Bearer`, which must then be a key or a token this project signed;
// - a publishable key (`sb_publishable_…`) acts as `anon` and a secret key (`sb_secret_…`) as
//   `service_role`: the gateway sends PostgREST and Auth a short-lived JWT of that role, signed
//   with the project's signing key, unless the caller also sent a user's access token, which is
//   passed on as it is (PostgREST verifies it against the JWKS);
// - the legacy anon/service_role JWT keys work while the legacy secret is not revoked;
// - an unknown key, or no key at all, is 401 before anything runs, and so is a secret key sent by a
//   browser (hosted Supabase tells browsers by their User-Agent).
// Edge Functions get the request as it came (their own code authenticates, verify_jwt = false);
// a function with verify_jwt = true is refused without a valid JWT, as the relay does.
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, request, STATUS_CODES } from "node:http";
import { bearerToken, signAccessToken, verifyToken } from "./keys.mjs";

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    // The gateway's own refusals must be readable by a browser app, as the hosted gateway's are.
    "access-control-allow-origin": "*",
  });
  res.end(text);
}

/**
 * A browser's CORS preflight for a route the gateway itself refuses (an unknown function, no
 * route): allowed, so that the browser goes on to read the refusal's body instead of failing on
 * the preflight. The routes it serves leave preflights to what is behind them (PostgREST, the
 * Auth stand-in, the function), none of which needs a key for them.
 */
function sendPreflight(req, res) {
  res.writeHead(204, {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD",
    "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "*",
    "access-control-max-age": "86400",
  });
  res.end();
}

/**
 * The query string without `apikey` (as hosted Supabase's gateway hides the key it checked):
 * PostgREST would read it as a filter on a column named apikey, answer 400 and log the key. The
 * other parameters stay byte for byte as they came.
 */
export function searchWithoutApikey(search) {
  const kept = search.replace(/^\?/, "").split("&").filter((part) => {
    if (part === "") return false;
    const name = part.split("=")[0].replace(/\+/g, " ");
    try {
      return decodeURIComponent(name) !== "apikey";
    } catch {
      return true;
    }
  });
  return kept.length ? `?${kept.join("&")}` : "";
}

function proxy(req, res, target, path, headerOverrides = {}) {
  const headers = { ...req.headers, ...headerOverrides, host: `127.0.0.1:${target.port}` };
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

const bearer = bearerToken;

/** Constant-time comparison of two keys (their SHA-256 digests, so lengths leak nothing). */
function sameKey(given, expected) {
  const digest = (value) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Resolves the credentials of a Data API or Auth request the way the hosted gateway does.
 * Returns `{ role, authorization }` (the Authorization header to send upstream) or
 * `{ status, body }` for a refusal.
 */
export function createKeyResolver(keys) {
  const roleTokens = new Map(); // role -> { token, renewAt }
  const verifiedJwtKeys = new Map(); // legacy JWT key -> claims (a handful of distinct keys)

  async function roleToken(role) {
    const cached = roleTokens.get(role);
    if (cached && cached.renewAt > Date.now()) return cached.token;
    const iat = Math.floor(Date.now() / 1000);
    const token = await signAccessToken(keys, { iss: "supabase", role, iat, exp: iat + 3600 });
    roleTokens.set(role, { token, renewAt: Date.now() + 30 * 60 * 1000 });
    return token;
  }

  /** The claims of a JWT this project signed (legacy anon/service_role keys are cached), or null. */
  async function jwtClaims(token) {
    const cached = verifiedJwtKeys.get(token);
    if (cached && (typeof cached.exp !== "number" || cached.exp * 1000 > Date.now())) return cached;
    const claims = await verifyToken(keys, token);
    if (claims && (claims.role === "anon" || claims.role === "service_role")) {
      if (verifiedJwtKeys.size > 100) verifiedJwtKeys.clear();
      verifiedJwtKeys.set(token, claims);
    }
    return claims;
  }

  /** The claims of a legacy anon or service_role JWT key, or null. */
  async function legacyKeyClaims(key) {
    const claims = await jwtClaims(key);
    return claims && (claims.role === "anon" || claims.role === "service_role") ? claims : null;
  }

  const invalidKey = {
    status: 401,
    body: { message: "Invalid API key", hint: "Double check your Supabase `anon` or `service_role` API key." },
  };

  return async function resolve(headers, query = new URLSearchParams()) {
    const authToken = bearer(headers.authorization);
    const apikey = (typeof headers.apikey === "string" && headers.apikey !== "" ? headers.apikey : null) ??
      (query.get("apikey") || null);
    const key = apikey ?? authToken;
    if (!key) {
      return {
        status: 401,
        body: { message: "No API key found in request", hint: "No `apikey` request header or url param was found." },
      };
    }
    let role;
    if (key.startsWith("sb_")) {
      if (keys.publishableKey && sameKey(key, keys.publishableKey)) role = "anon";
      else if (keys.secretKey && sameKey(key, keys.secretKey)) role = "service_role";
      else return invalidKey;
      if (role === "service_role" && /^Mozilla\//.test(headers["user-agent"] ?? "")) {
        return {
          status: 401,
          body: { message: "Forbidden use of secret API key in browser", hint: "Secret keys are for servers only." },
        };
      }
    } else if (apikey) {
      const claims = await legacyKeyClaims(apikey);
      if (!claims) return invalidKey;
      role = claims.role;
    } else {
      // Only a bearer JWT: a legacy key or a user's token, which must be one this project signed.
      const claims = await jwtClaims(authToken);
      if (!claims) return invalidKey;
      return { role: claims.role ?? null, authorization: `Bearer ${authToken}` };
    }
    // A user's token beside the key is passed on; an API key in Authorization is replaced.
    if (authToken && authToken !== key && !authToken.startsWith("sb_")) {
      return { role, authorization: `Bearer ${authToken}` };
    }
    const upstream = key.startsWith("sb_") ? await roleToken(role) : key;
    return { role, authorization: `Bearer ${upstream}` };
  };
}

/** An HTTP response written on a socket whose upgrade is refused. */
function refuseUpgrade(socket, status, body) {
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  );
}

/** Proxies a websocket upgrade to 127.0.0.1:port and then pipes the two sockets together. */
function proxyUpgrade(req, socket, head, port) {
  const upstream = request({
    host: "127.0.0.1",
    port,
    method: req.method,
    path: req.url,
    headers: { ...req.headers, host: `127.0.0.1:${port}` },
  });
  const statusAndHeaders = (res) =>
    `HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? STATUS_CODES[res.statusCode]}\r\n` +
    res.rawHeaders.reduce((lines, value, i) => (i % 2 ? `${lines}${res.rawHeaders[i - 1]}: ${value}\r\n` : lines), "") +
    "\r\n";
  upstream.on("upgrade", (res, upstreamSocket, upstreamHead) => {
    socket.write(statusAndHeaders(res));
    if (upstreamHead.length) socket.write(upstreamHead);
    if (head.length) upstreamSocket.write(head);
    upstreamSocket.on("error", () => socket.destroy());
    socket.on("error", () => upstreamSocket.destroy());
    upstreamSocket.pipe(socket).pipe(upstreamSocket);
  });
  upstream.on("response", (res) => {
    socket.write(statusAndHeaders(res));
    res.pipe(socket);
  });
  upstream.on("error", (error) => {
    refuseUpgrade(socket, 502, { message: `upstream Realtime unavailable: ${error.code ?? error.message}` });
  });
  socket.on("error", () => upstream.destroy());
  upstream.end();
}

/**
 * @param {{ port: number, host?: string, keys: object, postgrestPort: number,
 *   functionsPort: number, functions: Record<string, {verifyJwt: boolean, enabled?: boolean}>,
 *   auth?: { handle(req, res, path: string): Promise<void> }, realtimePort?: number }} options
 */
export function startGateway(
  { port, host = "127.0.0.1", keys, postgrestPort, functionsPort, functions, auth, realtimePort },
) {
  const postgrest = { name: "PostgREST", port: postgrestPort };
  const functionsServer = { name: "Edge Functions", port: functionsPort };
  const resolveKey = createKeyResolver(keys);

  async function route(req, res) {
    const url = new URL(req.url ?? "/", "http://gateway");
    const path = url.pathname;

    if (path === "/rest/v1" || path.startsWith("/rest/v1/")) {
      // A browser's CORS preflight carries no key: hosted Supabase answers it without one, and so
      // does PostgREST (allow-origin *, the requested headers, its methods). The real request
      // that follows still needs its key.
      if (req.method === "OPTIONS") {
        const { authorization: _dropped, ...headers } = req.headers;
        req.headers = headers;
        return proxy(req, res, postgrest, (path.slice("/rest/v1".length) || "/") + url.search);
      }
      const resolved = await resolveKey(req.headers, url.searchParams);
      if (resolved.status) return sendJson(res, resolved.status, resolved.body);
      if (path === "/rest/v1" || path === "/rest/v1/") {
        // Like hosted Supabase since 2026: the OpenAPI description of the whole schema (every table
        // and function an API role may touch) is for the service role only.
        const claims = await verifyToken(keys, bearer(resolved.authorization) ?? "");
        if (!claims) return sendJson(res, 401, { message: "Invalid authentication credentials" });
        if (claims.role !== "service_role") {
          return sendJson(res, 403, { message: "The Data API root (OpenAPI) requires the service_role key" });
        }
      }
      const rest = path.slice("/rest/v1".length) || "/";
      return proxy(req, res, postgrest, rest + searchWithoutApikey(url.search), { authorization: resolved.authorization });
    }

    if (path === "/auth/v1" || path.startsWith("/auth/v1/")) {
      if (!auth) return sendJson(res, 404, { message: "no Route matched with those values" });
      const sub = path.slice("/auth/v1".length) || "/";
      // The signing keys are public: anyone may fetch them to verify tokens. The links in Auth's
      // emails (GET /verify) and the OAuth redirects are opened by a browser without a key, so the
      // hosted gateway lets them through too (Kong's auth-v1-open routes).
      const open = sub === "/.well-known/jwks.json" ||
        (req.method === "GET" && ["/verify", "/callback", "/authorize"].includes(sub.replace(/\/+$/, "")));
      if (!open && req.method !== "OPTIONS") {
        const resolved = await resolveKey(req.headers, url.searchParams);
        if (resolved.status) return sendJson(res, resolved.status, resolved.body);
        req.headers.authorization = resolved.authorization;
      }
      return auth.handle(req, res, sub + url.search);
    }

    // The local inbox where the Auth stand-in delivers its emails (MAILPIT_URL): no key, as
    // Mailpit under `supabase start` asks none.
    if (path === "/inbox" || path.startsWith("/inbox/")) {
      if (!auth?.inbox) return sendJson(res, 404, { message: "no Route matched with those values" });
      return auth.inbox.handle(req, res, (path.slice("/inbox".length) || "/") + url.search);
    }

    const fn = /^\/functions\/v1\/([^/]+)(\/.*)?$/.exec(path);
    if (fn) {
      const config = functions[fn[1]];
      if (!config || config.enabled === false) {
        if (req.method === "OPTIONS") return sendPreflight(req, res);
        return sendJson(res, 404, { code: "NOT_FOUND", message: "Requested function was not found" });
      }
      // Browsers send CORS preflights without credentials; the relay lets them through.
      if (config.verifyJwt && req.method !== "OPTIONS") {
        const token = bearer(req.headers.authorization);
        if (!token) return sendJson(res, 401, { code: 401, message: "Missing authorization header" });
        if (!(await verifyToken(keys, token))) return sendJson(res, 401, { code: 401, message: "Invalid JWT" });
      }
      return proxy(req, res, functionsServer, path.slice("/functions/v1".length) + url.search);
    }
    if (req.method === "OPTIONS") return sendPreflight(req, res);
    sendJson(res, 404, { message: "no Route matched with those values" });
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error) => {
      if (res.headersSent) return res.destroy(error);
      sendJson(res, 500, { message: `gateway error: ${error.message}` });
    });
  });
  // Realtime: like the REST routes, no key or an unknown one is refused (401, hosted's body) before
  // the upgrade reaches the Realtime server, which reads the key from `apikey` again for its role.
  // Upgraded sockets are no longer the HTTP server's: closing all connections closes them too.
  const upgraded = new Set();
  const closeHttpConnections = server.closeAllConnections.bind(server);
  server.closeAllConnections = () => {
    closeHttpConnections();
    for (const socket of upgraded) socket.destroy();
  };
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://gateway");
    if (!realtimePort || !/^\/realtime\/v1\/websocket\/?$/.test(url.pathname)) {
      return refuseUpgrade(socket, 404, { message: "no Route matched with those values" });
    }
    resolveKey(req.headers, url.searchParams).then((resolved) => {
      if (resolved.status) return refuseUpgrade(socket, resolved.status, resolved.body);
      upgraded.add(socket);
      socket.once("close", () => upgraded.delete(socket));
      proxyUpgrade(req, socket, head, realtimePort);
    }, () => refuseUpgrade(socket, 500, { message: "gateway error" }));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}
