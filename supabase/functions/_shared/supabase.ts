// Supabase clients, made once per function instance. The service-role client bypasses RLS and is
// used only for what no caller may do itself (recording Paystack events, the idle sweep); the user
// client (the publishable key) sends each call with the caller's own token in Authorization, so
// that PostgREST, RLS and auth.uid() see the caller.
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { z } from "zod";
import type { Caller } from "./auth.ts";
import type { Database } from "./database.types.ts";
import { publishableKey, serviceKey } from "./env.ts";
import { DatabaseError, type DbError, toThrowable } from "./db-errors.ts";

/** A client typed with the database's generated types (npm run gen:types). */
export type Db = SupabaseClient<Database>;

/** What an RPC answers: supabase-js's {data, error}, whichever way the call went. */
export type RpcResult = { data: unknown; error: DbError | null };

/**
 * What calling SQL functions needs, through the Data API (supabase-js) or a direct connection
 * (postgres.ts): the function's name and its named arguments.
 */
export type RpcClient = {
  rpc(fn: string, args?: Record<string, unknown>): PromiseLike<RpcResult>;
};

export type Clients = {
  /** Bypasses RLS: server-side work only. */
  service: Db;
  /** Acts as the caller (a token auth.ts verified). */
  forUser(caller: Pick<Caller, "token" | "claims">): RpcClient;
};

type PublicFunctions = Database["public"]["Functions"];

const serverSide = {
  auth: {
    persistSession: false,
    autoRefreshToken: false,
    detectSessionInUrl: false,
  },
};

type KeyEnv = Parameters<typeof publishableKey>[0] & { SUPABASE_URL: string };

/** The service-role client (a secret key, or the legacy service-role key): made once per instance. */
export function createServiceClient(env: KeyEnv): Db {
  return createClient<Database>(env.SUPABASE_URL, serviceKey(env), serverSide);
}

/**
 * Acting as a caller: one client with the publishable (or anon) key for the instance, and each
 * call sent with `Authorization: Bearer <the caller's access token>` (postgrest-js `setHeader`,
 * which the client's fetch keeps: it adds its own Authorization only when none is set). Nothing
 * is kept between calls, so one caller's token never reaches another's request.
 */
export function createUserClients(env: KeyEnv): Clients["forUser"] {
  const client = createClient<Database>(
    env.SUPABASE_URL,
    publishableKey(env),
    serverSide,
  );
  return (caller) => {
    const authorization = `Bearer ${caller.token}`;
    return {
      rpc: (fn, args) =>
        client.rpc(fn as never, args as never).setHeader(
          "Authorization",
          authorization,
        ),
    };
  };
}

/**
 * Calls a SQL function and validates what it returns. Known SQL refusals become ApiErrors
 * (see db-errors.ts); any other failure, including an unexpected result shape, is a
 * DatabaseError (logged, generic 500).
 */
export async function callRpc<
  F extends keyof PublicFunctions & string,
  S extends z.ZodType,
>(
  client: RpcClient,
  fn: F,
  args: PublicFunctions[F]["Args"],
  schema: S,
): Promise<z.infer<S>> {
  const { data, error } = await client.rpc(fn, args);
  if (error) throw toThrowable(`rpc ${fn}`, error);
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new DatabaseError(`rpc ${fn}`, {
      code: "unexpected_result",
      message: parsed.error.message,
    });
  }
  return parsed.data;
}
