// The local stand-in for Supabase Auth (GoTrue) at /auth/v1 (docs/rules.md): the calls
// supabase-js makes for email/password users, with GoTrue's request and response shapes, error
// codes and tables (auth.users, auth.sessions, auth.refresh_tokens). Like the fake Paystack it is
// for local work only; hosted Supabase Auth replaces it.
//
// The gateway resolves API keys first, as the hosted gateway does, so every request arrives with
// `Authorization: Bearer <JWT>`: an anon or service_role JWT for a publishable/secret key, or a
// user's access token as the caller sent it (not yet verified: verified here).
//
// The pieces: createGuards (who is calling: GoTrue's requireAuthentication and
// requireAdminCredentials), createAccountHandlers (sign-up, sign-in, the user's own record,
// logout), createAdminHandlers (an admin's create, read and delete of users; list and update are
// in auth/admin-users.mjs), the email flows (auth/email-flows.mjs), and authRoutes, the hono app
// that routes /auth/v1 to them. The handlers answer on the Node response themselves (GoTrue's
// shapes, auth/http.mjs); the app only routes.
import { Hono } from "hono";
import pg from "pg";
import { z } from "zod";
import {
  AuthError,
  badRequest,
  forbidden,
  notFound,
  OAuthError,
  readJsonBody,
  sendError,
  sendJson,
  sendNoContent,
  sendPreflight,
  unprocessable,
} from "./auth/http.mjs";
import {
  checkPasswordStrength,
  hashPassword,
  isBcryptHash,
  randomPassword,
  verifyNoPassword,
  verifyPassword,
} from "./auth/passwords.mjs";
import { issueSession, logout, refreshSession } from "./auth/sessions.mjs";
import {
  DEFAULT_AUD,
  findUserByEmail,
  findUserById,
  insertUser,
  isBanned,
  isUuid,
  mergeMetadata,
  userJson,
} from "./auth/users.mjs";
import { createAdminUsers } from "./auth/admin-users.mjs";
import { createEmailFlows } from "./auth/email-flows.mjs";
import { createMailer, validateEmail } from "./auth/emails.mjs";
import { createInbox } from "./auth/inbox.mjs";
import { asError, factorEnrolmentOff, switchedOff } from "./auth/switched-off.mjs";
import { bearerToken, verifyToken } from "./keys.mjs";

/** The password of every user in supabase/seed.sql (printed by `npm start`). */
export const SEEDED_PASSWORD = "password123";

// GoTrue's admin roles (GOTRUE_JWT_ADMIN_ROLES, the default under Supabase).
const ADMIN_ROLES = new Set(["service_role", "supabase_admin"]);
const INVALID_LOGIN = "Invalid login credentials";
/** GoTrue (and this stand-in) read the nil session id as "no session" (tokens made outside a sign-in). */
export const NIL_UUID = "00000000-0000-0000-0000-000000000000";

const metadata = z.record(z.string(), z.unknown());
const SignupBody = z.object({
  email: z.string().optional(),
  phone: z.string().optional(),
  password: z.string().optional(),
  data: metadata.nullish(),
});
const PasswordGrantBody = z.object({
  email: z.string().optional(),
  phone: z.string().optional(),
  password: z.string().optional(),
});
const RefreshGrantBody = z.object({ refresh_token: z.string().optional() });
const UserUpdateBody = z.object({
  email: z.string().optional(),
  phone: z.string().optional(),
  password: z.string().nullish(),
  data: metadata.nullish(),
  app_metadata: metadata.nullish(),
  nonce: z.string().nullish(),
  code_challenge: z.string().nullish(),
  code_challenge_method: z.string().nullish(),
});
const AdminUserBody = z.object({
  id: z.string().optional(),
  email: z.string().optional(),
  phone: z.string().optional(),
  password: z.string().nullish(),
  password_hash: z.string().optional(),
  email_confirm: z.boolean().optional(),
  role: z.string().optional(),
  user_metadata: metadata.nullish(),
  app_metadata: metadata.nullish(),
});
const AdminDeleteBody = z.object({ should_soft_delete: z.boolean().optional() });

const requestToken = (req) => bearerToken(req.headers.authorization);

