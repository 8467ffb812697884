// The Auth stand-in's flows that go through an email, driven by supabase-js as a frontend drives
// hosted Supabase Auth, with the emails read from the local inbox's JSON API (Mailpit's, at
// MAILPIT_URL) as a developer reads them: password recovery, magic link and email OTP, email
// change, invite, resend, reauthenticate; the admin list and update; GoTrue's email rule and its
// answers for what is switched off; and admin-accounts' "the new staff member sets a password".
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { afterAll, describe, expect, it } from "vitest";
import { accessToken, closeDb, db, stack } from "../support/stack.ts";

const clientOptions = { auth: { persistSession: false, autoRefreshToken: false, flowType: "implicit" as const } };
const browser = (): SupabaseClient => createClient(stack.apiUrl, stack.publishableKey, clientOptions);
const server = (): SupabaseClient => createClient(stack.apiUrl, stack.secretKey, clientOptions);
const inboxUrl = process.env.MAILPIT_URL ?? `${stack.apiUrl}/inbox`;

const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const emailFor = (name: string) => `mail-${name}-${run}@example.test`;
const PASSWORD = "correct-horse-1";

type Mail = { ID: string; Subject: string; Text: string; HTML: string; To: { Address: string }[] };

/** The newest email to an address, as a test reads Mailpit: search, then the message. */
async function latestMail(to: string, subject?: string): Promise<Mail> {
  const query = `to:"${to}"${subject ? ` subject:"${subject}"` : ""}`;
  const list = await (await fetch(`${inboxUrl}/api/v1/search?query=${encodeURIComponent(query)}`)).json();
  expect(list.messages.length, `no email to ${to}`).toBeGreaterThan(0);
  return (await fetch(`${inboxUrl}/api/v1/message/${list.messages[0].ID}`)).json();
}
const codeOf = (mail: Mail) => /enter the code: (\d{6})/i.exec(mail.Text)![1];
const linkOf = (mail: Mail) => /href="([^"]+)"/.exec(mail.HTML)![1].replaceAll("&amp;", "&");

async function signUp(name: string) {
  const client = browser();
  const { data, error } = await client.auth.signUp({ email: emailFor(name), password: PASSWORD });
  expect(error).toBeNull();
  return { client, session: data.session! };
}

afterAll(async () => {
  await db().query("delete from auth.users where email like $1 or email_change like $1", [`%-${run}@example.test`]);
  await closeDb();
});

describe("password recovery", () => {
  it("resetPasswordForEmail sends a code; verifyOtp(recovery) signs in; updateUser sets the new password", async () => {
    await signUp("recover");
    const client = browser();
    const { error } = await client.auth.resetPasswordForEmail(emailFor("recover"), { redirectTo: "http://127.0.0.1:3000/reset" });
    expect(error).toBeNull();
    const mail = await latestMail(emailFor("recover"), "Reset Your Password");
    expect(linkOf(mail)).toContain("type=recovery");
    const { data, error: verifyError } = await client.auth.verifyOtp({ email: emailFor("recover"), token: codeOf(mail), type: "recovery" });
    expect(verifyError).toBeNull();
    expect(data.session?.user.email).toBe(emailFor("recover"));
    expect((await client.auth.updateUser({ password: "new-password-2" })).error).toBeNull();

    const again = browser();
    expect((await again.auth.signInWithPassword({ email: emailFor("recover"), password: PASSWORD })).error?.code).toBe("invalid_credentials");
    expect((await again.auth.signInWithPassword({ email: emailFor("recover"), password: "new-password-2" })).error).toBeNull();
    // A code works once.
    const reused = await browser().auth.verifyOtp({ email: emailFor("recover"), token: codeOf(mail), type: "recovery" });
    expect(reused.error).toMatchObject({ status: 403, code: "otp_expired" });
  });

  it("an unknown address gets the same answer and no email; a second request within a second is 429", async () => {
    expect((await browser().auth.resetPasswordForEmail(emailFor("nobody"))).error).toBeNull();
    const list = await (await fetch(`${inboxUrl}/api/v1/search?query=${encodeURIComponent(`to:"${emailFor("nobody")}"`)}`)).json();
    expect(list.messages_count).toBe(0);

    await signUp("recover-twice");
    expect((await browser().auth.resetPasswordForEmail(emailFor("recover-twice"))).error).toBeNull();
    const second = await browser().auth.resetPasswordForEmail(emailFor("recover-twice"));
    expect(second.error).toMatchObject({ status: 429, code: "over_email_send_rate_limit" });
  });

  it("the email's link (GET /verify, no key) redirects to redirect_to with the session in the fragment", async () => {
    await signUp("recover-link");
    await browser().auth.resetPasswordForEmail(emailFor("recover-link"), { redirectTo: "http://localhost:5173/reset" });
    const link = linkOf(await latestMail(emailFor("recover-link")));
    const response = await fetch(link, { redirect: "manual" });
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get("location")!);
    expect(location.origin + location.pathname).toBe("http://localhost:5173/reset");
    const fragment = new URLSearchParams(location.hash.slice(1));
    expect(fragment.get("type")).toBe("recovery");
    expect(fragment.get("token_type")).toBe("bearer");
    const { data } = await browser().auth.getUser(fragment.get("access_token")!);
    expect(data.user?.email).toBe(emailFor("recover-link"));

    // Opened again: the error in the fragment, as GoTrue redirects it.
    const again = await fetch(link, { redirect: "manual" });
    const error = new URLSearchParams(new URL(again.headers.get("location")!).hash.slice(1));
    expect(Object.fromEntries(error)).toMatchObject({ error: "access_denied", error_code: "otp_expired", error_description: "Email link is invalid or has expired" });
  });
});

