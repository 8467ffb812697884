// The environment every function reads, validated once at start-up.
//
// On Supabase the platform injects SUPABASE_URL, SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY and
// SUPABASE_DB_URL; PAYSTACK_SECRET_KEY comes from `supabase secrets set` (or
// supabase/functions/.env locally). A missing or invalid value stops the function with a message
// naming every offending variable, instead of failing at the first request.
import { z } from "zod";
import { parseAllowedSources } from "./source-ip.ts";

// An empty string in an env file means "not set", so that defaults apply and requireds complain.
const blankAsUnset = (value: unknown) => value === "" ? undefined : value;

const message = (invalid: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? "is missing" : invalid;

const requiredText = z.preprocess(
  blankAsUnset,
  z.string({ error: message("must be a string") }),
);

const httpUrlSchema = z.url({
  protocol: /^https?$/,
  error: message("must be an http(s) URL"),
});
const httpUrl = z.preprocess(blankAsUnset, httpUrlSchema);

export const envSchema = z.object({
  SUPABASE_URL: httpUrl,
  SUPABASE_ANON_KEY: requiredText,
  SUPABASE_SERVICE_ROLE_KEY: requiredText,
  SUPABASE_DB_URL: requiredText,
  PAYSTACK_SECRET_KEY: requiredText,
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
  // Optional: the source addresses the Paystack webhook accepts, checked before the signature
  // (source-ip.ts). Unset or empty: no source check. `paystack`: Paystack's documented webhook
  // addresses. Otherwise comma-separated IPv4/IPv6 addresses (`paystack` may be one entry).
  // Canonical addresses, or null when the check is off.
  PAYSTACK_WEBHOOK_ALLOWED_IPS: z.preprocess(
    (value) =>
      typeof value === "string" && value.trim() === "" ? undefined : value,
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
});

export type Env = z.infer<typeof envSchema>;

/** Validates `source` (usually `Deno.env.toObject()`); throws an Error naming every bad variable. */
export function loadEnv(source: Record<string, string | undefined>): Env {
  const result = envSchema.safeParse(source);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) =>
    `${String(issue.path[0] ?? "environment")} ${issue.message}`
  );
  throw new Error(`Invalid function environment: ${problems.join("; ")}`);
}
