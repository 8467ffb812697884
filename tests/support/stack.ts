// How the vitest suites reach a running local stack: from the environment that `npm test` sets
// (the names of `supabase status -o env`), or else from the stack `npm start` is running.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import pg from "pg";
// @ts-expect-error: a plain ESM module of the local stack
import { signJwt } from "../../local/jwt.mjs";

function readStackEnv(): Record<string, string> {
  if (process.env.API_URL && process.env.DB_URL) return process.env as Record<string, string>;
  const stateFile = join(process.env.FANTOOO_DATA_DIR ?? join(import.meta.dirname, "..", "..", ".local"), "stack.json");
  if (existsSync(stateFile)) return JSON.parse(readFileSync(stateFile, "utf8"));
  throw new Error("no local stack: run the suites with `npm test`, or start one with `npm start`");
}

const env = readStackEnv();

export const stack = {
  apiUrl: env.API_URL,
  functionsUrl: `${env.API_URL}/functions/v1`,
  dbUrl: env.DB_URL,
  jwtSecret: env.JWT_SECRET,
  anonKey: env.ANON_KEY,
  serviceRoleKey: env.SERVICE_ROLE_KEY,
  paystackSecretKey: env.PAYSTACK_SECRET_KEY,
  paystackApiUrl: env.PAYSTACK_API_URL,
};

/** An access token for a user id, signed like GoTrue signs them (HS256, the stack's secret). */
export function accessToken(userId: string, claims: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return signJwt({
    sub: userId,
    role: "authenticated",
    aud: "authenticated",
    iat: now,
    exp: now + 3600,
    ...claims,
  }, stack.jwtSecret);
}

const clientOptions = { auth: { persistSession: false, autoRefreshToken: false } };

/** supabase-js as a browser with the anon key and no session. */
export function anonClient(): SupabaseClient {
  return createClient(stack.apiUrl, stack.anonKey, clientOptions);
}

/** supabase-js as a signed-in user. */
export function userClient(userId: string): SupabaseClient {
  return createClient(stack.apiUrl, stack.anonKey, {
    ...clientOptions,
    global: { headers: { Authorization: `Bearer ${accessToken(userId)}` } },
  });
}

/** supabase-js with the service-role key (bypasses RLS), as server code would. */
export function serviceClient(): SupabaseClient {
  return createClient(stack.apiUrl, stack.serviceRoleKey, clientOptions);
}

let pool: pg.Pool | undefined;

/** Direct SQL as the database superuser, for fixtures and for checking the database afterwards. */
export function db(): pg.Pool {
  pool ??= new pg.Pool({ connectionString: stack.dbUrl, max: 4 });
  return pool;
}

export async function closeDb(): Promise<void> {
  await pool?.end();
  pool = undefined;
}
