// The clients of the realtime section, in a worker thread (the gateway runs in the bench's own event
// loop): `clients` websockets, each a member of one pair (a chat: its real user and its operator),
// and a paced sender of `rate` messages per second. Sends and receipts are timed on this thread's
// clock, so a latency is one clock's difference.
//
// job.mode "realtime": each socket speaks the Phoenix protocol (vsn 2.0.0, lib/realtime.mjs) to the
//   Realtime server through the gateway and joins its chat's private topic `chat:<id>` with its own
//   token; message i is a real SQL insert into public.messages in chat i mod pairs, as the chat's real
//   user or its operator (alternating rounds), in one transaction as PostgREST runs it (role,
//   claims, insert, commit); the database broadcasts message_created on the chat's topic. Latency:
//   from the insert's commit as its sender sees it (the reply to COMMIT) to the receiving socket's
//   message event, at both members.
// job.mode "echo": a bare ws server (lib/echo-server.mjs) that relays each frame to both sockets of
//   its pair; message i is sent by the pair's first socket. Latency: from the send to each receipt.
//
// job: {mode, url, pairs: [{chatId, members: [{token}, {token}], senders: [{claims, senderType}, …]}],
//       dbUrl, rate, seconds, warmupS, drainMs}
// Resolves with {sent, latenciesMs (after the warm-up), seconds (of the measured sends), tally,
//   insertMsP50, connectS}.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { decodeFrame, encodeFrame, joinFrame, schedule, tallyDeliveries } from "./realtime.mjs";
import { percentiles } from "./stats.mjs";

export function realtimeLoad(job) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { benchRealtime: job } });
    worker.once("message", (result) => {
      if (!result.error) return resolve(result);
      void worker.terminate(); // its sockets and pool would keep it alive
      reject(new Error(result.error));
    });
    worker.once("error", reject);
    worker.once("exit", (code) => code !== 0 && reject(new Error(`realtime load worker exited with ${code}`)));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items` with at most `limit` at once. */
async function inBatches(items, limit, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  }));
}

async function run(job) {
  const { WebSocket } = await import("ws");
  const { mode, pairs, rate, seconds, warmupS = 0, drainMs = 5000 } = job;
  const received = []; // [member index, seq, time]
  const sockets = [];
  const members = pairs.flatMap((pair, p) => pair.members.map((m, slot) => ({ ...m, pair: p, slot })));

  // Connect (and, for Realtime, join) every member, 50 at a time.
  const connectStart = performance.now();
  await inBatches(members, 50, (member, index) => new Promise((resolve, reject) => {
    const url = mode === "echo" ? `${job.url}?pair=${member.pair}` : job.url;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    sockets[index] = ws;
    const topic = `realtime:chat:${pairs[member.pair].chatId}`;
    ws.on("error", (error) => reject(new Error(`socket ${index}: ${error.message}`)));
    ws.on("open", () => {
      if (mode === "echo") return resolve();
      ws.send(joinFrame(`chat:${pairs[member.pair].chatId}`, member.token, "1"));
    });
    ws.on("message", (data, isBinary) => {
      const at = performance.now();
      if (mode === "echo") {
        received.push([index, Number(String(data)), at]);
        return;
      }
      const frame = decodeFrame(data, isBinary);
      // Any topic: one delivered to the wrong socket counts as a stray in the tally.
      if (frame.event === "broadcast" && frame.userEvent === "message_created") {
        const seq = /^rt (\d+)$/.exec(frame.payload.content)?.[1];
        if (seq !== undefined) received.push([index, Number(seq), at]);
      } else if (frame.event === "phx_reply" && frame.ref === "1") {
        if (frame.payload.status === "ok") resolve();
        else reject(new Error(`join of ${topic} refused: ${JSON.stringify(frame.payload.response)}`));
      } else if (frame.event === "phx_close" || (frame.event === "system" && frame.payload.status === "error")) {
        reject(new Error(`${topic} closed by the server: ${JSON.stringify(frame.payload)}`));
      }
    });
  }));
  const connectS = (performance.now() - connectStart) / 1000;
  let heartbeatRef = 0;
  const heartbeat = mode === "realtime"
    ? setInterval(() => {
      const frame = encodeFrame({ ref: `hb${heartbeatRef++}`, topic: "phoenix", event: "heartbeat" });
      for (const ws of sockets) ws.send(frame);
    }, 20000)
    : null;

  // The paced sender.
  let pool = null;
  if (mode === "realtime") {
    const { default: pg } = await import("pg");
    pool = new pg.Pool({ connectionString: job.dbUrl, max: 8, application_name: "bench realtime sender" });
    await Promise.all(Array.from({ length: 8 }, () => pool.query("select 1")));
  }
  const times = schedule(rate, seconds + warmupS);
  const sentAt = new Float64Array(times.length);
  const doneAt = new Float64Array(times.length);
  const failures = [];
  const inFlight = [];
  const firstMember = pairs.map((_, p) => members.findIndex((m) => m.pair === p)); // the echo's sender
  const fire = (seq) => {
    const pair = pairs[seq % pairs.length];
    sentAt[seq] = performance.now();
    if (mode === "echo") {
      sockets[firstMember[seq % pairs.length]].send(String(seq));
      doneAt[seq] = sentAt[seq];
      return;
    }
    const sender = pair.senders[Math.floor(seq / pairs.length) % pair.senders.length];
    // One transaction as PostgREST runs a user's insert: role, claims, the insert, commit.
    const sql = `begin; set local role authenticated;
