// What `npm run bench` measures, one function per section. Each returns rows (lib/stats.mjs
// makeRow) with extra fields for the chart: `section`, and for growth rows `series` and `size`.
// SQL load comes from pgbench (lib/pgbench.mjs), HTTP load from autocannon (lib/http.mjs).
import { spawn } from "node:child_process";
import { openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { userAccessToken } from "../local/stack/keys.mjs";
import { freePort } from "../local/stack/stack.mjs";
import { claims, createPendingPayments, loadInBatches } from "./fixtures.mjs";
import { sumCpu } from "./lib/cpu.mjs";
import { httpLoad } from "./lib/http.mjs";
import { pgbench } from "./lib/pgbench.mjs";
import { makeRow } from "./lib/stats.mjs";

const fmt = (n) => n.toLocaleString("en-US");

/**
 * Several runs of the same load as one measurement (ops, seconds and CPU by group summed, latencies
 * pooled; `cpu` only when every run measured it).
 */
export function pool(runs) {
  const cpu = sumCpu(runs.map((r) => r.cpu));
  return {
    ops: runs.reduce((n, r) => n + r.ops, 0),
    seconds: runs.reduce((n, r) => n + r.seconds, 0),
    latenciesMs: runs.flatMap((r) => r.latenciesMs),
    errors: runs.reduce((n, r) => n + (r.errors ?? 0), 0),
    firstError: runs.find((r) => r.firstError)?.firstError ?? null,
    ...(cpu ? { cpu } : {}),
  };
}

function throwOnErrors(name, measurement) {
  if (measurement.errors) throw new Error(`${name}: ${measurement.errors} failed calls, first: ${measurement.firstError}`);
}

// Queue ---------------------------------------------------------------------------------------------

/**
 * assign_chat_to_operator as the operator (its JWT claims, as PostgREST sets them) drawing
 * `queueDraw` chats from `queueUsers x 100` waiting ones, against the bare dequeue on a plain table
 * of the same size and the same work in plain SQL on copies of the tables (the ceilings know no
 * languages: the rows show what the routing rules cost). Five languages, continuity on: each operator
 * let go of one chat a minute before the run (SPEC 17). Client i acts for
 * operators i, i + 16, … (chosen at random among them), so clients never wait on each other's
 * operator row. Order: bare, same-work, assign, same-work, bare (ceilings pooled).
 */
export async function benchQueue({ stack, db, size }) {
  const { clients, operators, queueDraw } = size;
  const perClient = queueDraw / clients;
  const pick = `\\set op :client_id + ${clients} * random(0, ${operators / clients - 1})\n`;
  const waiting = fmt(size.queueUsers * 100);

  const bare = async () => {
    await db.query("update bench.plain_queue set status = 'waiting' where status <> 'waiting'");
    await db.query("vacuum analyze bench.plain_queue");
    return pgbench(stack.dbUrl, `update bench.plain_queue set status = 'assigned'
 where id = (select id from bench.plain_queue where status = 'waiting' order by queued_at, id limit 1 for update skip locked);
`, { clients, perClient, name: "bare dequeue" });
  };
  const sameWork = async () => {
    await db.query(`
      update bench.chats c set status = 'waiting' from bench.operator_activity oa where oa.chat_id = c.id;
      truncate bench.operator_activity, bench.chat_assignments;`);
    await db.query("vacuum analyze bench.chats, bench.operators");
    return pgbench(stack.dbUrl, `${pick}select bench.assign_same_work(o.id) from bench.operator_ids o where o.n = :op;\n`,
      { clients, perClient, name: "same-work assign" });
  };
  // One statement, as PostgREST's transaction has it: the caller's claims, then the call.
  const assignSql = (op, caller) => `select public.assign_chat_to_operator(o.id)
  from bench.operator_ids o, bench.operator_ids c,
       lateral (select set_config('request.jwt.claims', c.claims, true)) as claims
 where o.n = ${op} and c.n = ${caller};\n`;
  const assign = async () => {
    // Continuity on (settings.continuity_window, 15 minutes): each operator let go of one waiting chat
    // in its languages a minute ago, so one call in ten takes the continuity pick.
    await db.query(`
      with ops as (
        select o.id, o.languages[1] as lang, row_number() over (partition by o.languages[1] order by o.id) as k
          from public.operators o where o.email like 'bench-operator-%'),
      chs as (
        select c.id, f.language as lang, row_number() over (partition by f.language order by c.queued_at desc) as k
          from public.chats c join public.fictional_users f on f.id = c.fictional_user_id
         where c.status = 'waiting' and f.name like 'Bench Profile %')
      insert into public.chat_assignments (chat_id, operator_id, assigned_at, released_at, release_reason)
      select chs.id, ops.id, now() - interval '2 minutes', now() - interval '1 minute', 'completed'
        from ops join chs using (lang, k)`);

    await db.query("vacuum analyze public.chat_assignments");
    const run = await pgbench(stack.dbUrl, `${pick}${assignSql(":op", ":op")}`, { clients, perClient, name: "assign" });
    const { rows: [{ open }] } = await db.query(`
      select count(*)::int as open from public.chat_assignments a
        join public.operators o on o.id = a.operator_id
       where o.email like 'bench-operator-%' and a.released_at is null`);
    if (open !== run.ops) throw new Error(`queue: ${run.ops} assignments counted but ${open} open in the database`);
    await requeue(db);
    return run;
  };

  // The claims really make the function check its caller: acting for another operator is refused.
  const refused = await db.query(assignSql(1, 0)).then(() => null, (error) => error.code);
  if (refused !== "42501") throw new Error(`an operator acting for another was not refused (got ${refused})`);

  const b1 = await bare();
  const s1 = await sameWork();
  const measured = await assign();
  const s2 = await sameWork();
  const b2 = await bare();
  const section = "queue";
  const bareRow = makeRow(`queue: bare SKIP LOCKED dequeue, plain table, ${waiting} waiting`, pool([b1, b2]), { section });
  const sameRow = makeRow("queue: same-work plain SQL (dequeue, assignment + activity rows)", pool([s1, s2]), { section });
  const name = `queue: assign_chat_to_operator (operator's claims), ${waiting} waiting`;
  return [
    bareRow,
    sameRow,
    makeRow(`${name} vs same-work`, measured, { baseline: sameRow, target: 0.8, section }),
    makeRow(`${name} vs bare dequeue`, measured, { baseline: bareRow, target: 0.5, section }),
  ];
}

/**
 * Puts every chat the bench operators hold back in the queue (their place kept by queued_at). An
 * HTTP load that has just stopped may still have calls committing: a chat assigned by one of them
 * after the release stays assigned, with its open assignment, rather than waiting with one. The
 * releases are an admin's, which continuity ignores (SPEC 17): released as completed, every chat
 * of the earlier runs would be its operator's continuity pick in the next, and each assignment
 * would read through all of them.
 */
async function requeue(db) {
  await new Promise((r) => setTimeout(r, 200)); // let the calls the load left in flight finish
  await db.query(`
    update public.chat_assignments a set released_at = now(), release_reason = 'admin'
      from public.operators o
     where o.id = a.operator_id and o.email like 'bench-operator-%' and a.released_at is null;
    delete from public.operator_activity oa using public.operators o
     where o.id = oa.operator_id and o.email like 'bench-operator-%'
       and not exists (select 1 from public.chat_assignments a
                        where a.chat_id = oa.chat_id and a.released_at is null);
    update public.chats c set status = 'waiting'
      from public.real_users r
     where r.id = c.real_user_id and r.email like 'bench-queue-%' and c.status = 'assigned'
       and not exists (select 1 from public.chat_assignments a
                        where a.chat_id = c.id and a.released_at is null);
  `);
  await db.query("vacuum analyze public.chats, public.chat_assignments, public.operator_activity, public.operators");
}

// Messages ------------------------------------------------------------------------------------------

/**
 * Real-user messages through the charging trigger, as the user (role authenticated, its claims:
 * RLS and triggers apply), 16 writers in 20 short chats each, then in a chat with thousands of
 * earlier messages; against a bare insert into a plain table and the same work in plain SQL.
 */
export async function benchMessages({ stack, db, size }) {
  const { clients, sqlSeconds: seconds } = size;
  const short = "\\set k random(0, 19)\n";
  const bare = () => pgbench(stack.dbUrl, `${short}insert into bench.plain_messages (chat_id, sender_type, content)
select chat_id, 'real', 'bench message' from bench.writer_chats where n = :client_id and k = :k;\n`,
  { clients, seconds, name: "bare insert" });
  const sameWork = () => pgbench(stack.dbUrl, `${short}select bench.send_same_work(chat_id, 'bench message')
  from bench.writer_chats where n = :client_id and k = :k;\n`, { clients, seconds, name: "same-work message" });
  // One statement as the user: its claims (transaction-local, as PostgREST sets them), then the insert.
  const charged = (k, name) => pgbench(stack.dbUrl, `${k}insert into public.messages (chat_id, sender_type, content)
select wc.chat_id, 'real', 'bench message'
  from bench.writer_ids w
  cross join lateral (select set_config('request.jwt.claims', w.claims, true)) as claims
  join bench.writer_chats wc on wc.n = w.n and wc.k = :k
 where w.n = :client_id;\n`, { clients, seconds, name, role: "authenticated" });

  const count = async () => (await db.query(`
    select count(*)::int as n, coalesce(sum(credits_charged), 0)::int as charged
      from public.messages where content = 'bench message'`)).rows[0];
  const spent = async () => (await db.query(`
    select sum(1000000000 - credits)::bigint as spent from public.real_users where email like 'bench-writer-%'`)).rows[0].spent;

  const b1 = await bare();
  const s1 = await sameWork();
  const before = await count();
  const measured = await charged(short, "charged message");
  const long = await charged("\\set k 20\n", "charged message, long chat");
  // The same charged message with the Realtime broadcasts on and off (SPEC 13: they cost at most
  // 15%), ordered on, off, off, on so that a drift of the machine (other work on its 2 CPUs) weighs
  // on both alike. Runs as long as the others: each starts 16 new connections, whose first
  // statements plan the triggers (more of them with the broadcasts on).
  const loud = [];
  const quiet = [];
  try {
    for (const on of [true, false, false, true]) {
      await setBroadcasts(db, on);
      (on ? loud : quiet).push(await charged(short, `charged message, broadcasts ${on ? "on" : "off"}`));
    }
  } finally {
    await setBroadcasts(db, true);
  }
  const after = await count();
  const inserts = [measured, long, ...loud, ...quiet].reduce((n, run) => n + run.ops, 0);
  if (after.n - before.n !== inserts) {
    throw new Error(`messages: ${inserts} inserts counted but ${after.n - before.n} rows written`);
  }
  if (Number(await spent()) !== after.charged) throw new Error("messages: credits spent differ from credits charged");
  const s2 = await sameWork();
  const b2 = await bare();

  const section = "messages";
  const bareRow = makeRow("messages: bare insert, plain table", pool([b1, b2]), { section });
  const sameRow = makeRow("messages: same-work plain SQL (insert, credits, chat counters)", pool([s1, s2]), { section });
  const name = "messages: real-user insert, charged (RLS, triggers)";
  const quietRow = makeRow("messages: the same with the Realtime broadcasts off", pool(quiet), { section });
  return [
    bareRow,
    sameRow,
    makeRow(`${name} vs same-work`, measured, { baseline: sameRow, target: 0.8, section }),
    makeRow(`${name} vs bare insert`, measured, { baseline: bareRow, section }),
    makeRow(`messages: the same, in a chat with ${fmt(size.longChatMessages * 2)} earlier messages, vs same-work`, long,
      { baseline: sameRow, target: 0.8, section }),
    quietRow,
    makeRow(`${name} with its Realtime broadcasts vs without`, pool(loud), {
      baseline: quietRow,
      target: 0.85,
      section,
    }),
  ];
}

// The triggers that broadcast what a message changes (009_realtime.sql): the message on its
// chat, the balance on its user, a status change and the queue; and the bulk triggers of chats,
// which never send for a message but have every update of chats keep its rows for them.
const BROADCAST_TRIGGERS = [
  ["public.messages", "broadcast_message_created"],
  ["public.real_users", "broadcast_balance"],
  ["public.chats", "broadcast_chat_change"],
  ["public.chats", "broadcast_chat_changes_in_bulk"],
  ["public.chats", "note_queue_insert"],
  ["public.chats", "note_queue_update"],
  ["public.chats", "note_queue_delete"],
];

/** Turns the broadcast triggers off or back on (for the with/without comparison only). */
function setBroadcasts(db, on) {
  return db.query(BROADCAST_TRIGGERS.map(([table, trigger]) =>
    `alter table ${table} ${on ? "enable" : "disable"} trigger ${trigger};`).join("\n"));
}

// HTTP ----------------------------------------------------------------------------------------------

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
 * Warms every load up, then runs them round-robin `httpRounds` times and the first (the baseline)
 * once more, so that a slower or faster period of the machine hits each alike. Returns one pooled
 * measurement per load, in the order given (plus each load's runs, for checks).
 */
async function interleave(loads, size, { before = async () => {} } = {}) {
  // A load is an HTTP job (autocannon) or `sql`: a function of the duration running pgbench.
  const run = async (load, durationS) => {
    await before();
    return load.sql ? load.sql(durationS) : httpLoad({ ...load.job, durationS });
  };
  for (const load of loads) await run(load, size.httpWarmupS);
  const runs = loads.map(() => []);
  for (let round = 0; round < size.httpRounds; round++) {
    for (const [i, load] of loads.entries()) runs[i].push(await run(load, size.httpSeconds));
  }
  runs[0].push(await run(loads[0], size.httpSeconds));
  return runs.map((r, i) => {
    const measurement = pool(r);
    throwOnErrors(loads[i].name, measurement);
    return measurement;
  });
}

async function userHeaders(stack, user, clients) {
  const token = await userAccessToken(stack.keys, { id: user.id, email: user.email, apiUrl: stack.apiUrl });
  return Array(clients).fill({
    apikey: stack.publishableKey ?? stack.anonKey,
    authorization: `Bearer ${token}`,
    "content-type": "application/json",
    accept: "application/json",
  });
}

const noop = (stack, headers) => ({ url: `${stack.apiUrl}/rest/v1/rpc/bench_noop`, headers, body: "{}" });

export async function benchRest({ stack, fixtures, size }) {
  const headers = await userHeaders(stack, fixtures.writers[0], size.clients);
  const direct = `http://127.0.0.1:${stack.internalPorts.postgrest}/rpc`;
  await waitForRpc(`${stack.apiUrl}/rest/v1/rpc/bench_noop`, headers[0]);
  const [d, g, p] = await interleave([
    { name: "direct", job: { url: `${direct}/bench_noop`, headers, body: "{}" } },
    { name: "gateway", job: noop(stack, headers) },
    {
      name: "profiles",
      job: { url: `${stack.apiUrl}/rest/v1/rpc/get_available_fictional_profiles`, headers, body: "{}", bodyIncludes: '"is_favorite"' },
    },
  ], size);
  const section = "rest";
  const directRow = makeRow("rest: bench_noop() straight to PostgREST", d, { section });
  const gatewayRow = makeRow("rest: bench_noop() through the gateway", g, { baseline: directRow, section });
  return [
    directRow,
    gatewayRow,
    makeRow("rest: get_available_fictional_profiles (real user) vs bench_noop()", p, { baseline: gatewayRow, section }),
  ];
}

/**
 * The pgbench script of one call as a function makes it over its direct connection
 * (supabase/functions/_shared/db/postgres.ts): in one pipeline ended by one Sync, so one implicit
 * transaction, the role, the caller's claims, the legacy per-claim settings cleared and the role's
 * statement_timeout, all transaction-local; then `to_jsonb(<call>)`. Run it with protocol
 * `extended` (unnamed statements, as the driver's `prepare: false`). `claims`: an SQL expression.
 */
async function functionCallScript(db, { role, claims, call, from = "" }) {
  const { rows: [{ timeout }] } = await db.query(`
    select coalesce((select split_part(c.setting, '=', 2)
                       from pg_db_role_setting s join pg_roles r on r.oid = s.setrole,
                            unnest(s.setconfig) c(setting)
                      where r.rolname = $1 and c.setting like 'statement\\_timeout=%'
                      order by s.setdatabase desc limit 1),
                    current_setting('statement_timeout')) as timeout`, [role]);
  return `\\startpipeline
select pg_catalog.set_config('role', '${role}', true),
       pg_catalog.set_config('request.jwt.claims', ${claims}, true),
       pg_catalog.set_config('request.jwt.claim.sub', '', true),
       pg_catalog.set_config('request.jwt.claim.role', '', true),
       pg_catalog.set_config('request.jwt.claim.email', '', true),
       pg_catalog.set_config('statement_timeout', '${timeout}', true);
select pg_catalog.to_jsonb(${call}) as result${from};
\\endpipeline
`;
}

/**
 * A second functions server beside the stack's, started the same way with `env` on top (e.g.
 * FUNCTIONS_DB=data-api: its functions reach SQL through the Data API, to measure what the direct
 * connection saves) and, with `inspectPort`, V8's inspector open there (CPU profiles).
 */
export async function startFunctionsServer(stack, { env: extra = {}, inspectPort, logName = "functions-second" } = {}) {
  const port = await freePort();
  const { command, args, env } = stack.functionsLaunch;
  const logFile = join(stack.logDir, `${logName}.log`);
  const log = openSync(logFile, "a");
  const inspect = inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : [];
  const child = spawn(command, [args[0], ...inspect, ...args.slice(1)], {
    env: { ...process.env, ...env, ...extra, FUNCTIONS_PORT: String(port) },
    stdio: ["ignore", log, log],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    const status = await fetch(`${url}/`).then((r) => r.status, () => 0);
    if (status === 404) break;
    if (attempt > 300 || child.exitCode !== null) {
      child.kill();
      throw new Error(`the second functions server did not start; its log: ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, logFile, stop: () => child.kill() };
}

/**
 * POST assign-chat through the gateway against the trivial RPC through the same gateway (SPEC 13);
 * then the same request straight to the stack's functions server (SQL over SUPABASE_DB_URL) and to
 * a second one with FUNCTIONS_DB=data-api (SQL through the Data API): what the direct connection
 * is worth.
 */
export async function benchFunctions({ stack, db, fixtures, size }) {
  const url = `${stack.apiUrl}/functions/v1/assign-chat`;
  const headers = await userHeaders(stack, fixtures.writers[0], size.clients);
  await waitForRpc(`${stack.apiUrl}/rest/v1/rpc/bench_noop`, headers[0]);
  const operatorHeaders = await Promise.all(fixtures.operators.slice(0, size.clients).map(async (operator) => ({
    apikey: stack.publishableKey ?? stack.anonKey,
    authorization: `Bearer ${await userAccessToken(stack.keys, { id: operator.id, email: operator.email, apiUrl: stack.apiUrl })}`,
    "content-type": "application/json",
  })));
  const preflightHeaders = Array(size.clients).fill({
    origin: "http://localhost:3000",
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization, content-type",
  });
  const assignJob = (target) => ({ url: target, headers: operatorHeaders, body: "{}", bodyIncludes: '"chat":{' });
  // assign-chat's own SQL call under the same concurrency: pgbench client i is operator i, as HTTP
  // connection i is. Every run starts from the same queue: the operators hold nothing.
  const ownSql = await functionCallScript(db, {
    role: "authenticated",
    claims: "(select o.claims from bench.operator_ids o where o.n = :client_id)",
    call: "public.assign_next_chat()",
  });
  const [n, o, a, q] = await interleave([
    { name: "noop", job: noop(stack, headers) },
    { name: "preflight", job: { url, method: "OPTIONS", expect: 204, headers: preflightHeaders } },
    { name: "assign-chat", job: assignJob(url) },
    {
      name: "assign_next_chat (SQL)",
      sql: (seconds) => pgbench(stack.dbUrl, ownSql, { clients: size.clients, seconds, name: "assign-chat SQL", protocol: "extended" }),
    },
  ], size, { before: () => requeue(db) });

  const dataApi = await startFunctionsServer(stack, { env: { FUNCTIONS_DB: "data-api" }, logName: "functions-data-api" });
  let viaApi, viaSql;
  try {
    // Each run starts from the same queue: the operators hold nothing, every chat waits.
    [viaApi, viaSql] = await interleave([
      { name: "assign-chat (Data API)", job: assignJob(`${dataApi.url}/assign-chat`) },
      { name: "assign-chat (direct)", job: assignJob(`http://127.0.0.1:${stack.internalPorts.functions}/assign-chat`) },
    ], size, { before: () => requeue(db) });
  } catch (error) {
    const logFile = dataApi.logFile;
    const lines = readFileSync(logFile, "utf8").trimEnd().split("\n");
    const tail = lines.filter((line) => !line.includes('"status":200')).slice(-5).join("\n");
    if (tail) error.message += `\n--- last lines of ${logFile} ---\n${tail}`;
    throw error;
  } finally {
    dataApi.stop();
  }
  await requeue(db);

  const section = "functions";
  const noopRow = makeRow("functions: bench_noop() through the gateway (trivial RPC)", n, { section });
  const sqlRow = makeRow("functions: assign-chat's own SQL call (role, claims, assign_next_chat(); pgbench)", q, { section });
  const apiRow = makeRow("functions: POST assign-chat straight to a functions server on the Data API (FUNCTIONS_DB=data-api)", viaApi, { section });
  return [
    noopRow,
    sqlRow,
    makeRow("functions: OPTIONS preflight of assign-chat", o, { section }),
    makeRow("functions: POST assign-chat (operator) vs trivial RPC", a, { baseline: noopRow, target: 0.6, section }),
    makeRow("functions: POST assign-chat (operator) vs its own SQL call", a, { baseline: sqlRow, target: 0.6, section }),
    apiRow,
    makeRow("functions: the same on SUPABASE_DB_URL (direct Postgres) vs the Data API", viaSql, { baseline: apiRow, section }),
  ];
}

/**
 * POST /functions/v1/paystack-webhook through the gateway: every request a distinct, correctly
 * signed charge.success for a pending transaction of one buyer, against the trivial RPC through the
 * same gateway. Then every answered event must have been credited exactly once, no event more
 * than once, and the buyer's balance must equal the credits of the settled payments.
 */
export async function benchWebhook({ stack, db, fixtures, size }) {
  // The HTTP load's references ('bench-'), and as many again for the webhook's own SQL call
  // ('bench-sql-'), taken in order through a sequence.
  await createPendingPayments(db, { buyers: size.webhookBuyers, count: size.webhookReferences, prefixes: ["bench-", "bench-sql-"] });
  await db.query(`
    create sequence bench.webhook_sql_reference;
    grant usage on schema bench to service_role;
    grant usage on sequence bench.webhook_sql_reference to service_role;`);
  await db.query("analyze public.transactions");
  const { rows } = await db.query(`
    select reference from public.transactions where reference like 'bench-%' and reference not like 'bench-sql-%'
     order by reference`);
  const references = rows.map((r) => r.reference);

  const headers = await userHeaders(stack, fixtures.writers[0], size.clients);
  await waitForRpc(`${stack.apiUrl}/rest/v1/rpc/bench_noop`, headers[0]);
  // Each run of the webhook load takes the references after those the previous runs used.
  let used = 0;
  const runs = [];
  const webhookJob = () => ({
    url: `${stack.apiUrl}/functions/v1/paystack-webhook`,
    headers: [{ "content-type": "application/json" }],
    connections: size.clients,
    bodyIncludes: '"received":true',
    webhook: { secret: stack.paystackSecretKey, references: references.slice(used), amount: 10000, currency: "KES", idOffset: used },
  });
  // The webhook's own SQL call under the same concurrency, as the function makes it for a verified
  // event (service_role; apply_paystack_event with the event, the payload as Paystack sends it and
  // its reference): each transaction the next 'bench-sql-' reference.
  const ownSql = await functionCallScript(db, {
    role: "service_role",
    claims: `'{"role":"service_role"}'`,
    call: "public.apply_paystack_event(p_event => 'charge.success', p_payload => e.payload, " +
      "p_reference => e.reference, p_source => 'webhook')",
    from: `
  from (select r.reference,
               jsonb_build_object('event', 'charge.success', 'data', jsonb_build_object(
                 'id', 8e11 + r.n, 'status', 'success', 'reference', r.reference, 'amount', 10000,
                 'currency', 'KES', 'paid_at', now())) as payload
          from (select n, 'bench-sql-' || lpad(n::text, 7, '0') as reference
                  from nextval('bench.webhook_sql_reference') n) r) e`,
  });
  const sqlRuns = [];
  const sqlCall = async (durationS) => {
    const result = await pgbench(stack.dbUrl, ownSql, { clients: size.clients, seconds: durationS, name: "webhook SQL", protocol: "extended" });
    sqlRuns.push(result);
    return result;
  };
  // Interleave by hand here: each webhook run must start after the references the last one used.
  const noopJob = noop(stack, headers);
  const noopRuns = [];
  const one = async (job, durationS) => {
    const result = await httpLoad({ ...job, durationS });
    if (job.webhook) {
      used += result.issued;
      runs.push(result);
    }
    return result;
  };
  await one(noopJob, size.httpWarmupS);
  await one(webhookJob(), size.httpWarmupS);
  await sqlCall(size.httpWarmupS);
  for (let round = 0; round < size.httpRounds; round++) {
    noopRuns.push(await one(noopJob, size.httpSeconds));
    await one(webhookJob(), size.httpSeconds);
    await sqlCall(size.httpSeconds);
  }
  noopRuns.push(await one(noopJob, size.httpSeconds));
  const measured = pool(runs.slice(1));
  const sqlMeasured = pool(sqlRuns.slice(1));
  throwOnErrors("webhook", measured);
  throwOnErrors("webhook: bench_noop()", pool(noopRuns));
  // The SQL calls: every committed one credited its payment once (pgbench counts committed ones).
  const { rows: [sqlCheck] } = await db.query(`
    select count(*) filter (where e.outcome = 'credited')::int as credited,
           count(distinct e.reference) filter (where e.outcome = 'credited')::int as payments
      from public.paystack_events e where e.reference like 'bench-sql-%'`);
  const calls = sqlRuns.reduce((n, r) => n + r.ops, 0);
  if (sqlCheck.credited !== calls || sqlCheck.payments !== calls) {
    throw new Error(`webhook: ${calls} SQL calls committed, but ${sqlCheck.credited} credited events for ${sqlCheck.payments} payments`);
  }

  // Exactly once: every answered event credited once, none twice, the balance as the payments say.
  const answered = runs.flatMap((r) => r.answered);
  const { rows: [check] } = await db.query(`
    select count(*) filter (where e.credited = 1 and t.status = 'success')::int as once,
           count(*) filter (where e.credited > 1)::int as more,
           count(*) filter (where t.reference = any($1) and (e.credited <> 1 or t.status <> 'success'))::int as answered_not_once,
           (select sum(r.credits)::int from public.real_users r join bench.buyers b on b.id = r.id) as credits
      from public.transactions t
      join bench.buyers b on b.id = t.real_user_id
      cross join lateral (
        select count(*)::int as credited from public.paystack_events pe
         where pe.reference = t.reference and pe.outcome = 'credited') e`, [answered]);
  if (check.more || check.answered_not_once || check.once < answered.length + calls || check.credits !== check.once * 10) {
    throw new Error(`webhook: not exactly once: ${JSON.stringify({ answered: answered.length, calls, ...check })}`);
  }
  console.log(`[bench] webhook: ${answered.length} signed charge.success answered 200 and ${calls} SQL calls committed; ` +
    `${check.once} payments credited once (those in flight when a run stopped too), none twice`);

  const section = "webhook";
  const noopRow = makeRow("webhook: bench_noop() through the gateway (trivial RPC)", pool(noopRuns), { section });
  const sqlRow = makeRow("webhook: its own SQL call (service_role, apply_paystack_event; pgbench)", sqlMeasured, { section });
  const name = "webhook: POST paystack-webhook, distinct signed charge.success";
  return [
    noopRow,
    sqlRow,
    makeRow(`${name}, vs trivial RPC`, measured, { baseline: noopRow, target: 0.6, section }),
    makeRow(`${name}, vs its own SQL call`, measured, { baseline: sqlRow, target: 0.6, section }),
  ];
}

// Growth --------------------------------------------------------------------------------------------

/** Latency of one client running `sql` in PostgREST's transaction as `userId` (claims, role, query). */
function asUserLatency(stack, userId, sql, { seconds, name }) {
  return pgbench(stack.dbUrl, `begin;
select set_config('request.jwt.claims', '${claims(userId)}', true), set_config('role', 'authenticated', true);
${sql};
commit;
`, { clients: 1, threads: 1, seconds, name });
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of `sql`: as the user (its claims and role: RLS applies) when
 * `userId` is given, else as the superuser (what a security definer function's query runs as).
 */
async function explain(db, userId, sql) {
  await db.query("begin");
  try {
    if (userId) {
      await db.query("select set_config('request.jwt.claims', $1, true), set_config('role', 'authenticated', true)", [claims(userId)]);
    }
    const { rows } = await db.query(`explain (analyze, buffers) ${sql}`);
    return rows.map((r) => r["QUERY PLAN"]).join("\n");
  } finally {
    await db.query("rollback");
  }
}

/**
 * One sweep_idle_chats() with `sweepChats` idle assignments (held by 100 operators, last active a
 * day ago), `sweepReps` times (the assignments are set up again in between).
 */
export async function benchSweep({ db, size }) {
  const { sweepChats, sweepReps } = size;
  const operators = Math.min(100, sweepChats / 100);
  await db.query(`
    insert into auth.users (id, aud, role, email)
    select gen_random_uuid(), 'authenticated', 'authenticated', format('bench-%s-%s@bench.local', kind, n)
      from (values ('sweep-operator', ${operators}), ('sweep-user', ${sweepChats / 100})) k(kind, total),
           generate_series(1, k.total) n;
    insert into public.operators (id, email, name, status, max_concurrent_chats)
    select id, email, 'Bench sweep operator', 'available', 1000 from auth.users where email like 'bench-sweep-operator-%';
    insert into public.real_users (id, email, display_name, age, gender, looking_for)
    select id, email, 'Bench sweep user', 30, 'male', 'female' from auth.users where email like 'bench-sweep-user-%';
    insert into public.chats (real_user_id, fictional_user_id)
    select r.id, f.id from public.real_users r, public.fictional_users f
     where r.email like 'bench-sweep-user-%' and f.name like 'Bench Profile %';
    create table bench.sweep_chats as
      select c.id, (row_number() over (order by c.id) - 1) % ${operators} as k
        from public.chats c join public.real_users r on r.id = c.real_user_id where r.email like 'bench-sweep-user-%';
    create table bench.sweep_operators as
      select (row_number() over (order by id) - 1) as k, id from public.operators where email like 'bench-sweep-operator-%';
  `);
  const times = [];
  for (let rep = 0; rep < sweepReps; rep++) {
    // Every chat held, idle for a day; every operator alive (so only the idle loop has work).
    await db.query("set session_replication_role = replica");
    await db.query(`
      update public.chats c set status = 'assigned', queued_at = null, reassignment_count = 0, flagged_for_review = false
        from bench.sweep_chats s where s.id = c.id;
      insert into public.chat_assignments (chat_id, operator_id, assigned_at)
      select s.id, o.id, now() - interval '1 day' from bench.sweep_chats s join bench.sweep_operators o using (k);
      insert into public.operator_activity (operator_id, chat_id, assigned_at, last_activity_at)
      select o.id, s.id, now() - interval '1 day', now() - interval '1 day'
        from bench.sweep_chats s join bench.sweep_operators o using (k);
      update public.operators set last_activity_at = now() where status = 'available';`);
    await db.query("set session_replication_role = origin");
    await db.query("vacuum analyze public.chats, public.chat_assignments, public.operator_activity, public.operators");
    const started = performance.now();
    const { rows: [{ result }] } = await db.query("select public.sweep_idle_chats() as result");
    times.push(performance.now() - started);
    if (result.released !== sweepChats) throw new Error(`sweep: released ${result.released} of ${sweepChats} idle assignments`);
  }
  const seconds = times.reduce((a, b) => a + b, 0) / 1000;
  return [makeRow(`sweep: sweep_idle_chats(), ${fmt(sweepChats)} idle assignments (one call)`,
    { ops: sweepChats * sweepReps, seconds, latenciesMs: times },
    { target: 1000, section: "sweep", series: "sweep", size: sweepChats })];
}

/**
 * get_available_fictional_profiles as a real user with favourites (1 in 100 profiles), one client,
 * at each size of `profiles` (loaded in batches). The largest size's target is SPEC 13's: p95 at
 * most 5 ms and at most twice the smallest size's p95.
 */
export async function benchDiscovery({ stack, db, fixtures, size, plans }) {
  const user = fixtures.writers[0].id;
  const rows = [];
  let loaded = 0;
  for (const total of size.profiles) {
    await loadInBatches(db, `[bench] profiles to ${fmt(total)}`, { start: loaded, total, batch: 100000 }, (from, to) => `
      with p as (
        insert into public.fictional_users (name, age, gender, bio, interests, is_featured, is_active)
        select format('Growth Profile %s', lpad(n::text, 8, '0')), 18 + n % 50,
               case when n % 2 = 0 then 'female' else 'male' end, 'A generated profile.', '{growth}', n % 10 = 0, n % 20 <> 0
          from generate_series(${from}, ${to}) n
        returning id, name)
      insert into public.favorites (real_user_id, fictional_user_id)
      select '${user}', p.id from p where right(p.name, 2) = '00'`);
    loaded = total;
    await db.query("vacuum analyze public.fictional_users, public.favorites");
    const sql = "select * from public.get_available_fictional_profiles()";
    const run = await asUserLatency(stack, user, sql, { seconds: size.latencySeconds, name: `discovery ${total}` });
    const first = rows[0];
    const last = total === size.profiles.at(-1);
    rows.push(makeRow(`discovery: get_available_fictional_profiles, ${fmt(total)} profiles (p95, one client)`, run, {
      target: last && first ? Number(Math.min(5, 2 * first.p95_ms).toFixed(3)) : null,
      section: "discovery", series: "discovery", size: total,
    }));
    if (last) {
      // The query of api_private.get_available_fictional_profiles (security definer: no RLS; 017:
      // the user's looking_for is read first, here as the literal the function's variable holds).
      const { rows: [{ looking_for: lookingFor }] } = await db.query(
        "select looking_for from public.real_users where id = $1", [user]);
      plans.push(`-- discovery at ${fmt(total)} profiles: the function's query, as its definer runs it\n` + await explain(db, null, `
        select f.id, f.name, f.age, f.gender, f.bio, f.avatar_url, f.interests, f.is_featured, f.created_at,
               coalesce((select true from public.favorites fav
                          where fav.real_user_id = '${user}' and fav.fictional_user_id = f.id), false) as is_favorite
          from public.fictional_users f
         where f.is_active and f.gender = '${lookingFor}'
         order by f.is_featured desc, f.name, f.id
         limit 20`));
    }
  }
  return rows;
}

/**
 * A chat's newest 50 messages, the Data API query its real user's client makes
 * (`GET /rest/v1/messages?chat_id=eq.…&order=created_at.desc&limit=50`, i.e. this select with RLS),
 * one client, with the messages table at each size of `messages` (spread over 100 chats of the
 * user: the measured chat holds 1 in 100).
 */
export async function benchHistory({ stack, db, fixtures, size, plans }) {
  const user = fixtures.writers[0].id;
  await db.query(`
    insert into public.fictional_users (name, age, gender, bio, interests)
    select format('Bench History %s', lpad(n::text, 3, '0')), 30, 'female', 'Holds history chats.', '{bench}'
      from generate_series(1, 100) n;
    insert into public.chats (real_user_id, fictional_user_id)
    select '${user}', f.id from public.fictional_users f where f.name like 'Bench History %';
    create table bench.history_chats as
      select array_agg(c.id order by f.name) as ids from public.chats c
        join public.fictional_users f on f.id = c.fictional_user_id where f.name like 'Bench History %';`);
  const { rows: [{ ids }] } = await db.query("select ids from bench.history_chats");
  const chat = ids[0];
  const rows = [];
  let loaded = 0;
  for (const total of size.messages) {
    await loadInBatches(db, `[bench] messages to ${fmt(total)}`, { start: loaded, total, batch: 500000 }, (from, to) => `
      insert into public.messages (chat_id, sender_type, content, created_at)
      select h.ids[1 + n % 100], case when n % 2 = 0 then 'real' else 'fictional' end, 'history message ' || n,
             timestamptz '2026-01-01' + n * interval '10 ms'
        from generate_series(${from}, ${to}) n, bench.history_chats h`);
    loaded = total;
    await db.query("analyze public.messages");
    const sql = `select * from public.messages where chat_id = '${chat}' order by created_at desc limit 50`;
    const run = await asUserLatency(stack, user, sql, { seconds: size.latencySeconds, name: `history ${total}` });
    const last = total === size.messages.at(-1);
    rows.push(makeRow(`history: a chat's newest 50 messages, ${fmt(total)} messages (p95, one client)`, run, {
      target: last ? 5 : null, section: "history", series: "history", size: total,
    }));
    if (last) plans.push(`-- a chat's newest 50 messages at ${fmt(total)} messages, as its real user\n` + await explain(db, user, sql));
  }
  return rows;
}

export function writePlans(path, plans) {
  writeFileSync(path, `${plans.join("\n\n")}\n`);
}
