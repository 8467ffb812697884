// Faults the stack survives with nothing lost or doubled (local/README.md, "Staying up"): Postgres killed while
// signed webhooks are in flight, the functions process killed during a burst of assignments, and a
// sweep whose database connection dies midway. The local stack's supervisor brings the killed
// process back by itself; each test waits for that before it ends, so the files after it run on a
// whole stack again.
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain ESM module of the local stack
import { Cluster } from "../../local/stack/postgres.mjs";
import { accessToken, closeDb, db, stack } from "../support/stack.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function pids(): Record<string, number | null> {
  return JSON.parse(readFileSync(join(stack.stackDir, "pids.json"), "utf8"));
}

/** The postmaster's pid, from its lock file (always current, unlike pids.json's snapshot). */
function postmasterPid(): number {
  return Number(readFileSync(join(stack.stackDir, "postgres", "data", "postmaster.pid"), "utf8").split("\n")[0]);
}

/** Polls `check` until it holds (or fails the test after `timeoutMs`). */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch { /* not yet */ }
    await sleep(250);
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
}

/** A fresh connection to Postgres answers. */
async function canConnect() {
  const client = new pg.Client({ connectionString: stack.dbUrl, connectionTimeoutMillis: 1_000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A fresh connection answers, PostgREST answers, and a function reaches the database. */
async function stackIsWhole() {
  const client = new pg.Client({ connectionString: stack.dbUrl });
  client.on("error", () => {});
  await client.connect();
  await client.query("select 1");
  await client.end();
  const rest = await fetch(`${stack.apiUrl}/rest/v1/credit_packages?select=id&limit=1`, { headers: { apikey: stack.publishableKey } });
  const sweep = await fetch(`${stack.functionsUrl}/idle-sweeper`, { method: "POST", headers: { apikey: stack.secretKey } });
  return rest.status === 200 && sweep.status === 200;
}

const created: string[] = [];
const fictional: string[] = [];

async function authUser(prefix: string): Promise<string> {
  const id = randomUUID();
  await db().query("insert into auth.users (id, email, aud, role) values ($1, $2, 'authenticated', 'authenticated')", [id, `${prefix}-${id}@example.com`]);
  created.push(id);
  return id;
}

afterAll(async () => {
  await db().query("delete from public.paystack_events where transaction_id in (select id from public.transactions where real_user_id = any($1))", [created]);
  await db().query("delete from public.transactions where real_user_id = any($1)", [created]);
  await db().query("delete from public.chats where fictional_user_id = any($1)", [fictional]);
  await db().query("delete from public.fictional_users where id = any($1)", [fictional]);
  await db().query("delete from public.operators where id = any($1)", [created]);
  await db().query("delete from auth.users where id = any($1)", [created]);
  await closeDb();
});

describe("Postgres killed while signed webhooks are in flight", () => {
  const payments = 40;
  let buyer = "";
  const references: string[] = [];

  beforeAll(async () => {
    buyer = await authUser("fault-buyer");
    await db().query(
      "insert into public.real_users (id, display_name, age, gender, looking_for) values ($1, 'Fault Buyer', 30, 'female', 'male')",
      [buyer],
    );
    const { rows: [pkg] } = await db().query("select id from public.credit_packages order by price limit 1");
    for (let i = 0; i < payments; i++) {
      const reference = `fantooo-fault-${randomUUID()}`;
      await db().query(
        "insert into public.transactions (real_user_id, reference, package_id, amount, currency, credits) values ($1, $2, $3, 10000, 'KES', 10)",
        [buyer, reference, pkg.id],
      );
      references.push(reference);
    }
  });

  /** Every answer that was not 200, and how long the slowest answer took. */
  const refusals: Array<{ status: number; code: string | undefined }> = [];
  let slowestMs = 0;

  /** Paystack's behaviour: deliver until answered 200, backing off between tries. */
  async function deliverUntilAccepted(reference: string): Promise<number> {
    const body = JSON.stringify({
      event: "charge.success",
      data: { id: Math.floor(Math.random() * 1e12), status: "success", reference, amount: 10000, currency: "KES", paid_at: new Date().toISOString() },
    });
    const signature = createHmac("sha512", stack.paystackSecretKey).update(body).digest("hex");
    let tries = 0;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      tries++;
      const sent = Date.now();
      try {
        const response = await fetch(`${stack.functionsUrl}/paystack-webhook`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-paystack-signature": signature },
          body,
        });
        const text = await response.text();
        slowestMs = Math.max(slowestMs, Date.now() - sent);
        if (response.status === 200) return tries;
        let code: string | undefined;
        try {
          code = JSON.parse(text).error?.code;
        } catch { /* not JSON: the gateway's own answer */ }
        refusals.push({ status: response.status, code });
      } catch {
        refusals.push({ status: 0, code: "connection_broken" }); // the functions process died under it
      }
      await sleep(Math.min(2000, 100 * 2 ** tries));
    }
    throw new Error(`${reference} never answered 200`);
  }

  it("every payment is credited exactly once, each delivery is answered within seconds (503 unavailable while the database is down), the functions process lives on, and the stack brings Postgres back by itself", { timeout: 120_000 }, async () => {
    const functionsPid = pids().functions;
    const killed = postmasterPid();
    const deliveries = references.map((reference, i) => sleep(i * 25).then(() => deliverUntilAccepted(reference)));
    await sleep(payments * 25 / 3); // a third of them sent: kill the postmaster under the rest
    process.kill(killed, "SIGKILL");
    const tries = await Promise.all(deliveries);
    expect(tries.some((n) => n > 1)).toBe(true); // some deliveries did meet the dead database

    await eventually("the stack whole again", stackIsWhole);
    expect(postmasterPid()).not.toBe(killed);
    // The driver's errors never took the functions down (no 502 from the gateway, no broken
    // connection): a database that is away is a clean, quick 503 that Paystack retries.
    expect(pids().functions).toBe(functionsPid);
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.filter((r) => !(r.status === 503 && r.code === "unavailable"))).toEqual([]);
    expect(slowestMs).toBeLessThan(5_000);

    const { rows: [user] } = await db().query("select credits from public.real_users where id = $1", [buyer]);
    expect(user.credits).toBe(payments * 10);
    const { rows } = await db().query(
      `select t.reference, t.status,
              (select count(*)::int from public.paystack_events e where e.reference = t.reference and e.outcome = 'credited') as credited
         from public.transactions t where t.reference = any($1)`,
      [references],
    );
    expect(rows).toHaveLength(payments);
    for (const row of rows) expect(row).toMatchObject({ status: "success", credited: 1 });
  });
});

