// Sessions, refresh tokens and access tokens as GoTrue issues them (internal/tokens/service.go,
// models/sessions.go, models/refresh_token.go), on auth.sessions and auth.refresh_tokens.
import { randomInt } from "node:crypto";
import { signAccessToken } from "../keys.mjs";
import { badRequest } from "./http.mjs";
import { findUserById, isBanned, userJson } from "./users.mjs";

// GoTrue lets a revoked refresh token be used again within `refresh_token_reuse_interval`
// seconds (10 under `supabase start`) to absorb racing tabs. The stand-in keeps it at 0: any
// reuse of a revoked token is refused, except GoTrue's other allowance (see refreshSession).
const REFRESH_TOKEN_REUSE_INTERVAL_SECONDS = 0;

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** GoTrue's (v1) refresh token: 12 random alphanumeric characters (crypto.SecureAlphanumeric). */
function newRefreshTokenString() {
  let token = "";
  for (let i = 0; i < 12; i += 1) token += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return token;
}

async function insertRefreshToken(client, { userId, sessionId, parent = null }) {
  const { rows } = await client.query(
    `insert into auth.refresh_tokens (instance_id, token, user_id, revoked, parent, session_id, created_at, updated_at)
     values ('00000000-0000-0000-0000-000000000000', $1, $2, false, $3, $4, now(), now())
     returning token`,
    [newRefreshTokenString(), userId, parent, sessionId],
  );
  return rows[0].token;
}

/**
 * The access token of a session, with the claims GoTrue puts in it (AccessTokenClaims). GoTrue
 * keeps the sign-in methods in auth.mfa_amr_claims; the stand-in has only password sign-ins, so
 * the amr is the password method at the session's start.
 */
export async function accessTokenFor(context, user, session) {
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + context.jwtExpirySeconds;
  const token = await signAccessToken(context.keys, {
    iss: `${context.apiUrl}/auth/v1`,
    sub: user.id,
    aud: user.aud ?? "authenticated",
    exp,
    iat,
    email: user.email ?? "",
    phone: user.phone ?? "",
    app_metadata: user.raw_app_meta_data ?? {},
    user_metadata: user.raw_user_meta_data ?? {},
    role: user.role ?? "authenticated",
    aal: session.aal ?? "aal1",
    amr: [{ method: "password", timestamp: Math.floor(new Date(session.created_at).getTime() / 1000) }],
    session_id: session.id,
    is_anonymous: user.is_anonymous ?? false,
  });
  return { token, exp };
}

/** GoTrue's AccessTokenResponse. */
async function sessionResponse(context, user, session, refreshToken) {
  const { token, exp } = await accessTokenFor(context, user, session);
  return {
    access_token: token,
    token_type: "bearer",
    expires_in: context.jwtExpirySeconds,
    expires_at: exp,
    refresh_token: refreshToken,
    user: userJson(user),
  };
}

/**
 * Starts a session for a user who just proved who they are (IssueRefreshToken): a session row,
 * its first refresh token, last_sign_in_at. Runs in the caller's transaction.
 *
 * @param {import("pg").PoolClient} client
 */
export async function issueSession(context, client, userId, { userAgent = null, ip = null } = {}) {
  const { rows: [session] } = await client.query(
    `insert into auth.sessions (id, user_id, created_at, updated_at, aal, user_agent, ip)
     values (gen_random_uuid(), $1, now(), now(), 'aal1', $2, $3)
     returning id, created_at, aal`,
    [userId, userAgent, ip],
  );
  const refreshToken = await insertRefreshToken(client, { userId, sessionId: session.id });
  await client.query("update auth.users set last_sign_in_at = now(), updated_at = now() where id = $1", [userId]);
  const user = await findUserById(client, userId);
  return sessionResponse(context, user, session, refreshToken);
}

/**
 * The refresh_token grant (RefreshTokenGrant). The token row is locked, so two refreshes of one
 * token run one after the other. A used token is refused with refresh_token_already_used and,
 * as GoTrue does with rotation on, the whole session's tokens are revoked (a stolen token ends
 * the session), with one exception GoTrue makes: a revoked token that is the parent of the
 * session's active token gets that active token back (the client lost the previous answer).
 *
 * @param {(fn: (client: import("pg").PoolClient) => Promise<unknown>) => Promise<unknown>} transaction
 */
export async function refreshSession(context, transaction, refreshToken) {
  let reused = false;
  const response = await transaction(async (client) => {
    const { rows: [token] } = await client.query(
      `select id, token, user_id, revoked, parent, session_id, updated_at
         from auth.refresh_tokens where token = $1 for update`,
      [refreshToken],
    );
    if (!token) throw badRequest("refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found");
    const user = await findUserById(client, token.user_id);
    if (!user) throw badRequest("refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found");
    if (isBanned(user)) throw badRequest("user_banned", "Invalid Refresh Token: User Banned");
    const { rows: [session] } = await client.query(
      "select id, created_at, aal from auth.sessions where id = $1 for update",
      [token.session_id],
    );
    if (!session) {
      await client.query("delete from auth.refresh_tokens where id = $1", [token.id]);
      throw badRequest("session_not_found", "Invalid Refresh Token: No Valid Session Found");
    }

    let issued = null;
    if (token.revoked) {
      const { rows: [active] } = await client.query(
        `select token, parent from auth.refresh_tokens
          where session_id = $1 and revoked = false order by id desc limit 1`,
        [session.id],
      );
      const reuseUntil = new Date(token.updated_at).getTime() + REFRESH_TOKEN_REUSE_INTERVAL_SECONDS * 1000;
      if (active && active.parent === token.token) {
        issued = active.token;
      } else if (Date.now() >= reuseUntil) {
        await client.query(
          "update auth.refresh_tokens set revoked = true, updated_at = now() where session_id = $1 and revoked = false",
          [session.id],
        );
        reused = true;
        return null; // commit the revocation, then refuse
      }
    }
    if (!issued) {
      await client.query("update auth.refresh_tokens set revoked = true, updated_at = now() where id = $1", [token.id]);
      issued = await insertRefreshToken(client, { userId: user.id, sessionId: session.id, parent: token.token });
    }
    await client.query("update auth.sessions set refreshed_at = now(), updated_at = now() where id = $1", [session.id]);
    return sessionResponse(context, user, session, issued);
  });
  if (reused) throw badRequest("refresh_token_already_used", "Invalid Refresh Token: Already Used");
  return response;
}

/** POST /logout's scopes (logout.go): GoTrue deletes sessions; their refresh tokens cascade. */
export async function logout(db, { userId, sessionId, scope }) {
  if (sessionId && scope === "local") {
    await db.query("delete from auth.sessions where id = $1", [sessionId]);
  } else if (sessionId && scope === "others") {
    await db.query("delete from auth.sessions where user_id = $1 and id <> $2", [userId, sessionId]);
  } else {
    await db.query("delete from auth.sessions where user_id = $1", [userId]);
  }
}
