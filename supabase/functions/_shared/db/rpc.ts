// What calling a SQL function looks like, whichever way the call goes (the Data API, data-api.ts,
// or the direct connection, postgres.ts): a transport answers supabase-js's {data, error}; `Rpc`
// is what the apps call, the answer validated and every failure turned into something to throw.
import type { z } from "zod";
import type { Database } from "../database.types.ts";
import { DatabaseError, type DbError, toThrowable } from "../db-errors.ts";

/** What a call answers: supabase-js's {data, error}, whichever way the call went. */
export type RpcResult = { data: unknown; error: DbError | null };

/** One way to call SQL functions as one role: a function's name and its named arguments. */
export type RpcTransport = {
  rpc(fn: string, args?: Record<string, unknown>): PromiseLike<RpcResult>;
};

type PublicFunctions = Database["public"]["Functions"];

/** The SQL functions of `public` (the generated database types), with their arguments. */
export type SqlFunction = keyof PublicFunctions & string;
export type SqlArgs<F extends SqlFunction> = PublicFunctions[F]["Args"];

/** Calls of the public SQL functions as one role, each answer validated. */
export type Rpc = {
  /**
   * Calls `fn` with `args` and returns its answer parsed `as` the schema. Known SQL refusals
   * become ApiErrors (db-errors.ts); any other failure, an answer of another shape included, is a
   * DatabaseError (logged, generic 500).
   */
  rpc<F extends SqlFunction, S extends z.ZodType>(
    fn: F,
    args: SqlArgs<F>,
    as: S,
  ): Promise<z.infer<S>>;
};

/** The validated calls over one transport. */
export function rpcOver(transport: RpcTransport): Rpc {
  return {
    async rpc(fn, args, as) {
      const { data, error } = await transport.rpc(fn, args);
      if (error) throw toThrowable(`rpc ${fn}`, error);
      const parsed = as.safeParse(data);
      if (!parsed.success) {
        throw new DatabaseError(`rpc ${fn}`, {
          code: "unexpected_result",
          message: parsed.error.message,
        });
      }
      return parsed.data;
    },
  };
}