describe("Postgres restarted from outside the stack, then killed", () => {
  // As `npm run db:reset` does under a running `npm start` (pg_ctl restart): the supervisor must take
  // the cluster someone else started as its own to watch, not keep starting it with growing backoff.
  it("is back within a few seconds of the crash, after any number of outside restarts", { timeout: 120_000 }, async () => {
    const cluster = new Cluster({ dir: join(stack.stackDir, "postgres"), port: Number(new URL(stack.dbUrl).port) });
    for (let i = 0; i < 3; i++) {
      cluster.stop();
      await sleep(400); // the supervisor may see the cluster gone; this restart still comes first
      cluster.start();
      await eventually("Postgres answering after the outside restart", canConnect, 30_000);
      await sleep(500);
    }
    await sleep(6_000); // long enough for a supervisor stuck in backoff to be far into it

    const killed = postmasterPid();
    process.kill(killed, "SIGKILL");
    const crashed = Date.now();
    await eventually("Postgres answering after the crash", async () => postmasterPid() !== killed && (await canConnect()), 45_000);
    expect(Date.now() - crashed).toBeLessThan(8_000);
    await eventually("the stack whole again", stackIsWhole);
  });
});

describe("the functions process killed during a burst of assign-chat calls", () => {
  const operators: string[] = [];
  const chats: string[] = [];

  beforeAll(async () => {
    const realUser = await authUser("fault-user");
    await db().query(
      "insert into public.real_users (id, display_name, age, gender, looking_for) values ($1, 'Fault User', 30, 'male', 'female')",
      [realUser],
    );
    for (let i = 0; i < 8; i++) {
      const id = await authUser("fault-op");
      await db().query("insert into public.operators (id, name, status, max_concurrent_chats) values ($1, $2, 'available', 3)", [id, `Fault op ${i}`]);
      operators.push(id);
    }
    for (let i = 0; i < 30; i++) {
      const profile = randomUUID();
      fictional.push(profile);
      await db().query(
        "insert into public.fictional_users (id, name, age, gender, bio, interests) values ($1, $2, 25, 'female', 'fault', '{x}')",
        [profile, `Fault profile ${profile}`],
      );
      const { rows: [chat] } = await db().query(
        "insert into public.chats (real_user_id, fictional_user_id) values ($1, $2) returning id",
        [realUser, profile],
      );
      // Queued long ago: these are the oldest waiting chats, taken before anyone else's.
      await db().query("insert into public.messages (chat_id, sender_type, content) values ($1, 'real', 'hello?')", [chat.id]);
      await db().query("update public.chats set queued_at = now() - interval '10 days' - ($2 || ' seconds')::interval where id = $1", [chat.id, i]);
      chats.push(chat.id);
    }
  });

  it("leaves no chat held without one open assignment, none lost, nobody above capacity; the process is back", { timeout: 90_000 }, async () => {
    const killed = pids().functions!;
    let answers = 0;
    const burst = operators.map(async (operator) => {
      const headers = { apikey: stack.publishableKey, authorization: `Bearer ${accessToken(operator)}`, "content-type": "application/json" };
      for (let i = 0; i < 6; i++) {
        try {
          const response = await fetch(`${stack.functionsUrl}/assign-chat`, { method: "POST", headers, body: "{}" });
          await response.arrayBuffer();
          answers++;
        } catch { /* the process died under this call */ }
        await sleep(30);
      }
    });
    // Killed mid-burst: once the first answers are back (the function's first calls also open its
    // database connections), while the rest are in flight.
    for (const deadline = Date.now() + 20_000; answers < 2 && Date.now() < deadline;) await sleep(5);
    process.kill(killed, "SIGKILL");
    await Promise.all(burst);
    expect(answers).toBeGreaterThan(0);

    await eventually("the functions process restarted", async () => pids().functions !== killed && (await stackIsWhole()));

    const { rows: held } = await db().query(
      `select c.id, c.status, (select count(*)::int from public.chat_assignments a where a.chat_id = c.id and a.released_at is null) as open
         from public.chats c where c.id = any($1)`,
      [chats],
    );
    expect(held).toHaveLength(chats.length); // none lost
    for (const chat of held) {
      if (chat.status === "assigned") expect(chat.open).toBe(1);
      else expect({ status: chat.status, open: chat.open }).toEqual({ status: "waiting", open: 0 });
    }
    const { rows: load } = await db().query(
      `select o.id, o.max_concurrent_chats as capacity,
              (select count(*)::int from public.chat_assignments a where a.operator_id = o.id and a.released_at is null) as holding
         from public.operators o where o.id = any($1)`,
      [operators],
    );
    for (const operator of load) expect(operator.holding).toBeLessThanOrEqual(operator.capacity);
    expect(load.reduce((n, o) => n + o.holding, 0)).toBeGreaterThan(0);
  });
});