describe("magic link and email OTP", () => {
  it("signInWithOtp signs a new address up and verifyOtp(email) with the code signs it in", async () => {
    const client = browser();
    const { error } = await client.auth.signInWithOtp({ email: emailFor("otp"), options: { data: { nickname: "O" } } });
    expect(error).toBeNull();
    const mail = await latestMail(emailFor("otp"), "Your Magic Link");
    const { data, error: verifyError } = await client.auth.verifyOtp({ email: emailFor("otp"), token: codeOf(mail), type: "email" });
    expect(verifyError).toBeNull();
    expect(data.user).toMatchObject({ email: emailFor("otp"), user_metadata: { nickname: "O", email_verified: true } });
    expect(data.session?.access_token).toBeTruthy();
  });

  it("the magic link signs in through verifyOtp with its token hash; shouldCreateUser: false refuses an unknown address", async () => {
    await signUp("magic");
    await browser().auth.signInWithOtp({ email: emailFor("magic") });
    const hash = new URL(linkOf(await latestMail(emailFor("magic")))).searchParams.get("token")!;
    const { data, error } = await browser().auth.verifyOtp({ token_hash: hash, type: "magiclink" });
    expect(error).toBeNull();
    expect(data.user?.email).toBe(emailFor("magic"));

    const refused = await browser().auth.signInWithOtp({ email: emailFor("nobody-otp"), options: { shouldCreateUser: false } });
    expect(refused.error).toMatchObject({ status: 422, code: "otp_disabled" });
    const wrong = await browser().auth.verifyOtp({ email: emailFor("magic"), token: "000000", type: "email" });
    expect(wrong.error).toMatchObject({ status: 403, code: "otp_expired" });
  });
});

describe("email change, resend, reauthenticate", () => {
  it("updateUser({email}) mails both addresses; the new address's code completes the change", async () => {
    const { client } = await signUp("change");
    const { data, error } = await client.auth.updateUser({ email: emailFor("changed") });
    expect(error).toBeNull();
    expect(data.user).toMatchObject({ email: emailFor("change"), new_email: emailFor("changed") });
    expect((await latestMail(emailFor("change"), "Confirm Email Change")).Text).toContain(emailFor("changed"));
    const mail = await latestMail(emailFor("changed"), "Confirm Email Change");
    const verified = await client.auth.verifyOtp({ email: emailFor("changed"), token: codeOf(mail), type: "email_change" });
    expect(verified.error).toBeNull();
    expect(verified.data.user?.email).toBe(emailFor("changed"));
    expect((await browser().auth.signInWithPassword({ email: emailFor("changed"), password: PASSWORD })).error).toBeNull();
  });

  it("resend sends an unconfirmed user's signup email again, and its link confirms the address", async () => {
    const { error } = await server().auth.admin.createUser({ email: emailFor("resend"), password: PASSWORD });
    expect(error).toBeNull();
    expect((await browser().auth.resend({ type: "signup", email: emailFor("resend") })).error).toBeNull();
    const mail = await latestMail(emailFor("resend"), "Confirm Your Signup");
    const response = await fetch(linkOf(mail), { redirect: "manual" });
    expect(response.status).toBe(303);
    expect(new URLSearchParams(new URL(response.headers.get("location")!).hash.slice(1)).get("type")).toBe("signup");
    const { rows: [row] } = await db().query("select email_confirmed_at from auth.users where email = $1", [emailFor("resend")]);
    expect(row.email_confirmed_at).not.toBeNull();
  });

  it("reauthenticate mails a code that updateUser takes as its nonce", async () => {
    const { client } = await signUp("reauth");
    expect((await client.auth.reauthenticate()).error).toBeNull();
    const mail = await latestMail(emailFor("reauth"), "Confirm reauthentication");
    const { error } = await client.auth.updateUser({ password: "another-pass-3", nonce: codeOf(mail) });
    expect(error).toBeNull();
    expect((await browser().auth.signInWithPassword({ email: emailFor("reauth"), password: "another-pass-3" })).error).toBeNull();
  });
});

