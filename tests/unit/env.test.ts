import { describe, expect, it } from "vitest";
import { directDbUrl } from "../../supabase/functions/_shared/db/mod.ts";
import {
  allServiceKeys,
  loadEnv as loadWith,
  publishableKey,
  serviceKey,
} from "../../supabase/functions/_shared/env.ts";
import { envSchema as assignEnv } from "../../supabase/functions/assign-chat/app.ts";
import { envSchema as checkoutEnv } from "../../supabase/functions/credits-checkout/app.ts";
import { envSchema as sweeperEnv } from "../../supabase/functions/idle-sweeper/app.ts";
import { envSchema as webhookEnv } from "../../supabase/functions/paystack-webhook/app.ts";

// credits-checkout reads the most variables (keys of both kinds, user tokens, Paystack's API).
const loadEnv = (source: Record<string, string | undefined>) => loadWith(checkoutEnv, source);

const complete = {
  SUPABASE_URL: "http://127.0.0.1:54321",
  SUPABASE_ANON_KEY: "anon-key",
  SUPABASE_SERVICE_ROLE_KEY: "service-key",
  PAYSTACK_SECRET_KEY: "sk_test_x",
};

describe("loadEnv accepts a complete environment", () => {
  it("defaults PAYSTACK_API_URL to Paystack and the timeout to 8 s", () => {
    const env = loadEnv(complete);
    expect(env.PAYSTACK_API_URL).toBe("https://api.paystack.co");
    expect(env.PAYSTACK_TIMEOUT_MS).toBe(8000);
    expect(env.SUPABASE_URL).toBe(complete.SUPABASE_URL);
  });

  const sources: Array<[string, string | undefined, string[] | null]> = [
    ["leaves the webhook source check off when PAYSTACK_WEBHOOK_ALLOWED_IPS is unset", undefined, null],
    ["leaves it off when PAYSTACK_WEBHOOK_ALLOWED_IPS is empty", "", null],
    ["leaves it off when PAYSTACK_WEBHOOK_ALLOWED_IPS is blank", "  ", null],
    ["reads PAYSTACK_WEBHOOK_ALLOWED_IPS=paystack as Paystack's documented addresses", "paystack", ["52.31.139.75", "52.49.173.169", "52.214.14.220"]],
    ["reads a list of IPv4 and IPv6 addresses", "203.0.113.7, 2001:DB8::7", ["203.0.113.7", "2001:db8::7"]],
  ];
  it.each(sources)("%s", (_name, value, expected) => {
    const env = loadWith(webhookEnv, { ...complete, PAYSTACK_WEBHOOK_ALLOWED_IPS: value });
    expect(env.PAYSTACK_WEBHOOK_ALLOWED_IPS).toEqual(expected);
  });

  const accepted: Array<[string, Record<string, string>, string, unknown]> = [
    ["takes a local PAYSTACK_API_URL without its trailing slash", { PAYSTACK_API_URL: "http://127.0.0.1:9/" }, "PAYSTACK_API_URL", "http://127.0.0.1:9"],
    ["treats an empty PAYSTACK_API_URL as unset", { PAYSTACK_API_URL: "" }, "PAYSTACK_API_URL", "https://api.paystack.co"],
    ["reads PAYSTACK_TIMEOUT_MS as a number", { PAYSTACK_TIMEOUT_MS: "2500" }, "PAYSTACK_TIMEOUT_MS", 2500],
  ];
  it.each(accepted)("%s", (_name, extra, key, expected) => {
    expect(loadEnv({ ...complete, ...extra })[key as keyof ReturnType<typeof loadEnv>]).toBe(expected);
  });
});

