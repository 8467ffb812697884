// admin-accounts over HTTP through the gateway, with the stack's Auth API: a signed-in admin
// creates operator and admin accounts (Auth user, its row, the audit row), the new operator signs
// in with its password; everyone else is refused and nothing is created. The database is checked
// afterwards.
import { randomUUID } from "node:crypto";
import { FunctionsHttpError } from "@supabase/supabase-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anonClient, closeDb, db, userClient } from "../support/stack.ts";

const admin = randomUUID();
const realUser = randomUUID();
const operator = randomUUID();
const run = randomUUID().slice(0, 8);
const operatorEmail = `op-${run}@accounts.fantooo.local`;
const adminEmail = `admin-${run}@accounts.fantooo.local`;
const refusedEmail = `refused-${run}@accounts.fantooo.local`;
const password = `pw-${randomUUID()}`;

async function invokeAs(userId: string | null, body: unknown) {
  const client = userId ? userClient(userId) : anonClient();
  const { data, error } = await client.functions.invoke("admin-accounts", { body });
  if (error instanceof FunctionsHttpError) {
    return { status: error.context.status as number, body: await error.context.json() };
  }
  expect(error).toBeNull();
  return { status: 200, body: data };
}

const authUsers = async (email: string) =>
  (await db().query("select id from auth.users where email = $1", [email])).rows.map((r) => r.id);

beforeAll(async () => {
  await db().query("insert into auth.users (id, email) values ($1, $2), ($3, $4), ($5, $6)", [
    admin, `boss-${run}@accounts.fantooo.local`, realUser, `user-${run}@example.com`,
    operator, `staff-${run}@accounts.fantooo.local`,
  ]);
  await db().query("insert into public.admins (id, name) values ($1, 'Accounts Admin')", [admin]);
  await db().query("insert into public.operators (id, name) values ($1, 'Accounts Operator')", [operator]);
  await db().query(
    "insert into public.real_users (id, display_name, age, gender, looking_for) values ($1, 'Accounts User', 30, 'male', 'female')",
    [realUser],
  );
});

afterAll(async () => {
  await db().query("delete from auth.users where email like $1", [`%-${run}@accounts.fantooo.local`]);
  await db().query("delete from auth.users where id = $1", [realUser]);
  await closeDb();
});

describe("admin-accounts", () => {
  it("an admin creates an operator: a confirmed Auth user, its operators row and an admin_actions row", async () => {
    const { status, body } = await invokeAs(admin, { email: operatorEmail, password, role: "operator", name: "New Operator" });
    expect(status).toBe(200);
    expect(body).toEqual({ user_id: expect.any(String), email: operatorEmail, role: "operator", name: "New Operator" });
    const { rows: [operator] } = await db().query(
      "select o.email, o.name, o.status, o.is_active, u.email_confirmed_at is not null as confirmed from public.operators o join auth.users u on u.id = o.id where o.id = $1",
      [body.user_id],
    );
    expect(operator).toEqual({ email: operatorEmail, name: "New Operator", status: "offline", is_active: true, confirmed: true });
    const { rows: audit } = await db().query(
      "select admin_id, action, target_type, details ->> 'email' as email from public.admin_actions where target_id = $1",
      [body.user_id],
    );
    expect(audit).toEqual([{ admin_id: admin, action: "create_operator", target_type: "operator", email: operatorEmail }]);
  });

  it("the new operator signs in with its password and reads its own row", async () => {
    const client = anonClient();
    const { data, error } = await client.auth.signInWithPassword({ email: operatorEmail, password });
    expect(error).toBeNull();
    const { data: rows } = await client.from("operators").select("email, name");
    expect(rows).toEqual([{ email: operatorEmail, name: "New Operator" }]);
    expect(data.session?.user.email).toBe(operatorEmail);
  });

  it("an admin creates an admin without a password", async () => {
    const { status, body } = await invokeAs(admin, { email: adminEmail, role: "admin", name: "Second Admin" });
    expect(status).toBe(200);
    const { rows } = await db().query("select name from public.admins where id = $1", [body.user_id]);
    expect(rows).toEqual([{ name: "Second Admin" }]);
  });

  it("an email that already has an account is 409 user_already_exists, and nothing more is created", async () => {
    const { status, body } = await invokeAs(admin, { email: operatorEmail, password, role: "admin", name: "Twice" });
    expect(status).toBe(409);
    expect(body.error.code).toBe("user_already_exists");
    expect(await authUsers(operatorEmail)).toHaveLength(1);
    const { rows } = await db().query("select count(*)::int as n from public.admins where email = $1", [operatorEmail]);
    expect(rows).toEqual([{ n: 0 }]);
  });

  const refused: Array<[string, () => string | null, number, string]> = [
    ["a real user is 403 forbidden", () => realUser, 403, "forbidden"],
    ["an operator is 403 forbidden", () => operator, 403, "forbidden"],
    ["a caller without an access token is 401 unauthorized", () => null, 401, "unauthorized"],
  ];
  it.each(refused)("%s, and no Auth user is created", async (_name, caller, status, code) => {
    const { status: got, body } = await invokeAs(caller(), { email: refusedEmail, password, role: "admin", name: "Nope" });
    expect(got).toBe(status);
    expect(body.error.code).toBe(code);
    expect(await authUsers(refusedEmail)).toEqual([]);
  });

  it("a body that is not an account is 400 invalid_request", async () => {
    const { status, body } = await invokeAs(admin, { email: refusedEmail, role: "owner", name: "Nope" });
    expect(status).toBe(400);
    expect(body.error.code).toBe("invalid_request");
    expect(await authUsers(refusedEmail)).toEqual([]);
  });
});
