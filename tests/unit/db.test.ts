// The one seam from a function to SQL (supabase/functions/_shared/db/mod.ts): createDb decides,
// from the function's environment alone, whether calls go over a direct Postgres connection or
// through the Data API, and either way an app sees the same validated `rpc(name, args, as)`.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createDb, dbOf } from "../../supabase/functions/_shared/db/mod.ts";
import { DatabaseError } from "../../supabase/functions/_shared/db-errors.ts";
import { ApiError } from "../../supabase/functions/_shared/errors.ts";

const caller = { token: "token-a", claims: { sub: "u1", role: "authenticated" } };
// Nothing listens on port 1: a direct call fails at once with ECONNREFUSED, i.e. 503 unavailable.
const NOWHERE = "postgresql://postgres:pw@127.0.0.1:1/postgres";

let dataApi = "";
const seen: string[] = [];
const server = createServer((req, res) => {
  seen.push(`${req.url} ${req.headers.authorization}`);
  res.writeHead(200, { "content-type": "application/json" }).end("true");
});
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  dataApi = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const keys = { SUPABASE_PUBLISHABLE_KEYS: { default: "sb_publishable_unit" }, SUPABASE_SECRET_KEYS: { default: "sb_secret_unit" } };

describe("createDb chooses the way to SQL from the environment", () => {
  it("without a connection string, calls go through the Data API with the caller's token", async () => {
    seen.length = 0;
    const db = createDb({ SUPABASE_URL: dataApi, ...keys });
    expect(await db.forUser(caller).rpc("is_admin", {}, z.boolean())).toBe(true);
    expect(seen).toEqual(["/rest/v1/rpc/is_admin Bearer token-a"]);
  });

  it("with FUNCTIONS_DB=data-api, calls go through the Data API whatever connection string is set", async () => {
    seen.length = 0;
    const db = createDb({ SUPABASE_URL: dataApi, ...keys, SUPABASE_DB_URL: NOWHERE, FUNCTIONS_DB: "data-api" });
    expect(await db.service.rpc("is_admin", {}, z.boolean())).toBe(true);
    expect(seen).toEqual(["/rest/v1/rpc/is_admin Bearer sb_secret_unit"]);
  });

  it.each([
    ["SUPABASE_DB_URL", { SUPABASE_DB_URL: NOWHERE }],
    ["FUNCTIONS_DB_URL over SUPABASE_DB_URL", { SUPABASE_DB_URL: "postgresql://elsewhere.invalid/db", FUNCTIONS_DB_URL: NOWHERE }],
  ])("with %s, calls go over the direct connection (here: none, so 503 unavailable)", async (_name, extra) => {
    seen.length = 0;
    const db = createDb({ SUPABASE_URL: dataApi, ...keys, ...extra, FUNCTIONS_DB_POOL_SIZE: 1 });
    const refused = await db.forUser(caller).rpc("is_admin", {}, z.boolean()).catch((e) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 503, code: "unavailable" });
    expect(seen).toEqual([]);
  });

  it("builds a Data API client only for the key a function holds", () => {
    const db = createDb({ SUPABASE_URL: dataApi, SUPABASE_SECRET_KEYS: keys.SUPABASE_SECRET_KEYS });
    expect(() => db.forUser(caller)).toThrow("no publishable or anon key configured");
    expect(db.serviceClient).toBe(db.serviceClient); // made once
  });
});

describe("rpc(name, args, as)", () => {
  const over = (answer: { data: unknown; error: unknown }) =>
    dbOf({ service: { rpc: () => Promise.resolve(answer) } as never }).service;

  it("returns the answer parsed with the schema", async () => {
    expect(await over({ data: { n: 1, extra: true }, error: null }).rpc("sweep_idle_chats", {}, z.object({ n: z.number() }))).toEqual({ n: 1 });
  });
  it("a catalogued SQL refusal is its ApiError", async () => {
    const error = { code: "PT404", message: "chat_not_held", details: "Not yours." };
    await expect(over({ data: null, error }).rpc("sweep_idle_chats", {}, z.unknown())).rejects.toMatchObject({ status: 404, code: "chat_not_held", message: "Not yours." });
  });
  it("an answer of another shape is a DatabaseError (a logged 500)", async () => {
    await expect(over({ data: "x", error: null }).rpc("sweep_idle_chats", {}, z.number())).rejects.toBeInstanceOf(DatabaseError);
  });
  it("a Db without a part says which when it is used", () => {
    expect(() => dbOf({}).service).toThrow("this function's Db has no service-role transport");
    expect(() => dbOf({}).forUser(caller)).toThrow("this function's Db has no user client");
  });
});
