// The docs are what the stack answers: every RPC that docs/data-api.md lists and every route that
// docs/functions.md lists is called once over HTTP, as a frontend would, and the answer must match
// the page: a documented refusal has the code and the HTTP status docs/errors.md gives it (401
// instead of 403 for a 42501 without a signed-in user, as data-api.md says), a parameter with a
// default may be left out, and a jsonb answer has exactly the fields docs/rpc-answers.json declares.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessToken, closeDb, db, stack } from "../support/stack.ts";

const root = join(import.meta.dirname, "..", "..");
const read = (path: string) => readFileSync(join(root, path), "utf8");
const dataApi = read("docs/data-api.md");
const functionsPage = read("docs/functions.md");
const answers: Record<string, { answer?: unknown }> = JSON.parse(read("docs/rpc-answers.json"));

/** code -> HTTP status, from the table of docs/errors.md. */
const errorStatus = new Map(
  [...read("docs/errors.md").matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| `([0-9A-Z]{5})` \|/gm)].map((m) => [m[1], Number(m[2])]),
);

/** name -> its parameters (name, required), from the `### Function` sections of data-api.md. */
function documentedFunctions(): Map<string, { name: string; required: boolean }[]> {
  const functions = new Map<string, { name: string; required: boolean }[]>();
  for (const section of dataApi.split(/^### Function `/m).slice(1)) {
    const name = section.slice(0, section.indexOf("`"));
    const params = [...section.matchAll(/^\| `(p_[a-z_0-9]+)` \| [^|]+ \| (.+) \|$/gm)]
      .map((m) => ({ name: m[1], required: m[2] === "**required**" }));
    functions.set(name, params);
  }
  return functions;
}

const SEED = {
  admin: "55555555-5555-4555-8555-555555555555",
  olivia: "33333333-3333-4333-8333-333333333333",
  oscar: "44444444-4444-4444-8444-444444444444",
  alice: "11111111-1111-4111-8111-111111111111",
  waitingChat: "c0000000-0000-4000-8000-000000000002",
  starterPackage: "e0000000-0000-4000-8000-000000000001",
};
const ruth = randomUUID(); // a real user of this file's own, so the seed's users keep their credits
const nowhere = "f0000000-0000-4000-8000-00000000dead";

type Caller = "anon" | "service" | string;

async function call(url: string, as: Caller, body: unknown): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (as === "service") headers.apikey = stack.secretKey;
  else {
    headers.apikey = stack.publishableKey;
    if (as !== "anon") headers.authorization = `Bearer ${accessToken(as)}`;
  }
  const response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}
const rpc = (name: string, as: Caller, args: Record<string, unknown>) => call(`${stack.apiUrl}/rest/v1/rpc/${name}`, as, args);

/** The fields of `actual` that differ from the declared shape (missing, extra, wrong kind). */
function shapeMismatches(declared: unknown, actual: unknown, path: string): string[] {
  if (Array.isArray(declared)) {
    if (!Array.isArray(actual)) return [`${path}: not an array`];
    return actual.slice(0, 3).flatMap((item, i) => shapeMismatches(declared[0], item, `${path}[${i}]`));
  }
  if (declared && typeof declared === "object") {
    if (actual === null) return (declared as Record<string, unknown>).$nullable ? [] : [`${path}: null`];
    if (typeof actual !== "object" || Array.isArray(actual)) return [`${path}: not an object`];
    const want = Object.keys(declared).filter((k) => !k.startsWith("$")).sort();
    const got = Object.keys(actual as object).sort();
    const problems = [
      ...want.filter((k) => !got.includes(k)).map((k) => `${path}.${k}: documented, not answered`),
      ...got.filter((k) => !want.includes(k)).map((k) => `${path}.${k}: answered, not documented`),
    ];
    for (const key of want.filter((k) => got.includes(k))) {
      problems.push(...shapeMismatches((declared as any)[key], (actual as any)[key], `${path}.${key}`));
    }
    return problems;
  }
  return [];
}

interface Case {
  fn: string;
  as: Caller;
  args: Record<string, unknown>;
  /** A documented refusal (its code), or 200 with the documented answer. */
  refused?: string;
  /** The HTTP status when it is not the one errors.md gives the code. */
  status?: number;
  /** For 200: the fields of the answer when rpc-answers.json declares none (rows, tables). */
  check?: (body: any) => void;
}

