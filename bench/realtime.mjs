// The realtime section of `npm run bench` (bench/README.md, "Realtime"): how long a message takes
// from its commit to the other side's callback on the local Realtime server, with `realtimeClients`
// sockets joined to private chat: topics (a real user and its operator per chat) and messages
// written by SQL at a steady `realtimeRate` per second, beside a bare `ws` relay on the same machine
// with the same sockets and rate (the transport's floor). Every message must reach each member of
// its chat exactly once, and be written once to public.messages and to realtime.messages.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { userAccessToken } from "../local/stack/keys.mjs";
import { claims } from "./fixtures.mjs";
import { realtimeLoad } from "./lib/realtime-load.mjs";
import { makeRow } from "./lib/stats.mjs";

const fmt = (n) => n.toLocaleString("en-US");

/** `pairs` chats, each with its own real user and held by its own operator (open assignment). */
async function createChats(db, pairs) {
  await db.query(`
    insert into auth.users (id, aud, role, email)
    select gen_random_uuid(), 'authenticated', 'authenticated', format('bench-rt-%s-%s@bench.local', kind, n)
      from unnest(array['user', 'operator']) kind, generate_series(1, ${pairs}) n;
    insert into public.operators (id, email, name, status, max_concurrent_chats)
    select id, email, 'Bench realtime operator', 'available', 10 from auth.users where email like 'bench-rt-operator-%';
    insert into public.real_users (id, email, display_name, age, gender, looking_for, credits)
    select id, email, 'Bench realtime user', 30, 'male', 'female', 1000000000 from auth.users where email like 'bench-rt-user-%';
    insert into public.fictional_users (name, age, gender, bio, interests)
    values ('Bench Realtime Profile', 30, 'female', 'Holds the realtime chats.', '{bench}');
    create table bench.rt_pairs as
      select u.n, u.id as user_id, o.id as operator_id
        from (select id, row_number() over (order by email) as n from auth.users where email like 'bench-rt-user-%') u
        join (select id, row_number() over (order by email) as n from auth.users where email like 'bench-rt-operator-%') o using (n);
    insert into public.chats (real_user_id, fictional_user_id)
    select p.user_id, f.id from bench.rt_pairs p, public.fictional_users f where f.name = 'Bench Realtime Profile';
    alter table bench.rt_pairs add column chat_id uuid;
    update bench.rt_pairs p set chat_id = c.id from public.chats c where c.real_user_id = p.user_id;`);
  // Held by its operator, as assign-chat leaves it (set up without triggers, as the sweep's chats).
  await db.query("set session_replication_role = replica");
  await db.query(`
    update public.chats c set status = 'assigned', queued_at = null from bench.rt_pairs p where p.chat_id = c.id;
    insert into public.chat_assignments (chat_id, operator_id, assigned_at) select chat_id, operator_id, now() from bench.rt_pairs;
    insert into public.operator_activity (operator_id, chat_id, assigned_at, last_activity_at)
    select operator_id, chat_id, now(), now() from bench.rt_pairs;`);
  await db.query("set session_replication_role = origin");
  await db.query("vacuum analyze public.chats, public.chat_assignments, public.operator_activity, public.operators, public.real_users");
  return (await db.query("select n, user_id, operator_id, chat_id from bench.rt_pairs order by n")).rows;
}

/** The echo server (lib/echo-server.mjs) in its own process: {url, stop()}. */
async function startEcho() {
  const child = spawn(process.execPath, [fileURLToPath(new URL("./lib/echo-server.mjs", import.meta.url))], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once("data", (chunk) => resolve(Number(String(chunk).trim())));
    child.once("exit", (code) => reject(new Error(`the echo server exited with ${code}`)));
  });
  return { url: `ws://127.0.0.1:${port}/`, stop: () => child.kill() };
}

