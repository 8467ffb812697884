// The capacity table (docs/capacity.md, `npm run bench -- --capacity`): the Postgres CPU one
// operation costs in a bench run (rows' `cpu_ms_per_op`, lib/cpu.mjs) scaled to hosted Supabase's
// compute sizes under a stated workload model, beside the Realtime plan limits that bind first.
// Pure: the figures come from latest.json's rows, so the page can be made again from the committed
// results (tests/unit/capacity.test.ts checks that it is).

const COMPUTE_DOC = "https://supabase.com/docs/guides/platform/compute-and-disk";
const REALTIME_DOC = "https://supabase.com/docs/guides/realtime/limits";
const REPLICAS_DOC = "https://supabase.com/docs/guides/platform/read-replicas";
const USAGE_REPLICAS_DOC = "https://supabase.com/docs/guides/platform/manage-your-usage/read-replicas";

/**
 * Hosted compute sizes (paid plans; Nano is the free plan's): CPU, memory, "Database Max
 * Connections" and "Connection Pooler Max Clients", as the compute-and-disk page publishes them.
 * Micro to Medium are shared (burstable) ARM cores; Large and up dedicated.
 */
export const COMPUTE_SIZES = [
  { name: "Micro", cores: 2, shared: true, memoryGb: 1, maxConnections: 60, poolerClients: 200 },
  { name: "Small", cores: 2, shared: true, memoryGb: 2, maxConnections: 90, poolerClients: 400 },
  { name: "Medium", cores: 2, shared: true, memoryGb: 4, maxConnections: 120, poolerClients: 600 },
  { name: "Large", cores: 2, shared: false, memoryGb: 8, maxConnections: 160, poolerClients: 800 },
  { name: "XL", cores: 4, shared: false, memoryGb: 16, maxConnections: 240, poolerClients: 1000 },
  { name: "2XL", cores: 8, shared: false, memoryGb: 32, maxConnections: 380, poolerClients: 1500 },
  { name: "4XL", cores: 16, shared: false, memoryGb: 64, maxConnections: 480, poolerClients: 3000 },
  { name: "8XL", cores: 32, shared: false, memoryGb: 128, maxConnections: 490, poolerClients: 6000 },
  { name: "12XL", cores: 48, shared: false, memoryGb: 192, maxConnections: 500, poolerClients: 9000 },
  { name: "16XL", cores: 64, shared: false, memoryGb: 256, maxConnections: 500, poolerClients: 12000 },
];

/** Realtime limits by plan (the realtime limits page): concurrent connections, messages/s, joins/s. */
export const REALTIME_PLANS = [
  { name: "Pro", connections: 500, messagesPerS: 500, joinsPerS: 500 },
  { name: "Pro (no spend cap), Team", connections: 10000, messagesPerS: 2500, joinsPerS: 2500 },
];

/**
 * The workload model: every figure of the table follows from these and the measured costs.
 * `why` says each one beside its number on the page.
 */
export const MODEL = {
  targetUtilisation: { value: 0.7, why: "of the cores kept busy by these operations; the rest is headroom for peaks, vacuum and backups (the read-replicas page's own threshold for \"CPU above 70% sustained\")" },
  messageIntervalS: { value: 30, why: "a chatting user sends one message every 30 s" },
  repliesPerMessage: { value: 1, why: "the operator answers each user message with one message" },
  messagesPerSession: { value: 10, why: "user messages per assignment: an operator holds a chat for 10 of its user's messages (5 minutes), then releases it" },
  chatsPerOperator: { value: 5, why: "chats an operator holds at once (`max_concurrent_chats`, 1 by default, raised by admins)" },
  discoveryPerUserPerMin: { value: 0.2, why: "a chatting user opens a page of discovery every 5 minutes" },
  historyPerUserPerMin: { value: 0.5, why: "a chatting user loads a chat's newest 50 messages every 2 minutes (opening a chat, reconnecting)" },
  paymentsPerUserPerHour: { value: 0.5, why: "a chatting user buys credits once every 2 hours of chatting (one Paystack webhook each)" },
  chatStatusEventsPerSession: { value: 5, why: "Realtime events of a chat's status changes per session (idle → waiting → assigned → idle, each to the user, and to the operator while it holds the chat)" },
  coreEquivalence: { value: 1, why: "a hosted ARM core does the work of one CPU of the bench machine (not measured: Graviton cores and this machine's differ)" },
};

