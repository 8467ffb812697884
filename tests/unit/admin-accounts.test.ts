// admin-accounts built in-process with doubles for the Auth admin API and the database: who may
// create staff accounts, what reaches Auth and the tables, how refusals are answered, and the
// compensation when the staff row cannot be written (the Auth user is deleted again; if that fails
// too, the orphan's id is logged).
import type { SupabaseClient } from "@supabase/supabase-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { dbOf } from "../../supabase/functions/_shared/db/mod.ts";
import { loadEnv } from "../../supabase/functions/_shared/env.ts";
import { createApp, envSchema } from "../../supabase/functions/admin-accounts/app.ts";
import { generateSigningKey, signToken, userClaims } from "../support/tokens.ts";

const signingKey = generateSigningKey();
const env = loadEnv(envSchema, {
  SUPABASE_URL: "http://127.0.0.1:9",
  SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: "sb_publishable_unit" }),
  SUPABASE_SECRET_KEYS: JSON.stringify({ default: "sb_secret_unit" }),
  SUPABASE_JWKS: JSON.stringify(signingKey.jwks),
});
const ADMIN = "a0000000-0000-4000-8000-000000000001";
const NEW_USER = "a0000000-0000-4000-8000-0000000000a1";
const jwt = (sub: string) => signToken(userClaims(sub), { jwk: signingKey.jwk });

type Failure = { message: string; code?: string; status?: number } | null;
type Scenario = {
  isAdmin?: boolean;
  createError?: Failure;
  insertError?: Failure;
  auditError?: Failure;
  deleteError?: Failure;
};
type Log = { rpc: string[]; created: unknown[]; inserted: Array<[string, unknown]>; deleted: string[] };

function doubles(scenario: Scenario) {
  const log: Log = { rpc: [], created: [], inserted: [], deleted: [] };
  const forUser = () =>
    ({
      rpc: (fn: string) => {
        log.rpc.push(fn);
        return Promise.resolve({ data: scenario.isAdmin ?? true, error: null });
      },
    }) as unknown as SupabaseClient;
  const service = {
    auth: {
      admin: {
        createUser: (attributes: unknown) => {
          log.created.push(attributes);
          return Promise.resolve(
            scenario.createError
              ? { data: { user: null }, error: scenario.createError }
              : { data: { user: { id: NEW_USER } }, error: null },
          );
        },
        deleteUser: (id: string) => {
          log.deleted.push(id);
          return Promise.resolve({ data: {}, error: scenario.deleteError ?? null });
        },
      },
    },
    from: (table: string) => ({
      insert: (row: unknown) => {
        log.inserted.push([table, row]);
        const error = table === "admin_actions" ? scenario.auditError : scenario.insertError;
        return Promise.resolve({ data: null, error: error ?? null });
      },
    }),
  } as unknown as SupabaseClient;
  return { log, app: createApp(env, { db: dbOf({ forUser, serviceClient: service }) }) };
}

const body = { email: "new.op@fantooo.local", password: "correct horse", role: "operator", name: "New Op" };
const post = (app: ReturnType<typeof createApp>, payload: unknown = body, token: string | null = jwt(ADMIN)) =>
  app.fetch(new Request("http://fn/admin-accounts", {
    method: "POST",
    headers: token ? { authorization: `Bearer ${token}` } : {},
    body: typeof payload === "string" ? payload : JSON.stringify(payload),
  }));

let errors: string[] = [];
beforeAll(() => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  vi.spyOn(console, "error").mockImplementation((line: string) => {
    errors.push(String(line));
  });
});
beforeEach(() => {
  errors = [];
});
afterAll(() => vi.restoreAllMocks());

describe("admin-accounts creates staff accounts", () => {
  const created: Array<[string, "operator" | "admin", string]> = [
    ["an operator", "operator", "operators"],
    ["an admin", "admin", "admins"],
  ];
  it.each(created)("an admin creates %s: the Auth user (confirmed), its row, the audit row", async (_name, role, table) => {
    const { app, log } = doubles({});
    const res = await post(app, { ...body, role });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ user_id: NEW_USER, email: body.email, role, name: body.name });
    expect(log.rpc).toEqual(["is_admin"]);
    expect(log.created).toEqual([{ email: body.email, password: body.password, email_confirm: true }]);
    expect(log.inserted).toEqual([
      [table, { id: NEW_USER, email: body.email, name: body.name }],
      ["admin_actions", {
        admin_id: ADMIN,
        action: `create_${role}`,
        target_type: role,
        target_id: NEW_USER,
        details: { email: body.email, name: body.name },
      }],
    ]);
    expect(log.deleted).toEqual([]);
  });

  it("without a password, none is sent to Auth", async () => {
    const { app, log } = doubles({});
    const { password: _, ...noPassword } = body;
    expect((await post(app, noPassword)).status).toBe(200);
    expect(log.created).toEqual([{ email: body.email, email_confirm: true }]);
  });
});

