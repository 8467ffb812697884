// The hot paths' way to the database: SQL functions called over a direct Postgres connection
// (SUPABASE_DB_URL, which hosted Supabase gives every function) instead of through the Data API.
// Measured on the local stack (bench/README.md, "Direct Postgres"): a function's call through the
// gateway and PostgREST costs several times what the same call costs on a pooled connection, and
// assign-chat and the webhook are little else. Used by assign-chat and paystack-webhook when
// SUPABASE_DB_URL is set; without it they go through the Data API as before (supabase.ts).
//
// Each call is one transaction, the way PostgREST makes one per request: the role and the JWT
// claims are set transaction-locally (set_config(..., true)), then the function is called, both
// sent at once (pipelined). So RLS, auth.uid() and the SQL functions' own checks see exactly what
// they see through the Data API, and nothing of one caller outlives its transaction, which is what
// Supavisor's transaction mode needs too (no prepared statements either: `prepare: false`).
// The claims are those of a token the function has verified (auth.ts): a Caller, never a raw token.
import postgres from "postgres";
import type { Caller } from "./auth.ts";
import type { RpcClient, RpcResult } from "./supabase.ts";

/** SQL names this module writes into a statement itself: lowercase identifiers only. */
const identifier = /^[a-z_][a-z0-9_]*$/;

/** Calls of SQL functions that return one value (a scalar, a row as jsonb, jsonb). */
export type DirectDb = {
  /** Calls as the signed-in caller (role authenticated, its verified claims). */
  forUser(caller: Pick<Caller, "claims">): RpcClient;
  /** Calls as service_role (server-side work only: RLS is bypassed). */
  service: RpcClient;
  /** Closes the pool (tests). */
  end(): Promise<void>;
};

/**
 * A small pool for one function instance. `max` connections at most, closed when idle, so an
 * instance that goes quiet gives its connections back.
 */
export function createDirectDb(
  dbUrl: string,
  { max = 4 }: { max?: number } = {},
): DirectDb {
  const sql = postgres(dbUrl, {
    max,
    prepare: false,
    idle_timeout: 30,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: "fantooo-edge-functions" },
  });

  function as(
    role: "authenticated" | "service_role",
    claims: object,
  ): RpcClient {
    const claimsJson = JSON.stringify(claims);
    return {
      async rpc(fn, args = {}) {
        const given = Object.entries(args).filter(([, v]) => v !== undefined);
        if (
          !identifier.test(fn) ||
          !given.every(([name]) => identifier.test(name))
        ) {
          throw new Error(`not a SQL function call: ${fn}`);
        }
        const named = given.map(([name], i) => `${name} => $${i + 1}`).join(
          ", ",
        );
        try {
          const [, rows] = await sql.begin((tx) => [
            tx`select set_config('role', ${role}, true),
                      set_config('request.jwt.claims', ${claimsJson}, true)`,
            // to_jsonb: the value as PostgREST's JSON has it (timestamps as ISO text, jsonb as is).
            tx.unsafe(
              `select to_jsonb(public.${fn}(${named})) as result`,
              // Typed by the function's signature; a jsonb argument is serialised as JSON.
              given.map(([, v]) => v as postgres.ParameterOrJSON<never>),
            ),
          ]);
          if (rows.length !== 1) {
            // A set-returning function: the Data API would answer an array; this path calls only
            // functions that return one value.
            throw new Error(
              `rpc ${fn}: ${rows.length} rows where one value was expected`,
            );
          }
          return { data: rows[0].result, error: null } satisfies RpcResult;
        } catch (error) {
          if (error instanceof postgres.PostgresError) {
            // The fields PostgREST would have answered with: db-errors.ts maps them the same way.
            return {
              data: null,
              error: {
                code: error.code,
                message: error.message,
                details: error.detail ?? null,
                hint: error.hint ?? null,
              },
            } satisfies RpcResult;
          }
          throw error; // no connection, a broken one: not the caller's fault (a logged 500)
        }
      },
    };
  }

  return {
    forUser: (caller) => as("authenticated", caller.claims),
    service: as("service_role", { role: "service_role" }),
    end: () => sql.end({ timeout: 1 }),
  };
}
