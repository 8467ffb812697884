// The local Auth stand-in (local/auth-server.mjs) through the gateway, driven by supabase-js as a
// frontend drives hosted Supabase Auth: sign-up, password sign-in, the user endpoints, refresh
// token rotation, sign-out, the admin API, and a session's token used on the Data API.
import { createClient, type Session, type SupabaseClient } from "@supabase/supabase-js";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { closeDb, db, stack } from "../support/stack.ts";

const clientOptions = { auth: { persistSession: false, autoRefreshToken: false } };
// A browser: the publishable key (or the legacy anon key on a legacy stack).
const browser = (): SupabaseClient => createClient(stack.apiUrl, stack.publishableKey ?? stack.anonKey, clientOptions);
// Server code: the secret key (or the legacy service_role key).
const server = (): SupabaseClient => createClient(stack.apiUrl, stack.secretKey ?? stack.serviceRoleKey, clientOptions);

const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const emailFor = (name: string) => `auth-${name}-${run}@example.test`;
const PASSWORD = "correct-horse-1";

async function signUp(name: string, data: Record<string, unknown> = {}): Promise<{ client: SupabaseClient; session: Session }> {
  const client = browser();
  const { data: result, error } = await client.auth.signUp({ email: emailFor(name), password: PASSWORD, options: { data } });
  expect(error).toBeNull();
  expect(result.session).not.toBeNull();
  return { client, session: result.session as Session };
}

/** A client that calls the APIs with a given access token, as a second device would. */
function withToken(accessToken: string): SupabaseClient {
  return createClient(stack.apiUrl, stack.publishableKey ?? stack.anonKey, {
    ...clientOptions,
    global: { headers: { Authorization: `Bearer ${accessToken}` } },
  });
}

afterAll(async () => {
  // Cascades to sessions, refresh tokens and the real_users rows the tests created.
  await db().query("delete from auth.users where email like $1", [`auth-%-${run}@example.test`]);
  await closeDb();
});

