// auth.users rows, and the user object GoTrue returns for them (models/user.go's JSON tags).
import { createHash } from "node:crypto";

const USER_COLUMNS = `id, aud, role, email, encrypted_password, email_confirmed_at, phone, phone_confirmed_at,
  confirmed_at, last_sign_in_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at,
  banned_until, deleted_at, is_anonymous, invited_at, confirmation_token, confirmation_sent_at, recovery_token,
  recovery_sent_at, email_change, email_change_token_new, email_change_token_current, email_change_sent_at,
  reauthentication_token, reauthentication_sent_at`;

// GoTrue's default audience and role (GOTRUE_JWT_AUD, GOTRUE_JWT_DEFAULT_GROUP_NAME).
export const DEFAULT_AUD = "authenticated";
export const DEFAULT_ROLE = "authenticated";

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value) => typeof value === "string" && UUID_PATTERN.test(value);

/** @param {import("pg").Pool | import("pg").PoolClient} db */
export async function findUserById(db, id, { forUpdate = false } = {}) {
  const { rows } = await db.query(
    `select ${USER_COLUMNS} from auth.users where id = $1${forUpdate ? " for update" : ""}`,
    [id],
  );
  return rows[0] ?? null;
}

/**
 * GoTrue looks users up by lower(email) (and audience; the local project has one audience, and
 * rows the SQL tests insert have none, so the audience is not part of the lookup here).
 */
export async function findUserByEmail(db, email) {
  const { rows } = await db.query(
    `select ${USER_COLUMNS} from auth.users where lower(email) = lower($1) order by created_at limit 1`,
    [email],
  );
  return rows[0] ?? null;
}

/** Inserts a user; the caller has checked the email is free. */
export async function insertUser(db, { id, email, passwordHash, confirmed, userMetadata, appMetadata, role = DEFAULT_ROLE }) {
  const { rows } = await db.query(
    `insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
       raw_app_meta_data, raw_user_meta_data, created_at, updated_at, is_anonymous)
     values ('00000000-0000-0000-0000-000000000000', coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, $5,
       case when $6 then now() end, $7, $8, now(), now(), false)
     returning ${USER_COLUMNS}`,
    [id ?? null, DEFAULT_AUD, role, email, passwordHash, confirmed, appMetadata, userMetadata],
  );
  return rows[0];
}

/**
 * GoTrue's UpdateUserMetaData / UpdateAppMetaData: top-level keys are merged, a null value
 * removes its key.
 */
export function mergeMetadata(current, updates) {
  const merged = { ...(current ?? {}) };
  for (const [key, value] of Object.entries(updates)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

export function isBanned(user) {
  return user.banned_until !== null && user.banned_until > new Date();
}

const iso = (value) => (value ? new Date(value).toISOString() : undefined);

/**
 * The email identity GoTrue keeps in auth.identities. The stand-in has no identities table (no
 * OAuth providers locally), so it describes the one identity an email/password user has, with an
 * id derived from the user's so that it is stable.
 */
function emailIdentity(user) {
  const hex = createHash("sha256").update(`email-identity:${user.id}`).digest("hex");
  const identityId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  return {
    identity_id: identityId,
    id: user.id,
    user_id: user.id,
    identity_data: {
      email: user.email,
      email_verified: Boolean(user.email_confirmed_at),
      phone_verified: false,
      sub: user.id,
    },
    provider: "email",
    last_sign_in_at: iso(user.last_sign_in_at),
    created_at: iso(user.created_at),
    updated_at: iso(user.updated_at),
    email: user.email,
  };
}

/** The user object as GoTrue serialises it (omitempty fields left out when empty). */
export function userJson(user) {
  const json = {
    id: user.id,
    aud: user.aud ?? "",
    role: user.role ?? "",
    email: user.email ?? "",
    email_confirmed_at: iso(user.email_confirmed_at),
    invited_at: iso(user.invited_at),
    phone: user.phone ?? "",
    phone_confirmed_at: iso(user.phone_confirmed_at),
    confirmed_at: iso(user.confirmed_at),
    confirmation_sent_at: iso(user.confirmation_sent_at),
    recovery_sent_at: iso(user.recovery_sent_at),
    new_email: user.email_change || undefined,
    email_change_sent_at: iso(user.email_change_sent_at),
    reauthentication_sent_at: iso(user.reauthentication_sent_at),
    last_sign_in_at: iso(user.last_sign_in_at),
    app_metadata: user.raw_app_meta_data ?? {},
    user_metadata: user.raw_user_meta_data ?? {},
    identities: user.email ? [emailIdentity(user)] : [],
    created_at: iso(user.created_at),
    updated_at: iso(user.updated_at),
    banned_until: iso(user.banned_until),
    deleted_at: iso(user.deleted_at),
    is_anonymous: user.is_anonymous ?? false,
  };
  for (const key of Object.keys(json)) if (json[key] === undefined) delete json[key];
  return json;
}
