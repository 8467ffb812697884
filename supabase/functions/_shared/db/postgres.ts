// The hot paths' way to the database: SQL functions called over a direct Postgres connection
// (SUPABASE_DB_URL, which hosted Supabase gives every function, or FUNCTIONS_DB_URL, e.g. the
// Supavisor transaction pooler) instead of through the Data API. Measured in one bench run
// (bench/README.md, "Direct Postgres"): assign-chat answers about 1.8 times as many calls this way,
// since a call through the gateway and PostgREST costs more than the SQL it runs. mod.ts decides
// when it is used (assign-chat and paystack-webhook, unless FUNCTIONS_DB=data-api or no connection
// string is known); otherwise calls go through the Data API (data-api.ts).
//
// Each call is one transaction, as PostgREST makes one per request: first, transaction-locally,
// the role, the JWT claims (those of a token auth.ts verified: a Caller, never a raw token), the
// legacy per-claim settings cleared (auth.uid() reads request.jwt.claim.sub before the claims)
// and the role's own statement_timeout (read once from pg_db_role_setting, as PostgREST applies
// the impersonated role's settings); then the function. So RLS, auth.uid() and the SQL functions'
// checks see exactly what they see through the Data API, and nothing of one caller outlives its
// transaction on a pooled connection. No prepared statements (`prepare: false`), which
// Supavisor's transaction mode needs.
//
// Both statements go in one `sql.batch` (postgres 4): one round trip ended by one Sync, so they are
// one implicit transaction that commits together or not at all, and no connection is pinned to the
// call. One round trip needs every parameter typed before it is sent: with `prepare: false` the
// driver otherwise sends Parse and Describe first and waits for the types (a round trip per
// statement, and a socket write each: the largest cost of a call in the functions server's profile,
// bench/README.md "The HTTP layer"). So each value goes as text, cast in the statement to the type
// the function declares for that argument (read from pg_proc once per function name and kept); a
// name the catalogue does not settle (none or several functions of that name) is sent untyped, as
// before. (postgres 3's `sql.begin` pinned one, and when Postgres died under load its ROLLBACK was
// written to the closed socket from a timer: an uncaught TypeError that killed the whole process,
// porsager/postgres#1154 and #1208.) A database that is down, restarting or has no connection free
// within DB_WAIT_SECONDS is answered 503 unavailable (db-errors.ts), never a hang or a 500.
import postgres from "postgres";
import type { Caller } from "../auth.ts";
import { databaseUnavailable } from "../db-errors.ts";
import type { RpcResult, RpcTransport } from "./rpc.ts";

/** SQL names this module writes into a statement itself: lowercase identifiers only. */
const identifier = /^[a-z_][a-z0-9_]*$/;

/**
 * How long a call waits to open a connection (connect_timeout) or for a free one of the pool
 * (queue_timeout) before it is answered 503 unavailable: short enough for a webhook sender's
 * patience and a user's, long enough for a pool under load. Once sent, the role's
 * statement_timeout is the limit.
 */
export const DB_WAIT_SECONDS = 2;

/**
 * The driver's errors that mean "no database to talk to right now" (refused, reset, closed,
 * timed out connecting or waiting for a connection), as opposed to a refusal by SQL
 * (PostgresError) or a bug of ours.
 */
const unreachable = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
  "QUEUE_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/** True for a driver error that means the database cannot be reached now. */
export function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && unreachable.has(code);
}

type Role = "authenticated" | "service_role";

/** The text parameter type (oid 25): values cast in SQL to what the function declares. */
const TEXT = 25;

/** How long a function's declared argument types are used before they are read again. */
const SIGNATURE_TTL_MS = 60_000;

/**
 * SQLSTATEs that may mean the declaration read is stale: no such function, ambiguous function,
 * datatype mismatch, invalid text for the type.
 */
const SIGNATURE_ERRORS = new Set(["42883", "42725", "42804", "22P02"]);

/**
 * Whether a value can go as text cast to `type`: scalars to any type, objects and arrays to json
 * and jsonb only (a Date or an array for an SQL array is left to the driver).
 */
function castable(type: string | undefined, value: unknown): boolean {
  if (type === undefined) return false;
  return value === null || typeof value !== "object" || type === "json" ||
    type === "jsonb";
}

/**
 * A value as the text its declared type reads: JSON for json and jsonb arguments (a string too, as
 * the driver and PostgREST send it: a JSON string, never text parsed as JSON), else its text.
 */
function asText(value: unknown, type: string | undefined): string | null {
  if (value === null) return null;
  if (type === "json" || type === "jsonb" || typeof value === "object") {
    return JSON.stringify(value);
  }
  return String(value);
}

/**
 * Calls of SQL functions that return one value (a scalar, jsonb, a row as jsonb): what assign-chat
 * and the webhook call. A set-returning function is refused rather than cut to one row.
 */
export type DirectDb = {
  /** Calls as the signed-in caller (role authenticated, its verified claims). */
  forUser(caller: Pick<Caller, "claims">): RpcTransport;
  /** Calls as service_role (server-side work only: RLS is bypassed). */
  service: RpcTransport;
  /** The statement_timeout each role has in the database (null: none of its own). */
  roleTimeouts(): Promise<Record<Role, string | null>>;
  /** Closes the pool (tests). */
  end(): Promise<void>;
};

/**
 * A small pool for one function instance: `max` connections at most (FUNCTIONS_DB_POOL_SIZE),
 * closed when idle, so an instance that goes quiet gives its connections back.
 */
