// GoTrue's admin user list and update (admin.go, pagination.go):
//   GET /admin/users?page=&per_page=&filter=  {users, aud}, newest first, with `X-Total-Count` and
//                                             a `Link` header (rel="next" and rel="last")
//   PUT /admin/users/{id}                     email, password, email_confirm, metadata, role, ban_duration
import { z } from "zod";
import { badRequest, readJsonBody, sendJson, unprocessable } from "./http.mjs";
import { validateEmail } from "./emails.mjs";
import { checkPasswordStrength, hashPassword } from "./passwords.mjs";
import { logout } from "./sessions.mjs";
import { DEFAULT_AUD, findUserByEmail, findUserById, mergeMetadata, userJson } from "./users.mjs";

const metadata = z.record(z.string(), z.unknown());
const AdminUpdateBody = z.object({
  email: z.string().optional(),
  phone: z.string().optional(),
  password: z.string().nullish(),
  email_confirm: z.boolean().optional(),
  phone_confirm: z.boolean().optional(),
  role: z.string().optional(),
  user_metadata: metadata.nullish(),
  app_metadata: metadata.nullish(),
  ban_duration: z.string().optional(),
});

const DEFAULT_PER_PAGE = 50;
const GO_DURATION_UNITS = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** Go's time.ParseDuration ("24h", "1h30m", "876000h"), in milliseconds; null when malformed. */
export function parseGoDuration(text) {
  const match = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(text);
  if (!match && text !== "0") return null;
  if (text === "0") return 0;
  let total = 0;
  for (const [, value, unit] of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) total += Number(value) * GO_DURATION_UNITS[unit];
  return match[1] === "-" ? -total : total;
}

function pageParam(url, name, fallback) {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) {
    throw badRequest("validation_failed", `Bad Pagination Parameters: strconv.ParseUint: parsing "${raw}": invalid syntax`);
  }
  return Number(raw);
}

/** @param {{ pool: import("pg").Pool, transaction: Function, requireAdmin: Function, loadUser: Function, apiUrl: string }} deps */
export function createAdminUsers({ pool, transaction, requireAdmin, loadUser, apiUrl }) {
  // GET /admin/users
  async function list(req, res, url) {
    await requireAdmin(req);
    const page = Math.max(1, pageParam(url, "page", 1));
    const perPage = pageParam(url, "per_page", DEFAULT_PER_PAGE) || DEFAULT_PER_PAGE;
    const filter = url.searchParams.get("filter") ?? "";
    const where = filter ? "where email ilike $1 or raw_user_meta_data->>'full_name' ilike $1" : "";
    const args = filter ? [`%${filter}%`] : [];
    const { rows: [{ count }] } = await pool.query(`select count(*)::int as count from auth.users ${where}`, args);
    const { rows: ids } = await pool.query(
      `select id from auth.users ${where} order by created_at desc, id limit ${perPage} offset ${(page - 1) * perPage}`,
      args,
    );
    const users = [];
    for (const { id } of ids) users.push(userJson(await findUserById(pool, id)));

    // addPaginationHeaders: next while there is a next page, and always last.
    const totalPages = Math.ceil(count / perPage);
    const link = new URL(`${apiUrl}/auth/v1/admin/users${url.search}`);
    let header = "";
    if (totalPages > page) {
      link.searchParams.set("page", String(page + 1));
      header += `<${link}>; rel="next", `;
    }
    link.searchParams.set("page", String(totalPages));
    header += `<${link}>; rel="last"`;
    sendJson(res, 200, { users, aud: DEFAULT_AUD }, { link: header, "x-total-count": String(count) });
  }

  // PUT /admin/users/{id}
  async function update(req, res, id) {
    await requireAdmin(req);
    const user = await loadUser(id);
    const body = await readJsonBody(req, AdminUpdateBody);
    const email = body.email ? validateEmail(body.email) : null;
    if (body.phone) throw badRequest("validation_failed", "The local Auth stand-in supports email users only");
    let banUntil;
    if (body.ban_duration) {
      const ms = body.ban_duration === "none" ? 0 : parseGoDuration(body.ban_duration);
      if (ms === null) {
        throw badRequest("validation_failed", `invalid format for ban duration: time: invalid duration "${body.ban_duration}"`);
      }
      banUntil = ms === 0 ? null : new Date(Date.now() + ms);
    }
    let passwordHash = null;
    if (typeof body.password === "string") {
      checkPasswordStrength(body.password);
      passwordHash = await hashPassword(body.password);
    }
    const updated = await transaction(async (client) => {
      const current = await findUserById(client, user.id, { forUpdate: true });
      const set = (sql, args = []) => client.query(`update auth.users set ${sql}, updated_at = now() where id = $1`, [user.id, ...args]);
      if (body.role) await set("role = $2", [body.role]);
      if (body.email_confirm) {
        await set(`email_confirmed_at = coalesce(email_confirmed_at, now()), confirmation_token = '',
          raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb) || '{"email_verified": true}'`);
      }
      if (passwordHash) {
        await set("encrypted_password = $2", [passwordHash]);
        // UpdatePassword(tx, nil): a password set by an admin ends every session of the user.
        await logout(client, { userId: user.id, scope: "global" });
      }
      if (email && email !== current.email) {
        const taken = await findUserByEmail(client, email);
        if (taken && taken.id !== user.id) throw unprocessable("email_exists", "A user with this email address has already been registered");
        await set("email = $2", [email]);
      }
      const fresh = await findUserById(client, user.id);
      if (body.app_metadata) await set("raw_app_meta_data = $2", [mergeMetadata(fresh.raw_app_meta_data, body.app_metadata)]);
      if (body.user_metadata) await set("raw_user_meta_data = $2", [mergeMetadata(fresh.raw_user_meta_data, body.user_metadata)]);
      if (banUntil !== undefined) await set("banned_until = $2", [banUntil]);
      return findUserById(client, user.id);
    });
    sendJson(res, 200, userJson(updated));
  }

  return { list, update };
}
