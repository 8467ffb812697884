// The environment of the functions, validated once at start-up. Each function declares the
// variables it uses by composing the groups below into its own schema (its app.ts exports it as
// `envSchema`); a missing or invalid value stops the function with a message naming every
// offending variable, instead of failing at the first request.
//
// Hosted Supabase injects SUPABASE_URL and the API keys: today SUPABASE_PUBLISHABLE_KEYS and
// SUPABASE_SECRET_KEYS (JSON objects of named keys) and SUPABASE_JWKS; projects still on legacy
// keys have SUPABASE_ANON_KEY and SUPABASE_SERVICE_ROLE_KEY, which are accepted in their place.
// LEGACY_JWT_SECRET (set with `supabase secrets set`; the platform does not inject the JWT secret)
// makes user routes accept HS256 tokens signed with it. PAYSTACK_* come from `supabase secrets set`
// (or supabase/functions/.env locally).
import { z } from "zod";
import { parseAllowedSources } from "../paystack-webhook/source-ip.ts";

// An empty string in an env file means "not set", so that defaults apply and requireds complain.
const blankAsUnset = (value: unknown) =>
  typeof value === "string" && value.trim() === "" ? undefined : value;

const message = (invalid: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? "is missing" : invalid;

const requiredText = z.preprocess(
  blankAsUnset,
  z.string({ error: message("must be a string") }),
);
const optionalText = z.preprocess(
  blankAsUnset,
  z.string({ error: "must be a string" }).optional(),
);

const httpUrlSchema = z.url({
  protocol: /^https?$/,
  error: message("must be an http(s) URL"),
});
const httpUrl = z.preprocess(blankAsUnset, httpUrlSchema);

/** A JSON object of named keys, as SUPABASE_PUBLISHABLE_KEYS and SUPABASE_SECRET_KEYS are. */
const namedKeys = z.preprocess(
  blankAsUnset,
  z.string({ error: "must be a string" }).optional().transform(
    (raw, ctx): Record<string, string> | undefined => {
      if (raw === undefined) return undefined;
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        parsed = null;
      }
      const ok = parsed !== null && typeof parsed === "object" &&
        !Array.isArray(parsed) &&
        Object.values(parsed).every((v) => typeof v === "string" && v !== "");
      if (ok && Object.keys(parsed as object).length > 0) {
        return parsed as Record<string, string>;
      }
      ctx.addIssue({
        code: "custom",
        message: 'must be a JSON object of named keys ({"default": "sb_…"})',
      });
      return z.NEVER;
    },
  ),
);

export type JsonWebKeySet = { keys: Array<Record<string, unknown>> };

/** SUPABASE_JWKS: `{"keys": [...]}` (or a bare array, as @supabase/server accepts it). */
const jwksJson = z.preprocess(
  blankAsUnset,
  z.string({ error: "must be a string" }).optional().transform(
    (raw, ctx): JsonWebKeySet | undefined => {
      if (raw === undefined) return undefined;
      try {
        const parsed: unknown = JSON.parse(raw);
        const keys = Array.isArray(parsed)
          ? parsed
          : (parsed as { keys?: unknown } | null)?.keys;
        if (
          Array.isArray(keys) &&
          keys.every((k) => k !== null && typeof k === "object")
        ) {
          return { keys };
        }
      } catch { /* reported below */ }
      ctx.addIssue({
        code: "custom",
        message: 'must be a JSON Web Key Set ({"keys": [...]})',
      });
      return z.NEVER;
    },
  ),
);

/** Where the Supabase project is. */
export const projectEnv = { SUPABASE_URL: httpUrl };

const postgresUrl = z.preprocess(
  blankAsUnset,
  z.string({ error: "must be a string" })
    .regex(/^postgres(ql)?:\/\//, {
      error: "must be a postgresql:// connection string",
    })
    .optional(),
);

/**
 * How the hot paths (assign-chat, paystack-webhook) reach SQL: over a direct Postgres connection
 * (postgres.ts) when one is known, else through the Data API.
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
  FUNCTIONS_DB: "direct" | "data-api";
  FUNCTIONS_DB_POOL_SIZE: number;
};

/** The connection string the hot paths use, or null when they go through the Data API. */
export function directDbUrl(env: DatabaseEnv): string | null {
  if (env.FUNCTIONS_DB === "data-api") return null;
  return env.FUNCTIONS_DB_URL ?? env.SUPABASE_DB_URL ?? null;
}

/** The key clients use to act as a caller (publishable, or the legacy anon key). */
export const publishableKeyEnv = {
  SUPABASE_PUBLISHABLE_KEYS: namedKeys,
  SUPABASE_ANON_KEY: optionalText,
};

/** The keys that act as service_role (secret keys, or the legacy service-role key). */
export const secretKeyEnv = {
  SUPABASE_SECRET_KEYS: namedKeys,
  SUPABASE_SERVICE_ROLE_KEY: optionalText,
};

