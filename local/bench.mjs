// `npm run bench`: throughput of the hot paths on a throwaway stack (free ports, its own data
// folder, removed afterwards), each printed next to a baseline measured in the same run on the
// same machine, so that the ratio means something on any hardware:
//
//   queue     assign_chat_to_operator (as the superuser, then as the operator with JWT claims)
//             vs a bare `update … where id = (select … for update skip locked)` dequeue on a plain
//             table of the same size; 16 database clients drain 20,000 waiting chats;
//   messages  real-user messages through the charging trigger (as the user: RLS, triggers), in
//             short chats and in chats with 5,000 earlier real-user messages, vs a bare insert
//             into a plain table with the same columns; 16 clients;
//   rest      POST /rest/v1/rpc/get_available_fictional_profiles as a real user vs a trivial RPC,
//             and the trivial RPC through the gateway vs straight to PostgREST; 16 HTTP clients;
//   functions POST /functions/v1/assign-chat as an operator vs a CORS preflight of the same
//             function (the cheapest path through the gateway and the functions server).
//
// Every baseline runs before and after what it is compared with, HTTP loads alternate, and a
// baseline's ops/s is over all its runs: a neighbour process slowing the machine for a while shows
// up as spread between runs (printed as a note) rather than as a fake ratio.
// `npm run bench -- queue rest` runs only those sections. Each measurement is bounded by a count
// or a duration; the whole run takes 1-2 minutes. Exits non-zero if a measured call failed.
import { availableParallelism, loadavg } from "node:os";
import { Agent, request } from "node:http";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import pg from "pg";
import { userAccessToken } from "./keys.mjs";
import { StackError, startThrowawayStack } from "./stack.mjs";

const CLIENTS = 16;
const OPERATORS = 2000; // client i assigns for operators i, i+16, …: 10 chats each once drained
const QUEUE_CHATS = 20000; // 200 real users x 100 profiles, all waiting
const QUEUE_DEADLINE_MS = 15000;
const MESSAGES = 8000; // per run, over 16 writers x 20 chats
const LONG_CHAT_MESSAGES = 5000; // earlier real-user messages (and as many replies) per long chat
const LONG_CHAT_SENDS = 1600;
const HTTP_WARMUP_MS = 500;
const HTTP_MS = 2000;
const HTTP_ROUNDS = 2; // HTTP runs alternate: baseline, measured…, baseline, measured…, baseline

const SECTIONS = ["queue", "messages", "rest", "functions"];

// Load generators -----------------------------------------------------------------------------------

/**
 * Runs `step(client, index)` in a loop on every client until `count` steps have been issued, the
 * deadline passes or a step returns false (nothing left to do). Returns the completed steps and
 * the seconds from the first step to the last completion.
 */
async function dbLoad(clients, step, { count = Infinity, deadlineMs = Infinity } = {}) {
  let issued = 0;
  let done = 0;
  let exhausted = false;
  const started = performance.now();
  const deadline = started + deadlineMs;
  await Promise.all(clients.map(async (client, index) => {
    while (!exhausted && issued < count && performance.now() < deadline) {
      issued++;
      if (await step(client, index)) done++;
      else exhausted = true;
    }
  }));
  return { ops: done, seconds: (performance.now() - started) / 1000 };
}

/**
 * HTTP load from a worker thread, so that the load generator and the gateway (which runs in this
 * process's event loop) do not share a thread. `headers` holds one object per client; each client
 * keeps one keep-alive connection. Counts the responses completed in the measured window after a
 * warm-up; a status other than `expect`, or a body without `bodyIncludes`, is an error.
 */
function httpLoad(
  { url, method = "POST", headers, body = null, expect = 200, bodyIncludes = "" },
  { warmupMs = HTTP_WARMUP_MS, durationMs = HTTP_MS } = {},
) {
  return new Promise((resolve, reject) => {
    const job = { url, method, headers, body, expect, bodyIncludes, warmupMs, durationMs };
    const worker = new Worker(new URL(import.meta.url), { workerData: { benchHttp: job } });
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) => code !== 0 && reject(new Error(`HTTP load worker exited with ${code}`)));
  });
}

