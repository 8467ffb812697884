// How the functions reach SQL on this stack (FUNCTIONS_DB): with "direct", assign-chat calls SQL
// over its own pooled connection on SUPABASE_DB_URL (supabase/functions/_shared/db/postgres.ts); with
// "data-api" (the legacy-key run of `npm test`), through the Data API. Either way the operator's
// refusal comes back from SQL the same.
import { afterAll, describe, expect, it } from "vitest";
import { accessToken, closeDb, db, stack } from "../support/stack.ts";

const OLIVIA = "33333333-3333-4333-8333-333333333333"; // seeded operator

afterAll(closeDb);

async function directConnections(): Promise<number> {
  const { rows } = await db().query(
    "select count(*)::int as n from pg_stat_activity where application_name = 'fantooo-edge-functions'",
  );
  return rows[0].n;
}

describe(`assign-chat reaches SQL ${stack.functionsDb === "direct" ? "over SUPABASE_DB_URL" : "through the Data API"}`, () => {
  it("a heartbeat for a chat the operator does not hold is SQL's chat_not_held", async () => {
    const res = await fetch(`${stack.functionsUrl}/assign-chat/heartbeat`, {
      method: "POST",
      headers: {
        apikey: stack.publishableKey,
        authorization: `Bearer ${accessToken(OLIVIA)}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ chat_id: "00000000-0000-4000-8000-000000000000" }),
    });
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe("chat_not_held");
    if (stack.functionsDb === "direct") expect(await directConnections()).toBeGreaterThan(0);
    else expect(await directConnections()).toBe(0);
  });
});
