// The chat queue and the credit charge under real concurrency, straight against Postgres: many
// connections, each transaction switching role and JWT claims exactly as PostgREST does
// (`set local role authenticated; select set_config('request.jwt.claims', <json>, true)`).
//
//   * 32 operators (40 connections: 8 operators work from two at once) assign and release against
//     2,000 waiting chats, then drain the queue answering every chat once; a monitor samples the
//     committed state throughout. Never a chat held twice, an operator above capacity, or a chat lost.
//   * 20 messages from one account race for the last credits: exactly the affordable number
//     succeed, the others fail with PT402, and credits never go negative.
//
// Fixture rows are created here (ids unique to the run) and removed afterwards. The run's chats are
// queued a year in the past, so they come before any other waiting chat (seed data); should an
// operator of this run still be handed a chat that is not the run's, it gives it straight back
// unanswered. The queue is global, though: run this file when no other suite is assigning chats.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asUser } from "../support/stack.ts";

const dbUrl: string = process.env.DB_URL ?? (await import("../support/stack.ts")).stack.dbUrl;

const OPERATORS = 32;
const DOUBLE_WORKER_OPERATORS = 8; // operators 0..7 run two workers each
const REAL_USERS = 40;
const PROFILES = 50; // 40 x 50 = 2,000 chats
const CHATS = REAL_USERS * PROFILES;
const CHURN_OPS_PER_WORKER = 120;

type PgError = Error & { code?: string };

const run = randomUUID().slice(0, 8);
const operatorIds = Array.from({ length: OPERATORS }, () => randomUUID());
const capacityOf = (i: number) => (i % 4) + 1; // 1..4, 80 in all
const realUserIds = Array.from({ length: REAL_USERS }, () => randomUUID());
const profileIds = Array.from({ length: PROFILES }, () => randomUUID());
const payerId = randomUUID();
const payerProfileIds = [randomUUID(), randomUUID()];
const allUserIds = [...operatorIds, ...realUserIds, payerId];

let admin: pg.Client;
const runChats = new Set<string>();

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  return client;
}

beforeAll(async () => {
  admin = await connect();
  await admin.query(
    `insert into auth.users (id, email, aud, role)
     select id, 'conc-' || $2 || '-' || id || '@test.local', 'authenticated', 'authenticated' from unnest($1::uuid[]) id`,
    [allUserIds, run],
  );
  await admin.query(
    `insert into public.operators (id, name, status, max_concurrent_chats)
     select id, 'Conc op ' || n, 'available', ((n - 1) % 4) + 1 from unnest($1::uuid[]) with ordinality u(id, n)`,
    [operatorIds],
  );
  await admin.query(
    `insert into public.real_users (id, display_name, age, gender, looking_for, credits)
     select id, 'Conc user ' || n, 30, 'male', 'female', 0 from unnest($1::uuid[]) with ordinality u(id, n)`,
    [[...realUserIds, payerId]],
  );
  await admin.query(
    `insert into public.fictional_users (id, name, age, gender, is_featured)
     select id, 'Conc ' || $2 || ' ' || n, 25, 'female', true from unnest($1::uuid[]) with ordinality u(id, n)`,
    [[...profileIds, ...payerProfileIds], run],
  );
  // 2,000 waiting chats, each queued at its own time, older than anything else in the queue.
  const { rows } = await admin.query(
    `insert into public.chats (real_user_id, fictional_user_id, status, queued_at)
     select u.id, p.id, 'waiting', now() - interval '1 year' + (row_number() over ()) * interval '1 millisecond'
       from unnest($1::uuid[]) u(id) cross join unnest($2::uuid[]) p(id)
     returning id`,
    [realUserIds, profileIds],
  );
  for (const row of rows) runChats.add(row.id);
}, 120_000);

afterAll(async () => {
  // Let go of whatever the run's operators still hold (any chat), then remove the run's rows.
  await admin.query(
    `select public.release_and_reassign_chat(a.chat_id, 'completed')
       from public.chat_assignments a where a.released_at is null and a.operator_id = any($1::uuid[])`,
    [operatorIds],
  );
  await admin.query("delete from public.chats where real_user_id = any($1::uuid[])", [[...realUserIds, payerId]]);
  await admin.query("delete from public.fictional_users where id = any($1::uuid[])", [[...profileIds, ...payerProfileIds]]);
  await admin.query("delete from auth.users where id = any($1::uuid[])", [allUserIds]);
  await admin.end();
}, 120_000);