const CASES: Case[] = [
  { fn: "admin_adjust_credits", as: SEED.admin, args: { p_user_id: ruth, p_delta: 5, p_reason: "docs contract" } },
  { fn: "admin_adjust_credits", as: SEED.admin, args: { p_user_id: ruth, p_delta: 5 }, refused: "reason_required" },
  { fn: "admin_adjust_credits", as: "anon", args: { p_user_id: ruth, p_delta: 5, p_reason: "x" }, refused: "forbidden", status: 401 },
  { fn: "admin_adjust_credits", as: ruth, args: { p_user_id: ruth, p_delta: 5, p_reason: "x" }, refused: "forbidden" },
  { fn: "admin_clear_flag", as: SEED.admin, args: { p_chat_id: nowhere }, refused: "chat_not_found" },
  { fn: "admin_clear_flag", as: "anon", args: { p_chat_id: nowhere }, refused: "forbidden", status: 401 },
  { fn: "admin_reassign_chat", as: SEED.admin, args: { p_chat_id: nowhere, p_operator_id: SEED.olivia }, refused: "chat_not_found" },
  { fn: "admin_reopen_chat", as: SEED.admin, args: { p_chat_id: nowhere }, refused: "chat_not_found" },
  { fn: "admin_set_operator_active", as: SEED.admin, args: { p_operator_id: SEED.oscar, p_active: true } },
  { fn: "admin_set_operator_active", as: SEED.admin, args: { p_operator_id: SEED.oscar }, refused: "invalid_argument" },
  { fn: "admin_set_operator_active", as: SEED.admin, args: { p_operator_id: nowhere, p_active: true }, refused: "operator_not_found" },
  { fn: "apply_paystack_event", as: "service", args: { p_event: "", p_payload: {} }, refused: "invalid_event" },
  { fn: "assign_chat_to_operator", as: ruth, args: {}, refused: "not_operator" },
  { fn: "assign_next_chat", as: ruth, args: {}, refused: "not_operator" },
  { fn: "close_chat", as: ruth, args: { p_chat_id: nowhere }, refused: "chat_not_found" },
  { fn: "get_admin_dashboard", as: SEED.admin, args: {} },
  { fn: "get_admin_dashboard", as: "anon", args: {}, refused: "forbidden", status: 401 },
  { fn: "get_admin_dashboard", as: ruth, args: {}, refused: "forbidden" },
  {
    fn: "get_available_fictional_profiles", as: ruth, args: {},
    check: (rows) => {
      expect(rows.length).toBeGreaterThan(0);
      const documented = /Answer: an array of rows `\{(.*?)\}`/.exec(dataApi.split("### Function `get_available_fictional_profiles`")[1])![1];
      expect(Object.keys(rows[0]).sort()).toEqual(documented.split(", ").map((c) => c.split(" ")[0]).sort());
    },
  },
  { fn: "get_available_fictional_profiles", as: ruth, args: { p_user_id: SEED.alice, p_limit: 1, p_offset: 0 }, refused: "forbidden" },
  { fn: "get_chat_with_details", as: SEED.admin, args: { p_chat_id: SEED.waitingChat } },
  { fn: "get_chat_with_details", as: ruth, args: { p_chat_id: SEED.waitingChat }, refused: "not_operator" },
  { fn: "get_operator_performance_stats", as: SEED.olivia, args: { p_operator_id: SEED.olivia, p_days: 2 } },
  { fn: "get_operator_performance_stats", as: SEED.olivia, args: { p_operator_id: SEED.olivia, p_days: 0 }, refused: "invalid_days" },
  { fn: "is_admin", as: ruth, args: {}, check: (answer) => expect(answer).toBe(false) },
  { fn: "is_operator", as: SEED.olivia, args: {}, check: (answer) => expect(answer).toBe(true) },
  { fn: "is_real_user", as: ruth, args: {}, check: (answer) => expect(answer).toBe(true) },
  { fn: "mark_transaction_failed", as: "service", args: { p_reference: "docs-contract-none", p_reason: "x" }, check: (a) => expect(a).toBe(false) },
  { fn: "message_price", as: ruth, args: { p_chat_id: nowhere }, refused: "chat_not_found" },
  { fn: "operator_heartbeat", as: SEED.olivia, args: { p_chat_id: nowhere }, refused: "chat_not_held" },
  { fn: "payments_to_reconcile", as: "service", args: { p_limit: 1 } },
  { fn: "record_reconciliation_run", as: ruth, args: { p_started_at: new Date().toISOString(), p_checked: 0, p_credited: 0, p_failed: 0 }, refused: "42501", status: 403 },
  { fn: "release_and_reassign_chat", as: SEED.olivia, args: { p_chat_id: nowhere, p_reason: "completed" }, refused: "chat_not_held" },
  { fn: "release_and_reassign_chat", as: SEED.olivia, args: { p_chat_id: nowhere, p_reason: "bored" }, refused: "invalid_release_reason" },
  { fn: "send_message", as: ruth, args: { p_chat_id: nowhere, p_content: "hello" }, refused: "chat_not_found" },
  { fn: "settle_payment", as: "service", args: { p_reference: "docs-contract-none", p_transaction: { status: "success" } } },
  { fn: "start_chat", as: SEED.olivia, args: { p_fictional_user_id: nowhere }, refused: "not_real_user" },
  { fn: "start_chat", as: ruth, args: { p_fictional_user_id: nowhere }, refused: "profile_not_found" },
  { fn: "start_checkout", as: ruth, args: { p_package_id: SEED.starterPackage } },
  { fn: "start_checkout", as: ruth, args: { p_package_id: nowhere }, refused: "package_not_found" },
  { fn: "start_payment_verify", as: ruth, args: { p_reference: "docs-contract-none" }, refused: "transaction_not_found" },
  { fn: "sweep_idle_chats", as: "service", args: {} },
  { fn: "sweep_idle_chats", as: ruth, args: {}, refused: "42501", status: 403 }, // not granted to authenticated
  {
    fn: "update_operator_stats", as: SEED.olivia, args: { p_operator_id: SEED.olivia },
    check: (row) => {
      const documented = /Answer: one row of `operator_stats` \((.*)\)\./.exec(dataApi)![1];
      expect(Object.keys(row).sort()).toEqual([...documented.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]).sort());
    },
  },
  { fn: "update_operator_stats", as: SEED.olivia, args: { p_operator_id: SEED.oscar }, refused: "forbidden" },
];

