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
