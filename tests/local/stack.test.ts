// The local stack behaves like hosted Supabase: RLS through the Data API, functions reached through
// the gateway, and pg_cron reaching a function through net.http_post. Keys and tokens: keys.test.ts.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessToken, anonClient, closeDb, db, stack, userClient } from "../support/stack.ts";

const userId = randomUUID();
const email = `smoke-${userId}@example.com`;

beforeAll(async () => {
  await db().query("insert into auth.users (id, email, aud, role) values ($1, $2, 'authenticated', 'authenticated')", [userId, email]);
  await db().query(
    "insert into public.real_users (id, email, display_name, age, gender, looking_for) values ($1, $2, 'Smoke', 30, 'male', 'female')",
    [userId, email],
  );
});

afterAll(async () => {
  await db().query("delete from auth.users where id = $1", [userId]);
  await closeDb();
});

describe("Data API through the gateway", () => {
  it("refuses anon the real_users table, while a signed-in user reads exactly their own row", async () => {
    const asAnon = await anonClient().from("real_users").select("*");
    expect(asAnon.error?.code).toBe("42501"); // anon holds no privilege on it at all
    expect(asAnon.data).toBeNull();

    const asUser = await userClient(userId).from("real_users").select("*");
    expect(asUser.error).toBeNull();
    expect(asUser.data?.map((row) => row.id)).toEqual([userId]);
    expect(asUser.data?.[0].credits).toBe(0);
  });

  it("lets anon read the active credit packages (the public pricing page)", async () => {
    const { data, error } = await anonClient().from("credit_packages").select("*");
    expect(error).toBeNull();
    expect(data?.length).toBeGreaterThan(0);
    expect(data?.every((p) => p.is_active)).toBe(true);
  });

  it("serves the schema description (OpenAPI root) to the service role only, as hosted Supabase does", async () => {
    const root = `${stack.apiUrl}/rest/v1/`;
    const asAnon = await fetch(root, { headers: { apikey: stack.publishableKey } });
    expect(asAnon.status).toBe(403);
    const asUser = await fetch(root, { headers: { apikey: stack.publishableKey, Authorization: `Bearer ${accessToken(userId)}` } });
    expect(asUser.status).toBe(403); // a real user must not learn which operator-side tables exist
    const withoutKey = await fetch(root);
    expect(withoutKey.status).toBe(401);
    const asService = await fetch(root, {
      headers: { apikey: stack.secretKey },
    });
    expect(asService.status).toBe(200);
    expect(Object.keys((await asService.json()).paths)).toContain("/operators");
  });

  it("rejects a token signed with another secret", async () => {
    const response = await fetch(`${stack.apiUrl}/rest/v1/real_users`, {
      headers: { apikey: stack.anonKey, Authorization: `Bearer ${accessToken(userId).slice(0, -4)}AAAA` },
    });
    expect(response.status).toBe(401);
  });
});

describe("Edge Functions behind the gateway", () => {
  it("passes requests on as they came: a function with verify_jwt = false answers for itself", async () => {
    const response = await fetch(`${stack.functionsUrl}/paystack-webhook`, { method: "POST", body: "{}" });
    // The webhook's own answer (unsigned body), not the relay's.
    expect(response.status).toBe(401);
    expect((await response.json()).error.code).toBe("missing_signature");
  });

  it("answers 404 for a function that does not exist", async () => {
    const response = await fetch(`${stack.functionsUrl}/no-such-function`, { method: "POST" });
    expect(response.status).toBe(404);
  });
});

describe("pg_cron and the pg_net stand-in", () => {
  it("a cron job's net.http_post reaches a function through the gateway", { timeout: 150_000 }, async () => {
    const job = `smoke-${userId}`;
    // A schema the Data API does not expose, so that no other suite sees this table.
    await db().query("create schema if not exists smoke");
    await db().query("create table if not exists smoke.cron_requests (job text, request_id bigint)");
    const command = `insert into smoke.cron_requests select '${job}', net.http_post(
      url := '${stack.functionsUrl}/idle-sweeper',
      headers := jsonb_build_object('Content-Type', 'application/json', 'apikey', '${stack.secretKey}'),
      body := '{}'::jsonb)`;
    await db().query("select cron.schedule($1, '* * * * *', $2)", [job, command]);
    try {
      let response: { status_code: number; content: string } | undefined;
      const deadline = Date.now() + 140_000; // pg_cron 1.4 runs jobs on minute boundaries
      while (!response && Date.now() < deadline) {
        const { rows } = await db().query(
          `select r.status_code, r.content from smoke.cron_requests q
             join net._http_response r on r.id = q.request_id where q.job = $1`,
          [job],
        );
        response = rows[0];
        if (!response) await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      expect(response?.status_code).toBe(200);
      expect(JSON.parse(response!.content)).toMatchObject({ released: expect.any(Number) });
    } finally {
      await db().query("select cron.unschedule($1)", [job]);
      await db().query("delete from smoke.cron_requests where job = $1", [job]);
    }
  });
});
