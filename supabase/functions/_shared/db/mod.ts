// The one seam between a function and SQL. An app is handed a `Db`, built once per instance from
// its environment (createDb), and calls SQL functions through it as the caller or as service_role:
//
//   await db.forUser(caller).rpc("operator_heartbeat", { p_chat_id }, z.string())
//
// Which way a call goes is decided here and nowhere else. A function whose envSchema declares
// `databaseEnv` (assign-chat and paystack-webhook, the hot paths) calls over a direct Postgres
// connection (postgres.ts) when one is known: FUNCTIONS_DB_URL, else the injected SUPABASE_DB_URL,
// unless FUNCTIONS_DB=data-api. Every other call goes through the Data API with supabase-js
// (data-api.ts): the caller's own token, or the secret key for service_role. Either way the answer
// is validated and refusals are mapped the same (rpc.ts, db-errors.ts).
import { z } from "zod";
import type { Caller } from "../auth.ts";
import { blankAsUnset } from "../env.ts";
import {
  createServiceClient,
  createUserClients,
  type DataApiEnv,
  type ServiceClient,
} from "./data-api.ts";
import { createDirectDb } from "./postgres.ts";
import { type Rpc, rpcOver, type RpcTransport } from "./rpc.ts";

export type { ServiceClient } from "./data-api.ts";
export type { Rpc, RpcResult, RpcTransport } from "./rpc.ts";

const postgresUrl = z.preprocess(
  blankAsUnset,
  z.string({ error: "must be a string" })
    .regex(/^postgres(ql)?:\/\//, {
      error: "must be a postgresql:// connection string",
    })
    .optional(),
);

/**
 * The variables of a function that calls SQL over a direct connection when one is known (compose
 * them into its envSchema); without them, a function goes through the Data API.
 */
export const databaseEnv = {
  // Injected by hosted Supabase: the database's own connection string.
  SUPABASE_DB_URL: postgresUrl,
  // Optional secret: another connection string to use instead, e.g. the Supavisor transaction
  // pooler's (port 6543), so that many function instances share the database's connections.
  FUNCTIONS_DB_URL: postgresUrl,
  // Optional secret: `data-api` sends the hot paths through the Data API even with a connection
  // string (the way back without a deploy); `direct` (default) uses the connection when there is one.
  FUNCTIONS_DB: z.preprocess(
    blankAsUnset,
    z.enum(["direct", "data-api"], { error: "must be direct or data-api" })
      .default("direct"),
  ),
  // Optional secret: connections per function instance (default 3, as Supabase's examples).
  FUNCTIONS_DB_POOL_SIZE: z.preprocess(
    blankAsUnset,
    z.coerce.number<string | undefined>({ error: "must be a whole number" })
      .int({ error: "must be a whole number" })
      .min(1, { error: "must be at least 1" })
      .max(20, { error: "must be at most 20" })
      .default(3),
  ),
};

export type DatabaseEnv = {
  SUPABASE_DB_URL?: string;
  FUNCTIONS_DB_URL?: string;
  FUNCTIONS_DB?: "direct" | "data-api";
  FUNCTIONS_DB_POOL_SIZE?: number;
};

/** The connection string calls go over, or null when they go through the Data API. */
export function directDbUrl(env: DatabaseEnv): string | null {
  if (env.FUNCTIONS_DB === "data-api") return null;
  return env.FUNCTIONS_DB_URL ?? env.SUPABASE_DB_URL ?? null;
}

/** What a function reaches the database with. */
export type Db = {
  /** Calls as the signed-in caller (role authenticated, a token auth.ts verified). */
  forUser(caller: Pick<Caller, "token" | "claims">): Rpc;
  /** Calls as service_role (server-side work only: RLS is bypassed). */
  service: Rpc;
  /**
   * The service-role supabase-js client, for what is not a SQL function call (the Auth admin API,
   * table writes). Made on first use.
   */
  readonly serviceClient: ServiceClient;
};

/** The ways to the database a Db is made of; tests pass doubles. */
export type DbParts = {
  forUser?: (caller: Pick<Caller, "token" | "claims">) => RpcTransport;
  service?: RpcTransport;
  serviceClient?: ServiceClient;
};

/** The Db of one function instance, as its environment configures it. */
export function createDb(env: DataApiEnv & DatabaseEnv): Db {
  const url = directDbUrl(env);
  const direct = url
    ? createDirectDb(url, { max: env.FUNCTIONS_DB_POOL_SIZE })
    : null;
  // Made when first used: a function holds only the keys it calls with (env.ts requireKeys).
  const serviceClient = once(() => createServiceClient(env));
  const userClients = once(() => createUserClients(env));
  return dbOf({
    forUser: direct?.forUser ?? ((caller) => userClients()(caller)),
    service: direct?.service ?? lazyTransport(serviceClient),
    get serviceClient() {
      return serviceClient();
    },
  });
}

/** A Db over the given transports (createDb's, or a test's doubles). */
export function dbOf(parts: DbParts): Db {
  const missing = (what: string): never => {
    throw new Error(`this function's Db has no ${what}`);
  };
  const service = parts.service ? rpcOver(parts.service) : null;
  return {
    forUser: (caller) =>
      rpcOver((parts.forUser ?? (() => missing("user client")))(caller)),
    get service() {
      return service ?? missing("service-role transport");
    },
    get serviceClient() {
      return parts.serviceClient ?? missing("service-role client");
    },
  };
}

function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}

function lazyTransport(client: () => RpcTransport): RpcTransport {
  return { rpc: (fn, args) => client().rpc(fn, args) };
}