describe("a sweep whose database connection dies midway", () => {
  it("releases nothing, and the next sweeps release every idle chat exactly once", { timeout: 60_000 }, async () => {
    const realUser = await authUser("sweep-user");
    await db().query(
      "insert into public.real_users (id, display_name, age, gender, looking_for) values ($1, 'Sweep User', 30, 'male', 'female')",
      [realUser],
    );
    const operator = await authUser("sweep-op");
    await db().query("insert into public.operators (id, name, status, max_concurrent_chats) values ($1, 'Sweep op', 'available', 200)", [operator]);
    const idle: string[] = [];
    for (let i = 0; i < 60; i++) {
      const profile = randomUUID();
      fictional.push(profile);
      await db().query(
        "insert into public.fictional_users (id, name, age, gender, bio, interests) values ($1, $2, 25, 'female', 'sweep', '{x}')",
        [profile, `Sweep profile ${profile}`],
      );
      const { rows: [chat] } = await db().query(
        "insert into public.chats (real_user_id, fictional_user_id) values ($1, $2) returning id",
        [realUser, profile],
      );
      await db().query("insert into public.messages (chat_id, sender_type, content) values ($1, 'real', 'hi')", [chat.id]);
      await db().query("update public.chats set status = 'assigned' where id = $1", [chat.id]);
      await db().query(
        "insert into public.chat_assignments (chat_id, operator_id, assigned_at) values ($1, $2, now() - interval '10 minutes')",
        [chat.id, operator],
      );
      await db().query(
        "insert into public.operator_activity (operator_id, chat_id, assigned_at, last_activity_at) values ($1, $2, now() - interval '10 minutes', now() - interval '10 minutes')",
        [operator, chat.id],
      );
      idle.push(chat.id);
    }

    // A sweep that has done its work but not committed when its connection is cut.
    const doomed = new pg.Client({ connectionString: stack.dbUrl });
    doomed.on("error", () => {});
    await doomed.connect();
    const { rows: [{ pid }] } = await doomed.query("select pg_backend_pid() as pid");
    await doomed.query("begin");
    const { rows: [{ result }] } = await doomed.query("select public.sweep_idle_chats() as result");
    expect(result.released).toBeGreaterThanOrEqual(idle.length);
    await db().query("select pg_terminate_backend($1)", [pid]);
    await doomed.end().catch(() => {});

    const open = async () =>
      (await db().query("select count(*)::int as n from public.chat_assignments where chat_id = any($1) and released_at is null", [idle])).rows[0].n;
    expect(await open()).toBe(idle.length); // rolled back whole: nothing half-released, nothing stuck

    // Two sweeps at once through the function, as overlapping cron runs would.
    const sweeps = await Promise.all([0, 1].map(() =>
      fetch(`${stack.functionsUrl}/idle-sweeper`, { method: "POST", headers: { apikey: stack.secretKey } }).then((r) => r.json())
    ));
    expect(sweeps.reduce((n, s) => n + s.released, 0)).toBeGreaterThanOrEqual(idle.length);
    expect(await open()).toBe(0);
    const { rows } = await db().query(
      `select count(*)::int as assignments, count(*) filter (where release_reason = 'idle_timeout')::int as idle_releases
         from public.chat_assignments where chat_id = any($1)`,
      [idle],
    );
    expect(rows[0]).toEqual({ assignments: idle.length, idle_releases: idle.length }); // each released once
    const { rows: states } = await db().query(
      "select status, reassignment_count, count(*)::int as n from public.chats where id = any($1) group by 1, 2",
      [idle],
    );
    expect(states).toEqual([{ status: "waiting", reassignment_count: 1, n: idle.length }]);
  });
});