describe("loadEnv names every missing or invalid variable", () => {
  const refused: Array<[string, Record<string, string | undefined>, string[]]> = [
    ["nothing set", {}, [
      "SUPABASE_URL is missing",
      "PAYSTACK_SECRET_KEY is missing",
    ]],
    ["no keys of either kind", { ...complete, SUPABASE_ANON_KEY: undefined, SUPABASE_SERVICE_ROLE_KEY: undefined }, [
      "SUPABASE_PUBLISHABLE_KEYS is missing (or the legacy SUPABASE_ANON_KEY)",
      "SUPABASE_SECRET_KEYS is missing (or the legacy SUPABASE_SERVICE_ROLE_KEY)",
    ]],
    ["secret keys that are not a JSON object", { ...complete, SUPABASE_SECRET_KEYS: "sb_secret_x" }, [
      'SUPABASE_SECRET_KEYS must be a JSON object of named keys ({"default": "sb_…"})',
    ]],
    ["an empty key set", { ...complete, SUPABASE_PUBLISHABLE_KEYS: "{}" }, [
      'SUPABASE_PUBLISHABLE_KEYS must be a JSON object of named keys ({"default": "sb_…"})',
    ]],
    ["a JWKS that is not a key set", { ...complete, SUPABASE_JWKS: '{"kty":"EC"}' }, [
      'SUPABASE_JWKS must be a JSON Web Key Set ({"keys": [...]})',
    ]],
    ["a legacy JWT secret too short to be one", { ...complete, LEGACY_JWT_SECRET: "short" }, [
      "LEGACY_JWT_SECRET must be at least 32 characters (the project's JWT secret)",
    ]],
    ["a callback URL that is not http(s)", { ...complete, PAYSTACK_CALLBACK_URL: "javascript:alert(1)" }, [
      "PAYSTACK_CALLBACK_URL must be an http(s) URL",
    ]],
    ["no Paystack secret", { ...complete, PAYSTACK_SECRET_KEY: undefined }, ["PAYSTACK_SECRET_KEY is missing"]],
    ["an empty Paystack secret", { ...complete, PAYSTACK_SECRET_KEY: "" }, ["PAYSTACK_SECRET_KEY is missing"]],
    ["a SUPABASE_URL that is not a URL", { ...complete, SUPABASE_URL: "localhost" }, ["SUPABASE_URL must be an http(s) URL"]],
    ["a non-http Paystack URL", { ...complete, PAYSTACK_API_URL: "ftp://paystack" }, ["PAYSTACK_API_URL must be an http(s) URL"]],
    ["a timeout that is not a number", { ...complete, PAYSTACK_TIMEOUT_MS: "soon" }, ["PAYSTACK_TIMEOUT_MS must be a whole number of milliseconds"]],
    ["a timeout that is too short", { ...complete, PAYSTACK_TIMEOUT_MS: "5" }, ["PAYSTACK_TIMEOUT_MS must be at least 100"]],
  ];
  it.each(refused)("%s", (_name, source, problems) => {
    let message = "";
    try {
      loadEnv(source);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^Invalid function environment: /);
    for (const problem of problems) expect(message).toContain(problem);
    const named = message.replace("Invalid function environment: ", "").split("; ");
    expect(named).toHaveLength(problems.length);
  });
});

describe("how assign-chat and the webhook reach SQL (directDbUrl)", () => {
  const DB = "postgresql://postgres:pw@db.example.supabase.co:5432/postgres";
  const POOLER = "postgresql://postgres.ref:pw@aws-0-eu.pooler.supabase.com:6543/postgres";
  const cases: Array<[string, Record<string, string | undefined>, string | null, number]> = [
    ["the injected SUPABASE_DB_URL, 3 connections per instance", { SUPABASE_DB_URL: DB }, DB, 3],
    ["FUNCTIONS_DB_URL (e.g. the pooler) over SUPABASE_DB_URL", { SUPABASE_DB_URL: DB, FUNCTIONS_DB_URL: POOLER }, POOLER, 3],
    ["the Data API without a connection string", {}, null, 3],
    ["the Data API with FUNCTIONS_DB=data-api, whatever is set", { SUPABASE_DB_URL: DB, FUNCTIONS_DB_URL: POOLER, FUNCTIONS_DB: "data-api" }, null, 3],
    ["an empty SUPABASE_DB_URL counts as unset", { SUPABASE_DB_URL: "" }, null, 3],
    ["FUNCTIONS_DB_POOL_SIZE sets the pool", { SUPABASE_DB_URL: DB, FUNCTIONS_DB_POOL_SIZE: "1" }, DB, 1],
  ];
  it.each(cases)("%s", (_name, extra, url, pool) => {
    for (const schema of [assignEnv, webhookEnv]) {
      const env = loadWith(schema, { ...complete, ...extra });
      expect(directDbUrl(env)).toBe(url);
      expect(env.FUNCTIONS_DB_POOL_SIZE).toBe(pool);
    }
  });

  const refused: Array<[string, Record<string, string>, string]> = [
    ["a connection string that is not postgres", { SUPABASE_DB_URL: "https://db.example" }, "SUPABASE_DB_URL must be a postgresql:// connection string"],
    ["an unknown FUNCTIONS_DB", { FUNCTIONS_DB: "rest" }, "FUNCTIONS_DB must be direct or data-api"],
    ["a pool of 0", { FUNCTIONS_DB_POOL_SIZE: "0" }, "FUNCTIONS_DB_POOL_SIZE must be at least 1"],
    ["a pool that is not a number", { FUNCTIONS_DB_POOL_SIZE: "many" }, "FUNCTIONS_DB_POOL_SIZE must be a whole number"],
  ];
  it.each(refused)("refuses %s", (_name, extra, problem) => {
    expect(() => loadWith(assignEnv, { ...complete, ...extra })).toThrow(problem);
  });
});