describe("sign-up and sign-in", () => {
  it("signUp answers a session at once (confirmations are off) and stores a bcrypt hash", async () => {
    const { session } = await signUp("signup", { display_name: "Sam" });
    expect(session.token_type).toBe("bearer");
    expect(session.expires_in).toBeGreaterThan(0);
    expect(Math.abs(session.expires_at! - (Math.floor(Date.now() / 1000) + session.expires_in))).toBeLessThanOrEqual(5);
    expect(session.refresh_token).toMatch(/^[A-Za-z0-9]{12,}$/);
    expect(session.user).toMatchObject({
      email: emailFor("signup"),
      aud: "authenticated",
      role: "authenticated",
      is_anonymous: false,
      app_metadata: { provider: "email", providers: ["email"] },
      user_metadata: { display_name: "Sam", email_verified: true },
    });
    expect(session.user.email_confirmed_at).toBeTruthy();
    expect(session.user.identities?.[0]).toMatchObject({ provider: "email", user_id: session.user.id });

    const { rows: [row] } = await db().query(
      `select u.encrypted_password, u.email_confirmed_at, u.last_sign_in_at,
              (select count(*)::int from auth.sessions s where s.user_id = u.id) as sessions,
              (select count(*)::int from auth.refresh_tokens t where t.user_id = u.id::text and not t.revoked) as live_tokens
         from auth.users u where u.id = $1`,
      [session.user.id],
    );
    expect(row.encrypted_password).toMatch(/^\$2[ab]\$10\$.{53}$/);
    expect(row.email_confirmed_at).not.toBeNull();
    expect(row.last_sign_in_at).not.toBeNull();
    expect(row.sessions).toBe(1);
    expect(row.live_tokens).toBe(1);
  });

  it("the access token is signed as the project signs (ES256 with a kid in the JWKS) and carries GoTrue's claims", async () => {
    const { session } = await signUp("claims");
    const jwks = await (await fetch(`${stack.apiUrl}/auth/v1/.well-known/jwks.json`)).json();
    const header = decodeProtectedHeader(session.access_token);
    if (stack.keysMode === "legacy") {
      expect(header.alg).toBe("HS256");
      expect(jwks.keys).toEqual([]);
    } else {
      expect(header.alg).toBe("ES256");
      expect(jwks.keys.map((k: { kid: string }) => k.kid)).toContain(header.kid);
    }
    const claims = decodeJwt(session.access_token);
    const { rows: [dbSession] } = await db().query("select id from auth.sessions where user_id = $1", [session.user.id]);
    expect(claims).toMatchObject({
      iss: `${stack.apiUrl}/auth/v1`,
      sub: session.user.id,
      aud: "authenticated",
      role: "authenticated",
      email: emailFor("claims"),
      phone: "",
      session_id: dbSession.id,
      is_anonymous: false,
      aal: "aal1",
      app_metadata: { provider: "email", providers: ["email"] },
    });
    expect(claims.amr).toEqual([{ method: "password", timestamp: expect.any(Number) }]);
    expect(claims.exp! - claims.iat!).toBe(session.expires_in);
    expect(claims.exp).toBe(session.expires_at);
  });

  it("signInWithPassword with the right password opens a second session", async () => {
    const { session: first } = await signUp("signin");
    const { data, error } = await browser().auth.signInWithPassword({ email: emailFor("signin").toUpperCase(), password: PASSWORD });
    expect(error).toBeNull();
    expect(data.user?.id).toBe(first.user.id);
    expect(decodeJwt(data.session!.access_token).session_id).not.toBe(decodeJwt(first.access_token).session_id);
    const { rows: [{ n }] } = await db().query("select count(*)::int as n from auth.sessions where user_id = $1", [first.user.id]);
    expect(n).toBe(2);
  });

  it("a seeded user signs in with the seeded password", async () => {
    // @ts-expect-error: a plain ESM module of the local stack
    const { SEEDED_PASSWORD } = await import("../../local/stack/auth-server.mjs");
    const { data, error } = await browser().auth.signInWithPassword({ email: "alice@example.com", password: SEEDED_PASSWORD });
    expect(error).toBeNull();
    expect(data.user?.id).toBe("11111111-1111-4111-8111-111111111111");
    await db().query("delete from auth.sessions where user_id = $1", [data.user!.id]);
  });

  it("a wrong password, or an unknown email, is 400 invalid_credentials", async () => {
    await signUp("wrongpw");
    for (const credentials of [
      { email: emailFor("wrongpw"), password: "not-the-password" },
      { email: emailFor("nobody"), password: PASSWORD },
    ]) {
      const { data, error } = await browser().auth.signInWithPassword(credentials);
      expect(data.session).toBeNull();
      expect(error).toMatchObject({ name: "AuthApiError", status: 400, code: "invalid_credentials", message: "Invalid login credentials" });
    }
  });

  it("signing up an email that exists is 422 user_already_exists and creates nothing", async () => {
    await signUp("dup");
    const { data, error } = await browser().auth.signUp({ email: emailFor("dup"), password: "another-password" });
    expect(data.session).toBeNull();
    expect(error).toMatchObject({ status: 422, code: "user_already_exists" });
    const { rows: [{ n }] } = await db().query("select count(*)::int as n from auth.users where email = $1", [emailFor("dup")]);
    expect(n).toBe(1);
  });

  it("a password shorter than 6 characters is 422 weak_password with GoTrue's reasons", async () => {
    const { error } = await browser().auth.signUp({ email: emailFor("weak"), password: "12345" });
    expect(error).toMatchObject({ name: "AuthWeakPasswordError", status: 422, code: "weak_password", reasons: ["length"] });
    const { rowCount } = await db().query("select 1 from auth.users where email = $1", [emailFor("weak")]);
    expect(rowCount).toBe(0);
  });

  it("malformed input is refused with GoTrue's codes, not a 500", async () => {
    const post = (path: string, body: string) =>
      fetch(`${stack.apiUrl}/auth/v1${path}`, {
        method: "POST",
        headers: { apikey: stack.publishableKey ?? stack.anonKey, "content-type": "application/json", "x-supabase-api-version": "2024-01-01" },
        body,
      });
    const notJson = await post("/signup", "{not json");
    expect(notJson.status).toBe(400);
    expect(notJson.headers.get("x-supabase-api-version")).toBe("2024-01-01");
    expect(await notJson.json()).toMatchObject({ code: "bad_json" });
    const badEmail = await post("/signup", JSON.stringify({ email: "not-an-email", password: PASSWORD }));
    expect(badEmail.status).toBe(400);
    expect(await badEmail.json()).toMatchObject({ code: "validation_failed" });
    const noGrant = await post("/token?grant_type=magic", "{}");
    expect(noGrant.status).toBe(400);
  });
});

