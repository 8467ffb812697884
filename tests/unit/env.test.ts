import { describe, expect, it } from "vitest";
import { loadEnv } from "../../supabase/functions/_shared/env.ts";

const complete = {
  SUPABASE_URL: "http://127.0.0.1:54321",
  SUPABASE_ANON_KEY: "anon-key",
  SUPABASE_SERVICE_ROLE_KEY: "service-key",
  SUPABASE_DB_URL: "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
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
    expect(loadEnv({ ...complete, PAYSTACK_WEBHOOK_ALLOWED_IPS: value }).PAYSTACK_WEBHOOK_ALLOWED_IPS).toEqual(expected);
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
      "SUPABASE_ANON_KEY is missing",
      "SUPABASE_SERVICE_ROLE_KEY is missing",
      "SUPABASE_DB_URL is missing",
      "PAYSTACK_SECRET_KEY is missing",
    ]],
    ["no Paystack secret", { ...complete, PAYSTACK_SECRET_KEY: undefined }, ["PAYSTACK_SECRET_KEY is missing"]],
    ["an empty Paystack secret", { ...complete, PAYSTACK_SECRET_KEY: "" }, ["PAYSTACK_SECRET_KEY is missing"]],
    ["a SUPABASE_URL that is not a URL", { ...complete, SUPABASE_URL: "localhost" }, ["SUPABASE_URL must be an http(s) URL"]],
    ["a non-http Paystack URL", { ...complete, PAYSTACK_API_URL: "ftp://paystack" }, ["PAYSTACK_API_URL must be an http(s) URL"]],
    ["a timeout that is not a number", { ...complete, PAYSTACK_TIMEOUT_MS: "soon" }, ["PAYSTACK_TIMEOUT_MS must be a whole number of milliseconds"]],
    ["a timeout that is too short", { ...complete, PAYSTACK_TIMEOUT_MS: "5" }, ["PAYSTACK_TIMEOUT_MS must be at least 100"]],
    ["a host name among the allowed webhook sources", { ...complete, PAYSTACK_WEBHOOK_ALLOWED_IPS: "paystack,api.paystack.co" }, [
      'PAYSTACK_WEBHOOK_ALLOWED_IPS must be "paystack" or comma-separated IP addresses ("api.paystack.co" is neither)',
    ]],
    ["an empty entry among the allowed webhook sources", { ...complete, PAYSTACK_WEBHOOK_ALLOWED_IPS: "203.0.113.7," }, [
      "PAYSTACK_WEBHOOK_ALLOWED_IPS has an empty entry",
    ]],
    ["a bad webhook source next to another bad variable", { ...complete, PAYSTACK_TIMEOUT_MS: "soon", PAYSTACK_WEBHOOK_ALLOWED_IPS: "1.2.3" }, [
      "PAYSTACK_TIMEOUT_MS must be a whole number of milliseconds",
      'PAYSTACK_WEBHOOK_ALLOWED_IPS must be "paystack" or comma-separated IP addresses ("1.2.3" is neither)',
    ]],
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