const value = (model, key) => model[key].value;

/**
 * The operations of the model and the rows their cost is read from (by the start of the name; the
 * last matching row wins, so growth series give their largest size). `dataApi`: the call goes
 * through PostgREST in production but was measured with pgbench: PostgREST's own statements are
 * added (the trivial RPC's Postgres CPU through the gateway).
 */
export const OPERATIONS = [
  { key: "message", what: "a charged user message (insert through RLS and the message trigger, its broadcasts)", row: "messages: real-user insert, charged (RLS, triggers) vs same-work", dataApi: true },
  { key: "assignment", what: "an assignment (`POST assign-chat`: JWT, the function's SQL over its direct connection)", row: "functions: POST assign-chat (operator) vs trivial RPC" },
  { key: "payment", what: "a payment (`POST paystack-webhook`, a signed `charge.success` credited once)", row: "webhook: POST paystack-webhook" },
  { key: "discovery", what: "a discovery page (`get_available_fictional_profiles`, largest size measured)", row: "discovery: get_available_fictional_profiles", dataApi: true },
  { key: "history", what: "a chat's newest 50 messages (largest size measured)", row: "history: a chat's newest 50 messages", dataApi: true },
];
const DATA_API_ROW = "rest: bench_noop() through the gateway";

/** The last row whose name starts with `prefix`, when it has a Postgres CPU figure; else null. */
function findRow(rows, prefix) {
  // The last row of that name (a growth row's largest size), and only that one: a size without a
  // figure is not quietly stood in for by a smaller one.
  const row = rows.filter((r) => r.name.startsWith(prefix)).at(-1);
  return row?.cpu_ms_per_op?.postgres != null ? row : null;
}

/**
 * Postgres ms per operation from a run's rows: `{key: {ms, rows: [names]}}`, null for an operation
 * whose row was not measured. Null altogether when the run measured no CPU.
 */
export function costsFromRows(rows) {
  if (!rows.some((r) => r.cpu_ms_per_op?.postgres != null)) return null;
  const dataApi = findRow(rows, DATA_API_ROW);
  const costs = {};
  for (const op of OPERATIONS) {
    const row = findRow(rows, op.row);
    if (!row) {
      costs[op.key] = null;
      continue;
    }
    const extra = op.dataApi && dataApi ? dataApi.cpu_ms_per_op.postgres : 0;
    costs[op.key] = {
      ms: row.cpu_ms_per_op.postgres + extra,
      rows: [row.name, ...(op.dataApi && dataApi ? [dataApi.name] : [])],
    };
  }
  return costs;
}

/**
 * Postgres ms of CPU per second that one chatting user causes, by operation (an operator's reply
 * is costed as a charged message: it updates the chat and broadcasts as one does, without the
 * credit). Unmeasured operations count 0 and are named on the page.
 */
export function perUserLoad(costs, model = MODEL) {
  const ms = (key) => costs[key]?.ms ?? 0;
  const messagesPerS = (1 + value(model, "repliesPerMessage")) / value(model, "messageIntervalS");
  const sessionsPerS = 1 / (value(model, "messagesPerSession") * value(model, "messageIntervalS"));
  const parts = {
    message: messagesPerS * ms("message"),
    assignment: sessionsPerS * ms("assignment"),
    payment: (value(model, "paymentsPerUserPerHour") / 3600) * ms("payment"),
    discovery: (value(model, "discoveryPerUserPerMin") / 60) * ms("discovery"),
    history: (value(model, "historyPerUserPerMin") / 60) * ms("history"),
  };
  return { messagesPerS, sessionsPerS, parts, total: Object.values(parts).reduce((a, b) => a + b, 0) };
}

/**
 * Realtime traffic of `users` chatting users under the model: sockets (one per user and per
 * operator: supabase-js puts every channel on one socket), events per second (each message to both
 * members, a balance per charged message, status and assignment events per session, and each
 * queue change to every operator on `operators:queue`), channel joins per second.
 */