describe("the webhook's source setting", () => {
  const refused: Array<[string, string, string]> = [
    ["a host name among the allowed sources", "paystack,api.paystack.co",
      'PAYSTACK_WEBHOOK_ALLOWED_IPS must be "paystack" or comma-separated IP addresses ("api.paystack.co" is neither)'],
    ["an empty entry among the allowed sources", "203.0.113.7,", "PAYSTACK_WEBHOOK_ALLOWED_IPS has an empty entry"],
  ];
  it.each(refused)("refuses %s", (_name, value, problem) => {
    expect(() => loadWith(webhookEnv, { ...complete, PAYSTACK_WEBHOOK_ALLOWED_IPS: value })).toThrow(problem);
  });
});

describe("each function requires only what it uses", () => {
  const newKeys = {
    SUPABASE_URL: "https://ref.supabase.co",
    SUPABASE_PUBLISHABLE_KEYS: '{"default":"sb_publishable_a"}',
    SUPABASE_SECRET_KEYS: '{"default":"sb_secret_a","cron":"sb_secret_b"}',
  };
  const cases: Array<[string, Parameters<typeof loadWith>[0], Record<string, string>]> = [
    ["assign-chat: the project and a publishable key", assignEnv, { SUPABASE_URL: newKeys.SUPABASE_URL, SUPABASE_PUBLISHABLE_KEYS: newKeys.SUPABASE_PUBLISHABLE_KEYS }],
    ["idle-sweeper: the project and a secret key", sweeperEnv, { SUPABASE_URL: newKeys.SUPABASE_URL, SUPABASE_SECRET_KEYS: newKeys.SUPABASE_SECRET_KEYS }],
    ["paystack-webhook: a secret key and Paystack's secret", webhookEnv, { SUPABASE_URL: newKeys.SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY: "legacy", PAYSTACK_SECRET_KEY: "sk" }],
    ["credits-checkout: keys of both kinds and Paystack's secret", checkoutEnv, { ...newKeys, PAYSTACK_SECRET_KEY: "sk" }],
  ];
  it.each(cases)("%s", (_name, schema, source) => {
    expect(() => loadWith(schema, source)).not.toThrow();
  });

  it("the sweeper refuses to start without any secret key, naming both names", () => {
    expect(() => loadWith(sweeperEnv, { SUPABASE_URL: newKeys.SUPABASE_URL, SUPABASE_PUBLISHABLE_KEYS: newKeys.SUPABASE_PUBLISHABLE_KEYS }))
      .toThrow("SUPABASE_SECRET_KEYS is missing (or the legacy SUPABASE_SERVICE_ROLE_KEY)");
  });

  const keyCases: Array<[string, Record<string, string>, string, string, string[]]> = [
    ["new keys: the default ones, every secret key accepted", newKeys, "sb_publishable_a", "sb_secret_a", ["sb_secret_a", "sb_secret_b"]],
    ["legacy keys only", { SUPABASE_URL: newKeys.SUPABASE_URL, SUPABASE_ANON_KEY: "anon", SUPABASE_SERVICE_ROLE_KEY: "service" }, "anon", "service", ["service"]],
    ["both during the move: the new keys first, the legacy one still accepted", { ...newKeys, SUPABASE_ANON_KEY: "anon", SUPABASE_SERVICE_ROLE_KEY: "service" }, "sb_publishable_a", "sb_secret_a", ["sb_secret_a", "sb_secret_b", "service"]],
  ];
  it.each(keyCases)("%s", (_name, source, publishable, service, all) => {
    const env = loadWith(checkoutEnv, { ...source, PAYSTACK_SECRET_KEY: "sk" });
    expect(publishableKey(env)).toBe(publishable);
    expect(serviceKey(env)).toBe(service);
    expect(allServiceKeys(env)).toEqual(all);
  });
});
