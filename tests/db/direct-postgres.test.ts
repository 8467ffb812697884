// The functions' direct way to SQL (supabase/functions/_shared/db/postgres.ts), on the stack's
// database: each call runs as the caller it is given (role and verified claims, transaction-local,
// as PostgREST sets them), answers what the Data API answers for the same call, refuses with the
// fields db-errors.ts maps, and leaves nothing of one caller on a pooled connection for the next.
import { type AddressInfo, createServer, Socket } from "node:net";
import { afterAll, describe, expect, it, onTestFinished } from "vitest";
import { ApiError } from "../../supabase/functions/_shared/errors.ts";
import { createDirectDb } from "../../supabase/functions/_shared/db/postgres.ts";
import { closeDb, db, stack, userClient } from "../support/stack.ts";

const ALICE = "11111111-1111-4111-8111-111111111111"; // real user, seeded chat c..01
const BRIAN = "22222222-2222-4222-8222-222222222222"; // real user
const OLIVIA = "33333333-3333-4333-8333-333333333333"; // operator
const ADMIN = "55555555-5555-4555-8555-555555555555";
const ALICE_CHAT = "c0000000-0000-4000-8000-000000000001";

const claimsOf = (sub: string) => ({ claims: { sub, role: "authenticated", aud: "authenticated" } });

// One connection: every call below reuses it, so what one caller set must not reach the next.
const direct = createDirectDb(stack.dbUrl, { max: 1 });
afterAll(async () => {
  await direct.end();
  await closeDb();
});