select set_config('request.jwt.claims', '${sender.claims}', true);
insert into public.messages (chat_id, sender_type, content) values ('${pair.chatId}', '${sender.senderType}', 'rt ${seq}');
commit;`;
    inFlight.push(pool.query(sql).then(
      () => (doneAt[seq] = performance.now()),
      (error) => failures.push(`message ${seq}: ${error.message}`),
    ));
  };
  const t0 = performance.now() + 20;
  let i = 0;
  while (i < times.length) {
    const now = performance.now() - t0;
    while (i < times.length && times[i] <= now) fire(i++);
    if (i < times.length) await sleep(Math.max(0, times[i] - (performance.now() - t0)));
  }
  await Promise.all(inFlight);

  // Drain: every expected delivery, or `drainMs` without a new one.
  const expected = times.length * pairs[0].members.length;
  let last = received.length;
  let quietSince = performance.now();
  while (received.length < expected && performance.now() - quietSince < drainMs) {
    await sleep(20);
    if (received.length !== last) {
      last = received.length;
      quietSince = performance.now();
    }
  }
  await sleep(mode === "echo" ? 50 : 300); // a doubled delivery would come just after
  clearInterval(heartbeat);
  for (const ws of sockets) ws.terminate();
  await pool?.end();

  const sentSeqs = times.map((_, seq) => seq).filter((seq) => doneAt[seq] > 0);
  const tally = tallyDeliveries(sentSeqs, (seq) => pairs[seq % pairs.length].members.map((_, slot) => `${seq % pairs.length}:${slot}`),
    received.map(([index, seq]) => [`${members[index].pair}:${members[index].slot}`, seq]));
  const firstMeasured = Math.round(warmupS * rate);
  const latenciesMs = received
    .filter(([, seq]) => seq >= firstMeasured && doneAt[seq] > 0)
    .map(([, seq, at]) => at - doneAt[seq]);
  const measured = sentSeqs.filter((seq) => seq >= firstMeasured);
  const span = measured.length > 1 ? (doneAt[measured.at(-1)] - sentAt[measured[0]]) / 1000 : 0;
  const insertMs = measured.map((seq) => doneAt[seq] - sentAt[seq]);
  return {
    sent: sentSeqs.length,
    failures: failures.length,
    firstFailure: failures[0] ?? null,
    measured: measured.length,
    // The measured messages over the time from the first one's send to the last one's commit
    // (one interval added: n messages span n - 1 intervals).
    seconds: span + 1 / rate,
    latenciesMs,
    tally,
    insertMsP50: percentiles(insertMs, [50])[0],
    connectS,
  };
}

if (!isMainThread && workerData?.benchRealtime) {
  run(workerData.benchRealtime).then(
    (result) => parentPort.postMessage(result),
    (error) => parentPort.postMessage({ error: error.stack ?? String(error) }),
  );
}