describe("invite and the admin API", () => {
  it("inviteUserByEmail mails an invite whose link signs the user in to set a password", async () => {
    const { data, error } = await server().auth.admin.inviteUserByEmail(emailFor("invite"), { data: { name: "Ina" } });
    expect(error).toBeNull();
    expect(data.user).toMatchObject({ email: emailFor("invite"), user_metadata: { name: "Ina" } });
    expect(data.user?.invited_at).toBeTruthy();
    expect(data.user?.email_confirmed_at).toBeUndefined();
    const mail = await latestMail(emailFor("invite"), "You have been invited");
    const response = await fetch(linkOf(mail), { redirect: "manual" });
    const fragment = new URLSearchParams(new URL(response.headers.get("location")!).hash.slice(1));
    expect(fragment.get("type")).toBe("invite");
    const client = browser();
    await client.auth.setSession({ access_token: fragment.get("access_token")!, refresh_token: fragment.get("refresh_token")! });
    expect((await client.auth.updateUser({ password: "invited-pass-4" })).error).toBeNull();
    expect((await browser().auth.signInWithPassword({ email: emailFor("invite"), password: "invited-pass-4" })).error).toBeNull();

    const twice = await server().auth.admin.inviteUserByEmail(emailFor("invite"));
    expect(twice.error).toMatchObject({ status: 422, code: "email_exists" });
  });

  it("listUsers pages with GoTrue's headers (total, next and last page)", async () => {
    for (const n of [1, 2, 3]) await server().auth.admin.createUser({ email: emailFor(`list${n}`), password: PASSWORD });
    const { rows: [{ count }] } = await db().query("select count(*)::int as count from auth.users");
    const { data, error } = await server().auth.admin.listUsers({ page: 1, perPage: 2 });
    expect(error).toBeNull();
    expect(data.users).toHaveLength(2);
    // supabase-js reads only the first digit of each Link page number (auth-js listUsers), so the
    // last page is checked on the header itself below.
    expect(data).toMatchObject({ total: count, nextPage: 2 });
    // Newest first.
    expect(data.users[0].email).toBe(emailFor("list3"));
    const response = await fetch(`${stack.apiUrl}/auth/v1/admin/users?page=1&per_page=2`, { headers: { apikey: stack.secretKey } });
    expect(response.headers.get("x-total-count")).toBe(String(count));
    expect(response.headers.get("link")).toMatch(
      new RegExp(`page=2&per_page=2>; rel="next", <[^>]*page=${Math.ceil(count / 2)}&per_page=2>; rel="last"$`),
    );
    const refused = await browser().auth.admin.listUsers();
    expect(refused.error).toMatchObject({ status: 403, code: "not_admin" });
  });

  it("updateUserById confirms, sets metadata and a password (signing the user out), and bans", async () => {
    const { data: created } = await server().auth.admin.createUser({ email: emailFor("update"), password: PASSWORD });
    const id = created.user!.id;
    const { data, error } = await server().auth.admin.updateUserById(id, {
      email_confirm: true,
      user_metadata: { team: "ops" },
      app_metadata: { staff: true },
      password: "admin-set-5",
    });
    expect(error).toBeNull();
    expect(data.user).toMatchObject({ user_metadata: { team: "ops", email_verified: true }, app_metadata: { staff: true, provider: "email" } });
    expect(data.user?.email_confirmed_at).toBeTruthy();
    const signIn = await browser().auth.signInWithPassword({ email: emailFor("update"), password: "admin-set-5" });
    expect(signIn.error).toBeNull();

    const banned = await server().auth.admin.updateUserById(id, { ban_duration: "24h" });
    expect(new Date(banned.data.user!.banned_until!).getTime()).toBeGreaterThan(Date.now() + 23 * 3600 * 1000);
    expect((await browser().auth.signInWithPassword({ email: emailFor("update"), password: "admin-set-5" })).error?.code).toBe("user_banned");
    const unbanned = await server().auth.admin.updateUserById(id, { ban_duration: "none" });
    expect(unbanned.data.user?.banned_until).toBeUndefined();
    const bad = await server().auth.admin.updateUserById(id, { ban_duration: "a week" });
    expect(bad.error).toMatchObject({ status: 400, code: "validation_failed" });
  });
});