describe("admin-accounts refuses", () => {
  const refusals: Array<[string, Scenario, unknown, string | null, number, string]> = [
    ["a caller without a token", {}, body, null, 401, "unauthorized"],
    ["a caller with a forged token", {}, body, "not.a.jwt", 401, "unauthorized"],
    ["a signed-in user who is not an admin", { isAdmin: false }, body, jwt(ADMIN), 403, "forbidden"],
    ["malformed JSON", {}, "{nope", jwt(ADMIN), 400, "malformed_json"],
    ["an unknown role", {}, { ...body, role: "superuser" }, jwt(ADMIN), 400, "invalid_request"],
    ["a bad email", {}, { ...body, email: "nobody" }, jwt(ADMIN), 400, "invalid_request"],
    ["a short password", {}, { ...body, password: "short" }, jwt(ADMIN), 400, "invalid_request"],
    ["an empty name", {}, { ...body, name: "  " }, jwt(ADMIN), 400, "invalid_request"],
    ["an unknown field", {}, { ...body, is_active: false }, jwt(ADMIN), 400, "invalid_request"],
    ["an email Auth already has", { createError: { message: "already registered", code: "email_exists", status: 422 } }, body, jwt(ADMIN), 409, "user_already_exists"],
    ["a password Auth finds weak", { createError: { message: "weak", code: "weak_password", status: 422 } }, body, jwt(ADMIN), 400, "weak_password"],
  ];
  it.each(refusals)("%s", async (_name, scenario, payload, token, status, code) => {
    const { app, log } = doubles(scenario);
    const res = await post(app, payload, token);
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code, message: expect.any(String) } });
    expect(log.inserted).toEqual([]);
    expect(log.deleted).toEqual([]);
    if (status !== 409 && code !== "weak_password") expect(log.created).toEqual([]);
  });

  it("a GET is 405", async () => {
    const { app } = doubles({});
    const res = await app.fetch(new Request("http://fn/admin-accounts"));
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
  });

  it("an unexpected Auth failure is a logged 500 with no detail, and nothing is written", async () => {
    const { app, log } = doubles({ createError: { message: "database is down", status: 500 } });
    const res = await post(app);
    expect(res.status).toBe(500);
    expect((await res.json()).error.code).toBe("internal_error");
    expect(log.inserted).toEqual([]);
    expect(errors.join("\n")).toContain("database is down");
  });
});

describe("admin-accounts undoes a half-made account", () => {
  const failures: Array<[string, Scenario]> = [
    ["the staff row", { insertError: { message: "insert refused" } }],
    ["the audit row", { auditError: { message: "audit refused" } }],
  ];
  it.each(failures)("when %s cannot be written, the Auth user is deleted again: 500 account_not_created", async (_name, scenario) => {
    const { app, log } = doubles(scenario);
    const res = await post(app);
    expect(res.status).toBe(500);
    const answer = await res.json();
    expect(answer.error.code).toBe("account_not_created");
    expect(answer.error.message).toMatch(/deleted again/);
    expect(log.deleted).toEqual([NEW_USER]);
  });

  it("when deleting it fails too: 500 account_partially_created, and the log names the orphan", async () => {
    const { app, log } = doubles({ insertError: { message: "insert refused" }, deleteError: { message: "auth down" } });
    const res = await post(app);
    expect(res.status).toBe(500);
    const answer = await res.json();
    expect(answer.error.code).toBe("account_partially_created");
    expect(answer.error.message).toContain(NEW_USER);
    expect(log.deleted).toEqual([NEW_USER]);
    const logged = errors.map((line) => JSON.parse(line));
    expect(logged).toContainEqual(expect.objectContaining({ orphan_user_id: NEW_USER, message: expect.stringContaining(NEW_USER) }));
  });
});

describe("admin-accounts documents itself", () => {
  it("documents the compensation failures among its 500 codes", async () => {
    const { app } = doubles({});
    const res = await app.fetch(new Request("http://fn/admin-accounts/openapi.json"));
    expect(res.status).toBe(200);
    const document = await res.json();
    expect(Object.keys(document.paths)).toEqual(["/admin-accounts"]);
    const codes = document.paths["/admin-accounts"].post.responses["500"].content["application/json"].schema
      .properties.error.properties.code.enum;
    expect(codes).toEqual(expect.arrayContaining(["account_not_created", "account_partially_created", "internal_error"]));
    // The committed copy is checked with the other functions' (tests/unit/openapi.test.ts).
  });
});