/** What user access tokens are verified with. */
export const userTokenEnv = {
  SUPABASE_JWKS: jwksJson,
  LEGACY_JWT_SECRET: z.preprocess(
    blankAsUnset,
    z.string({ error: "must be a string" })
      .min(32, {
        error: "must be at least 32 characters (the project's JWT secret)",
      })
      .optional(),
  ),
};

export const paystackSecretEnv = { PAYSTACK_SECRET_KEY: requiredText };

export const paystackApiEnv = {
  PAYSTACK_API_URL: z.preprocess(
    blankAsUnset,
    httpUrlSchema.default("https://api.paystack.co")
      .transform((url) => url.replace(/\/+$/, "")),
  ),
  // Optional: how long to wait for Paystack before answering 502 (milliseconds).
  PAYSTACK_TIMEOUT_MS: z.preprocess(
    blankAsUnset,
    z.coerce.number<string | undefined>({
      error: "must be a whole number of milliseconds",
    })
      .int({ error: "must be a whole number of milliseconds" })
      .min(100, { error: "must be at least 100" })
      .max(60000, { error: "must be at most 60000" })
      .default(8000),
  ),
  // Optional: where Paystack sends the buyer after paying (Paystack's `callback_url`).
  PAYSTACK_CALLBACK_URL: z.preprocess(
    blankAsUnset,
    httpUrlSchema.optional(),
  ),
};

export const webhookSourceEnv = {
  // Optional: the source addresses the Paystack webhook accepts, checked before the signature
  // (source-ip.ts). Unset or empty: no source check. `paystack`: Paystack's documented webhook
  // addresses. Otherwise comma-separated IPv4/IPv6 addresses (`paystack` may be one entry).
  // Canonical addresses, or null when the check is off.
  PAYSTACK_WEBHOOK_ALLOWED_IPS: z.preprocess(
    blankAsUnset,
    z.string({ error: "must be a string" }).optional().transform(
      (value, ctx): string[] | null => {
        if (value === undefined) return null;
        const parsed = parseAllowedSources(value);
        if (parsed.ok) return parsed.addresses;
        ctx.addIssue({ code: "custom", message: parsed.problem });
        return z.NEVER;
      },
    ),
  ),
};

type KeyEnv = {
  SUPABASE_PUBLISHABLE_KEYS?: Record<string, string>;
  SUPABASE_ANON_KEY?: string;
  SUPABASE_SECRET_KEYS?: Record<string, string>;
  SUPABASE_SERVICE_ROLE_KEY?: string;
};

const pick = (keys: Record<string, string> | undefined) =>
  keys?.default ?? Object.values(keys ?? {})[0];

/** The publishable key clients send (the `default` one), else the legacy anon key. */
export function publishableKey(env: KeyEnv): string {
  const key = pick(env.SUPABASE_PUBLISHABLE_KEYS) ?? env.SUPABASE_ANON_KEY;
  if (!key) throw new Error("no publishable or anon key configured");
  return key;
}

/** The secret key server-side clients use (the `default` one), else the legacy service-role key. */
export function serviceKey(env: KeyEnv): string {
  const key = pick(env.SUPABASE_SECRET_KEYS) ?? env.SUPABASE_SERVICE_ROLE_KEY;
  if (!key) throw new Error("no secret or service-role key configured");
  return key;
}

/** Every key that acts as service_role: all named secret keys and the legacy service-role key. */
export function allServiceKeys(env: KeyEnv): string[] {
  return [
    ...Object.values(env.SUPABASE_SECRET_KEYS ?? {}),
    ...(env.SUPABASE_SERVICE_ROLE_KEY ? [env.SUPABASE_SERVICE_ROLE_KEY] : []),
  ];
}

/** Refinement: a function that needs a kind of key has one of its two names set. */
export function requireKeys(...kinds: Array<"publishable" | "secret">) {
  return (env: KeyEnv, ctx: z.RefinementCtx) => {
    if (
      kinds.includes("publishable") && !env.SUPABASE_PUBLISHABLE_KEYS &&
      !env.SUPABASE_ANON_KEY
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["SUPABASE_PUBLISHABLE_KEYS"],
        message: "is missing (or the legacy SUPABASE_ANON_KEY)",
      });
    }
    if (
      kinds.includes("secret") && !env.SUPABASE_SECRET_KEYS &&
      !env.SUPABASE_SERVICE_ROLE_KEY
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["SUPABASE_SECRET_KEYS"],
        message: "is missing (or the legacy SUPABASE_SERVICE_ROLE_KEY)",
      });
    }
  };
}

/**
 * Validates `source` (usually `Deno.env.toObject()`) with a function's schema; throws an Error
 * naming every bad variable.
 */
export function loadEnv<S extends z.ZodType>(
  schema: S,
  source: Record<string, string | undefined>,
): z.infer<S> {
  const result = schema.safeParse(source);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) =>
    `${String(issue.path[0] ?? "environment")} ${issue.message}`
  );
  throw new Error(`Invalid function environment: ${problems.join("; ")}`);
}
