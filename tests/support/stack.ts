// How the vitest suites reach a running local stack: from the environment that `npm test` sets
// (the names of `supabase status -o env`), or else from the stack `npm start` is running.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import pg from "pg";
import { type PrivateJwk, signToken, userClaims } from "./tokens.ts";

export function readStackEnv(): Record<string, string> {
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
  /** "signing-keys" (ES256 user tokens, sb_ keys) or "legacy" (FANTOOO_LEGACY_JWT=1). */
  keysMode: env.KEYS_MODE ?? "signing-keys",
  /** How the functions reach SQL: "direct" (SUPABASE_DB_URL, as hosted) or "data-api". */
  functionsDb: env.FUNCTIONS_DB ?? "direct",
  /** The publishable and secret keys, or the legacy anon/service_role keys on a legacy stack. */
  publishableKey: env.PUBLISHABLE_KEY ?? env.ANON_KEY,
  secretKey: env.SECRET_KEY ?? env.SERVICE_ROLE_KEY,
  anonKey: env.ANON_KEY,
  serviceRoleKey: env.SERVICE_ROLE_KEY,
  paystackSecretKey: env.PAYSTACK_SECRET_KEY,
  paystackApiUrl: env.PAYSTACK_API_URL,
  /** The stack's data folder: logs/, pids.json (its processes), postgres/. */
  stackDir: env.STACK_DIR,
};

/** The stack's private signing key (supabase/signing_keys.json, as the CLI keeps it). */
export function signingKey(): PrivateJwk {
  const path = join(import.meta.dirname, "..", "..", "supabase", "signing_keys.json");
  return JSON.parse(readFileSync(path, "utf8"))[0];
}

/**
 * An access token for a user id, signed as the stack's Auth signs them: ES256 with the signing key
 * (HS256 with the JWT secret on a legacy stack). `claims` override or add claims.
 */
export function accessToken(userId: string, claims: Record<string, unknown> = {}): string {
  const payload = userClaims(userId, { iss: `${stack.apiUrl}/auth/v1`, ...claims });
  return signToken(payload, stack.keysMode === "legacy" ? { secret: stack.jwtSecret } : { jwk: signingKey() });
}

const clientOptions = { auth: { persistSession: false, autoRefreshToken: false } };

/** supabase-js as a browser with the publishable key and no session. */
export function anonClient(): SupabaseClient {
  return createClient(stack.apiUrl, stack.publishableKey, clientOptions);
}

/** supabase-js as a signed-in user. */
export function userClient(userId: string): SupabaseClient {
  return createClient(stack.apiUrl, stack.publishableKey, {
    ...clientOptions,
    global: { headers: { Authorization: `Bearer ${accessToken(userId)}` } },
  });
}

/** supabase-js with the secret key (bypasses RLS), as server code would. */
export function serviceClient(): SupabaseClient {
  return createClient(stack.apiUrl, stack.secretKey, clientOptions);
}

let pool: pg.Pool | undefined;

/** Direct SQL as the database superuser, for fixtures and for checking the database afterwards. */
export function db(): pg.Pool {
  if (!pool) {
    pool = new pg.Pool({ connectionString: stack.dbUrl, max: 4 });
    // An idle connection dropped by a Postgres restart (the fault tests cause them) is not an error
    // of any test; the pool opens a new one on the next query.
    pool.on("error", () => {});
  }
  return pool;
}

export async function closeDb(): Promise<void> {
  await pool?.end();
  pool = undefined;
}

const sessions: pg.Client[] = [];

/** A connection of its own, as the superuser, for tests that need sessions side by side. */
export async function session(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: stack.dbUrl });
  await client.connect();
  sessions.push(client);
  return client;
}

/** Closes every session() opened so far. */
export async function closeSessions(): Promise<void> {
  for (const client of sessions.splice(0)) await client.end().catch(() => {});
}

/** Opens a transaction as the signed-in user (as PostgREST does); the caller commits or rolls back. */
export async function beginAs(client: pg.Client, userId: string): Promise<void> {
  await client.query("begin");
  await client.query("set local role authenticated");
  await client.query("select set_config('request.jwt.claims', $1, true)", [
    JSON.stringify({ sub: userId, role: "authenticated", aud: "authenticated" }),
  ]);
}

/** One transaction as the signed-in user (as PostgREST sets up a request): committed when `work`
 * resolves, rolled back when it throws. */
export async function asUser<T>(client: pg.Client, userId: string, work: () => Promise<T>): Promise<T> {
  await beginAs(client, userId);
  try {
    const result = await work();
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback");
    throw error;
  }
}

/** Resolves once the backend `pid` waits for a lock. */
export async function waitsForLock(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await db().query("select wait_event_type from pg_stat_activity where pid = $1", [pid]);
    if (rows[0]?.wait_event_type === "Lock") return;
    await new Promise((done) => setTimeout(done, 25));
  }
  throw new Error(`backend ${pid} never waited for a lock`);
}
