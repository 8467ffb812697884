// CORS as a browser meets it, on every route of the gateway: a preflight carries no key (browsers
// never send credentials with one) and must be answered 2xx with the origin, methods and headers
// supabase-js uses; the real request still needs its key, and its refusal carries
// access-control-allow-origin so that the app can read it. Plain fetch with an Origin header, as
// the browser sends it (tests/browser drives a real one).
import { describe, expect, it } from "vitest";
import { stack } from "../support/stack.ts";

const ORIGIN = "http://localhost:3000";

// What supabase-js sends to the Data API and Auth (postgrest-js: prefer, accept-profile,
// content-profile, x-retry-count; auth-js: x-supabase-api-version; range for ranged reads).
const DATA_HEADERS = [
  "apikey",
  "authorization",
  "content-type",
  "x-client-info",
  "prefer",
  "accept-profile",
  "content-profile",
  "range",
  "x-supabase-api-version",
  "x-retry-count",
];
// What functions.invoke sends (functions-js; x-region when a region is chosen) and what
// supabase-js's canonical CORS list (`@supabase/supabase-js/cors`) names.
const FUNCTION_HEADERS = ["apikey", "authorization", "content-type", "x-client-info", "x-retry-count", "x-region"];

function preflight(path: string, method: string, headers: string[]) {
  return fetch(`${stack.apiUrl}${path}`, {
    method: "OPTIONS",
    headers: {
      origin: ORIGIN,
      "access-control-request-method": method,
      "access-control-request-headers": headers.join(","),
    },
  });
}

/** The CORS answer a browser accepts for `method` with `headers` from ORIGIN. */
function expectAllowed(response: Response, method: string, headers: string[]) {
  expect(response.status, `preflight status ${response.status}`).toBeGreaterThanOrEqual(200);
  expect(response.status).toBeLessThan(300);
  const origin = response.headers.get("access-control-allow-origin");
  expect([ORIGIN, "*"]).toContain(origin);
  const methods = (response.headers.get("access-control-allow-methods") ?? "").toUpperCase().split(/\s*,\s*/);
  expect(methods).toContain(method);
  const allowed = (response.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/\s*,\s*/);
  if (!allowed.includes("*")) {
    for (const header of headers) expect(allowed, `access-control-allow-headers lacks ${header}`).toContain(header);
  }
}

// Route, method the app uses there, headers it sends.
const routes: [string, string, string[]][] = [
  ["/rest/v1/messages?select=*", "GET", DATA_HEADERS],
  ["/rest/v1/messages", "POST", DATA_HEADERS],
  ["/rest/v1/chats?id=eq.c0000000-0000-4000-8000-000000000001", "PATCH", DATA_HEADERS],
  ["/rest/v1/rpc/start_chat", "POST", DATA_HEADERS],
  ["/auth/v1/token?grant_type=password", "POST", DATA_HEADERS],
  ["/auth/v1/user", "GET", DATA_HEADERS],
  ["/auth/v1/user", "PUT", DATA_HEADERS],
  ["/auth/v1/logout?scope=global", "POST", DATA_HEADERS],
  ["/functions/v1/assign-chat", "POST", FUNCTION_HEADERS],
  ["/functions/v1/assign-chat/release", "POST", FUNCTION_HEADERS],
  ["/functions/v1/credits-checkout", "POST", FUNCTION_HEADERS],
  ["/functions/v1/credits-checkout/verify", "POST", FUNCTION_HEADERS],
  ["/functions/v1/admin-accounts", "POST", FUNCTION_HEADERS],
  // The gateway's own refusals: the browser must get past the preflight to read them.
  ["/functions/v1/no-such-function", "POST", FUNCTION_HEADERS],
  ["/no-such-route", "GET", DATA_HEADERS],
];

describe("CORS preflights", () => {
  it.each(routes)("%s (%s) is allowed without a key", async (path, method, headers) => {
    expectAllowed(await preflight(path, method, headers), method, headers);
  });

  it("a preflight with a stale token in it is still allowed (the Data API ignores it)", async () => {
    const response = await fetch(`${stack.apiUrl}/rest/v1/messages`, {
      method: "OPTIONS",
      headers: {
        origin: ORIGIN,
        authorization: "Bearer not-a-token",
        "access-control-request-method": "GET",
        "access-control-request-headers": "apikey,authorization",
      },
    });
    expectAllowed(response, "GET", ["apikey", "authorization"]);
  });
});

describe("requests without a key after the preflight", () => {
  const refused: [string, string][] = [
    ["/rest/v1/messages?select=*", "GET"],
    ["/rest/v1/rpc/start_chat", "POST"],
    ["/auth/v1/user", "GET"],
    ["/auth/v1/token?grant_type=password", "POST"],
  ];

  it.each(refused)("%s (%s) is still 401, readable by the page", async (path, method) => {
    const response = await fetch(`${stack.apiUrl}${path}`, {
      method,
      headers: { origin: ORIGIN, "content-type": "application/json" },
      body: method === "GET" ? undefined : "{}",
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(await response.json()).toMatchObject({ message: "No API key found in request" });
  });

  it("an unknown key is 401 Invalid API key, readable by the page", async () => {
    const response = await fetch(`${stack.apiUrl}/rest/v1/messages?select=*`, {
      headers: { origin: ORIGIN, apikey: "sb_publishable_not_this_project" },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect((await response.json()).message).toBe("Invalid API key");
  });

  it("a function without a token is refused by the function, readable by the page", async () => {
    const response = await fetch(`${stack.functionsUrl}/assign-chat`, {
      method: "POST",
      headers: { origin: ORIGIN, "content-type": "application/json" },
      body: "{}",
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("an unknown function is 404, readable by the page", async () => {
    const response = await fetch(`${stack.functionsUrl}/no-such-function`, { method: "POST", headers: { origin: ORIGIN } });
    expect(response.status).toBe(404);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("with the publishable key the same request goes through, with the origin allowed", async () => {
    const response = await fetch(`${stack.apiUrl}/rest/v1/credit_packages?select=id`, {
      headers: { origin: ORIGIN, apikey: stack.publishableKey },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    // postgrest-js reads the count of a `count: 'exact'` select from Content-Range.
    expect(response.headers.get("access-control-expose-headers")).toMatch(/Content-Range/i);
  });
});
