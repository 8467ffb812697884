import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ApiError } from "../../supabase/functions/_shared/errors.ts";
import { createFunctionApp, limitBody, post as serveRoute, postRoute, readRaw } from "../../supabase/functions/_shared/http.ts";

// A route as the functions declare theirs: hono's bodyLimit in front, then the body read once.
const app = createFunctionApp("limited", { cors: false });
app.post("/", limitBody(64), async (c) => c.json({ bytes: (await readRaw(c)).byteLength }));

const post = (body: BodyInit | null, headers: Record<string, string> = {}) =>
  app.fetch(new Request("http://x/limited", { method: "POST", body, headers, duplex: "half" } as RequestInit));

function streamOf(chunks: number, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent++ < chunks) controller.enqueue(new Uint8Array(size));
      else controller.close();
    },
  });
}

describe("limitBody and readRaw", () => {
  const cases: Array<[string, () => Promise<Response>, number | "too large"]> = [
    ["reads a small body", () => post("hello"), 5],
    ["reads a body of exactly the limit", () => post("x".repeat(64)), 64],
    ["reads an empty body", () => post(null), 0],
    ["refuses a declared content-length above the limit", () => post("x", { "content-length": "65" }), "too large"],
    ["refuses a body above the limit", () => post("x".repeat(65)), "too large"],
    ["refuses a chunked stream that grows above the limit", () => post(streamOf(5, 20)), "too large"],
    ["reads a chunked stream under the limit", () => post(streamOf(3, 20)), 60],
  ];
  it.each(cases)("%s", async (_name, request, expected) => {
    const response = await request();
    if (expected === "too large") {
      expect(response.status).toBe(413);
      expect(await response.json()).toEqual({
        error: { code: "payload_too_large", message: "The request body is larger than 64 bytes." },
      });
    } else {
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ bytes: expected });
    }
  });

  it("stops reading a chunked body at the first chunk past the limit", async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(20));
      },
    });
    const response = await post(endless);
    expect(response.status).toBe(413);
    expect(pulled).toBeLessThan(10);
  });
});

describe("post: one declaration per route", () => {
  const echo = postRoute({
    path: "/echo",
    summary: "Echo",
    description: "Answers the validated body.",
    security: [],
    body: z.object({ n: z.number().int() }),
    maxBytes: 32,
    response: z.object({ n: z.number() }),
    errors: { 400: ["malformed_json", "invalid_request"], 401: ["unauthorized"], 413: ["payload_too_large"] },
  });
  const optional = postRoute({
    path: "/",
    summary: "Optional body",
    description: "An empty body is {}.",
    security: [],
    body: z.object({}).strict(),
    bodyRequired: false,
    response: z.object({}),
    errors: {},
  });
  const bare = postRoute({
    path: "/bare",
    summary: "No body",
    description: "Never reads one.",
    security: [],
    response: z.object({ ok: z.boolean() }),
    errors: {},
  });
  const app = createFunctionApp("routes", { cors: false });
  serveRoute(app, optional, async (c, body) => c.json(await body.json()));
  serveRoute(app, echo, async (c, body) => {
    // The handler authenticates before it asks for the body.
    if (c.req.header("authorization") !== "yes") throw new ApiError(401, "unauthorized", "No.");
    return c.json(await body.json());
  });
  serveRoute(app, bare, (c) => c.json({ ok: true }));

  const call = (path: string, init: RequestInit = {}) =>
    Promise.resolve(app.fetch(new Request(`http://x/routes${path}`, { method: "POST", ...init })));
  const yes = { authorization: "yes" };

  const cases: Array<[string, () => Promise<Response>, number, unknown]> = [
    ["a valid body reaches the handler, parsed with the route's schema", () => call("/echo", { headers: yes, body: '{"n":7}' }), 200, { n: 7 }],
    ["a body the schema refuses is 400 invalid_request naming the field", () => call("/echo", { headers: yes, body: '{"n":"7"}' }), 400,
      { error: { code: "invalid_request", message: "Invalid request: n is missing or invalid." } }],
    ["malformed JSON is 400 malformed_json", () => call("/echo", { headers: yes, body: "{n" }), 400,
      { error: { code: "malformed_json", message: "The request body is not valid JSON." } }],
    ["a body over the route's maxBytes is 413", () => call("/echo", { headers: yes, body: `{"n":${"1".repeat(40)}}` }), 413,
      { error: { code: "payload_too_large", message: "The request body is larger than 32 bytes." } }],
    ["the handler's refusal comes before the body is read", () => call("/echo", { body: "{n" }), 401, { error: { code: "unauthorized", message: "No." } }],
    ["an empty body is {} when the body is optional", () => call("/"), 200, {}],
    ["an optional body is still validated", () => call("/", { body: '{"x":1}' }), 400,
      { error: { code: "invalid_request", message: "Invalid request: body is missing or invalid." } }],
    ["a route without a body ignores what is sent", () => call("/bare", { body: "not json" }), 200, { ok: true }],
    ["another method is 405", () => call("/echo", { method: "GET" }), 405,
      { error: { code: "method_not_allowed", message: "Use POST for this route." } }],
    ["an unknown path is still 404", () => call("/other"), 404, { error: { code: "not_found", message: "No such route." } }],
  ];
  it.each(cases)("%s", async (_name, request, status, body) => {
    const response = await request();
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual(body);
    if (status === 405) expect(response.headers.get("allow")).toBe("POST");
  });

  it("registers each route in the app's OpenAPI document, with 405 among its answers", async () => {
    const document = await (await app.fetch(new Request("http://x/routes/openapi.json"))).json();
    expect(Object.keys(document.paths)).toEqual(["/routes", "/routes/echo", "/routes/bare"]);
    expect(document.paths["/routes/echo"].post.requestBody.required).toBe(true);
    expect(document.paths["/routes"].post.requestBody.required).toBe(false);
    expect(document.paths["/routes/bare"].post.requestBody).toBeUndefined();
    expect(Object.keys(document.paths["/routes/echo"].post.responses)).toEqual(["200", "400", "401", "405", "413", "500", "503"]);
  });
});