async function httpWorker({ url, method, headers, body, expect, bodyIncludes, warmupMs, durationMs }) {
  const agent = new Agent({ keepAlive: true, maxSockets: headers.length });
  const target = new URL(url);
  const payload = body === null ? null : Buffer.from(body);
  const once = (clientHeaders) => new Promise((resolve) => {
    const req = request({
      agent,
      host: target.hostname,
      port: target.port,
      path: target.pathname + target.search,
      method,
      headers: payload ? { ...clientHeaders, "content-length": payload.length } : clientHeaders,
    }, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", (error) => resolve({ status: 0, text: error.message }));
    req.end(payload ?? undefined);
  });

  const from = performance.now() + warmupMs;
  const until = from + durationMs;
  let ops = 0;
  let errors = 0;
  let firstError = null;
  await Promise.all(headers.map(async (clientHeaders) => {
    while (performance.now() < until) {
      const { status, text } = await once(clientHeaders);
      const now = performance.now();
      if (status !== expect || !text.includes(bodyIncludes)) {
        errors++;
        firstError ??= `${status} ${text.slice(0, 200)}`;
      } else if (now >= from && now < until) {
        ops++;
      }
    }
  }));
  agent.destroy();
  return { ops, seconds: durationMs / 1000, errors, firstError };
}

if (!isMainThread && workerData?.benchHttp) {
  parentPort.postMessage(await httpWorker(workerData.benchHttp));
}

// Fixtures ------------------------------------------------------------------------------------------

/** Bench accounts, profiles and chats, created set-based as the superuser. Returns their ids. */
async function createFixtures(db) {
  await db.query(`
    insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data)
    select gen_random_uuid(), 'authenticated', 'authenticated', format('bench-%s-%s@bench.local', kind, n), now(),
           '{"provider":"email"}', jsonb_build_object('persona', kind)
      from (values ('operator', ${OPERATORS}), ('queue', 200), ('writer', ${CLIENTS})) k(kind, total),
           generate_series(1, k.total) n;

    insert into public.operators (id, email, name, status, max_concurrent_chats)
    select id, email, 'Bench ' || split_part(email, '@', 1), 'available', 1000
      from auth.users where email like 'bench-operator-%';

    insert into public.real_users (id, email, display_name, age, gender, looking_for, credits)
    select id, email, 'Bench ' || split_part(email, '@', 1), 30, 'male', 'female',
           case when email like 'bench-writer-%' then 1000000000 else 0 end
      from auth.users where email like 'bench-queue-%' or email like 'bench-writer-%';

    insert into public.fictional_users (name, age, gender, bio, interests, is_featured)
    select format('Bench Profile %s', n), 20 + n % 40, 'female', 'A profile for benchmarks.', '{bench}'::text[],
           n % 10 = 0
      from generate_series(1, 100) n
    union all
    select 'Bench Long Chats', 30, 'female', 'Holds the long chats of the message benchmark.', '{bench}', false;

    -- The queue: every queue user with every bench profile, waiting, with distinct queued_at.
    insert into public.chats (real_user_id, fictional_user_id, status, queued_at)
    select r.id, f.id, 'waiting',
           now() - interval '1 hour' + row_number() over (order by r.email, f.name) * interval '1 ms'
      from public.real_users r cross join public.fictional_users f
     where r.email like 'bench-queue-%' and f.name like 'Bench Profile %';

    -- The writers' short chats (idle until their first message) and one long chat each.
    insert into public.chats (real_user_id, fictional_user_id)
    select r.id, f.id
      from public.real_users r
      cross join lateral (
        select f.id from public.fictional_users f where f.name like 'Bench Profile %'
         order by f.name limit 20) f
     where r.email like 'bench-writer-%';
    insert into public.chats (real_user_id, fictional_user_id, status, queued_at)
    select r.id, f.id, 'waiting', now() - interval '2 hours'
      from public.real_users r, public.fictional_users f
     where r.email like 'bench-writer-%' and f.name = 'Bench Long Chats';

    insert into public.favorites (real_user_id, fictional_user_id)
    select r.id, f.id
      from public.real_users r
      cross join lateral (select f.id from public.fictional_users f where f.name like 'Bench Profile 1%' limit 5) f
     where r.email like 'bench-writer-%';

    -- The baselines: plain tables without triggers, RLS, foreign keys or extra indexes (the queue
    -- keeps the partial index a dequeue needs, like idx_chats_assignment_queue).
    create table public.bench_plain_queue (
      id uuid primary key default gen_random_uuid(),
      status text not null,
      queued_at timestamptz not null
    );
    create index on public.bench_plain_queue (queued_at, id) where status = 'waiting';
    insert into public.bench_plain_queue (status, queued_at)
    select 'waiting', now() - interval '1 hour' + n * interval '1 ms' from generate_series(1, ${QUEUE_CHATS}) n;

    create table public.bench_plain_messages (
      id uuid primary key default gen_random_uuid(),
      chat_id uuid not null,
      sender_type text not null check (sender_type in ('real', 'fictional')),
      content text not null check (char_length(content) between 1 and 5000),
      credits_charged integer not null default 0 check (credits_charged >= 0),
      created_at timestamptz not null default now()
    );

    -- The trivial RPC of the Data API baselines.
    create function public.bench_noop() returns integer language sql stable as 'select 1';
    grant execute on function public.bench_noop() to authenticated;
  `);

  // History of the long chats, written without triggers (as a restore would) to keep set-up short.
  await db.query("set session_replication_role = replica");
  await db.query(`
    insert into public.messages (chat_id, sender_type, content, created_at)
    select c.id, case when n % 2 = 0 then 'real' else 'fictional' end, 'earlier message ' || n,
           now() - interval '2 hours' + n * interval '1 ms'
      from public.chats c
      join public.fictional_users f on f.id = c.fictional_user_id and f.name = 'Bench Long Chats',
           generate_series(1, ${LONG_CHAT_MESSAGES * 2}) n;
    update public.chats c set message_count = ${LONG_CHAT_MESSAGES * 2}, last_message_at = now()
      from public.fictional_users f where f.id = c.fictional_user_id and f.name = 'Bench Long Chats';
  `);
  await db.query("set session_replication_role = origin");
  await db.query("vacuum analyze");
  await db.query("notify pgrst, 'reload schema'");

  const rows = async (sql) => (await db.query(sql)).rows;
  const [{ queued }] = await rows(`
    select count(*)::int as queued from public.chats c join public.real_users r on r.id = c.real_user_id
     where r.email like 'bench-queue-%' and c.status = 'waiting'`);
  if (queued !== QUEUE_CHATS) throw new Error(`expected ${QUEUE_CHATS} waiting bench chats, found ${queued}`);
  const writerChats = await rows(`
    select r.id as real_user_id,
           array_agg(c.id order by c.id) filter (where f.name <> 'Bench Long Chats') as short_chats,
           (array_agg(c.id) filter (where f.name = 'Bench Long Chats'))[1] as long_chat
      from public.real_users r
      join public.chats c on c.real_user_id = r.id
      join public.fictional_users f on f.id = c.fictional_user_id
     where r.email like 'bench-writer-%' group by r.id`);
  return {
    operators: await rows("select id, email from public.operators where email like 'bench-operator-%' order by email"),
    writers: await rows("select id, email from public.real_users where email like 'bench-writer-%' order by email"),
    writerChats: new Map(writerChats.map((w) => [w.real_user_id, w])),
  };
}

/** Puts every chat the bench operators hold back in the queue (their place kept by queued_at). */
async function requeue(db) {
  await db.query(`
    update public.chat_assignments a set released_at = now(), release_reason = 'completed'
      from public.operators o
     where o.id = a.operator_id and o.email like 'bench-operator-%' and a.released_at is null;
    delete from public.operator_activity oa using public.operators o
     where o.id = oa.operator_id and o.email like 'bench-operator-%';
    update public.chats c set status = 'waiting'
      from public.real_users r
     where r.id = c.real_user_id and r.email like 'bench-queue-%' and c.status = 'assigned';
  `);
  await db.query("vacuum analyze public.chats, public.chat_assignments, public.operator_activity, public.operators");
}

async function connect(url, setup = () => []) {
  return Promise.all(Array.from({ length: CLIENTS }, async (_, index) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    for (const sql of setup(index)) await client.query(sql);
    return client;
  }));
}

