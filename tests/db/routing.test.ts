// Routing by language under real concurrency (SPEC 17), straight against Postgres, each transaction
// switching role and JWT claims as PostgREST does: 24 operators of mixed languages (one to three of
// en, fr, de, es; capacities 1 to 3; 6 of them working from two connections at once) drain 600
// waiting chats whose profiles write five languages, one of which (sw) nobody writes. Each takes
// chats up to its capacity, answers them and lets them go, until nothing it writes waits. Nobody is
// handed a chat in a language it does not write, no chat is held twice or lost (every chat in a
// written language ends answered, every sw chat still waits in its place), nobody goes above
// capacity (a monitor samples the committed state throughout).
//
// Fixture rows carry ids unique to the run and go afterwards. The run's chats are queued a year in
// the past, before any other waiting chat; a chat that is not the run's is given straight back.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asUser } from "../support/stack.ts";

const dbUrl: string = process.env.DB_URL ?? (await import("../support/stack.ts")).stack.dbUrl;

const LANGUAGE_SETS = [["en"], ["fr"], ["de"], ["es"], ["en", "fr"], ["de", "es"], ["en", "de", "es"], ["fr", "es"]];
const PROFILE_LANGUAGES = ["en", "fr", "de", "es", "sw"];
const OPERATORS = 24;
const DOUBLE_WORKER_OPERATORS = 6;
const REAL_USERS = 30;
const PROFILES = 20; // 30 x 20 = 600 chats, 120 per language

type PgError = Error & { code?: string };
type Operator = { id: string; languages: string[]; capacity: number };

const run = randomUUID().slice(0, 8);
const operators: Operator[] = Array.from({ length: OPERATORS }, (_, i) => ({
  id: randomUUID(),
  languages: LANGUAGE_SETS[i % LANGUAGE_SETS.length],
  capacity: (i % 3) + 1,
}));
const realUserIds = Array.from({ length: REAL_USERS }, () => randomUUID());
const profiles = Array.from({ length: PROFILES }, (_, i) => ({ id: randomUUID(), language: PROFILE_LANGUAGES[i % 5] }));
const languageOfProfile = new Map(profiles.map((p) => [p.id, p.language]));
const chatLanguage = new Map<string, string>();
let admin: pg.Client;

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  return client;
}

beforeAll(async () => {
  admin = await connect();
  const userIds = [...operators.map((o) => o.id), ...realUserIds];
  await admin.query(
    `insert into auth.users (id, email, aud, role)
     select id, 'route-' || $2 || '-' || id || '@test.local', 'authenticated', 'authenticated' from unnest($1::uuid[]) id`,
    [userIds, run],
  );
  await admin.query(
    `insert into public.operators (id, name, status, max_concurrent_chats, languages)
     select (o ->> 'id')::uuid, 'Route op ' || n, 'available', (o ->> 'capacity')::int,
            array(select jsonb_array_elements_text(o -> 'languages'))
       from jsonb_array_elements($1::jsonb) with ordinality u(o, n)`,
    [JSON.stringify(operators)],
  );
  await admin.query(
    `insert into public.real_users (id, display_name, age, gender, looking_for, credits)
     select id, 'Route user ' || n, 30, 'male', 'female', 0 from unnest($1::uuid[]) with ordinality u(id, n)`,
    [realUserIds],
  );
  await admin.query(
    `insert into public.fictional_users (id, name, age, gender, language)
     select p.id, 'Route ' || $3 || ' ' || n, 25, 'female', p.language
       from unnest($1::uuid[], $2::text[]) with ordinality p(id, language, n)`,
    [profiles.map((p) => p.id), profiles.map((p) => p.language), run],
  );
  const { rows } = await admin.query(
    `insert into public.chats (real_user_id, fictional_user_id, status, queued_at)
     select u.id, p.id, 'waiting', now() - interval '1 year' + (row_number() over ()) * interval '1 millisecond'
       from unnest($1::uuid[]) u(id) cross join unnest($2::uuid[]) p(id)
     returning id, fictional_user_id`,
    [realUserIds, profiles.map((p) => p.id)],
  );
  for (const row of rows) chatLanguage.set(row.id, languageOfProfile.get(row.fictional_user_id)!);
}, 120_000);

afterAll(async () => {
  const ids = operators.map((o) => o.id);
  await admin.query(
    `select public.release_and_reassign_chat(a.chat_id, 'completed')
       from public.chat_assignments a where a.released_at is null and a.operator_id = any($1::uuid[])`,
    [ids],
  );
  await admin.query("delete from public.chats where real_user_id = any($1::uuid[])", [realUserIds]);
  await admin.query("delete from public.fictional_users where id = any($1::uuid[])", [profiles.map((p) => p.id)]);
  await admin.query("delete from auth.users where id = any($1::uuid[])", [[...ids, ...realUserIds]]);
  await admin.end();
}, 120_000);