export function realtimeTraffic(users, model = MODEL) {
  const interval = value(model, "messageIntervalS");
  const operators = users / value(model, "chatsPerOperator");
  const sessionsPerS = users / (value(model, "messagesPerSession") * interval);
  const perMessage = 2 + 1 + value(model, "repliesPerMessage") * 2; // message_created x 2 members, balance, replies
  const perSession = value(model, "chatStatusEventsPerSession") + 2; // + chat_assigned, chat_released
  const queueChangesPerS = 2 * sessionsPerS; // enqueued by the first message, dequeued by the assignment
  return {
    connections: users + operators,
    eventsPerS: (users / interval) * perMessage + sessionsPerS * perSession + queueChangesPerS * operators,
    joinsPerS: 2 * sessionsPerS, // the user's and the operator's join of the chat's topic
  };
}

/** The most chatting users a Realtime plan allows, and which of its limits binds (bisection). */
export function realtimeCeiling(plan, model = MODEL) {
  const fits = (u) => {
    const t = realtimeTraffic(u, model);
    return t.connections <= plan.connections && t.eventsPerS <= plan.messagesPerS && t.joinsPerS <= plan.joinsPerS;
  };
  let lo = 0;
  let hi = plan.connections;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  const t = realtimeTraffic(lo + 1, model);
  const binding = t.connections > plan.connections ? "concurrent connections"
    : t.eventsPerS > plan.messagesPerS ? "messages per second"
    : "channel joins per second";
  return { users: lo, binding };
}

/**
 * What each compute size carries: chatting users, operators, messages/s (both directions) and
 * assignments/s under the model, and the ceilings of one operation alone (messages/s, assignments/s).
 */
export function capacityBySize(costs, model = MODEL, sizes = COMPUTE_SIZES) {
  const load = perUserLoad(costs, model);
  return sizes.map((size) => {
    const budgetMsPerS = size.cores * value(model, "coreEquivalence") * 1000 * value(model, "targetUtilisation");
    const users = load.total > 0 ? Math.floor(budgetMsPerS / load.total) : null;
    const alone = (key) => (costs[key]?.ms ? Math.floor(budgetMsPerS / costs[key].ms) : null);
    return {
      size,
      budgetMsPerS,
      users,
      operators: users == null ? null : Math.floor(users / value(model, "chatsPerOperator")),
      messagesPerS: users == null ? null : users * load.messagesPerS,
      assignmentsPerS: users == null ? null : users * load.sessionsPerS,
      messagesAlonePerS: alone("message"),
      assignmentsAlonePerS: alone("assignment"),
      functionInstances: Math.floor(size.maxConnections / 3),
    };
  });
}

// The page ----------------------------------------------------------------------------------------

const int = (n) => (n == null ? "–" : Math.round(n).toLocaleString("en-US"));
const dec = (n, d = 3) => (n == null ? "–" : n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }));

