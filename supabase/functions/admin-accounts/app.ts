// admin-accounts: an admin creates an operator or admin account from the app.
//
//   POST /admin-accounts  {email, password?, role: "operator" | "admin", name}
//     -> {"user_id", "email", "role", "name"}
//
// 1. The caller must be a signed-in admin: its access token is verified (_shared/auth.ts), then
//    public.is_admin() is asked through the caller's own client (RLS and auth.uid() see the caller).
// 2. With the secret key, the Auth user is created (auth.admin.createUser, email confirmed).
// 3. With the secret key, its operators / admins row and the admin_actions row are inserted.
// If 3 fails, the Auth user made in 2 is deleted again (its rows go with it: they cascade from
// auth.users) and the answer is 500 account_not_created; if that deletion fails too, the answer is
// 500 account_partially_created and the logged error names the orphan user id, so that an admin can
// delete it (Dashboard -> Authentication -> Users). docs/functions.md.
import type { SupabaseClient } from "@supabase/supabase-js";
import { z } from "zod";
import { createUserAuth } from "../_shared/auth.ts";
import { createDb, type Db } from "../_shared/db/mod.ts";
import {
  projectEnv,
  publishableKeyEnv,
  requireKeys,
  secretKeyEnv,
  userTokenEnv,
} from "../_shared/env.ts";
import { ApiError } from "../_shared/errors.ts";
import { createFunctionApp, post, postRoute } from "../_shared/http.ts";
import { errors, jsonBodyErrors, security } from "../_shared/openapi.ts";

/** What admin-accounts reads from its environment: user tokens, and both kinds of key. */
export const envSchema = z.object({
  ...projectEnv,
  ...publishableKeyEnv,
  ...secretKeyEnv,
  ...userTokenEnv,
}).superRefine(requireKeys("publishable", "secret"));
export type AdminAccountsEnv = z.infer<typeof envSchema>;

/** The database the app uses; tests pass doubles. Its `serviceClient` must hold a secret key. */
export type AdminAccountsDeps = { db?: Db };

export const createAccountRequest = z.object({
  email: z.email().max(254).describe(
    "The new user's email address; confirmed at once.",
  ),
  password: z.string().min(8).max(72).optional().describe(
    "Its first password (8 to 72 characters). Without one, the user has none until it sets one " +
      "through a password recovery.",
  ),
  role: z.enum(["operator", "admin"]),
  name: z.string().trim().min(1).max(100).describe("The staff member's name."),
}).strict();

export const createAccountResponse = z.object({
  user_id: z.uuid().describe(
    "The new Auth user's id, also the operators / admins row's id.",
  ),
  email: z.string(),
  role: z.enum(["operator", "admin"]),
  name: z.string(),
});

/** The route, as the OpenAPI document declares it. */
export const routes = {
  create: postRoute({
    path: "/",
    summary: "Create an operator or admin account",
    description:
      "Creates the Auth user (email confirmed) and its operators or admins row, and records the " +
      "admin_actions row. The caller must be a signed-in admin. If the row cannot be written the " +
      "Auth user is deleted again (500 account_not_created); if that fails too, 500 " +
      "account_partially_created names the orphan user id.",
    security: security.user,
    body: createAccountRequest,
    response: createAccountResponse,
    errors: errors(jsonBodyErrors, {
      400: ["weak_password"],
      401: ["unauthorized"],
      403: ["forbidden"],
      409: ["user_already_exists"],
      500: ["account_not_created", "account_partially_created"],
    }),
  }),
};

/** Auth API refusals the caller can fix, as this function answers them. */
const AUTH_REFUSALS: Record<string, [400 | 409, string]> = {
  email_exists: [409, "user_already_exists"],
  user_already_exists: [409, "user_already_exists"],
  weak_password: [400, "weak_password"],
  email_address_invalid: [400, "invalid_request"],
  validation_failed: [400, "invalid_request"],
};

type AuthFailure = { code?: string; status?: number; message?: string };

