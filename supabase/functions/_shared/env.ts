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
// (or supabase/functions/.env locally). The groups of one concern live beside it: how functions
// reach SQL in db/mod.ts (databaseEnv), the webhook's source check in paystack-webhook/app.ts.
import { z } from "zod";

/** An empty string in an env file means "not set", so that defaults apply and requireds complain. */
export const blankAsUnset = (value: unknown) =>
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

/** The keys a function holds (each optional: a function requires what it uses, requireKeys). */
export type KeyEnv = {
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