/** docs/capacity.md from a run's `{machine, rows}`; null when the rows carry no CPU figures. */
export function renderCapacityDoc({ machine, rows }, model = MODEL) {
  const costs = costsFromRows(rows);
  if (!costs) return null;
  const load = perUserLoad(costs, model);
  const table = capacityBySize(costs, model);
  const plans = REALTIME_PLANS.map((plan) => ({ plan, ...realtimeCeiling(plan, model) }));
  const m = machine ?? {};
  const lines = [];
  const p = (...l) => lines.push(...l);

  p("# Capacity: what each hosted compute size carries",
    "",
    "<!-- Generated by `npm run bench -- --capacity` (bench/lib/capacity.mjs) from bench/results/latest.json: do not edit by hand. -->",
    "",
    `Generated from the bench run of ${m.date ?? "unknown date"} on ${m.cpus ?? "?"} CPUs (${m.model ?? "unknown CPU"}), ` +
      `${m.memory_gb ?? "?"} GB, PostgreSQL ${m.postgres ?? "?"}, load average ${m.load_average ?? "?"} at its start. ` +
      "Each figure below follows from the Postgres CPU per operation measured in that run and the model's " +
      "assumptions, each stated beside its number; change one and run `npm run bench -- --capacity` again " +
      "(or regenerate from latest.json) to see what moves.",
    "",
    "## What one operation costs Postgres (measured)",
    "",
    "CPU time of the database's processes (utime + stime from /proc, every backend, the postmaster's reaped children " +
      "included) during each load, less the stack's idle rate (the lower of an idle window just before the load and the " +
      "rate of the stack at rest, measured once), divided by the operations of the load " +
      "([bench/README.md](../bench/README.md#capacity---capacity)). It includes what the load causes besides its own " +
      "statements: connecting the load's clients, the WAL the Realtime server decodes (here the local stand-in's reader, " +
      "a backend of this database, as hosted Realtime's replication reads the primary), autovacuum and checkpoints started by the load. " +
      "CPU per operation moves less than ops/s when other work shares the machine, but it moves: an oversubscribed " +
      "machine adds context switches and lock contention to every operation (see the load average above), so plan " +
      "with the figures of a quiet run.",
    "",
    "| operation | Postgres ms per operation | from the rows |",
    "|---|---|---|");
  for (const op of OPERATIONS) {
    const c = costs[op.key];
    p(`| ${op.what} | ${c ? dec(c.ms) : "not measured (counts 0)"} | ${c ? c.rows.map((r) => `\`${r}\``).join(" + ") : "–"} |`);
  }
  p("",
    "Operations measured with pgbench (a message, discovery, history) are made through the Data API in production: " +
      "the trivial RPC's Postgres CPU through PostgREST is added to them (PostgREST's transaction, claims and role: an upper bound, " +
      "as the pgbench transaction already pays part of it). An operator's reply is costed as a charged message " +
      "(it updates the chat and broadcasts as one does; it takes no credit).",
    "",
    "## The workload model (assumed)",
    "",
    "| assumption | value | why |",
    "|---|---|---|");
  for (const [key, { value: v, why }] of Object.entries(model)) p(`| \`${key}\` | ${v} | ${why} |`);
  p("",
    `One chatting user then costs ${dec(load.total, 3)} ms of Postgres CPU per second: ` +
      Object.entries(load.parts).map(([k, v]) => `${k} ${dec(v, 4)}`).join(", ") + ".",
    "",
    "## By compute size",
    "",
    `Sizes, cores, memory and connection limits: [Compute and Disk](${COMPUTE_DOC}) (\"Compute\" and \"Limits and constraints\" tables). ` +
      "Chatting users = cores × 1000 ms × target utilisation ÷ one user's ms per second; operators = users ÷ chats per operator.",
    "",
    "| size | CPU | memory | chatting users | operators | messages/s (both ways) | assignments/s | messages/s alone | assignments/s alone | DB max connections | pooler max clients |",
    "|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of table) {
    const s = r.size;
    const cpu = `${s.cores}-core ARM ${s.shared ? "(shared, burst)" : "(dedicated)"}`;
    const upTo = s.shared ? "up to " : "";
    p(`| ${s.name} | ${cpu} | ${s.memoryGb} GB | ${upTo}${int(r.users)} | ${upTo}${int(r.operators)} | ${upTo}${int(r.messagesPerS)} | ` +
      `${upTo}${dec(r.assignmentsPerS, 1)} | ${upTo}${int(r.messagesAlonePerS)} | ${upTo}${int(r.assignmentsAlonePerS)} | ${int(s.maxConnections)} | ${int(s.poolerClients)} |`);
  }
  p("",
    "- **Shared CPUs** (Micro, Small, Medium): the page says CPUs smaller than Large \"can burst to higher " +
      "performance levels for short periods of time\" and publishes no sustained level. Their rows are computed " +
      "as 2 full cores, i.e. what a burst carries (\"up to\"); sustained, they carry a fraction of it that " +
      "Supabase does not publish. Plan on Large or above for a steady load.",
    "- **\"alone\"**: the ceiling of that one operation with nothing else running (same budget).",
    "- **Connections** do not bind the throughput: at these costs a connection is busy about as long as its " +
      "operation's CPU, so the cores run out long before the connection limit. What can exhaust them is " +
      `connections held open: each warm Edge Function instance of \`assign-chat\` and \`paystack-webhook\` keeps up to 3 ` +
      "direct connections (`FUNCTIONS_DB_POOL_SIZE`), so Micro's 60 fit about 20 instances alongside nothing else; point " +
      "`FUNCTIONS_DB_URL` at the Supavisor transaction pooler (its own client limit, the last column) before that.",
    "- **Memory** is not modelled: the figures assume the hot data (open chats' recent messages, the profiles index, " +
      "the queue) stays in shared buffers, as it did in the bench (one machine with " +
      `${m.memory_gb ?? "?"} GB). On Micro (1 GB) a large messages table can push reads to disk, and the history row's cost would no longer hold.`,
    "",
    "## Realtime limits: which binds first",
    "",
    `Plan limits from [Realtime Limits](${REALTIME_DOC}) (\"Limits by plan\"); Realtime counts an event for every ` +
      "message delivered to or sent by a client. Under the model, N chatting users with N ÷ " +
      `${value(model, "chatsPerOperator")} operators open N + N ÷ ${value(model, "chatsPerOperator")} sockets and cause, per second: ` +
      `each message to both members and a balance to the user (${2 + 1 + value(model, "repliesPerMessage") * 2} events per user message, ` +
      `every ${value(model, "messageIntervalS")} s), ` +
      `${value(model, "chatStatusEventsPerSession")} status events and an assignment and a release per session, and two queue changes per session ` +
      "(entering the queue, assigned) each delivered to **every** operator on `operators:queue`. That last term grows " +
      "with users × operators, so it is what binds first on every plan with more than a few hundred users.",
    "",
    "| Realtime plan | concurrent connections | messages/s | channel joins/s | chatting users it allows | the limit that binds |",
    "|---|---|---|---|---|---|");
  for (const { plan, users, binding } of plans) {
    p(`| ${plan.name} | ${int(plan.connections)} | ${int(plan.messagesPerS)} | ${int(plan.joinsPerS)} | ${int(users)} | ${binding} |`);
  }
  const tightest = plans.at(-1);
  const firstSize = table.find((r) => r.users != null && r.users > tightest.users);
  p("",
    `So on the largest self-serve limits (${tightest.plan.name}) Realtime stops at ${int(tightest.users)} chatting users, ` +
      (firstSize
        ? `which the database carries from ${firstSize.size.name} up (${int(firstSize.users)}${firstSize.size.shared ? ", at burst" : ""}): ` +
          "from there the Realtime limit binds before the CPU does. "
        : "more than any size's database carries here: the CPU binds first. ") +
      "Both can be raised: Realtime limits by support request (the page: \"Beyond the Free and Pro Plan you can customize your limits\"), and the queue term by " +
      "sending `queue_changed` at most once a second instead of at every change (a contract change of docs/realtime.md, not made).",
    "",
    "## When one database is not enough",
    "",
    `Read Replicas ([Read Replicas](${REPLICAS_DOC})) are read-only copies kept in sync asynchronously; the Data API's load ` +
      "balancer sends `GET` requests to the nearest database and every other request to the primary, and a read-only " +
      "function can be called on a replica with `get: true`. A replica runs on the same compute size as the primary " +
      `and is billed as one more ([Manage Read Replica usage](${USAGE_REPLICAS_DOC})).`,
    "",
    "- **What the design allows there:** discovery and history are plain reads. A chat's newest 50 messages is " +
      "`GET /rest/v1/messages?chat_id=eq.…&order=created_at.desc&limit=50` under RLS, and " +
      "`get_available_fictional_profiles` is a `stable` function (call it with `rpc(…, { get: true })`): both can be served " +
      `by replicas. In the model they are ${dec(((load.parts.discovery + load.parts.history) / load.total) * 100, 1)}% of the ` +
      "primary's CPU, so replicas relieve the primary by about that much; their real value is latency near users and " +
      "isolation of heavy readers (admin reports). Replication lag means a history read just after a send may miss it: " +
      "clients already refetch since their last message on reconnect (docs/realtime.md).",
    "- **What it does not:** every write needs the primary: a message (its charge, the chat counters and queue in one " +
      "transaction), the assignment (`for update skip locked` on the queue, the operator's row lock), the webhook's " +
      "credit (exactly once, under the transaction's row lock), the sweep. Broadcasts from the database come from the " +
      "primary's WAL (`realtime.messages` rows written by the same transactions), so Realtime reads the primary too. " +
      "Writes are " + `${dec(((load.parts.message + load.parts.assignment + load.parts.payment) / load.total) * 100, 1)}% of the model's CPU, ` +
      "so a project outgrows one database when its writes outgrow the largest primary; replicas do not move that line.");
  return `${lines.join("\n")}\n`;
}
