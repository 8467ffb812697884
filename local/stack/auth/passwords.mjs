// Passwords as GoTrue keeps them: bcrypt hashes (`$2a$`/`$2b$`) in auth.users.encrypted_password,
// checked against its default strength rules.
import { randomBytes } from "node:crypto";
import bcrypt from "bcryptjs";
import { AuthError, badRequest } from "./http.mjs";

// GoTrue hashes with bcrypt.DefaultCost.
const BCRYPT_COST = 10;
// GoTrue's defaults (and `supabase start`'s): at least 6 characters, no required character sets.
// bcrypt only reads the first 72 bytes, so GoTrue refuses longer passwords outright.
export const MIN_PASSWORD_LENGTH = 6;
const MAX_PASSWORD_LENGTH = 72;

/** Hashes off the event loop (bcryptjs's async form yields between rounds). */
export function hashPassword(password) {
  return bcrypt.hash(password, BCRYPT_COST);
}

/** Whether the password matches a stored hash; a missing or non-bcrypt hash never matches. */
export async function verifyPassword(password, hash) {
  if (typeof hash !== "string" || !/^\$2[aby]\$\d\d\$/.test(hash)) return false;
  return bcrypt.compare(password, hash);
}

// Compared against when the account does not exist, so that an unknown email costs the same
// bcrypt work as a wrong password and timing does not tell which accounts exist.
const DUMMY_HASH = bcrypt.hashSync("no account has this password", BCRYPT_COST);

/** Spends a password check's time and matches nothing (for an unknown account). */
export async function verifyNoPassword(password) {
  await bcrypt.compare(password, DUMMY_HASH);
  return false;
}

/** A bcrypt hash an admin may pass as `password_hash` (GoTrue also takes argon2; we do not). */
export function isBcryptHash(value) {
  return /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(value);
}

/** GoTrue's admin API makes up a long random password when none is given. */
export function randomPassword() {
  return randomBytes(48).toString("base64url");
}

/**
 * GoTrue's checkPasswordStrength with its default config: 400 validation_failed for a password
 * bcrypt would truncate, 422 weak_password (with reasons) for a short one.
 */
export function checkPasswordStrength(password) {
  if (Buffer.byteLength(password) > MAX_PASSWORD_LENGTH) {
    throw badRequest("validation_failed", `Password cannot be longer than ${MAX_PASSWORD_LENGTH} characters`);
  }
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new AuthError(422, "weak_password", `Password should be at least ${MIN_PASSWORD_LENGTH} characters.`, {
      weak_password: { reasons: ["length"] },
    });
  }
}