/** request.jwt.claims of a signed-in user, as PostgREST sets them from the access token. */
const claims = (userId) => JSON.stringify({ sub: userId, role: "authenticated", aud: "authenticated" });

/** Session settings that make a connection act as a signed-in user (PostgREST: per transaction). */
const actAs = (userId) => [
  `select set_config('request.jwt.claims', '${claims(userId)}', false)`,
  "set role authenticated",
];

async function withClients(url, setup, work) {
  const clients = await connect(url, setup);
  try {
    return await work(clients);
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

/** One row of the report from several runs of the same thing. */
function combine(name, runs) {
  const rates = runs.map((r) => r.ops / r.seconds);
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  return {
    name,
    ops: runs.reduce((n, r) => n + r.ops, 0),
    seconds: runs.reduce((n, r) => n + r.seconds, 0),
    errors: runs.reduce((n, r) => n + (r.errors ?? 0), 0),
    firstError: runs.find((r) => r.firstError)?.firstError ?? null,
    spread: runs.length > 1 ? (Math.max(...rates) - Math.min(...rates)) / mean : 0,
    rates,
  };
}

// Measurements --------------------------------------------------------------------------------------

async function benchQueue({ stack, db, fixtures }) {
  const dequeue = async () => {
    await db.query("update public.bench_plain_queue set status = 'waiting' where status <> 'waiting'");
    await db.query("vacuum analyze public.bench_plain_queue");
    return withClients(stack.dbUrl, () => [], (clients) =>
      dbLoad(clients, async (client) => {
        const { rowCount } = await client.query({
          name: "dequeue",
          text: `update public.bench_plain_queue set status = 'assigned'
                  where id = (select id from public.bench_plain_queue where status = 'waiting'
                               order by queued_at, id limit 1 for update skip locked)`,
        });
        return rowCount === 1;
      }, { count: QUEUE_CHATS, deadlineMs: QUEUE_DEADLINE_MS }));
  };

  // Client i acts for operators i, i + 16, …, so clients never wait on each other's operator row.
  // As the operator, each call carries the operator's claims the way PostgREST sets them
  // (transaction-local request.jwt.claims), so the function takes its caller-check path.
  const assign = async (name, { asOperator }) => {
    const calls = new Array(CLIENTS).fill(0);
    const text = asOperator
      ? `select public.assign_chat_to_operator($1) as chat_id
           from (select set_config('request.jwt.claims', $2, true)) as caller`
      : "select public.assign_chat_to_operator($1) as chat_id";
    const run = await withClients(stack.dbUrl, () => [], (clients) =>
      dbLoad(clients, async (client, index) => {
        const { id } = fixtures.operators[(index + CLIENTS * calls[index]++) % fixtures.operators.length];
        const values = asOperator ? [id, claims(id)] : [id];
        const { rows: [row] } = await client.query({ name: "assign", text, values });
        return row.chat_id !== null;
      }, { count: QUEUE_CHATS, deadlineMs: QUEUE_DEADLINE_MS }));
    const { rows: [{ open }] } = await db.query(`
      select count(*)::int as open from public.chat_assignments a
        join public.operators o on o.id = a.operator_id
       where o.email like 'bench-operator-%' and a.released_at is null`);
    if (open !== run.ops) throw new Error(`${name}: ${run.ops} assignments counted but ${open} open in the database`);
    await requeue(db);
    return { name, ...run };
  };

  // The claims really make the function check its caller: acting for another operator is refused.
  const [first, second] = fixtures.operators;
  const refused = await db.query(
    `select public.assign_chat_to_operator($1)
       from (select set_config('request.jwt.claims', $2, true)) as caller`,
    [second.id, claims(first.id)],
  ).then(() => null, (error) => error.code);
  if (refused !== "42501") throw new Error(`an operator acting for another was not refused (got ${refused})`);

  const d1 = await dequeue();
  const superuser = await assign("queue: assign_chat_to_operator, superuser", { asOperator: false });
  const d2 = await dequeue();
  const operator = await assign("queue: assign_chat_to_operator, operator's JWT claims", { asOperator: true });
  const d3 = await dequeue();
  const baseline = combine("queue: bare SKIP LOCKED dequeue, plain table", [d1, d2, d3]);
  return [baseline, { ...superuser, baseline }, { ...operator, baseline }];
}

async function benchMessages({ stack, db, fixtures }) {
  const send = (name, count, chatsOf, { charged }) => {
    const sent = new Array(CLIENTS).fill(0);
    const table = charged ? "public.messages" : "public.bench_plain_messages";
    return withClients(stack.dbUrl, (index) => (charged ? actAs(fixtures.writers[index].id) : []), async (clients) => ({
      name,
      ...(await dbLoad(clients, async (client, index) => {
        const chats = chatsOf(fixtures.writers[index].id);
        const n = sent[index]++;
        await client.query({
          name: "send",
          text: `insert into ${table} (chat_id, sender_type, content) values ($1, 'real', $2)`,
          values: [chats[n % chats.length], `bench message ${index}-${n}`],
        });
        return true;
      }, { count })),
    }));
  };
  const short = (id) => fixtures.writerChats.get(id).short_chats;
  const long = (id) => [fixtures.writerChats.get(id).long_chat];
  const countCharged = async () =>
    (await db.query("select count(*)::int as n from public.messages where content like 'bench message %'")).rows[0].n;

  const b1 = await send("plain", MESSAGES, short, { charged: false });
  const before = await countCharged();
  const charged = await send("messages: real-user insert, charged (RLS, triggers)", MESSAGES, short, { charged: true });
  const longChats = await send(
    `messages: the same, in chats with ${LONG_CHAT_MESSAGES} earlier real-user messages`,
    LONG_CHAT_SENDS,
    long,
    { charged: true },
  );
  const written = (await countCharged()) - before;
  if (written !== charged.ops + longChats.ops) {
    throw new Error(`messages: ${charged.ops + longChats.ops} inserts counted but ${written} rows written`);
  }
  const b2 = await send("plain", MESSAGES, short, { charged: false });
  const baseline = combine("messages: bare insert, plain table", [b1, b2]);
  return [baseline, { ...charged, baseline }, { ...longChats, baseline }];
}

async function waitForRpc(url, headers) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const response = await fetch(url, { method: "POST", headers, body: "{}" });
    await response.arrayBuffer();
    if (response.ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never answered 200 (schema cache not reloaded?)`);
}

/**
 * Warms every server path up (JIT, connection pools), then runs the HTTP loads round-robin,
 * HTTP_ROUNDS times, then the first (the baseline) once more, so that a slower or faster period of
 * the machine hits every load alike. Returns one combined row per load, in the order given.
 */
async function interleave(loads) {
  for (const { job } of loads) await httpLoad(job, { warmupMs: 1000, durationMs: 0 });
  const runs = loads.map(() => []);
  for (let round = 0; round < HTTP_ROUNDS; round++) {
    for (const [i, { job }] of loads.entries()) runs[i].push(await httpLoad(job));
  }
  runs[0].push(await httpLoad(loads[0].job));
  return loads.map(({ name }, i) => combine(name, runs[i]));
}

async function benchRest({ stack, fixtures }) {
  const user = fixtures.writers[0];
  const token = await userAccessToken(stack.keys, { id: user.id, email: user.email, apiUrl: stack.apiUrl });
  const headers = Array(CLIENTS).fill({
    apikey: stack.publishableKey ?? stack.anonKey,
    authorization: `Bearer ${token}`,
    "content-type": "application/json",
    accept: "application/json",
  });
  const gateway = `${stack.apiUrl}/rest/v1/rpc`;
  const direct = `http://127.0.0.1:${stack.internalPorts.postgrest}/rpc`;
  await waitForRpc(`${gateway}/bench_noop`, headers[0]);
  const rpc = (url, bodyIncludes = "") => ({ url, headers, body: "{}", bodyIncludes });

  const [noopDirect, noopGateway, profiles] = await interleave([
    { name: "rest: bench_noop() straight to PostgREST", job: rpc(`${direct}/bench_noop`) },
    { name: "rest: bench_noop() through the gateway", job: rpc(`${gateway}/bench_noop`) },
    {
      name: "rest: get_available_fictional_profiles (real user)",
      job: rpc(`${gateway}/get_available_fictional_profiles`, '"is_favorite"'),
    },
  ]);
  return [noopDirect, { ...noopGateway, baseline: noopDirect }, { ...profiles, baseline: noopGateway }];
}

async function benchFunctions({ stack, fixtures }) {
  const url = `${stack.apiUrl}/functions/v1/assign-chat`;
  const preflight = {
    url,
    method: "OPTIONS",
    expect: 204,
    headers: Array(CLIENTS).fill({
      origin: "http://localhost:3000",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    }),
  };
  const assign = {
    url,
    body: "{}",
    bodyIncludes: '"chat":{',
    headers: await Promise.all(fixtures.operators.slice(0, CLIENTS).map(async (operator) => ({
      apikey: stack.publishableKey ?? stack.anonKey,
      authorization: `Bearer ${
        await userAccessToken(stack.keys, { id: operator.id, email: operator.email, apiUrl: stack.apiUrl })
      }`,
      "content-type": "application/json",
    }))),
  };
  const [baseline, measured] = await interleave([
    { name: "functions: OPTIONS preflight of assign-chat", job: preflight },
    { name: "functions: POST assign-chat (operator)", job: assign },
  ]);
  return [baseline, { ...measured, baseline }];
}

// Report --------------------------------------------------------------------------------------------

function printTable(rows) {
  const rate = (r) => r.ops / r.seconds;
  const cells = rows.map((r) => [
    r.name,
    String(r.ops),
    r.seconds.toFixed(2),
    rate(r).toFixed(0),
    r.baseline ? rate(r.baseline).toFixed(0) : "-",
    r.baseline ? (rate(r) / rate(r.baseline)).toFixed(2) : "baseline",
  ]);
  const header = ["name", "ops", "seconds", "ops/s", "baseline ops/s", "ratio"];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ");
  console.log(line(header));
  for (const c of cells) console.log(line(c));
  console.log("ratio = ops/s ÷ the baseline's ops/s in this run (1.00 = as fast as the baseline).");
  for (const r of rows.filter((row) => row.spread > 0.25)) {
    const rates = r.rates.map((x) => x.toFixed(0)).join(", ");
    console.log(`note: the runs of "${r.name}" differ by ${(r.spread * 100).toFixed(0)}% (${rates} ops/s): ` +
      "something else was using the CPU; ratios against it are rough.");
  }
}

export async function runBench({ root, args = [] }) {
  const only = new Set(args.filter((a) => !a.startsWith("-")));
  const unknown = [...only].filter((s) => !SECTIONS.includes(s));
  if (unknown.length) {
    console.error(`unknown bench section ${unknown.join(", ")}: use ${SECTIONS.join(", ")}`);
    return 2;
  }
  console.log(`[bench] ${availableParallelism()} CPUs, load average ${loadavg()[0].toFixed(2)} before start`);

  let stack;
  let db;
  const rows = [];
  let ok = true;
  const started = Date.now();
  try {
    stack = await startThrowawayStack({
      root,
      prefix: "fantooo-bench-",
      log: (line) => console.log(`[stack] ${line}`),
    });
    console.log(`[bench] stack up in ${((Date.now() - started) / 1000).toFixed(1)} s at ${stack.apiUrl}`);
    db = new pg.Client({ connectionString: stack.dbUrl });
    await db.connect();
    const fixtures = await createFixtures(db);
    const measure = { queue: benchQueue, messages: benchMessages, rest: benchRest, functions: benchFunctions };
    for (const section of SECTIONS) {
      if (only.size && !only.has(section)) continue;
      console.log(`[bench] ${section}…`);
      rows.push(...(await measure[section]({ stack, db, fixtures })));
    }
  } catch (error) {
    console.error(`[bench] ${error instanceof StackError ? error.message : error.stack}`);
    ok = false;
  } finally {
    await db?.end().catch(() => {});
    await stack?.stop();
    stack?.remove();
  }

  console.log(`[bench] done in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  if (rows.length) printTable(rows);
  for (const row of rows.filter((r) => r.errors)) {
    console.error(`${row.name}: ${row.errors} failed calls, first: ${row.firstError}`);
    ok = false;
  }
  return ok ? 0 : 1;
}
