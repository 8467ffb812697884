// The flows that go through an email, as GoTrue runs them with `supabase start`'s settings
// (confirmations off, so mailer_autoconfirm; double_confirm_changes on; PKCE not served here):
//   POST /recover            a recovery code and link (recover.go)
//   POST /otp, /magiclink    a magic link; an unknown address signs up first (otp.go, magic_link.go)
//   POST /verify             a code (with the email) or a token hash for a session (verify.go)
//   GET  /verify             the emails' link: 303 to redirect_to with the session in the fragment
//   POST /resend             the signup or email change email again (resend.go)
//   GET  /reauthenticate     a code for PUT /user's nonce (reauthenticate.go)
//   POST /invite             an admin invites an address (invite.go)
//   POST /admin/generate_link  the same links without sending (mail.go, adminGenerateLink)
// and the email change of PUT /user (sendEmailChange).
import { z } from "zod";
import { AuthError, badRequest, forbidden, notFound, readJsonBody, sendJson, unprocessable } from "./http.mjs";
import { checkSendFrequency, generateOtp, isOtpFresh, referrer, tokenHash, validateEmail } from "./emails.mjs";
import { hashPassword, randomPassword } from "./passwords.mjs";
import { issueSession } from "./sessions.mjs";
import { findUserByEmail, findUserById, insertUser, isBanned, userJson } from "./users.mjs";

const metadata = z.record(z.string(), z.unknown());
const pkce = { code_challenge: z.string().nullish(), code_challenge_method: z.string().nullish() };
const RecoverBody = z.object({ email: z.string().optional(), ...pkce, gotrue_meta_security: z.unknown().optional() });
const OtpBody = z.object({
  email: z.string().optional(),
  phone: z.string().optional(),
  channel: z.string().optional(),
  create_user: z.boolean().optional(),
  data: metadata.nullish(),
  ...pkce,
  gotrue_meta_security: z.unknown().optional(),
});
const VerifyBody = z.object({
  type: z.string().optional(),
  token: z.string().optional(),
  token_hash: z.string().optional(),
  email: z.string().optional(),
  phone: z.string().optional(),
  redirect_to: z.string().optional(),
  gotrue_meta_security: z.unknown().optional(),
});
const ResendBody = z.object({ type: z.string().optional(), email: z.string().optional(), phone: z.string().optional(), ...pkce, gotrue_meta_security: z.unknown().optional() });
const InviteBody = z.object({ email: z.string().optional(), data: metadata.nullish() });
const GenerateLinkBody = z.object({
  type: z.string().optional(),
  email: z.string().optional(),
  new_email: z.string().optional(),
  password: z.string().optional(),
  data: metadata.nullish(),
  redirect_to: z.string().optional(),
});

const EMAIL_TYPES = new Set(["signup", "invite", "magiclink", "recovery", "email_change", "email"]);
const OTP_INVALID = "Token has expired or is invalid";
const LINK_INVALID = "Email link is invalid or has expired";
const DUPLICATE_EMAIL = "A user with this email address has already been registered";
// GoTrue's oauthErrorMap, for the `error` of a failed link's redirect.
const OAUTH_ERRORS = { 400: "invalid_request", 401: "unauthorized_client", 403: "access_denied", 500: "server_error", 503: "temporarily_unavailable" };

/** The stand-in serves the implicit flow only: a PKCE code challenge is refused, not ignored. */
function refusePkce(body) {
  if (body.code_challenge || body.code_challenge_method) {
    throw badRequest("validation_failed", "The local Auth stand-in serves the implicit flow only (flowType: 'implicit'), not PKCE");
  }
}

/**
 * @param {{ pool: import("pg").Pool, transaction: Function, context: object, mailer: object,
 *   redirects: { siteUrl: string, additionalRedirectUrls: string[] }, requireUser: Function,
 *   requireAdmin: Function, clientInfo: Function }} deps
 */