async function violations(client: pg.Client) {
  const { rows } = await client.query(
    `select
       (select count(*)::int from (select a.chat_id from public.chat_assignments a
                                    where a.released_at is null group by a.chat_id having count(*) > 1) x) as held_twice,
       (select count(*)::int from (select a.operator_id from public.chat_assignments a
                                     join public.operators o on o.id = a.operator_id
                                    where a.released_at is null and o.id = any($1::uuid[])
                                    group by a.operator_id, o.max_concurrent_chats
                                   having count(*) > o.max_concurrent_chats) y) as over_capacity,
       (select count(*)::int from public.chat_assignments a
          join public.operators o on o.id = a.operator_id
          join public.chats c on c.id = a.chat_id
          join public.fictional_users f on f.id = c.fictional_user_id
         where o.id = any($1::uuid[]) and f.language <> all (o.languages)) as wrong_language`,
    [operators.map((o) => o.id)],
  );
  return rows[0] as { held_twice: number; over_capacity: number; wrong_language: number };
}

describe("routing by language under concurrency", () => {
  it("drains a mixed queue: nobody handed a chat in a language it does not write, none lost, nobody above capacity", async () => {
    const worst = { held_twice: 0, over_capacity: 0, wrong_language: 0, samples: 0 };
    let stopped = false;
    const monitor = (async () => {
      const client = await connect();
      try {
        while (!stopped) {
          const v = await violations(client);
          worst.held_twice = Math.max(worst.held_twice, v.held_twice);
          worst.over_capacity = Math.max(worst.over_capacity, v.over_capacity);
          worst.wrong_language = Math.max(worst.wrong_language, v.wrong_language);
          worst.samples++;
          await new Promise((r) => setTimeout(r, 10));
        }
      } finally {
        await client.end();
      }
    })();

    const handed: { op: Operator; chatId: string }[] = [];
    const unexpected: string[] = [];
    const workers = [...operators, ...operators.slice(0, DOUBLE_WORKER_OPERATORS)];
    await Promise.all(workers.map(async (op) => {
      const client = await connect();
      try {
        for (let round = 0; round < 400; round++) {
          const held: string[] = [];
          let full = false;
          while (!full) {
            try {
              const { rows } = await asUser(client, op.id, () =>
                client.query("select public.assign_chat_to_operator() as chat_id"));
              const chatId = rows[0].chat_id as string | null;
              if (!chatId) break;
              held.push(chatId);
            } catch (error) {
              const e = error as PgError;
              if (e.code === "PT409" && e.message === "at_capacity") full = true;
              else {
                unexpected.push(`assign ${e.code} ${e.message}`);
                break;
              }
            }
          }
          if (held.length === 0 && !full) break; // nothing it writes waits
          for (const chatId of held) {
            const ours = chatLanguage.has(chatId);
            if (ours) handed.push({ op, chatId });
            await asUser(client, op.id, async () => {
              if (ours) await client.query("select public.send_message($1, $2)", [chatId, `answer from ${op.id}`]);
              await client.query("select public.release_and_reassign_chat($1, 'completed')", [chatId]);
            }).catch((error: PgError) => unexpected.push(`release ${error.code} ${error.message}`));
          }
        }
      } finally {
        await client.end();
      }
    }));
    stopped = true;
    await monitor;

    expect(unexpected).toEqual([]);
    expect(worst.samples).toBeGreaterThan(0);
    expect(worst).toMatchObject({ held_twice: 0, over_capacity: 0, wrong_language: 0 });
    expect(handed.filter(({ op, chatId }) => !op.languages.includes(chatLanguage.get(chatId)!))).toEqual([]);
    expect(new Set(handed.map((h) => h.chatId)).size).toBe(handed.length); // each answered once

    const { rows } = await admin.query(
      `select f.language, c.status, count(*)::int as n, count(*) filter (where c.queued_at is null)::int as answered
         from public.chats c join public.fictional_users f on f.id = c.fictional_user_id
        where c.real_user_id = any($1::uuid[]) group by 1, 2 order by 1, 2`,
      [realUserIds],
    );
    expect(rows).toEqual([
      { language: "de", status: "idle", n: 120, answered: 120 },
      { language: "en", status: "idle", n: 120, answered: 120 },
      { language: "es", status: "idle", n: 120, answered: 120 },
      { language: "fr", status: "idle", n: 120, answered: 120 },
      { language: "sw", status: "waiting", n: 120, answered: 0 },
    ]);
    expect(handed.length).toBe(480);
    expect(await violations(admin)).toEqual({ held_twice: 0, over_capacity: 0, wrong_language: 0 });
  }, 180_000);
});