/** The committed state of this run's chats, checked in one snapshot. */
async function queueViolations(client: pg.Client) {
  const { rows } = await client.query(
    `select
       (select count(*)::int from (select a.chat_id from public.chat_assignments a
                                    where a.released_at is null group by a.chat_id having count(*) > 1) x) as held_twice,
       (select count(*)::int from (select a.operator_id from public.chat_assignments a
                                     join public.operators o on o.id = a.operator_id
                                    where a.released_at is null and o.id = any($1::uuid[])
                                    group by a.operator_id, o.max_concurrent_chats
                                   having count(*) > o.max_concurrent_chats) y) as over_capacity,
       (select count(*)::int from public.chats c
         where c.real_user_id = any($2::uuid[])
           and (c.status = 'assigned') <> exists (select 1 from public.chat_assignments a
                                                   where a.chat_id = c.id and a.released_at is null)) as inconsistent`,
    [operatorIds, realUserIds],
  );
  return rows[0] as { held_twice: number; over_capacity: number; inconsistent: number };
}

/** Samples queueViolations until stopped; returns the worst values seen and how many samples. */
function startMonitor() {
  let stopped = false;
  const worst = { held_twice: 0, over_capacity: 0, inconsistent: 0, samples: 0 };
  const done = (async () => {
    const client = await connect();
    try {
      while (!stopped) {
        const v = await queueViolations(client);
        worst.held_twice = Math.max(worst.held_twice, v.held_twice);
        worst.over_capacity = Math.max(worst.over_capacity, v.over_capacity);
        worst.inconsistent = Math.max(worst.inconsistent, v.inconsistent);
        worst.samples++;
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      await client.end();
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      return worst;
    },
  };
}

type Operator = { id: string; capacity: number; held: Set<string> };
const operators: Operator[] = operatorIds.map((id, i) => ({ id, capacity: capacityOf(i), held: new Set() }));
const workers = [...operators, ...operators.slice(0, DOUBLE_WORKER_OPERATORS)];

const unexpected: string[] = [];
const stats = { assigned: 0, released: 0, atCapacity: 0, answered: 0 };

/** Assigns the operator a chat; a chat that is not the run's is given straight back (returns "foreign"). */
async function assign(client: pg.Client, op: Operator): Promise<string | null | "at_capacity" | "foreign"> {
  try {
    const { rows } = await asUser(client, op.id, () =>
      client.query("select public.assign_chat_to_operator($1) as chat_id", [op.id]));
    const chatId = rows[0].chat_id as string | null;
    if (chatId && !runChats.has(chatId)) {
      await asUser(client, op.id, () => client.query("select public.release_and_reassign_chat($1, 'completed')", [chatId]));
      return "foreign";
    }
    if (chatId) {
      op.held.add(chatId);
      stats.assigned++;
    }
    return chatId;
  } catch (error) {
    const e = error as PgError;
    if (e.code === "PT409" && e.message === "at_capacity") {
      stats.atCapacity++;
      return "at_capacity";
    }
    unexpected.push(`assign ${e.code} ${e.message}`);
    return "foreign";
  }
}

/** Takes one held chat off the operator's list and releases it, answering it first if asked. */
async function release(client: pg.Client, op: Operator, { answer, reason }: { answer: boolean; reason: string }) {
  const chatId = op.held.values().next().value;
  if (!chatId) return;
  op.held.delete(chatId);
  try {
    await asUser(client, op.id, async () => {
      if (answer) {
        await client.query("select public.send_message($1, $2)", [chatId, `answer from ${op.id}`]);
        stats.answered++;
      }
      await client.query("select public.release_and_reassign_chat($1, $2)", [chatId, reason]);
    });
    stats.released++;
  } catch (error) {
    const e = error as PgError;
    unexpected.push(`release ${e.code} ${e.message}`);
  }
}

describe("the chat queue under 32 concurrent operators", () => {
  let clients: pg.Client[] = [];

  beforeAll(async () => {
    clients = await Promise.all(workers.map(() => connect()));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
  });

  it("churn: assigning and releasing never double-holds, never exceeds capacity, never loses a chat", async () => {
    const monitor = startMonitor();
    await Promise.all(
      workers.map(async (op, w) => {
        const client = clients[w];
        for (let i = 0; i < CHURN_OPS_PER_WORKER; i++) {
          if (op.held.size < op.capacity && Math.random() < 0.6) {
            const result = await assign(client, op);
            if (result !== "at_capacity" && result !== "foreign") continue;
          }
          // Release without answering: the chat is still unanswered, so it goes back to waiting.
          await release(client, op, { answer: false, reason: Math.random() < 0.7 ? "completed" : "operator_offline" });
        }
      }),
    );
    const worst = await monitor.stop();

    expect(unexpected).toEqual([]);
    expect(worst.samples).toBeGreaterThan(5);
    expect(worst).toMatchObject({ held_twice: 0, over_capacity: 0, inconsistent: 0 });
    expect(stats.assigned).toBeGreaterThan(1000);

    const { rows } = await admin.query(
      `select count(*) filter (where c.status = 'waiting')::int as waiting,
              count(*) filter (where c.status = 'assigned')::int as assigned,
              count(*)::int as total,
              (select count(*)::int from public.chat_assignments a join public.chats c2 on c2.id = a.chat_id
                where a.released_at is null and c2.real_user_id = any($1::uuid[])) as open_assignments,
              count(*) filter (where c.flagged_for_review <> (c.reassignment_count >= 3))::int as flag_mismatch
         from public.chats c where c.real_user_id = any($1::uuid[])`,
      [realUserIds],
    );
    const state = rows[0];
    expect(state.total).toBe(CHATS);
    expect(state.waiting + state.assigned).toBe(CHATS); // every chat is waiting or assigned
    expect(state.assigned).toBe(state.open_assignments); // and each assigned one has its one holder
    expect(state.assigned).toBeLessThanOrEqual(80); // the operators' total capacity
    expect(state.flag_mismatch).toBe(0);
    // The operators' own view agrees with the database.
    const held = operators.reduce((n, op) => n + op.held.size, 0);
    const { rows: mine } = await admin.query(
      "select count(*)::int as n from public.chat_assignments where released_at is null and operator_id = any($1::uuid[])",
      [operatorIds],
    );
    expect(mine[0].n).toBe(held);
  }, 180_000);

  it("drain: every one of the 2,000 chats is assigned, answered once and released, by its holder", async () => {
    const monitor = startMonitor();
    await Promise.all(
      workers.map(async (op, w) => {
        const client = clients[w];
        for (;;) {
          let result: string | null | "at_capacity" | "foreign" = "at_capacity";
          if (op.held.size < op.capacity) result = await assign(client, op);
          if (op.held.size > 0) {
            await release(client, op, { answer: true, reason: "completed" });
          } else if (result === null || result === "foreign") {
            break; // none of the run's chats waits any more, and nothing is held
          } else if (result === "at_capacity") {
            await new Promise((r) => setTimeout(r, 1)); // the operator's other worker holds the slot
          }
          if (unexpected.length > 0) break;
        }
      }),
    );
    const worst = await monitor.stop();

    expect(unexpected).toEqual([]);
    expect(worst).toMatchObject({ held_twice: 0, over_capacity: 0, inconsistent: 0 });

    const { rows } = await admin.query(
      `select count(*)::int as total,
              count(*) filter (where c.status = 'idle')::int as idle,
              count(*) filter (where (select count(*) from public.messages m
                                       where m.chat_id = c.id and m.sender_type = 'fictional') = 1)::int as answered_once,
              count(*) filter (where (select ma.operator_id from public.messages m
                                        join public.message_authors ma on ma.message_id = m.id
                                       where m.chat_id = c.id and m.sender_type = 'fictional')
                                   = (select a.operator_id from public.chat_assignments a
                                       where a.chat_id = c.id order by a.assigned_at desc, a.released_at desc limit 1))::int
                as answered_by_last_holder,
              (select count(*)::int from public.chat_assignments a join public.chats c2 on c2.id = a.chat_id
                where a.released_at is null and c2.real_user_id = any($1::uuid[])) as open_assignments
         from public.chats c where c.real_user_id = any($1::uuid[])`,
      [realUserIds],
    );
    expect(rows[0]).toEqual({
      total: CHATS,
      idle: CHATS, // answered, so released to idle
      answered_once: CHATS, // nobody answered a chat twice: never two holders
      answered_by_last_holder: CHATS,
      open_assignments: 0,
    });
    const { rows: counters } = await admin.query(
      "select coalesce(sum(total_messages_sent), 0)::int as sent from public.operators where id = any($1::uuid[])",
      [operatorIds],
    );
    expect(counters[0].sent).toBe(stats.answered);
  }, 180_000);
});

describe("20 messages racing for the last credits", () => {
  it("exactly the affordable ones succeed, the rest fail with PT402, and credits never go negative", async () => {
    // Two featured chats (a paid message costs 2 at any hour), each past its 3 free messages.
    const { rows: chats } = await admin.query(
      `insert into public.chats (real_user_id, fictional_user_id)
       select $1, id from unnest($2::uuid[]) id returning id`,
      [payerId, payerProfileIds],
    );
    const chatIds = chats.map((c) => c.id as string);
    await admin.query(
      `insert into public.messages (chat_id, sender_type, content)
       select c, 'real', 'free ' || n from unnest($1::uuid[]) c, generate_series(1, 3) n`,
      [chatIds],
    );
    const price = 2;
    const affordable = 7;
    const startCredits = price * affordable + 1; // 15: seven messages, one credit left over
    await admin.query("update public.real_users set credits = $2 where id = $1", [payerId, startCredits]);
    const { rows: quote } = await admin.query("select public.message_price($1) as p", [chatIds[0]]);
    expect(quote[0].p).toBe(price);

    const racers = await Promise.all(Array.from({ length: 20 }, () => connect()));
    try {
      // Every racer opens its transaction first, then all insert at once and hold their locks briefly.
      await Promise.all(racers.map(async (client) => {
        await client.query("begin");
        await client.query("set local role authenticated");
        await client.query("select set_config('request.jwt.claims', $1, true)", [
          JSON.stringify({ sub: payerId, role: "authenticated", aud: "authenticated" }),
        ]);
      }));
      const outcomes = await Promise.all(racers.map(async (client, i) => {
        try {
          const chatId = chatIds[i % 2];
          if (i % 4 < 2) {
            await client.query("insert into public.messages (chat_id, sender_type, content) values ($1, 'real', $2)", [chatId, `race ${i}`]);
          } else {
            await client.query("select public.send_message($1, $2)", [chatId, `race ${i}`]);
          }
          await client.query("select pg_sleep(0.02)");
          await client.query("commit");
          return "ok";
        } catch (error) {
          await client.query("rollback");
          const e = error as PgError;
          return `${e.code} ${e.message}`;
        }
      }));

      expect(outcomes.filter((o) => o === "ok")).toHaveLength(affordable);
      expect(outcomes.filter((o) => o !== "ok")).toEqual(Array(20 - affordable).fill("PT402 insufficient_credits"));
    } finally {
      await Promise.all(racers.map((c) => c.end()));
    }

    const { rows } = await admin.query(
      `select r.credits,
              (select count(*)::int from public.messages m where m.chat_id = any($2::uuid[]) and m.content like 'race %') as written,
              (select coalesce(sum(m.credits_charged), 0)::int from public.messages m
                where m.chat_id = any($2::uuid[]) and m.content like 'race %') as charged,
              (select coalesce(sum(c.message_count), 0)::int from public.chats c where c.id = any($2::uuid[])) as counted
         from public.real_users r where r.id = $1`,
      [payerId, chatIds],
    );
    expect(rows[0]).toEqual({
      credits: startCredits - price * affordable, // 1: never negative, never spent twice
      written: affordable,
      charged: price * affordable,
      counted: 6 + affordable,
    });
  }, 60_000);
});