describe("the signed-in user", () => {
  it("getUser answers the user of the session's token", async () => {
    const { session } = await signUp("getuser");
    const { data, error } = await browser().auth.getUser(session.access_token);
    expect(error).toBeNull();
    expect(data.user).toMatchObject({ id: session.user.id, email: emailFor("getuser") });
  });

  it("getUser refuses a forged token (403 bad_jwt) and a missing one", async () => {
    const { session } = await signUp("forged");
    const [head, payload] = session.access_token.split(".");
    const forged = `${head}.${payload}.${"A".repeat(86)}`;
    const { error } = await browser().auth.getUser(forged);
    expect(error).toMatchObject({ status: 403, code: "bad_jwt" });
    // With only the publishable key the gateway sends an anon-role JWT: no user in it.
    const response = await fetch(`${stack.apiUrl}/auth/v1/user`, {
      headers: { apikey: stack.publishableKey ?? stack.anonKey, "x-supabase-api-version": "2024-01-01" },
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: "bad_jwt" });
  });

  it("updateUser merges metadata (null removes a key) and changes the password", async () => {
    const { client, session } = await signUp("update", { display_name: "Before", city: "Nairobi" });
    await client.auth.setSession({ access_token: session.access_token, refresh_token: session.refresh_token });

    const { data, error } = await client.auth.updateUser({ data: { display_name: "After", city: null } });
    expect(error).toBeNull();
    expect(data.user?.user_metadata).toEqual({ display_name: "After", email_verified: true });

    const changed = await client.auth.updateUser({ password: "a-brand-new-password" });
    expect(changed.error).toBeNull();
    const oldPassword = await browser().auth.signInWithPassword({ email: emailFor("update"), password: PASSWORD });
    expect(oldPassword.error).toMatchObject({ status: 400, code: "invalid_credentials" });
    const newPassword = await browser().auth.signInWithPassword({ email: emailFor("update"), password: "a-brand-new-password" });
    expect(newPassword.error).toBeNull();
    expect(newPassword.data.user?.user_metadata).toMatchObject({ display_name: "After" });
  });

  it("updateUser refuses a weak new password and the same password, and keeps the old one", async () => {
    const { client, session } = await signUp("update-refused");
    await client.auth.setSession({ access_token: session.access_token, refresh_token: session.refresh_token });
    const weak = await client.auth.updateUser({ password: "abc" });
    expect(weak.error).toMatchObject({ status: 422, code: "weak_password" });
    const same = await client.auth.updateUser({ password: PASSWORD });
    expect(same.error).toMatchObject({ status: 422, code: "same_password" });
    const { error } = await browser().auth.signInWithPassword({ email: emailFor("update-refused"), password: PASSWORD });
    expect(error).toBeNull();
  });

  it("a password change signs the user out of every other session", async () => {
    const { client, session } = await signUp("pw-others");
    const other = await browser().auth.signInWithPassword({ email: emailFor("pw-others"), password: PASSWORD });
    await client.auth.setSession({ access_token: session.access_token, refresh_token: session.refresh_token });
    expect((await client.auth.updateUser({ password: "changed-password-2" })).error).toBeNull();
    const { error } = await browser().auth.getUser(other.data.session!.access_token);
    expect(error?.name).toBe("AuthSessionMissingError"); // 403 session_not_found, as supabase-js names it
    expect((await browser().auth.getUser(session.access_token)).error).toBeNull();
  });
});

