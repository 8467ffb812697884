// The OpenAPI documents: each function serves its own at GET /<name>/openapi.json (no credentials),
// built from the zod schemas its handlers validate with, and docs/openapi/<name>.json is that
// document committed. `npm run gen:openapi` rewrites the committed files (OPENAPI_WRITE=1).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadEnv } from "../../supabase/functions/_shared/env.ts";
import * as adminAccounts from "../../supabase/functions/admin-accounts/app.ts";
import * as assignChat from "../../supabase/functions/assign-chat/app.ts";
import * as creditsCheckout from "../../supabase/functions/credits-checkout/app.ts";
import * as idleSweeper from "../../supabase/functions/idle-sweeper/app.ts";
import * as paystackWebhook from "../../supabase/functions/paystack-webhook/app.ts";
import * as reconcilePayments from "../../supabase/functions/reconcile-payments/app.ts";

const sourceEnv = {
  SUPABASE_URL: "http://127.0.0.1:9",
  SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: "sb_publishable_doc" }),
  SUPABASE_SECRET_KEYS: JSON.stringify({ default: "sb_secret_doc" }),
  SUPABASE_JWKS: JSON.stringify({ keys: [] }),
  PAYSTACK_SECRET_KEY: "sk_test_doc",
  PAYSTACK_WEBHOOK_ALLOWED_IPS: "paystack",
};

type FunctionModule = {
  envSchema: Parameters<typeof loadEnv>[0];
  createApp(env: never): { fetch(request: Request): Response | Promise<Response> };
};
const functions: Array<[string, FunctionModule, string[]]> = [
  ["admin-accounts", adminAccounts as unknown as FunctionModule, ["/admin-accounts"]],
  ["assign-chat", assignChat as unknown as FunctionModule, ["/assign-chat", "/assign-chat/release", "/assign-chat/heartbeat"]],
  ["credits-checkout", creditsCheckout as unknown as FunctionModule, ["/credits-checkout", "/credits-checkout/verify"]],
  ["idle-sweeper", idleSweeper as unknown as FunctionModule, ["/idle-sweeper"]],
  ["paystack-webhook", paystackWebhook as unknown as FunctionModule, ["/paystack-webhook"]],
  ["reconcile-payments", reconcilePayments as unknown as FunctionModule, ["/reconcile-payments"]],
];
const committedPath = (name: string) => join(import.meta.dirname, "..", "..", "docs", "openapi", `${name}.json`);
const silently = async <T>(run: () => Promise<T>) => {
  const log = console.log;
  console.log = () => {};
  try {
    return await run();
  } finally {
    console.log = log;
  }
};

describe.each(functions)("%s", (name, module, paths) => {
  const app = module.createApp(loadEnv(module.envSchema, sourceEnv) as never);
  // Any source: the webhook's source check does not guard its document.
  const served = () => silently(() => Promise.resolve(app.fetch(new Request(`http://fn/${name}/openapi.json`))));

  it("serves its OpenAPI document without credentials", async () => {
    const response = await served();
    expect(response.status).toBe(200);
    const document = await response.json();
    expect(document.openapi).toBe("3.1.0");
    expect(Object.keys(document.paths).sort()).toEqual([...paths].sort());
  });

  it("declares the error shape with a code for every status but 200", async () => {
    const document = await (await served()).json();
    for (const path of paths) {
      const responses = document.paths[path].post.responses;
      expect(Object.keys(responses)).toEqual(expect.arrayContaining(["200", "405", "500"]));
      for (const [status, response] of Object.entries<{ content: Record<string, { schema: any }> }>(responses)) {
        if (status === "200") continue;
        const schema = response.content["application/json"].schema;
        expect(schema.properties.error.required).toEqual(["code", "message"]);
        expect(schema.properties.error.properties.code.enum.length).toBeGreaterThan(0);
      }
    }
  });

  it("is committed as docs/openapi/<name>.json, up to date (npm run gen:openapi)", async () => {
    const current = `${JSON.stringify(await (await served()).json(), null, 2)}\n`;
    if (process.env.OPENAPI_WRITE === "1") writeFileSync(committedPath(name), current);
    let committed = "";
    try {
      committed = readFileSync(committedPath(name), "utf8");
    } catch {
      // missing: reported below
    }
    expect(committed, `docs/openapi/${name}.json is stale: run npm run gen:openapi`).toBe(current);
  });
});
