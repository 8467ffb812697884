// What the local stack takes from supabase/config.toml (the file `supabase start` reads too) and
// from the environment.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";

// Used when supabase/functions/.env names no real Paystack key: the local fake Paystack accepts it.
export const LOCAL_PAYSTACK_SECRET_KEY = "sk_test_local_fantooo_0000000000000000000000";

export function readProjectConfig(root) {
  const path = join(root, "supabase", "config.toml");
  let toml;
  try {
    toml = parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`cannot read ${path}: ${error.message}`);
  }
  const functions = Object.fromEntries(
    Object.entries(toml.functions ?? {}).map(([name, fn]) => [
      name,
      { verifyJwt: fn.verify_jwt !== false, enabled: fn.enabled !== false },
    ]),
  );
  return {
    apiPort: Number(process.env.FANTOOO_API_PORT ?? toml.api?.port ?? 54321),
    dbPort: Number(process.env.FANTOOO_DB_PORT ?? toml.db?.port ?? 54322),
    schemas: toml.api?.schemas ?? ["public"],
    extraSearchPath: toml.api?.extra_search_path ?? ["public", "extensions"],
    maxRows: toml.api?.max_rows ?? 1000,
    jwtExpiry: Number(toml.auth?.jwt_expiry ?? 3600),
    signingKeysPath: toml.auth?.signing_keys_path ?? "./signing_keys.json",
    // Where Auth's email links may send the browser ([auth] site_url, additional_redirect_urls),
    // and whether a password change needs a fresh reauthentication code, with the CLI's defaults.
    siteUrl: toml.auth?.site_url ?? "http://127.0.0.1:3000",
    additionalRedirectUrls: toml.auth?.additional_redirect_urls ?? ["https://127.0.0.1:3000"],
    securePasswordChange: toml.auth?.email?.secure_password_change === true,
    functions,
  };
}

/** KEY=value lines of supabase/functions/.env (what `supabase functions serve` reads), if any. */
export function readFunctionsEnvFile(root) {
  let text;
  try {
    text = readFileSync(join(root, "supabase", "functions", ".env"), "utf8");
  } catch {
    return {};
  }
  const values = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match || line.trimStart().startsWith("#")) continue;
    values[match[1]] = match[2].replace(/^(['"])(.*)\1$/, "$2");
  }
  return values;
}