describe("refresh tokens", () => {
  it("refreshSession rotates the refresh token and keeps the session", async () => {
    const { session } = await signUp("rotate");
    const { data, error } = await browser().auth.refreshSession({ refresh_token: session.refresh_token });
    expect(error).toBeNull();
    expect(data.session!.refresh_token).not.toBe(session.refresh_token);
    expect(decodeJwt(data.session!.access_token).session_id).toBe(decodeJwt(session.access_token).session_id);
    const { rows } = await db().query(
      "select token, revoked, parent from auth.refresh_tokens where user_id = $1 order by id",
      [session.user.id],
    );
    expect(rows).toEqual([
      { token: session.refresh_token, revoked: true, parent: null },
      { token: data.session!.refresh_token, revoked: false, parent: session.refresh_token },
    ]);
  });

  it("a used refresh token is 400 refresh_token_already_used and ends the session's token family", async () => {
    const { session } = await signUp("reuse");
    const first = session.refresh_token;
    const second = (await browser().auth.refreshSession({ refresh_token: first })).data.session!.refresh_token;
    const third = (await browser().auth.refreshSession({ refresh_token: second })).data.session!.refresh_token;

    const replay = await browser().auth.refreshSession({ refresh_token: first });
    expect(replay.data.session).toBeNull();
    expect(replay.error).toMatchObject({ status: 400, code: "refresh_token_already_used" });
    // GoTrue revokes the whole family on reuse: the newest token is dead too.
    const after = await browser().auth.refreshSession({ refresh_token: third });
    expect(after.error).toMatchObject({ status: 400, code: "refresh_token_already_used" });
  });

  it("GoTrue's allowance: the parent of the active token gets the active token back (a lost answer)", async () => {
    const { session } = await signUp("lost-answer");
    const second = (await browser().auth.refreshSession({ refresh_token: session.refresh_token })).data.session!;
    const again = await browser().auth.refreshSession({ refresh_token: session.refresh_token });
    expect(again.error).toBeNull();
    expect(again.data.session!.refresh_token).toBe(second.refresh_token);
  });

  it("an unknown refresh token is 400 refresh_token_not_found", async () => {
    const { error } = await browser().auth.refreshSession({ refresh_token: "notARealToken" });
    expect(error).toMatchObject({ status: 400, code: "refresh_token_not_found" });
  });
});

describe("sign-out", () => {
  it("signOut (global) ends every session: the old access token is refused and refresh tokens are gone", async () => {
    const { client, session } = await signUp("signout");
    const other = await browser().auth.signInWithPassword({ email: emailFor("signout"), password: PASSWORD });
    await client.auth.setSession({ access_token: session.access_token, refresh_token: session.refresh_token });
    expect((await client.auth.signOut()).error).toBeNull();

    const response = await fetch(`${stack.apiUrl}/auth/v1/user`, {
      headers: {
        apikey: stack.publishableKey ?? stack.anonKey,
        authorization: `Bearer ${session.access_token}`,
        "x-supabase-api-version": "2024-01-01",
      },
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: "session_not_found" });
    expect((await browser().auth.getUser(other.data.session!.access_token)).error?.name).toBe("AuthSessionMissingError");
    const refresh = await browser().auth.refreshSession({ refresh_token: session.refresh_token });
    expect(refresh.error).toMatchObject({ status: 400, code: "refresh_token_not_found" });
  });

  it("signOut with scope local ends only this session; scope others keeps only this one", async () => {
    const { session: a } = await signUp("scopes");
    const b = (await browser().auth.signInWithPassword({ email: emailFor("scopes"), password: PASSWORD })).data.session!;
    const c = (await browser().auth.signInWithPassword({ email: emailFor("scopes"), password: PASSWORD })).data.session!;

    expect((await browser().auth.admin.signOut(a.access_token, "local")).error).toBeNull();
    expect((await browser().auth.getUser(a.access_token)).error?.name).toBe("AuthSessionMissingError");
    expect((await browser().auth.getUser(b.access_token)).error).toBeNull();

    expect((await browser().auth.admin.signOut(b.access_token, "others")).error).toBeNull();
    expect((await browser().auth.getUser(b.access_token)).error).toBeNull();
    expect((await browser().auth.getUser(c.access_token)).error?.name).toBe("AuthSessionMissingError");
  });
});