function clientInfo(req) {
  const forwarded = req.headers["x-forwarded-for"];
  const ip = (typeof forwarded === "string" ? forwarded.split(",")[0].trim() : "") || req.socket.remoteAddress || null;
  const userAgent = typeof req.headers["user-agent"] === "string" ? req.headers["user-agent"] : null;
  return { ip: ip?.replace(/^::ffff:/, "") ?? null, userAgent };
}

/** `fn` inside one transaction on a client of `pool`. */
function transactionOn(pool) {
  return async function transaction(fn) {
    const client = await pool.connect();
    try {
      await client.query("begin");
      const result = await fn(client);
      await client.query("commit");
      return result;
    } catch (error) {
      await client.query("rollback").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  };
}

/** Who is calling: the checks GoTrue makes before a handler runs, and its loadUser. */
function createGuards({ pool, keys }) {
  /** The verified claims of the bearer token (GoTrue's extractBearerToken + parseJWTClaims). */
  async function verifiedClaims(req) {
    const token = requestToken(req);
    if (!token) throw new AuthError(401, "no_authorization", "This endpoint requires a valid Bearer token");
    const claims = await verifyToken(keys, token);
    if (!claims) throw forbidden("bad_jwt", "invalid JWT: unable to parse or verify signature, token is invalid or expired");
    return claims;
  }

  /**
   * GoTrue's maybeLoadUserOrSession: the user of `sub` must exist and the token's session must
   * not have been logged out (GoTrue deletes the session row on logout).
   */
  async function loadUserAndSession(claims) {
    if (!claims.sub) throw forbidden("bad_jwt", "invalid claim: missing sub claim");
    if (!isUuid(claims.sub)) throw badRequest("bad_jwt", "invalid claim: sub claim must be a UUID");
    const user = await findUserById(pool, claims.sub);
    if (!user) throw forbidden("user_not_found", "User from sub claim in JWT does not exist");
    let sessionId = null;
    if (claims.session_id && claims.session_id !== NIL_UUID) {
      if (!isUuid(claims.session_id)) throw forbidden("bad_jwt", "invalid claim: session_id claim must be a UUID");
      const { rowCount } = await pool.query("select 1 from auth.sessions where id = $1", [claims.session_id]);
      if (rowCount === 0) throw forbidden("session_not_found", "Session from session_id claim in JWT does not exist");
      sessionId = claims.session_id;
    }
    return { user, sessionId };
  }

  /** GoTrue's requireAuthentication: a user's own, live access token. */
  async function requireUser(req) {
    const claims = await verifiedClaims(req);
    const { user, sessionId } = await loadUserAndSession(claims);
    if (isBanned(user)) throw forbidden("user_banned", "User is banned");
    return { claims, user, sessionId };
  }

  /** GoTrue's requireAdminCredentials: a token whose role is an admin role (service_role). */
  async function requireAdmin(req) {
    const claims = await verifiedClaims(req);
    if (claims.session_id && claims.session_id !== NIL_UUID) await loadUserAndSession(claims);
    if (!ADMIN_ROLES.has(claims.role)) throw forbidden("not_admin", "User not allowed");
    return claims;
  }

  /** GoTrue's loadUser for /admin/users/{user_id}. */
  async function loadUser(id) {
    if (!isUuid(id)) throw notFound("validation_failed", "user_id must be an UUID");
    const user = await findUserById(pool, id);
    if (!user) throw notFound("user_not_found", "User not found");
    return user;
  }

  return { requireUser, requireAdmin, loadUser };
}

/** The user's own calls: sign-up, the password and refresh-token grants, GET/PUT /user, logout. */
function createAccountHandlers({ pool, transaction, context, guards: { requireUser }, flows, securePasswordChange }) {
  // POST /signup. Email confirmation is off locally (`supabase start` with
  // enable_confirmations = false), so the user is confirmed and signed in at once.
  async function signup(req, res) {
    const body = await readJsonBody(req, SignupBody);
    if (!body.email && !body.phone && !body.password) {
      throw unprocessable("anonymous_provider_disabled", "Anonymous sign-ins are disabled");
    }
    if (!body.password) throw badRequest("validation_failed", "Signup requires a valid password");
    checkPasswordStrength(body.password);
    if (body.email && body.phone) {
      throw badRequest("validation_failed", "Only an email address or phone number should be provided on signup.");
    }
    if (body.phone) throw badRequest("phone_provider_disabled", "Phone signups are disabled");
    if (!body.email) throw badRequest("validation_failed", "Sign up only available with email provider");
    const email = validateEmail(body.email);

    // Hash outside the transaction, as GoTrue does: bcrypt is slow on purpose.
    const passwordHash = await hashPassword(body.password);
    const session = await transaction(async (client) => {
      // One sign-up per address at a time: the unique index would refuse the second anyway, but
      // with a 500 instead of GoTrue's answer.
      await client.query("select pg_advisory_xact_lock(hashtext('auth.signup:' || $1))", [email]);
      const existing = await findUserByEmail(client, email);
      if (existing) {
        // GoTrue answers user_already_exists for a confirmed user when autoconfirm is on.
        throw unprocessable("user_already_exists", "User already registered");
      }
      const user = await insertUser(client, {
        email,
        passwordHash,
        confirmed: true,
        appMetadata: { provider: "email", providers: ["email"] },
        // GoTrue's Confirm() records email_verified in the user's metadata.
        userMetadata: { ...(body.data ?? {}), email_verified: true },
      });
      return issueSession(context, client, user.id, clientInfo(req));
    });
    sendJson(res, 200, session);
  }

  // POST /token?grant_type=password
  async function passwordGrant(req, res) {
    const body = await readJsonBody(req, PasswordGrantBody);
    if (body.email && body.phone) {
      throw badRequest("validation_failed", "Only an email address or phone number should be provided on login.");
    }
    if (body.phone) throw unprocessable("phone_provider_disabled", "Phone logins are disabled");
    if (!body.email) throw badRequest("validation_failed", "missing email or phone");
    const user = await findUserByEmail(pool, body.email);
    if (!user || !user.encrypted_password) {
      await verifyNoPassword(body.password ?? "");
      throw badRequest("invalid_credentials", INVALID_LOGIN);
    }
    if (isBanned(user)) throw badRequest("user_banned", "User is banned");
    if (!(await verifyPassword(body.password ?? "", user.encrypted_password))) {
      throw badRequest("invalid_credentials", INVALID_LOGIN);
    }
    if (!user.email_confirmed_at) throw badRequest("email_not_confirmed", "Email not confirmed");
    const session = await transaction((client) => issueSession(context, client, user.id, clientInfo(req)));
    sendJson(res, 200, session);
  }

  // POST /token?grant_type=refresh_token
  async function refreshTokenGrant(req, res) {
    const body = await readJsonBody(req, RefreshGrantBody);
    if (!body.refresh_token) throw new OAuthError("invalid_request", "refresh_token required");
    sendJson(res, 200, await refreshSession(context, transaction, body.refresh_token));
  }

  // GET /user
  async function getUser(req, res) {
    const { claims, user } = await requireUser(req);
    const aud = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
    if (aud !== DEFAULT_AUD) throw badRequest("validation_failed", "Token audience doesn't match request audience");
    sendJson(res, 200, userJson(user));
  }

  // PUT /user: metadata, password and email (a change is confirmed through the emails it sends to
  // the local inbox). Changing the phone needs an SMS, which the stand-in cannot send, so it says so.
  async function updateUser(req, res, url) {
    const { user, sessionId } = await requireUser(req);
    const body = await readJsonBody(req, UserUpdateBody);
    const email = body.email ? validateEmail(body.email) : null;
    if (typeof body.password === "string") checkPasswordStrength(body.password);
    if (body.app_metadata && !ADMIN_ROLES.has(user.role)) {
      throw forbidden("not_admin", "Updating app_metadata requires admin privileges");
    }
    if (email && email !== user.email) {
      const other = await findUserByEmail(pool, email);
      if (other && other.id !== user.id) {
        throw unprocessable("email_exists", "A user with this email address has already been registered");
      }
      if (body.code_challenge || body.code_challenge_method) {
        throw badRequest("validation_failed", "The local Auth stand-in serves the implicit flow only (flowType: 'implicit'), not PKCE");
      }
    }
    if (body.phone && body.phone !== user.phone) {
      throw unprocessable("validation_failed", "The local Auth stand-in sends no SMS, so it cannot change a phone number");
    }
    // [auth.email] secure_password_change: a session older than 24 hours needs GET /reauthenticate's code.
    const sessionStart = sessionId
      ? (await pool.query("select created_at from auth.sessions where id = $1", [sessionId])).rows[0]?.created_at
      : null;
    const needsNonce = typeof body.password === "string" && securePasswordChange &&
      (!sessionStart || Date.now() > new Date(sessionStart).getTime() + 24 * 3600 * 1000);
    if (needsNonce && !body.nonce) throw badRequest("reauthentication_needed", "Password update requires reauthentication");
    let passwordHash = null;
    if (typeof body.password === "string" && body.password !== "") {
      if (await verifyPassword(body.password, user.encrypted_password)) {
        throw unprocessable("same_password", "New password should be different from the old password.");
      }
      passwordHash = await hashPassword(body.password);
    }

    const updated = await transaction(async (client) => {
      const current = await findUserById(client, user.id, { forUpdate: true });
      if (needsNonce) await flows.checkNonce(client, current, body.nonce);
      if (passwordHash) {
        await client.query("update auth.users set encrypted_password = $2, updated_at = now() where id = $1", [user.id, passwordHash]);
        // GoTrue's UpdatePassword: a changed password signs the user out everywhere else.
        if (sessionId) await logout(client, { userId: user.id, sessionId, scope: "others" });
        else await logout(client, { userId: user.id, scope: "global" });
      }
      if (body.data) {
        await client.query(
          "update auth.users set raw_user_meta_data = $2, updated_at = now() where id = $1",
          [user.id, mergeMetadata(current.raw_user_meta_data, body.data)],
        );
      }
      if (body.app_metadata) {
        await client.query(
          "update auth.users set raw_app_meta_data = $2, updated_at = now() where id = $1",
          [user.id, mergeMetadata(current.raw_app_meta_data, body.app_metadata)],
        );
      }
      // GoTrue's sendEmailChange: codes to the new and the current address (see email-flows.mjs).
      if (email && email !== current.email) await flows.sendEmailChange(client, current, email, flows.redirectOf(url));
      return findUserById(client, user.id);
    });
    sendJson(res, 200, userJson(updated));
  }

  // POST /logout?scope=global|local|others (global by default), 204.
  async function logoutRoute(req, res, url) {
    const scope = url.searchParams.get("scope") || "global";
    if (!["global", "local", "others"].includes(scope)) {
      throw badRequest("validation_failed", `Unsupported logout scope "${scope}"`);
    }
    const { user, sessionId } = await requireUser(req);
    await logout(pool, { userId: user.id, sessionId, scope });
    sendNoContent(res);
  }

  return { signup, passwordGrant, refreshTokenGrant, getUser, updateUser, logoutRoute };
}

/** An admin's create, read and delete of one user (list and update: auth/admin-users.mjs). */
function createAdminHandlers({ pool, transaction, guards: { requireAdmin, loadUser } }) {
  // POST /admin/users (adminUserCreate): the email is confirmed only with email_confirm: true.
  async function adminCreateUser(req, res) {
    await requireAdmin(req);
    const body = await readJsonBody(req, AdminUserBody);
    if (!body.email && !body.phone) {
      throw badRequest("validation_failed", "Cannot create a user without either an email or phone");
    }
    if (body.phone) throw badRequest("validation_failed", "The local Auth stand-in supports email users only");
    const email = validateEmail(body.email);
    if (body.password && body.password_hash) {
      throw badRequest("validation_failed", "Only a password or a password hash should be provided");
    }
    if (body.password_hash && !isBcryptHash(body.password_hash)) {
      throw badRequest("validation_failed", "Invalid password hash: the local Auth stand-in accepts bcrypt hashes");
    }
    if (body.password && Buffer.byteLength(body.password) > 72) {
      throw badRequest("validation_failed", "bcrypt: password length exceeds 72 bytes");
    }
    if (body.id !== undefined && !isUuid(body.id)) {
      throw badRequest("validation_failed", "ID must conform to the uuid v4 format");
    }
    if (body.id === NIL_UUID) throw badRequest("validation_failed", "ID cannot be a nil uuid");
    const passwordHash = body.password_hash || (await hashPassword(body.password || randomPassword()));

    const user = await transaction(async (client) => {
      await client.query("select pg_advisory_xact_lock(hashtext('auth.signup:' || $1))", [email]);
      if (await findUserByEmail(client, email)) {
        throw unprocessable("email_exists", "A user with this email address has already been registered");
      }
      if (body.id && (await findUserById(client, body.id))) {
        throw unprocessable("user_already_exists", "User already registered");
      }
      const confirmed = body.email_confirm === true;
      return insertUser(client, {
        id: body.id,
        email,
        passwordHash,
        confirmed,
        role: body.role || undefined,
        appMetadata: { ...(body.app_metadata ?? {}), provider: "email", providers: ["email"] },
        userMetadata: { ...(body.user_metadata ?? {}), ...(confirmed ? { email_verified: true } : {}) },
      });
    });
    sendJson(res, 200, userJson(user));
  }

  // GET /admin/users/{id}
  async function adminGetUser(req, res, id) {
    await requireAdmin(req);
    sendJson(res, 200, userJson(await loadUser(id)));
  }

  // DELETE /admin/users/{id}: deletes the row (its sessions and tokens cascade, and so do the
  // app's rows keyed by auth.users.id); should_soft_delete keeps the row but clears what
  // identifies the user (GoTrue obfuscates email and phone; the stand-in clears them).
  async function adminDeleteUser(req, res, id) {
    await requireAdmin(req);
    const user = await loadUser(id);
    const body = await readJsonBody(req, AdminDeleteBody, { allowEmpty: true });
    if (body.should_soft_delete) {
      if (!user.deleted_at) {
        await transaction(async (client) => {
          await client.query(
            `update auth.users set email = null, phone = null, encrypted_password = null,
               raw_user_meta_data = '{}', raw_app_meta_data = '{}', deleted_at = now(), updated_at = now()
             where id = $1`,
            [id],
          );
          await logout(client, { userId: id, scope: "global" });
        });
      }
    } else {
      try {
        await pool.query("delete from auth.users where id = $1", [id]);
      } catch (error) {
        throw Object.assign(new Error(`Database error deleting user: ${error.message}`), { cause: error });
      }
    }
    sendJson(res, 200, {});
  }

  return { adminCreateUser, adminGetUser, adminDeleteUser };
}

// GET /settings: what is switched on, as `supabase start` has it with this project's config.
const SETTINGS = {
  external: { anonymous_users: false, email: true, phone: false },
  disable_signup: false,
  mailer_autoconfirm: true,
  phone_autoconfirm: false,
  sms_provider: "",
  saml_enabled: false,
};

/**
 * The routes of /auth/v1 (paths without their trailing slashes). Each handler answers on the Node
 * response (`c.env.outgoing`) itself; the Response the app returns is not used.
 */
function authRoutes({ keys, apiUrl, guards: { requireUser, requireAdmin, loadUser }, account, admin, adminUsers, flows }) {
  const app = new Hono();
  // Runs a handler of the (req, res, url) kind; the request URL is the one the caller sent.
  const on = (handler) => async (c) => {
    await handler(c.env.incoming, c.env.outgoing, c.env.url);
    return new Response(null);
  };
  // Runs a handler of the (req, res, id) kind for /admin/users/:id.
  const onUser = (handler) => async (c) => {
    await handler(c.env.incoming, c.env.outgoing, c.req.param("id"));
    return new Response(null);
  };
  // What nothing above serves: GoTrue's answers for what is switched off, else a 404.
  const notServed = on((req, _res, url) => refuseUnserved(req, requireUser, requireAdmin, req.method, normalizedPath(url.pathname)));

  // GoTrue's router has no HEAD routes (hono would answer HEAD with the GET route).
  app.use("*", (c, next) => (c.req.method === "HEAD" ? notServed(c) : next()));
  app.options("*", on((req, res) => sendPreflight(req, res)));
  app.get("/health", on((_req, res) =>
    sendJson(res, 200, { version: "local", name: "GoTrue", description: "GoTrue is a user registration and authentication API" })));
  app.get("/.well-known/jwks.json", on((_req, res) => sendJson(res, 200, keys.jwks, { "cache-control": "public, max-age=600" })));
  app.get("/.well-known/openid-configuration", on((_req, res) => {
    const issuer = `${apiUrl}/auth/v1`;
    sendJson(res, 200, {
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      response_types_supported: ["code"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: keys.mode === "legacy" ? ["HS256"] : ["ES256"],
    });
  }));
  app.get("/settings", on((_req, res) => sendJson(res, 200, SETTINGS)));
  app.post("/signup", on(account.signup));
  app.post("/token", on(async (req, res, url) => {
    const grantType = url.searchParams.get("grant_type");
    if (grantType === "password") return account.passwordGrant(req, res);
    if (grantType === "refresh_token") return account.refreshTokenGrant(req, res);
    if (grantType === "web3") throw unprocessable("web3_provider_disabled", "Web3 provider is disabled");
    // No PKCE flow is ever started here, so no auth code has a flow state (token.go, PKCE).
    if (grantType === "pkce") throw notFound("flow_state_not_found", "invalid flow state, no valid flow state found");
    if (grantType === "id_token") {
      const body = await readJsonBody(req, z.object({ id_token: z.string().optional(), provider: z.string().optional(), issuer: z.string().optional(), client_id: z.string().optional() }).passthrough());
      if (!body.id_token) throw new OAuthError("invalid request", "id_token required");
      if (!body.provider && !(body.client_id && body.issuer)) throw new OAuthError("invalid request", "provider or client_id and issuer required");
      throw badRequest("provider_disabled", `Provider (issuer "${body.issuer ?? body.provider}") is not enabled`);
    }
    throw badRequest("invalid_credentials", "unsupported_grant_type");
  }));
  app.post("/recover", on(flows.recover));
  app.post("/otp", on(flows.otp));
  app.post("/magiclink", on(flows.magiclink));
  app.post("/verify", on(flows.verifyPost));
  app.get("/verify", on(flows.verifyGet));
  app.post("/resend", on(flows.resend));
  app.get("/reauthenticate", on(flows.reauthenticate));
  app.post("/invite", on(flows.invite));
  app.get("/user", on(account.getUser));
  app.put("/user", on(account.updateUser));
  app.post("/logout", on(account.logoutRoute));
  app.post("/factors", on(async (req) => {
    await requireUser(req);
    const body = await readJsonBody(req, z.object({ factor_type: z.string().optional() }).passthrough());
    throw factorEnrolmentOff(body.factor_type);
  }));
  app.get("/admin/users", on(adminUsers.list));
  app.post("/admin/users", on(admin.adminCreateUser));
  app.post("/admin/generate_link", on(flows.generateLink));
  app.get("/admin/audit", on(async (req, res) => {
    // The stand-in keeps no audit log (auth.audit_log_entries): an empty page, as GoTrue's.
    await requireAdmin(req);
    sendJson(res, 200, [], { link: `<${apiUrl}/auth/v1/admin/audit?page=0>; rel="last"`, "x-total-count": "0" });
  }));
  app.get("/admin/sso/providers", on(async (req, res) => {
    await requireAdmin(req);
    sendJson(res, 200, { items: [] });
  }));
  app.on(["GET", "PUT", "DELETE"], "/admin/sso/providers/:id", on(async (req) => {
    await requireAdmin(req);
    throw notFound("sso_provider_not_found", "SSO Identity Provider not found");
  }));
  app.post("/admin/sso/providers", on(async (req) => {
    await requireAdmin(req);
    throw notFound("saml_provider_disabled", "SAML 2.0 is disabled");
  }));
  app.get("/admin/users/:id/factors", onUser(async (req, res, id) => {
    await requireAdmin(req);
    await loadUser(id);
    sendJson(res, 200, []);
  }));
  app.get("/admin/users/:id", onUser(admin.adminGetUser));
  app.put("/admin/users/:id", onUser(adminUsers.update));
  app.delete("/admin/users/:id", onUser(admin.adminDeleteUser));
  app.all("*", notServed);
  return app;
}

/** A path as the routes read it: without trailing slashes ("/" stays). */
function normalizedPath(pathname) {
  return pathname.replace(/\/+$/, "") || "/";
}

/** Throws GoTrue's answer for a route it has but switched off (after its caller check), else a 404. */
async function refuseUnserved(req, requireUser, requireAdmin, method, path) {
  const off = switchedOff(method, path);
  if (off) {
    if (off.caller === "user") await requireUser(req);
    if (off.caller === "admin") await requireAdmin(req);
    throw asError(off.error);
  }
  throw notFound("not_found", `${method} /auth/v1${path} is not served by the local Auth stand-in`);
}

/**
 * Answers an error a handler threw: a known refusal gets GoTrue's error body, anything else is
 * logged and answered with 500 (a response already under way is cut off).
 */
function answerError(req, res, url, error, log) {
  if (res.headersSent) return void res.destroy();
  if (error instanceof AuthError || error instanceof OAuthError) return sendError(req, res, error);
  log(`auth: ${req.method} ${url.pathname} failed: ${error.stack ?? error.message}`);
  sendError(req, res, new AuthError(500, "unexpected_failure", "Unexpected failure, please check server logs for more information"));
}

/**
 * @param {{ dbUrl: string, keys: object, apiUrl: string, jwtExpirySeconds?: number,
 *   siteUrl?: string, additionalRedirectUrls?: string[], securePasswordChange?: boolean,
 *   log?: (line: string) => void }} options
 */
export function createAuthApi({
  dbUrl,
  keys,
  apiUrl,
  jwtExpirySeconds = 3600,
  siteUrl = "http://127.0.0.1:3000",
  additionalRedirectUrls = [],
  securePasswordChange = false,
  log = () => {},
}) {
  const pool = new pg.Pool({ connectionString: dbUrl, max: 5 });
  // An idle client that loses its connection must not take the stack down.
  pool.on("error", (error) => log(`auth: database connection error: ${error.message}`));
  const transaction = transactionOn(pool);
  const context = { keys, apiUrl, jwtExpirySeconds };
  const guards = createGuards({ pool, keys });
  // Where the stand-in's emails go: the local inbox (Mailpit's API), served by the gateway.
  const inbox = createInbox();
  const mailer = createMailer({ inbox, authUrl: `${apiUrl}/auth/v1`, siteUrl });
  const flows = createEmailFlows({
    pool,
    transaction,
    context,
    mailer,
    redirects: { siteUrl, additionalRedirectUrls },
    requireUser: guards.requireUser,
    requireAdmin: guards.requireAdmin,
    clientInfo,
  });
  const adminUsers = createAdminUsers({ pool, transaction, requireAdmin: guards.requireAdmin, loadUser: guards.loadUser, apiUrl });
  const account = createAccountHandlers({ pool, transaction, context, guards, flows, securePasswordChange });
  const admin = createAdminHandlers({ pool, transaction, guards });
  const app = authRoutes({ keys, apiUrl, guards, account, admin, adminUsers, flows });
  app.onError((error, c) => {
    answerError(c.env.incoming, c.env.outgoing, c.env.url, error, log);
    return new Response(null);
  });

  return {
    /**
     * Serves one request; `path` is what follows /auth/v1, with the query string. Never throws:
     * a known refusal gets GoTrue's error body, anything else is logged and answered with 500.
     */
    async handle(req, res, path) {
      const url = new URL(path, "http://auth.local");
      const env = { incoming: req, outgoing: res, url };
      let request;
      try {
        request = new Request(new URL(normalizedPath(url.pathname) + url.search, "http://auth.local"), { method: req.method });
      } catch {
        // A method fetch cannot carry (CONNECT, TRACE): nothing serves it.
        return refuseUnserved(req, guards.requireUser, guards.requireAdmin, req.method, normalizedPath(url.pathname))
          .catch((error) => answerError(req, res, url, error, log));
      }
      await app.fetch(request, env);
    },
    /** The local inbox (Mailpit's API and a page): the gateway serves it at /inbox. */
    inbox,
    close() {
      return pool.end();
    },
  };
}