/** Throws when a delivery run lost, doubled or misrouted a message, or a send failed. */
function checkDeliveries(name, result) {
  const { tally } = result;
  if (result.failures || tally.missing || tally.duplicates || tally.strays) {
    throw new Error(`${name}: ${result.sent} messages sent (${result.failures} failed, first: ${result.firstFailure}), ` +
      `${tally.expected} deliveries expected: ${tally.missing} missing (first: ${tally.firstMissing}), ` +
      `${tally.duplicates} doubled, ${tally.strays} to a socket not in the chat`);
  }
}

export async function benchRealtime({ stack, db, size }) {
  const { realtimeClients: clients, realtimeRate: rate, realtimeSeconds: seconds } = size;
  const pairs = clients / 2;
  const chats = await createChats(db, pairs);
  const token = (id, email) => userAccessToken(stack.keys, { id, email, apiUrl: stack.apiUrl });
  const members = await Promise.all(chats.map(async (c) => [
    { token: await token(c.user_id, `bench-rt-user-${c.n}@bench.local`) },
    { token: await token(c.operator_id, `bench-rt-operator-${c.n}@bench.local`) },
  ]));
  const job = {
    rate,
    seconds,
    warmupS: size.realtimeWarmupS,
    pairs: chats.map((c, i) => ({
      chatId: c.chat_id,
      members: members[i],
      // Alternating rounds: the real user (charged), then its operator (a fictional message).
      senders: [
        { claims: claims(c.user_id), senderType: "real" },
        { claims: claims(c.operator_id), senderType: "fictional" },
      ],
    })),
  };

  const echo = await startEcho();
  const echoRuns = [];
  let live;
  try {
    echoRuns.push(await realtimeLoad({ ...job, mode: "echo", url: echo.url }));
    live = await realtimeLoad({
      ...job,
      mode: "realtime",
      url: `${stack.realtimeUrl}?apikey=${stack.publishableKey ?? stack.anonKey}&vsn=2.0.0`,
      dbUrl: stack.dbUrl,
    });
    echoRuns.push(await realtimeLoad({ ...job, mode: "echo", url: echo.url }));
  } finally {
    echo.stop();
  }
  for (const run of echoRuns) checkDeliveries("realtime: ws echo", run);
  checkDeliveries("realtime: message_created", live);
  // Written once each: the messages, and their broadcasts in realtime.messages.
  const { rows: [written] } = await db.query(`
    select (select count(*)::int from public.messages m join bench.rt_pairs p using (chat_id)) as messages,
           (select count(*)::int from realtime.messages r
             where r.event = 'message_created' and r.topic like 'chat:%' and r.payload->>'content' like 'rt %') as broadcasts`);
  if (written.messages !== live.sent || written.broadcasts !== live.sent) {
    throw new Error(`realtime: ${live.sent} messages sent, ${written.messages} written, ${written.broadcasts} broadcast`);
  }
  console.log(`[bench] realtime: ${clients} sockets connected and joined in ${live.connectS.toFixed(1)} s; ` +
    `${live.sent} messages, each delivered once to both members (${live.tally.delivered} deliveries); ` +
    `insert p50 ${live.insertMsP50.toFixed(2)} ms`);

  const section = "realtime";
  const measurement = (run) => ({ ops: run.measured, seconds: run.seconds, latenciesMs: run.latenciesMs });
  const echoRow = makeRow(`realtime: bare ws relay to both sockets of a pair, ${fmt(clients)} sockets, ${rate} msg/s (floor)`, {
    ops: echoRuns.reduce((n, r) => n + r.measured, 0),
    seconds: echoRuns.reduce((n, r) => n + r.seconds, 0),
    latenciesMs: echoRuns.flatMap((r) => r.latenciesMs),
  }, { section });
  return [
    echoRow,
    makeRow(`realtime: message_created, commit to callback, ${fmt(clients)} sockets on ${fmt(pairs)} private chats, ` +
      `${rate} msg/s, vs ws relay`, measurement(live), { baseline: echoRow, section }),
  ];
}