export function createDirectDb(
  dbUrl: string,
  { max = 3 }: { max?: number } = {},
): DirectDb {
  const sql = postgres(dbUrl, {
    max,
    prepare: false,
    idle_timeout: 30,
    connect_timeout: DB_WAIT_SECONDS,
    queue_timeout: DB_WAIT_SECONDS,
    onnotice: () => {},
    connection: { application_name: "fantooo-edge-functions" },
  });

  let timeouts: Promise<Record<Role, string | null>> | undefined;
  function roleTimeouts() {
    timeouts ??= sql<{ rolname: Role; timeout: string }[]>`
      select r.rolname, pg_catalog.split_part(c.setting, '=', 2) as timeout
        from pg_catalog.pg_db_role_setting s
        join pg_catalog.pg_roles r on r.oid = s.setrole
        cross join lateral pg_catalog.unnest(s.setconfig) as c(setting)
       where r.rolname in ('authenticated', 'service_role')
         and c.setting like 'statement\\_timeout=%'
         and s.setdatabase in (0, (select d.oid from pg_catalog.pg_database d
                                    where d.datname = pg_catalog.current_database()))
       order by s.setdatabase` // the database's own setting last: it wins
      .then((rows) => {
        const found: Record<Role, string | null> = {
          authenticated: null,
          service_role: null,
        };
        for (const row of rows) found[row.rolname] = row.timeout;
        return found;
      })
      .catch((error) => {
        timeouts = undefined; // asked again on the next call
        throw error;
      });
    return timeouts;
  }

  // The declared type of each named input argument, per function of `public` (null when the name
  // is not one function's). Read once per name and kept SIGNATURE_TTL_MS at most, so a function a
  // migration changed is read again even when the old casts still resolve; a failed read, or a
  // call the server refuses as a mismatch of function or types, is asked again on the next call.
  const signatures = new Map<
    string,
    { at: number; found: Promise<Map<string, string> | null> }
  >();
  function signature(fn: string) {
    const known = signatures.get(fn);
    let found = known && Date.now() - known.at < SIGNATURE_TTL_MS
      ? known.found
      : undefined;
    if (!found) {
      found = sql<{ fn: string; name: string | null; type: string }[]>`
        select p.oid::text as fn, a.name, pg_catalog.format_type(a.type, null) as type
          from pg_catalog.pg_proc p
          cross join lateral unnest(
                 coalesce(p.proallargtypes, p.proargtypes::oid[]),
                 p.proargnames,
                 coalesce(p.proargmodes, pg_catalog.array_fill('i'::"char", array[p.pronargs::int]))
               ) as a(type, name, mode)
         where p.pronamespace = 'public'::regnamespace and p.proname = ${fn}
           and a.mode in ('i', 'b')`
        .then((rows) => {
          // Only one function of that name (overloads are left to the server), its inputs named.
          if (new Set(rows.map((r) => r.fn)).size > 1) return null;
          return new Map(
            rows.filter((r) => r.name).map((r) => [r.name!, r.type]),
          );
        })
        .catch(() => {
          signatures.delete(fn); // asked again next time; this call goes untyped
          return null;
        });
      signatures.set(fn, { at: Date.now(), found });
    }
    return found;
  }

  function as(role: Role, claims: object): RpcTransport {
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
        const text = (value: unknown, type?: string) =>
          sql.typed(asText(value, type) as never, TEXT);
        try {
          const [timeout, types] = await Promise.all([
            roleTimeouts().then((t) => t[role]),
            signature(fn),
          ]);
          const declared = types && given.every(([name, v]) =>
              castable(types.get(name), v)
            )
            ? types
            : null;
          const named = given.map(([name], i) =>
            declared
              ? `${name} => $${i + 1}::${declared.get(name)}`
              : `${name} => $${i + 1}`
          ).join(", ");
          const [, rows] = await sql.batch([
            sql`select pg_catalog.set_config('role', ${text(role)}, true),
                       pg_catalog.set_config('request.jwt.claims', ${
              text(claimsJson)
            }, true),
                       pg_catalog.set_config('request.jwt.claim.sub', '', true),
                       pg_catalog.set_config('request.jwt.claim.role', '', true),
                       pg_catalog.set_config('request.jwt.claim.email', '', true),
                       pg_catalog.set_config('statement_timeout',
                         coalesce(${
              text(timeout)
            }, pg_catalog.current_setting('statement_timeout')), true)`,
            // to_jsonb: the value as PostgREST's JSON has it (timestamps as ISO text, jsonb as is).
            sql.unsafe<{ result: unknown }[]>(
              `select pg_catalog.to_jsonb(public.${fn}(${named})) as result`,
              // As text cast to the declared type; untyped (the server decides, a jsonb argument
              // serialised as JSON) when the declared types are not known.
              given.map(([name, v]) =>
                declared
                  ? text(v, declared.get(name))
                  : v as postgres.ParameterOrJSON<never>
              ),
            ),
          ]);
          if (rows.length !== 1) {
            throw new Error(
              `rpc ${fn}: ${rows.length} rows where one value was expected`,
            );
          }
          return { data: rows[0].result, error: null } satisfies RpcResult;
        } catch (error) {
          if (error instanceof postgres.PostgresError) {
            // The function may have changed under a running instance (a migration): read it again.
            if (SIGNATURE_ERRORS.has(error.code)) signatures.delete(fn);
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
          // No database now (down, restarting, every connection busy): 503 unavailable, logged.
          if (isUnreachable(error)) {
            throw databaseUnavailable(`rpc ${fn}`, error);
          }
          throw error; // anything else is ours: a logged 500
        }
      },
    };
  }

  return {
    forUser: (caller) => as("authenticated", caller.claims),
    service: as("service_role", { role: "service_role" }),
    roleTimeouts,
    end: () => sql.end({ timeout: 1 }),
  };
}