describe("createDirectDb", () => {
  it("runs each call as its caller, one after another on one connection", async () => {
    const answers = [];
    for (const [who, fn] of [[ALICE, "is_admin"], [ALICE, "is_real_user"], [OLIVIA, "is_real_user"], [OLIVIA, "is_operator"], [ADMIN, "is_admin"]] as const) {
      answers.push((await direct.forUser(claimsOf(who)).rpc(fn)).data);
    }
    expect(answers).toEqual([false, true, false, true, true]);
    // Right after the admin, on the same connection: the service role has no user, so it is
    // nobody's admin; were the admin's claims left behind, this would say true.
    expect(await direct.service.rpc("is_admin")).toEqual({ data: false, error: null });
  });

  it("callers at once each get their own answer", async () => {
    const users = Array.from({ length: 20 }, (_, i) => (i % 2 ? ADMIN : BRIAN));
    const parallel = createDirectDb(stack.dbUrl, { max: 4 });
    try {
      const answers = await Promise.all(users.map((u) => parallel.forUser(claimsOf(u)).rpc("is_admin")));
      expect(answers.map((a) => a.data)).toEqual(users.map((u) => u === ADMIN));
    } finally {
      await parallel.end();
    }
  });

  it("answers what the Data API answers for the same call", async () => {
    const viaApi = await userClient(ALICE).rpc("message_price", { p_chat_id: ALICE_CHAT, p_at: "2026-06-01T12:00:00Z" });
    const viaSql = await direct.forUser(claimsOf(ALICE)).rpc("message_price", { p_chat_id: ALICE_CHAT, p_at: "2026-06-01T12:00:00Z" });
    expect(viaApi.error).toBeNull();
    expect(viaSql).toEqual({ data: viaApi.data, error: null });
    expect(typeof viaSql.data).toBe("number");
  });

  it("refuses as the SQL function refuses, with the fields the Data API gives", async () => {
    const viaApi = await userClient(BRIAN).rpc("message_price", { p_chat_id: ALICE_CHAT });
    const viaSql = await direct.forUser(claimsOf(BRIAN)).rpc("message_price", { p_chat_id: ALICE_CHAT });
    expect(viaSql.data).toBeNull();
    expect(viaSql.error).toMatchObject({ code: "PT404", message: "chat_not_found" });
    expect(viaSql.error).toEqual({
      code: viaApi.error?.code,
      message: viaApi.error?.message,
      details: viaApi.error?.details,
      hint: viaApi.error?.hint,
    });
  });

  it("the role is set: authenticated may not even execute what only service_role may", async () => {
    const { error } = await direct.forUser(claimsOf(ALICE)).rpc("sweep_idle_chats");
    // Run as the connection's own user, the call would reach the function and be refused there
    // (42501 forbidden, the claims not being trusted); as authenticated it never starts.
    expect(error).toMatchObject({ code: "42501", message: "permission denied for function sweep_idle_chats" });
  });

  it("each role gets its own statement_timeout, as PostgREST applies the role's settings", async () => {
    const { rows } = await db().query(`
      select r.rolname, c.setting from pg_db_role_setting s join pg_roles r on r.oid = s.setrole,
             unnest(s.setconfig) c(setting)
       where r.rolname in ('authenticated', 'service_role') and c.setting like 'statement\\_timeout=%'`);
    const expected = { authenticated: null, service_role: null } as Record<string, string | null>;
    for (const row of rows) expected[row.rolname] = row.setting.split("=")[1];
    expect(expected.authenticated).not.toBeNull(); // the stack sets it, as Supabase does (8s)
    expect(await direct.roleTimeouts()).toEqual(expected);
  });

  it("leaves out undefined arguments and sends the others typed by the function", async () => {
    const { data, error } = await direct.forUser(claimsOf(ALICE)).rpc("message_price", {
      p_chat_id: ALICE_CHAT,
      p_at: undefined,
    });
    expect(error).toBeNull();
    expect(Number.isInteger(data)).toBe(true);
  });

  it("sends a call in one round trip: its parameters typed by the function's declaration", async () => {
    const one = createDirectDb(stack.dbUrl, { max: 1 });
    onTestFinished(() => one.end());
    const call = () => one.forUser(claimsOf(ALICE)).rpc("message_price", { p_chat_id: ALICE_CHAT });
    expect((await call()).error).toBeNull(); // connects, reads the role timeouts and the declaration
    const write = Socket.prototype.write;
    let writes = 0;
    Socket.prototype.write = function (this: Socket, ...args: Parameters<Socket["write"]>) {
      writes++;
      return write.apply(this, args);
    } as Socket["write"];
    try {
      for (let i = 0; i < 5; i++) expect(Number.isInteger((await call()).data)).toBe(true);
    } finally {
      Socket.prototype.write = write;
    }
    // Untyped, the driver would first ask the server for the types of each statement: 2 or 3 writes.
    expect(writes).toBe(5);
  });

  it("sends a string for a jsonb argument as a JSON string, as the Data API does, never as JSON text", async () => {
    for (const payload of ["not an object", '{"event":"charge.success"}']) {
      const { data, error } = await direct.service.rpc("apply_paystack_event", {
        p_event: "charge.success",
        p_payload: payload,
        p_reference: "direct-postgres-string-payload",
      });
      expect(data).toBeNull();
      expect(error).toMatchObject({ code: "PT400", message: "invalid_event" }); // a string, not an object
    }
  });

  it("refuses names that are not SQL identifiers, before anything is sent", async () => {
    await expect(direct.service.rpc("is_admin(); drop table public.messages; --")).rejects.toThrow(/not a SQL function call/);
    await expect(direct.service.rpc("is_admin", { "p); drop table public.messages; --": 1 })).rejects.toThrow(
      /not a SQL function call/,
    );
    expect((await db().query("select to_regclass('public.messages') is not null as kept")).rows[0].kept).toBe(true);
  });

  it("a refused call leaves nothing behind: the role and claims were one transaction's", async () => {
    const { error } = await direct.forUser(claimsOf(BRIAN)).rpc("message_price", { p_chat_id: ALICE_CHAT });
    expect(error).toMatchObject({ code: "PT404" });
    expect(await direct.service.rpc("is_real_user")).toEqual({ data: false, error: null });
  });

  it("a database that cannot be reached is 503 unavailable within seconds, not a hang or a 500", async () => {
    // A port nobody listens on (refused at once), and a server that accepts and never answers
    // (the connect timeout).
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const urls = [closedPort, (silent.address() as AddressInfo).port].map((port) => `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`);
    onTestFinished(() => void silent.close());
    for (const url of urls) {
      const nowhere = createDirectDb(url, { max: 1 });
      const started = Date.now();
      try {
        const failure = await direct.service.rpc("is_admin").then(() => nowhere.service.rpc("is_admin")).catch((e) => e);
        expect(failure).toBeInstanceOf(ApiError);
        expect(failure).toMatchObject({ status: 503, code: "unavailable" });
        expect(Date.now() - started).toBeLessThan(5_000);
      } finally {
        await nowhere.end();
      }
    }
  });

  it("a set-returning function is refused rather than cut to its first row", async () => {
    await expect(direct.forUser(claimsOf(ALICE)).rpc("get_available_fictional_profiles")).rejects.toThrow(
      /rows where one value was expected/,
    );
  });
});
