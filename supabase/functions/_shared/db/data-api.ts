// The Data API way to the database: supabase-js clients, made once per function instance. The
// service-role client bypasses RLS and is used only for what no caller may do itself (recording
// Paystack events, the idle sweep, creating staff accounts); the user client (the publishable key)
// sends each call with the caller's own token in Authorization, so that PostgREST, RLS and
// auth.uid() see the caller.
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Caller } from "../auth.ts";
import type { Database } from "../database.types.ts";
import { type KeyEnv, publishableKey, serviceKey } from "../env.ts";
import type { RpcTransport } from "./rpc.ts";

/** A client typed with the database's generated types (npm run gen:types). */
export type ServiceClient = SupabaseClient<Database>;

/** Where the Data API is, and the keys that call it. */
export type DataApiEnv = KeyEnv & { SUPABASE_URL: string };

const serverSide = {
  auth: {
    persistSession: false,
    autoRefreshToken: false,
    detectSessionInUrl: false,
  },
};

/** The service-role client (a secret key, or the legacy service-role key). */
export function createServiceClient(env: DataApiEnv): ServiceClient {
  return createClient<Database>(env.SUPABASE_URL, serviceKey(env), serverSide);
}

/**
 * Acting as a caller: one client with the publishable (or anon) key for the instance, and each
 * call sent with `Authorization: Bearer <the caller's access token>` (postgrest-js `setHeader`,
 * which the client's fetch keeps: it adds its own Authorization only when none is set). Nothing
 * is kept between calls, so one caller's token never reaches another's request.
 */
export function createUserClients(
  env: DataApiEnv,
): (caller: Pick<Caller, "token">) => RpcTransport {
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
