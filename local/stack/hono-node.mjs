// Serving a hono app from node:http, for the stand-ins that listen on a port of their own (the
// fake Paystack). What @hono/node-server does, reduced to what the stand-ins need: the request
// becomes a fetch Request, the app's Response is written back with the status and headers it
// names, and the app sees the Node request and response as `c.env.incoming` / `c.env.outgoing`
// (the names @hono/node-server gives them) for what a Response cannot say (never answering,
// the raw request headers).
import { createServer } from "node:http";

/** A Request for a Node request; the body (not for GET or HEAD, which cannot carry one) is read whole. */
export async function toRequest(incoming, base = "http://127.0.0.1") {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (Array.isArray(value)) for (const one of value) headers.append(name, one);
    else if (value !== undefined) headers.set(name, value);
  }
  const method = incoming.method ?? "GET";
  const body = method === "GET" || method === "HEAD" ? undefined : await readAll(incoming);
  return new Request(new URL(incoming.url ?? "/", base), { method, headers, body });
}

/** Writes `response` to the Node response, unless it was answered (or abandoned) already. */
export async function writeResponse(outgoing, response) {
  if (outgoing.destroyed || outgoing.writableEnded || outgoing.headersSent) return;
  const body = Buffer.from(await response.arrayBuffer());
  outgoing.writeHead(response.status, Object.fromEntries(response.headers));
  if (body.length) outgoing.end(body);
  else outgoing.end();
}

/**
 * Listens on `host`:`port` (0: any free port) with `app`. Resolves with the node:http server once
 * it listens.
 */
export async function serveApp(app, { port = 0, host = "127.0.0.1" } = {}) {
  const server = createServer(async (incoming, outgoing) => {
    try {
      const response = await app.fetch(await toRequest(incoming), { incoming, outgoing });
      await writeResponse(outgoing, response);
    } catch {
      outgoing.destroy();
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return server;
}

function readAll(incoming) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    incoming.on("data", (chunk) => chunks.push(chunk));
    incoming.on("end", () => resolve(Buffer.concat(chunks)));
    incoming.on("error", reject);
  });
}