describe("admin API", () => {
  it("with the secret key: createUser, getUserById, deleteUser", async () => {
    const admin = server().auth.admin;
    const created = await admin.createUser({
      email: emailFor("admin-made"),
      password: "made-by-admin",
      email_confirm: true,
      user_metadata: { display_name: "Made" },
    });
    expect(created.error).toBeNull();
    const user = created.data.user!;
    expect(user).toMatchObject({ email: emailFor("admin-made"), user_metadata: { display_name: "Made" } });
    expect(user.email_confirmed_at).toBeTruthy();

    const signIn = await browser().auth.signInWithPassword({ email: emailFor("admin-made"), password: "made-by-admin" });
    expect(signIn.error).toBeNull();

    const fetched = await admin.getUserById(user.id);
    expect(fetched.error).toBeNull();
    expect(fetched.data.user).toMatchObject({ id: user.id, email: emailFor("admin-made") });

    const duplicate = await admin.createUser({ email: emailFor("admin-made"), password: "whatever-1" });
    expect(duplicate.error).toMatchObject({ status: 422, code: "email_exists" });

    expect((await admin.deleteUser(user.id)).error).toBeNull();
    const gone = await admin.getUserById(user.id);
    expect(gone.error).toMatchObject({ status: 404, code: "user_not_found" });
    const { rowCount } = await db().query("select 1 from auth.sessions where user_id = $1", [user.id]);
    expect(rowCount).toBe(0);
    expect((await browser().auth.getUser(signIn.data.session!.access_token)).error).toMatchObject({ status: 403, code: "user_not_found" });
  });

  it("a user created without email_confirm cannot sign in until confirmed (400 email_not_confirmed)", async () => {
    const created = await server().auth.admin.createUser({ email: emailFor("unconfirmed"), password: "made-by-admin" });
    expect(created.error).toBeNull();
    expect(created.data.user?.email_confirmed_at).toBeUndefined();
    const { error } = await browser().auth.signInWithPassword({ email: emailFor("unconfirmed"), password: "made-by-admin" });
    expect(error).toMatchObject({ status: 400, code: "email_not_confirmed" });
  });

  it("admin routes refuse the publishable key and a user's token (403 not_admin)", async () => {
    const { session } = await signUp("not-admin");
    const asBrowser = browser().auth.admin;
    expect((await asBrowser.createUser({ email: emailFor("sneaky"), password: "sneaky-pass" })).error)
      .toMatchObject({ status: 403, code: "not_admin" });
    expect((await asBrowser.getUserById(session.user.id)).error).toMatchObject({ status: 403, code: "not_admin" });
    expect((await asBrowser.deleteUser(session.user.id)).error).toMatchObject({ status: 403, code: "not_admin" });
    const asUser = withToken(session.access_token).auth.admin;
    expect((await asUser.getUserById(session.user.id)).error).toMatchObject({ status: 403, code: "not_admin" });
    const { rowCount } = await db().query("select 1 from auth.users where id = $1", [session.user.id]);
    expect(rowCount).toBe(1);
    expect((await db().query("select 1 from auth.users where email = $1", [emailFor("sneaky")])).rowCount).toBe(0);
  });

  it("getUserById of an unknown or malformed id is 404", async () => {
    const admin = server().auth.admin;
    expect((await admin.getUserById("00000000-0000-4000-8000-00000000dead")).error).toMatchObject({ status: 404, code: "user_not_found" });
  });
});

describe("a session on the Data API", () => {
  it("the token from signInWithPassword acts as that user under RLS: it inserts and reads its own real_users row", async () => {
    await signUp("rest");
    const client = browser();
    const { data: signIn, error } = await client.auth.signInWithPassword({ email: emailFor("rest"), password: PASSWORD });
    expect(error).toBeNull();
    const userId = signIn.user!.id;

    const inserted = await client
      .from("real_users")
      .insert({ id: userId, display_name: "Rest", age: 30, gender: "female", looking_for: "male" })
      .select("id, email, credits")
      .single();
    expect(inserted.error).toBeNull();
    // The email comes from auth.users (a trigger), credits start at 0 (docs/rules.md).
    expect(inserted.data).toEqual({ id: userId, email: emailFor("rest"), credits: 0 });

    // Someone else's row is refused by RLS.
    const other = await client
      .from("real_users")
      .insert({ id: "11111111-1111-4111-8111-111111111111", display_name: "Nope", age: 30, gender: "male", looking_for: "female" });
    expect(other.error?.code).toBe("42501");

    const { data: rows } = await client.from("real_users").select("id");
    expect(rows).toEqual([{ id: userId }]);
  });
});