describe("GoTrue's email rule and what is switched off", () => {
  it("checks addresses as GoTrue does: x@localhost is valid, xx:;x@x.x is not", async () => {
    const ok = await server().auth.admin.createUser({ email: `mail-localhost-${run}@localhost`, password: PASSWORD });
    expect(ok.error).toBeNull();
    await db().query("delete from auth.users where id = $1", [ok.data.user!.id]);
    for (const email of ["xx:;x@x.x", "a b@example.test", "x@-x.test"]) {
      const refused = await browser().auth.signUp({ email, password: PASSWORD });
      expect(refused.error, email).toMatchObject({ status: 400, code: "validation_failed", message: "Unable to validate email address: invalid format" });
    }
  });

  it("answers SAML, Web3, manual linking and anonymous sign-in with GoTrue's disabled errors", async () => {
    const { client, session } = await signUp("off");
    expect((await client.auth.signInWithSSO({ domain: "example.test" })).error).toMatchObject({ status: 404, code: "saml_provider_disabled", message: "SAML 2.0 is disabled" });
    const web3 = await fetch(`${stack.apiUrl}/auth/v1/token?grant_type=web3`, {
      method: "POST",
      headers: { apikey: stack.publishableKey, "content-type": "application/json", "x-supabase-api-version": "2024-01-01" },
      body: JSON.stringify({ chain: "solana", message: "m", signature: "s" }),
    });
    expect(web3.status).toBe(422);
    expect(await web3.json()).toMatchObject({ code: "web3_provider_disabled", message: "Web3 provider is disabled" });
    const linking = await client.auth.linkIdentity({ provider: "github", options: { skipBrowserRedirect: true } });
    expect(linking.error).toMatchObject({ status: 404, code: "manual_linking_disabled", message: "Manual linking is disabled" });
    const unlink = await client.auth.unlinkIdentity({ identity_id: session.user.identities![0].identity_id! } as never);
    expect(unlink.error).toMatchObject({ status: 404, code: "manual_linking_disabled" });
    expect((await browser().auth.signInAnonymously()).error).toMatchObject({ status: 422, code: "anonymous_provider_disabled" });
    expect((await client.auth.mfa.enroll({ factorType: "totp" })).error).toMatchObject({ status: 422, code: "mfa_totp_enroll_not_enabled" });
  });
});

describe("admin-accounts: the new staff member sets a password", () => {
  it("an account created without a password gets one through a password recovery", async () => {
    const { rows: [admin] } = await db().query("select id from public.admins limit 1");
    const response = await fetch(`${stack.functionsUrl}/admin-accounts`, {
      method: "POST",
      headers: { authorization: `Bearer ${accessToken(admin.id)}`, apikey: stack.publishableKey, "content-type": "application/json" },
      body: JSON.stringify({ email: emailFor("staff"), role: "operator", name: "New Staff" }),
    });
    expect(response.status).toBe(200);

    const client = browser();
    expect((await client.auth.resetPasswordForEmail(emailFor("staff"))).error).toBeNull();
    const mail = await latestMail(emailFor("staff"), "Reset Your Password");
    expect((await client.auth.verifyOtp({ email: emailFor("staff"), token: codeOf(mail), type: "recovery" })).error).toBeNull();
    expect((await client.auth.updateUser({ password: "staff-pass-6" })).error).toBeNull();
    const signIn = await browser().auth.signInWithPassword({ email: emailFor("staff"), password: "staff-pass-6" });
    expect(signIn.error).toBeNull();
    const { rows } = await db().query("select 1 from public.operators where id = $1", [signIn.data.user!.id]);
    expect(rows).toHaveLength(1);
  });
});