beforeAll(async () => {
  await db().query("insert into auth.users (id, email) values ($1, $2)", [ruth, `ruth-${ruth}@docs.fantooo.local`]);
  await db().query(
    `insert into public.real_users (id, email, display_name, age, gender, looking_for)
     values ($1, $2, 'Ruth', 30, 'female', 'male')`,
    [ruth, `ruth-${ruth}@docs.fantooo.local`],
  );
});

const startedAt = new Date();

afterAll(async () => {
  // Leave the shared database as the seed made it: what this file's admin calls recorded goes too.
  await db().query("delete from public.transactions where real_user_id = $1", [ruth]);
  await db().query("delete from public.credit_adjustments where real_user_id = $1", [ruth]);
  await db().query(
    "delete from public.admin_actions where created_at >= $1 and (target_id = $2 or (action = 'set_operator_active' and target_id = $3))",
    [startedAt, ruth, SEED.oscar],
  );
  await db().query("delete from auth.users where id = $1", [ruth]);
  await closeDb();
});

describe("docs/data-api.md: every RPC answers as documented", () => {
  const documented = documentedFunctions();

  it("every documented function has a case here, and every case a documented function", () => {
    expect([...documented.keys()].filter((fn) => !CASES.some((c) => c.fn === fn))).toEqual([]);
    expect(CASES.filter((c) => !documented.has(c.fn)).map((c) => c.fn)).toEqual([]);
  });

  for (const [index, c] of CASES.entries()) {
    const who = c.as === "anon" || c.as === "service" ? c.as : Object.entries(SEED).find(([, id]) => id === c.as)?.[0] ?? "ruth";
    it(`${c.fn}(${Object.keys(c.args).join(", ")}) as ${who}: ${c.refused ?? "answers the documented fields"} (#${index})`, async () => {
      const params = documented.get(c.fn) ?? [];
      // Only documented parameters, and every required one.
      expect(Object.keys(c.args).filter((a) => !params.some((p) => p.name === a))).toEqual([]);
      if (!c.refused || !["reason_required", "invalid_argument"].includes(c.refused)) {
        expect(params.filter((p) => p.required && !(p.name in c.args)).map((p) => p.name)).toEqual([]);
      }
      const { status, body } = await rpc(c.fn, c.as, c.args);
      if (c.refused) {
        const code = c.refused === "42501" ? body?.code : body?.message;
        expect({ status, code }).toEqual({ status: c.status ?? errorStatus.get(c.refused), code: c.refused });
        if (c.refused !== "42501") expect(errorStatus.has(c.refused), `${c.refused} is in docs/errors.md`).toBe(true);
        return;
      }
      expect(status, JSON.stringify(body)).toBe(200);
      const declared = answers[c.fn]?.answer;
      if (declared) expect(shapeMismatches(declared, body, c.fn)).toEqual([]);
      c.check?.(body);
    });
  }
});

interface Route {
  path: string;
  answer: string;
  errors: Map<number, string[]>;
}

/** The routes of docs/functions.md's tables: path, 200 answer cell, documented error codes by status. */
function documentedRoutes(): Route[] {
  const routes: Route[] = [];
  for (const match of functionsPage.matchAll(/^\| `POST (\/[a-z\-/]+)` \| (.*)$/gm)) {
    const cells = match[2].split(" | "); // a pipe inside a cell is written \|
    const errorsCell = cells[cells.length - 1].replace(/ \|$/, "");
    const errors = new Map<number, string[]>();
    for (const group of errorsCell.split(/; (?=\d{3})/)) {
      const status = Number(group.slice(0, 3));
      errors.set(status, [...group.matchAll(/`([a-z_*]+)`/g)].map((m) => m[1]));
    }
    routes.push({ path: match[1], answer: cells[1], errors });
  }
  return routes;
}