export function createEmailFlows({ pool, transaction, context, mailer, redirects, requireUser, requireAdmin, clientInfo }) {
  const redirectOf = (url) => referrer(url.searchParams.get("redirect_to"), redirects);

  /** Stores a new code in `column` (with its `sent_at`) and sends it; GoTrue's send* helpers. */
  async function sendCode(client, user, { template, column, sentColumn, type, redirectTo, address = user.email, checkFrequency = true }) {
    if (checkFrequency) checkSendFrequency(user[sentColumn]);
    const otp = generateOtp();
    const hash = tokenHash(address, otp);
    await client.query(`update auth.users set ${column} = $2, ${sentColumn} = now(), updated_at = now() where id = $1`, [user.id, hash]);
    mailer.send({ to: address, template, otp, hash, type, redirectTo });
    return { otp, hash };
  }

  const sendMagicLink = (client, user, redirectTo) =>
    sendCode(client, user, { template: "magiclink", column: "recovery_token", sentColumn: "recovery_sent_at", redirectTo });
  const sendRecovery = (client, user, redirectTo) =>
    sendCode(client, user, { template: "recovery", column: "recovery_token", sentColumn: "recovery_sent_at", redirectTo });
  const sendConfirmation = (client, user, redirectTo) =>
    sendCode(client, user, { template: "signup", column: "confirmation_token", sentColumn: "confirmation_sent_at", redirectTo });

  async function sendInvite(client, user, redirectTo) {
    const sent = await sendCode(client, user, {
      template: "invite", column: "confirmation_token", sentColumn: "confirmation_sent_at", redirectTo, checkFrequency: false,
    });
    await client.query("update auth.users set invited_at = now() where id = $1", [user.id]);
    return sent;
  }

  /**
   * GoTrue's sendEmailChange with double_confirm_changes: a code for the new address and one for
   * the current address, each in its own email; with autoconfirm either one completes the change.
   */
  async function sendEmailChange(client, user, newEmail, redirectTo) {
    checkSendFrequency(user.email_change_sent_at);
    const otpNew = generateOtp();
    const hashNew = tokenHash(newEmail, otpNew);
    const otpCurrent = user.email ? generateOtp() : "";
    const hashCurrent = user.email ? tokenHash(user.email, otpCurrent) : "";
    await client.query(
      `update auth.users set email_change = $2, email_change_token_new = $3, email_change_token_current = $4,
         email_change_confirm_status = 0, email_change_sent_at = now(), updated_at = now() where id = $1`,
      [user.id, newEmail, hashNew, hashCurrent],
    );
    const common = { template: "email_change", type: "email_change", redirectTo, email: user.email, newEmail };
    mailer.send({ ...common, to: newEmail, otp: otpNew, hash: hashNew });
    if (user.email) mailer.send({ ...common, to: user.email, otp: otpCurrent, hash: hashCurrent });
  }

  /** user.Confirm: the email is confirmed and the metadata says so. */
  async function confirm(client, user) {
    await client.query(
      `update auth.users set email_confirmed_at = coalesce(email_confirmed_at, now()), confirmation_token = '',
         raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb) || '{"email_verified": true}', updated_at = now()
       where id = $1`,
      [user.id],
    );
  }

  // POST /recover: 200 {} whether or not the address has an account.
  async function recover(req, res, url) {
    const body = await readJsonBody(req, RecoverBody);
    if (!body.email) throw badRequest("validation_failed", "Password recovery requires an email");
    const email = validateEmail(body.email);
    refusePkce(body);
    const user = await findUserByEmail(pool, email);
    if (user) await transaction((client) => sendRecovery(client, user, redirectOf(url)));
    sendJson(res, 200, {});
  }

  // POST /otp (and the older POST /magiclink): a magic link with a code.
  async function otp(req, res, url, { magiclink = false } = {}) {
    const body = await readJsonBody(req, OtpBody);
    if (!magiclink) {
      if (body.email && body.phone) throw badRequest("validation_failed", "Only an email address or phone number should be provided");
      if (body.email && body.channel) throw badRequest("validation_failed", "Channel should only be specified with Phone OTP");
    }
    refusePkce(body);
    if (!magiclink && !body.email) {
      if (body.phone) throw badRequest("phone_provider_disabled", "Unsupported phone provider");
      throw badRequest("validation_failed", "One of email or phone must be set");
    }
    if (!body.email) throw unprocessable("validation_failed", "Password recovery requires an email");
    const email = validateEmail(body.email);
    const createUser = magiclink || body.create_user !== false;
    const redirectTo = redirectOf(url);
    await transaction(async (client) => {
      await client.query("select pg_advisory_xact_lock(hashtext('auth.signup:' || $1))", [email]);
      let user = await findUserByEmail(client, email);
      if (!user && !createUser) throw unprocessable("otp_disabled", "Signups not allowed for otp");
      if (!user) {
        // GoTrue signs the address up with a random password; autoconfirm confirms it at once.
        user = await insertUser(client, {
          email,
          passwordHash: await hashPassword(randomPassword()),
          confirmed: true,
          appMetadata: { provider: "email", providers: ["email"] },
          userMetadata: { ...(body.data ?? {}), email_verified: true },
        });
      } else if (!user.email_confirmed_at) {
        await confirm(client, user);
      }
      await sendMagicLink(client, user, redirectTo);
    });
    sendJson(res, 200, {});
  }

  /** The user a code or token hash belongs to, checked as verifyTokenHash / verifyUserAndToken do. */
  async function userForCode(client, params) {
    let user;
    let type = params.type;
    const codes = (u) => ({
      signup: [u.confirmation_token, u.confirmation_sent_at],
      invite: [u.confirmation_token, u.confirmation_sent_at],
      recovery: [u.recovery_token, u.recovery_sent_at],
      magiclink: [u.recovery_token, u.recovery_sent_at],
    });
    if (params.tokenHash) {
      const columns = {
        email: "confirmation_token = $1 or recovery_token = $1",
        signup: "confirmation_token = $1",
        invite: "confirmation_token = $1",
        recovery: "recovery_token = $1",
        magiclink: "recovery_token = $1",
        email_change: "email_change_token_new = $1 or email_change_token_current = $1",
      }[type];
      if (!columns) throw badRequest("validation_failed", "Invalid email verification type");
      const { rows } = await client.query(`select id from auth.users where ${columns} limit 1`, [params.tokenHash]);
      user = rows[0] ? await findUserById(client, rows[0].id, { forUpdate: true }) : null;
      if (!user) throw forbidden("otp_expired", LINK_INVALID);
      if (isBanned(user)) throw forbidden("user_banned", "User is banned");
      let sentAt;
      if (type === "email") {
        const recovery = user.recovery_token === params.tokenHash;
        type = recovery ? "magiclink" : "signup";
        sentAt = recovery ? user.recovery_sent_at : user.confirmation_sent_at;
      } else if (type === "email_change") {
        sentAt = user.email_change_sent_at;
      } else {
        sentAt = codes(user)[type][1];
      }
      if (!isOtpFresh(sentAt)) throw forbidden("otp_expired", LINK_INVALID);
      return { user, type };
    }
    if (type === "email_change") {
      const { rows } = await client.query(
        `select id from auth.users
          where (lower(email_change) = lower($1) and email_change_token_new = $2)
             or (lower(email) = lower($1) and email_change_token_current = $2) limit 1`,
        [params.email, params.hash],
      );
      user = rows[0] ? await findUserById(client, rows[0].id, { forUpdate: true }) : null;
    } else {
      const found = await findUserByEmail(client, params.email);
      user = found ? await findUserById(client, found.id, { forUpdate: true }) : null;
    }
    if (!user) throw forbidden("otp_expired", OTP_INVALID);
    if (isBanned(user)) throw forbidden("user_banned", "User is banned");
    const valid = (token, sentAt) => Boolean(token) && token === params.hash && isOtpFresh(sentAt);
    let ok = false;
    if (type === "email") {
      if (valid(user.confirmation_token, user.confirmation_sent_at)) {
        ok = true;
        type = "signup";
      } else if (valid(user.recovery_token, user.recovery_sent_at)) {
        ok = true;
        type = "magiclink";
      }
    } else if (type === "email_change") {
      ok = valid(user.email_change_token_new, user.email_change_sent_at) || valid(user.email_change_token_current, user.email_change_sent_at);
    } else {
      ok = valid(...codes(user)[type]);
    }
    if (!ok) throw forbidden("otp_expired", OTP_INVALID);
    return { user, type };
  }

  /** What a verified code does (signupVerify, recoverVerify, emailChangeVerify), then a session. */
  async function completeVerification(client, user, type, req) {
    if (type === "signup" || type === "invite") {
      if (!user.encrypted_password && user.invited_at) {
        // GoTrue gives an invited user a random password; the app then asks for a real one.
        await client.query("update auth.users set encrypted_password = $2 where id = $1", [user.id, await hashPassword(randomPassword())]);
      }
      await confirm(client, user);
    } else if (type === "recovery" || type === "magiclink") {
      await client.query("update auth.users set recovery_token = '', updated_at = now() where id = $1", [user.id]);
      if (!user.email_confirmed_at) await confirm(client, user);
    } else if (type === "email_change") {
      const taken = await findUserByEmail(client, user.email_change);
      if (taken && taken.id !== user.id) throw unprocessable("email_exists", DUPLICATE_EMAIL);
      await client.query(
        `update auth.users set email = email_change, email_change = '', email_change_token_new = '',
           email_change_token_current = '', email_change_confirm_status = 0, email_confirmed_at = now(), updated_at = now()
         where id = $1`,
        [user.id],
      );
    }
    return issueSession(context, client, user.id, clientInfo(req));
  }

  // POST /verify: a session for a code (with its email) or a token hash.
  async function verifyPost(req, res) {
    const body = await readJsonBody(req, VerifyBody);
    if (!body.type) throw badRequest("validation_failed", "Verify requires a verification type");
    if ((!body.token && !body.token_hash) || (body.token && body.token_hash)) {
      throw badRequest("validation_failed", "Verify requires either a token or a token hash");
    }
    const params = { type: body.type };
    if (body.token) {
      if (body.phone && (body.type === "sms" || body.type === "phone_change")) {
        // No user has a phone locally (phone sign-in is off), as GoTrue finds none.
        throw forbidden("otp_expired", OTP_INVALID);
      }
      if (!body.email || !EMAIL_TYPES.has(body.type)) {
        throw badRequest("validation_failed", "Only an email address or phone number should be provided on verify");
      }
      try {
        params.email = validateEmail(body.email);
      } catch {
        throw unprocessable("validation_failed", "Invalid email format");
      }
      params.hash = tokenHash(params.email, body.token);
    } else {
      if (body.email || body.phone || body.redirect_to) {
        throw badRequest("validation_failed", "Only the token_hash and type should be provided");
      }
      params.tokenHash = body.token_hash;
    }
    if (!EMAIL_TYPES.has(body.type) && params.tokenHash) throw badRequest("validation_failed", "Invalid email verification type");
    if (!EMAIL_TYPES.has(body.type)) throw badRequest("validation_failed", "Unsupported verification type");
    const session = await transaction(async (client) => {
      const { user, type } = await userForCode(client, params);
      return completeVerification(client, user, type, req);
    });
    sendJson(res, 200, session);
  }

  // GET /verify?token=<hash>&type=&redirect_to=: what an email's link opens. Success and failure
  // both redirect (303) to redirect_to, with the session or the error in the fragment.
  async function verifyGet(req, res, url) {
    const type = url.searchParams.get("type") ?? "";
    const token = url.searchParams.get("token") ?? "";
    const redirectTo = redirectOf(url);
    if (!type) throw badRequest("validation_failed", "Verify requires a verification type");
    if (!token) throw badRequest("validation_failed", "Verify requires a token or a token hash");
    let location;
    try {
      if (token.startsWith("pkce_")) throw badRequest("validation_failed", "The local Auth stand-in does not serve PKCE");
      if (!["signup", "invite", "recovery", "magiclink", "email_change"].includes(type)) {
        if (type === "email") throw badRequest("validation_failed", "Invalid email verification type");
        throw badRequest("validation_failed", "Unsupported verification type");
      }
      const session = await transaction(async (client) => {
        const { user, type: resolved } = await userForCode(client, { type, tokenHash: token });
        return completeVerification(client, user, resolved, req);
      });
      // AccessTokenResponse.AsRedirectURL: the keys sorted, as Go's url.Values encodes them.
      const fragment = new URLSearchParams([
        ["access_token", session.access_token],
        ["expires_at", String(session.expires_at)],
        ["expires_in", String(session.expires_in)],
        ["refresh_token", session.refresh_token],
        ["token_type", session.token_type],
        ["type", type],
      ]);
      location = `${redirectTo}#${fragment}`;
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      const target = new URL(redirectTo);
      const fragment = new URLSearchParams();
      if (OAUTH_ERRORS[error.status]) fragment.set("error", OAUTH_ERRORS[error.status]);
      fragment.set("error_code", error.code);
      fragment.set("error_description", error.message);
      fragment.set("sb", "");
      target.hash = fragment.toString();
      location = target.toString();
    }
    res.writeHead(303, { location, "access-control-allow-origin": "*", "content-length": 0 });
    res.end();
  }

  // POST /resend: the signup confirmation or the email change emails again.
  async function resend(req, res, url) {
    const body = await readJsonBody(req, ResendBody);
    if (!["signup", "email_change", "sms", "phone_change"].includes(body.type)) {
      throw badRequest("validation_failed", "Missing one of these types: signup, email_change, sms, phone_change");
    }
    if (body.type === "signup" || body.type === "email_change") refusePkce(body);
    if (!body.email && body.type === "signup") throw badRequest("validation_failed", "Type provided requires an email address");
    if (!body.phone && body.type === "sms") throw badRequest("validation_failed", "Type provided requires a phone number");
    if (body.email && body.phone) throw badRequest("validation_failed", "Only an email address or phone number should be provided.");
    if (body.phone) throw badRequest("phone_provider_disabled", "Phone logins are disabled");
    if (!body.email) throw badRequest("validation_failed", "Missing email address or phone number");
    const email = validateEmail(body.email);
    const user = await findUserByEmail(pool, email);
    if (!user) return sendJson(res, 200, {});
    if (body.type === "signup" && user.email_confirmed_at) return sendJson(res, 200, {});
    if (body.type === "email_change" && !user.email_change) return sendJson(res, 200, {});
    if (body.type === "sms" || body.type === "phone_change") return sendJson(res, 200, {});
    await transaction(async (client) => {
      const current = await findUserById(client, user.id, { forUpdate: true });
      if (body.type === "signup") await sendConfirmation(client, current, redirectOf(url));
      else await sendEmailChange(client, current, current.email_change, redirectOf(url));
    });
    sendJson(res, 200, {});
  }

  // GET /reauthenticate: a code for PUT /user's nonce.
  async function reauthenticate(req, res) {
    const { user } = await requireUser(req);
    if (!user.email && !user.phone) {
      throw badRequest("validation_failed", "Reauthentication requires the user to have an email or a phone number");
    }
    if (!user.email_confirmed_at) throw unprocessable("email_not_confirmed", "Please verify your email first.");
    await transaction((client) =>
      sendCode(client, user, { template: "reauthentication", column: "reauthentication_token", sentColumn: "reauthentication_sent_at" }));
    sendJson(res, 200, {});
  }

  /** verifyReauthentication: PUT /user's nonce against the code GET /reauthenticate sent. */
  async function checkNonce(client, user, nonce) {
    const invalid = () => unprocessable("reauthentication_not_valid", "Verification code not found. Please request a new one.");
    if (!user.reauthentication_token || !user.reauthentication_sent_at) throw invalid();
    if (tokenHash(user.email, nonce) !== user.reauthentication_token || !isOtpFresh(user.reauthentication_sent_at)) throw invalid();
    await client.query("update auth.users set reauthentication_token = '', reauthentication_sent_at = null where id = $1", [user.id]);
  }

  // POST /invite (admin): a new, unconfirmed user without a password and an invite email.
  async function invite(req, res, url) {
    await requireAdmin(req);
    const body = await readJsonBody(req, InviteBody);
    const email = validateEmail(body.email);
    const user = await transaction(async (client) => {
      await client.query("select pg_advisory_xact_lock(hashtext('auth.signup:' || $1))", [email]);
      let found = await findUserByEmail(client, email);
      if (found?.email_confirmed_at) throw unprocessable("email_exists", DUPLICATE_EMAIL);
      if (!found) {
        found = await insertUser(client, {
          email,
          passwordHash: null,
          confirmed: false,
          appMetadata: { provider: "email", providers: ["email"] },
          userMetadata: body.data ?? {},
        });
      }
      await sendInvite(client, found, redirectOf(url));
      return findUserById(client, found.id);
    });
    sendJson(res, 200, userJson(user));
  }

  // POST /admin/generate_link: the link and code an email would carry, without sending it.
  async function generateLink(req, res, url) {
    await requireAdmin(req);
    const body = await readJsonBody(req, GenerateLinkBody);
    const email = validateEmail(body.email);
    const redirectTo = referrer(body.redirect_to ?? url.searchParams.get("redirect_to"), redirects);
    const type = body.type ?? "";
    const result = await transaction(async (client) => {
      await client.query("select pg_advisory_xact_lock(hashtext('auth.signup:' || $1))", [email]);
      let user = await findUserByEmail(client, email);
      const store = async (u, column, sentColumn, address = u.email) => {
        const otp = generateOtp();
        const hash = tokenHash(address, otp);
        await client.query(`update auth.users set ${column} = $2, ${sentColumn} = now() where id = $1`, [u.id, hash]);
        return { otp, hash };
      };
      let code;
      let verificationType = type;
      if (type === "magiclink" || type === "recovery") {
        if (!user) {
          if (type === "recovery") throw notFound("user_not_found", "User with this email not found");
          user = await insertUser(client, {
            email, passwordHash: await hashPassword(randomPassword()), confirmed: false,
            appMetadata: { provider: "email", providers: ["email"] }, userMetadata: body.data ?? {},
          });
        }
        code = await store(user, "recovery_token", "recovery_sent_at");
      } else if (type === "invite") {
        if (user?.email_confirmed_at) throw unprocessable("email_exists", DUPLICATE_EMAIL);
        if (!user) {
          user = await insertUser(client, {
            email, passwordHash: null, confirmed: false,
            appMetadata: { provider: "email", providers: ["email"] }, userMetadata: body.data ?? {},
          });
        }
        code = await store(user, "confirmation_token", "confirmation_sent_at");
        await client.query("update auth.users set invited_at = now() where id = $1", [user.id]);
      } else if (type === "signup") {
        if (user?.email_confirmed_at) throw unprocessable("email_exists", DUPLICATE_EMAIL);
        if (!body.password) throw badRequest("validation_failed", "Signup requires a valid password");
        if (!user) {
          user = await insertUser(client, {
            email, passwordHash: await hashPassword(body.password), confirmed: false,
            appMetadata: { provider: "email", providers: ["email"] }, userMetadata: body.data ?? {},
          });
        }
        code = await store(user, "confirmation_token", "confirmation_sent_at");
      } else if (type === "email_change_current" || type === "email_change_new") {
        if (!user) throw notFound("user_not_found", "User with this email not found");
        const newEmail = validateEmail(body.new_email);
        const taken = await findUserByEmail(client, newEmail);
        if (taken) throw unprocessable("email_exists", DUPLICATE_EMAIL);
        const otpNew = generateOtp();
        const otpCurrent = generateOtp();
        const hashNew = tokenHash(newEmail, otpNew);
        const hashCurrent = tokenHash(user.email, otpCurrent);
        await client.query(
          `update auth.users set email_change = $2, email_change_token_new = $3, email_change_token_current = $4,
             email_change_confirm_status = 0, email_change_sent_at = now() where id = $1`,
          [user.id, newEmail, hashNew, hashCurrent],
        );
        code = type === "email_change_new" ? { otp: otpNew, hash: hashNew } : { otp: otpCurrent, hash: hashCurrent };
        verificationType = "email_change";
      } else {
        throw badRequest("validation_failed", `Invalid email action link type requested: ${type}`);
      }
      return { user: await findUserById(client, user.id), ...code };
    });
    const link = new URL(`${context.apiUrl}/auth/v1/verify`);
    link.searchParams.set("token", result.hash);
    link.searchParams.set("type", verificationType);
    link.searchParams.set("redirect_to", redirectTo);
    sendJson(res, 200, {
      ...userJson(result.user),
      action_link: link.toString(),
      email_otp: result.otp,
      hashed_token: result.hash,
      verification_type: verificationType,
      redirect_to: redirectTo,
    });
  }

  return {
    recover,
    otp,
    magiclink: (req, res, url) => otp(req, res, url, { magiclink: true }),
    verifyPost,
    verifyGet,
    resend,
    reauthenticate,
    invite,
    generateLink,
    sendEmailChange,
    checkNonce,
    redirectOf,
  };
}