function authRefusal(error: AuthFailure): ApiError | null {
  const known = error.code ? AUTH_REFUSALS[error.code] : undefined;
  return known
    ? new ApiError(known[0], known[1], error.message ?? known[1])
    : null;
}

export function createApp(env: AdminAccountsEnv, deps: AdminAccountsDeps = {}) {
  const db = deps.db ?? createDb(env);
  // Untyped on purpose: the doubles of the unit tests implement only what is called here.
  const service = db.serviceClient as SupabaseClient;
  const auth = createUserAuth(env);
  const app = createFunctionApp("admin-accounts", {
    cors: true,
    description: "Admins create operator and admin accounts.",
  });

  post(app, routes.create, async (c, body) => {
    const caller = await auth.requireUser(c);
    const request = await body.json();
    const isAdmin = await db.forUser(caller).rpc("is_admin", {}, z.boolean());
    if (!isAdmin) {
      throw new ApiError(
        403,
        "forbidden",
        "Only admins create staff accounts.",
      );
    }

    // 2. The Auth user.
    const created = await service.auth.admin.createUser({
      email: request.email,
      ...(request.password ? { password: request.password } : {}),
      email_confirm: true,
    });
    if (created.error || !created.data?.user) {
      const refusal = created.error ? authRefusal(created.error) : null;
      if (refusal) throw refusal;
      throw new Error(
        `auth.admin.createUser failed: ${created.error?.message ?? "no user"}`,
        { cause: created.error },
      );
    }
    const userId = created.data.user.id;

    // 3. Its staff row and the audit row; on failure, undo 2.
    const table = request.role === "operator" ? "operators" : "admins";
    const step = await writeStaffRows(service, table, {
      userId,
      email: request.email,
      name: request.name,
      adminId: caller.userId,
      role: request.role,
    });
    if (step.error) {
      const undone = await service.auth.admin.deleteUser(userId);
      if (undone.error) {
        console.error(JSON.stringify({
          level: "error",
          fn: "admin-accounts",
          message:
            `orphan Auth user ${userId} (${request.email}): its ${table} row could not be written ` +
            `and deleting the user failed too; delete it in the dashboard (Authentication -> Users)`,
          orphan_user_id: userId,
          insert_error: step.error,
          delete_error: undone.error.message,
        }));
        throw new ApiError(
          500,
          "account_partially_created",
          `The Auth user ${userId} was created but its ${table} row could not be written, and ` +
            "deleting that user failed too: delete it in the dashboard (Authentication -> Users).",
        );
      }
      console.error(JSON.stringify({
        level: "error",
        fn: "admin-accounts",
        message:
          `the ${table} row of new Auth user ${userId} could not be written; the user was deleted again`,
        insert_error: step.error,
      }));
      throw new ApiError(
        500,
        "account_not_created",
        `The ${table} row could not be written, so the Auth user created for it was deleted ` +
          "again: nothing was created. Try again.",
      );
    }

    return c.json(
      {
        user_id: userId,
        email: request.email,
        role: request.role,
        name: request.name,
      } satisfies z.infer<typeof createAccountResponse>,
    );
  });

  return app;
}

/** Inserts the operators / admins row and its admin_actions row; the error text, or null. */
async function writeStaffRows(
  service: SupabaseClient,
  table: "operators" | "admins",
  row: {
    userId: string;
    email: string;
    name: string;
    adminId: string;
    role: "operator" | "admin";
  },
): Promise<{ error: string | null }> {
  try {
    const staff = await service.from(table).insert({
      id: row.userId,
      email: row.email,
      name: row.name,
    });
    if (staff.error) return { error: staff.error.message };
    const audit = await service.from("admin_actions").insert({
      admin_id: row.adminId,
      action: row.role === "operator" ? "create_operator" : "create_admin",
      target_type: row.role,
      target_id: row.userId,
      details: { email: row.email, name: row.name },
    });
    if (audit.error) return { error: audit.error.message };
    return { error: null };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}