describe("docs/functions.md: every route answers as documented", () => {
  const routes = documentedRoutes();
  const fn = (path: string) => `${stack.functionsUrl}${path}`;
  const route = (path: string) => routes.find((r) => r.path === path)!;
  /** The quoted keys of the first `{...}` of a 200-answer cell. */
  const documentedKeys = (path: string) => [...(/\{[^}]*\}/.exec(route(path).answer)?.[0] ?? "").matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);

  it("lists the routes of the OpenAPI documents, and each route's error codes are theirs", () => {
    const openapi = ["admin-accounts", "assign-chat", "credits-checkout", "idle-sweeper", "paystack-webhook", "reconcile-payments"]
      .map((name) => JSON.parse(read(`docs/openapi/${name}.json`)));
    const paths = openapi.flatMap((d) => Object.keys(d.paths)).sort();
    expect(routes.map((r) => r.path).sort()).toEqual(paths);
    const mismatches: string[] = [];
    for (const r of routes) {
      const responses = openapi.find((d) => d.paths[r.path])!.paths[r.path].post.responses;
      for (const [status, codes] of r.errors) {
        const enumCodes: string[] = responses[status]?.content?.["application/json"]?.schema?.properties?.error?.properties?.code?.enum ?? [];
        for (const code of codes.filter((c) => !c.includes("*"))) {
          if (!enumCodes.includes(code)) mismatches.push(`${r.path} ${status} ${code}: documented, not in the OpenAPI document`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("every route refuses a call without credentials with its documented 401 code", async () => {
    const problems: string[] = [];
    for (const r of routes) {
      const { status, body } = await call(fn(r.path), "anon", {});
      if (status !== 401 || !(r.errors.get(401) ?? []).includes(body?.error?.code)) {
        problems.push(`${r.path}: ${status} ${JSON.stringify(body)}, documented 401 ${r.errors.get(401)}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("POST /credits-checkout answers the documented fields to a real user", async () => {
    const { status, body } = await call(fn("/credits-checkout"), ruth, { package_id: SEED.starterPackage });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(Object.keys(body).sort()).toEqual(documentedKeys("/credits-checkout").sort());
  });

  it("POST /credits-checkout/verify refuses an unknown reference with a documented 404", async () => {
    const { status, body } = await call(fn("/credits-checkout/verify"), ruth, { reference: "docs-contract-none" });
    expect(route("/credits-checkout/verify").errors.get(status)).toContain(body.error.code);
    expect(status).toBe(404);
  });

  it("the assign-chat routes refuse a real user with a documented 403", async () => {
    for (const path of ["/assign-chat", "/assign-chat/release", "/assign-chat/heartbeat"]) {
      const { status, body } = await call(fn(path), ruth, path === "/assign-chat" ? {} : { chat_id: nowhere, reason: "completed" });
      expect({ path, status, documented: route(path).errors.get(status)?.includes(body.error.code) })
        .toEqual({ path, status: 403, documented: true });
    }
  });

  it("POST /assign-chat/heartbeat answers a chat the operator does not hold with a documented 404", async () => {
    const { status, body } = await call(fn("/assign-chat/heartbeat"), SEED.olivia, { chat_id: nowhere });
    expect(status).toBe(404);
    expect(route("/assign-chat/heartbeat").errors.get(404)).toContain(body.error.code);
  });

  it("POST /admin-accounts refuses a non-admin with its documented 403, and a malformed body with a documented 400", async () => {
    const refused = await call(fn("/admin-accounts"), ruth, { email: "x@example.com", role: "operator", name: "X" });
    expect(refused.status).toBe(403);
    expect(route("/admin-accounts").errors.get(403)).toContain(refused.body.error.code);
    const malformed = await call(fn("/admin-accounts"), SEED.admin, { role: "nobody" });
    expect(malformed.status).toBe(400);
    expect(route("/admin-accounts").errors.get(400)).toContain(malformed.body.error.code);
  });

  it("POST /idle-sweeper and /reconcile-payments answer the documented fields to the secret key", async () => {
    for (const path of ["/idle-sweeper", "/reconcile-payments"]) {
      const { status, body } = await call(fn(path), "service", {});
      expect({ path, status }).toEqual({ path, status: 200 });
      expect(Object.keys(body).sort()).toEqual(documentedKeys(path).sort());
    }
  });

  it("POST /paystack-webhook refuses an unsigned event with a documented 401", async () => {
    const { status, body } = await call(fn("/paystack-webhook"), "anon", { event: "charge.success", data: {} });
    expect(status).toBe(401);
    expect(route("/paystack-webhook").errors.get(401)).toContain(body.error.code);
  });
});
