// The local Realtime server: a stand-in for Supabase Realtime (whose Elixir server cannot be built
// here) that speaks its Phoenix protocol to supabase-js/realtime-js, vsn 1.0.0 and 2.0.0, behind the
// gateway at /realtime/v1/websocket. Channels `realtime:<topic>` carry:
// - broadcast between clients (config.broadcast.self / ack), and from the database (rows of
//   realtime.messages read from the WAL, see wal.mjs), with hosted's payloads and `meta.id`;
// - presence (track/untrack, presence_state on join, presence_diff on every change);
// - postgres_changes for the tables of the `supabase_realtime` publication, each change checked as
//   each subscriber (its role and claims, in a read-only transaction) before it is sent;
// - private channels (config.private) authorised against the RLS policies on realtime.messages at
//   join and again on every `access_token` (authorization.mjs), as hosted does.
// Tokens: the socket's `apikey` is its default token (an `sb_` key acts as anon/service_role); a
// user's JWT comes in the join payload or an `access_token` message; a channel ends (system error,
// then phx_close) when its token expires or its read permission is revoked, as on hosted.
// One node, state in memory; no rate limits, no REST broadcast endpoint.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import pg from "pg";
import { WebSocketServer } from "ws";
import { authorizationContext, readPolicies, writePolicies } from "./authorization.mjs";
import { changePayload, matchesSubscription, parseSubscription, SubscriptionError, walChange } from "./changes.mjs";
import { PresenceRegistry } from "./presence.mjs";
import {
  decodeFrame,
  encodeMessage,
  encodeReply,
  encodeUserBroadcast,
  joinTokenReason,
  messages,
  parseJoinConfig,
  socketVsn,
} from "./protocol.mjs";
import { apiKeyClaims, checkAccessToken } from "./tokens.mjs";
import { startWalReader } from "./wal.mjs";

const CONFIRM_TOKEN_INTERVAL_MS = 5 * 60 * 1000; // hosted re-checks a channel's token this often
const IDLE_TIMEOUT_MS = 60_000; // Phoenix closes a socket that sent nothing (not even a heartbeat)
const RETENTION_SQL = "delete from realtime.messages where inserted_at < now() - interval '3 days'";
const PRUNE_EVERY_MS = 10 * 60 * 1000;

/** A stable small integer for a postgres_changes entry (hosted uses :erlang.phash2 of it). */
function subscriptionId(params) {
  let hash = 2166136261;
  for (const char of JSON.stringify(params)) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  return hash % 134217728;
}

const quoteIdent = (name) => `"${String(name).replaceAll('"', '""')}"`;

/**
 * Starts the server on host:port. Resolves with {server, port, stop()}.
 *
 * @param {{ port: number, host?: string, dbUrl: string, keys: object, log?: (line: string) => void,
 *   pollMs?: number }} options  keys: {jwtSecret, jwks, publishableKey, secretKey} (keys.mjs shapes)
 */
export async function startRealtimeServer({ port, host = "127.0.0.1", dbUrl, keys, log = () => {}, pollMs = 15 }) {
  const pool = new pg.Pool({ connectionString: dbUrl, max: 8, application_name: "realtime_local" });
  pool.on("error", () => {}); // idle connections dropped by a Postgres restart; the next query reconnects
  const presence = new PresenceRegistry();
  /** tenant topic ("public:x" / "private:x") → Set of channels */
  const topics = new Map();
  /** channels with postgres_changes subscriptions */
  const changeChannels = new Set();
  const sockets = new Set();

  // ---- sending --------------------------------------------------------------------------------

  function send(conn, frame) {
    if (frame === null || conn.ws.readyState !== conn.ws.OPEN) return;
    conn.ws.send(frame);
  }

  function push(channel, event, payload) {
    const { conn, joinRef, topic } = channel;
    send(conn, encodeMessage(conn.vsn, { joinRef, topic, event, payload }));
  }

  function systemMessage(channel, extension, status, message) {
    push(channel, "system", { extension, status, message, channel: channel.subTopic });
  }

  const canReadBroadcast = (channel) => !channel.private || channel.policies.broadcast.read === true;
  const canReadPresence = (channel) => !channel.private || channel.policies.presence.read === true;

  /** A user broadcast {event, encoding, payload: Buffer, metadata} to a tenant topic's channels. */
  function deliverUserBroadcast(tenantTopic, broadcast, except = null) {
    const cache = new Map();
    for (const channel of topics.get(tenantTopic) ?? []) {
      if (channel === except || !canReadBroadcast(channel)) continue;
      const { vsn } = channel.conn;
      if (!cache.has(vsn)) cache.set(vsn, encodeUserBroadcast(vsn, channel.topic, broadcast));
      send(channel.conn, cache.get(vsn));
    }
  }

  /** A JSON broadcast payload ({type, event, payload}) as a vsn 1.0.0 client sent it. */
  function deliverJsonBroadcast(tenantTopic, payload, except = null) {
    for (const channel of topics.get(tenantTopic) ?? []) {
      if (channel === except || !canReadBroadcast(channel)) continue;
      send(channel.conn, encodeMessage(channel.conn.vsn, { topic: channel.topic, event: "broadcast", payload }));
    }
  }

  function deliverPresenceDiff(tenantTopic, diff) {
    for (const channel of topics.get(tenantTopic) ?? []) {
      if (!channel.presenceEnabled || !canReadPresence(channel)) continue;
      const frame = { topic: channel.topic, event: "presence_diff", payload: diff };
      send(channel.conn, encodeMessage(channel.conn.vsn, frame));
    }
  }

  // ---- channel lifecycle ----------------------------------------------------------------------

  function removeChannel(channel) {
    if (channel.closed) return;
    channel.closed = true;
    clearTimeout(channel.confirmTimer);
    channel.conn.channels.delete(channel.topic);
    topics.get(channel.tenantTopic)?.delete(channel);
    if (topics.get(channel.tenantTopic)?.size === 0) topics.delete(channel.tenantTopic);
    changeChannels.delete(channel);
    const diff = presence.untrack(channel.tenantTopic, channel.presenceKey, channel.id);
    if (diff) deliverPresenceDiff(channel.tenantTopic, diff);
  }

  /** Ends a channel as hosted's shutdown_response does: a system error, then phx_close. */
  function shutdown(channel, message) {
    if (channel.closed) return;
    systemMessage(channel, "system", "error", message);
    send(channel.conn, encodeMessage(channel.conn.vsn, {
      joinRef: channel.joinRef,
      ref: channel.joinRef,
      topic: channel.topic,
      event: "phx_close",
      payload: {},
    }));
    removeChannel(channel);
  }

  /** Re-checks the channel's token when it would expire (or every 5 minutes). */
  function scheduleTokenCheck(channel) {
    clearTimeout(channel.confirmTimer);
    const remainingMs = channel.claims.exp * 1000 - Date.now();
    channel.confirmTimer = setTimeout(async () => {
      if (channel.closed) return;
      const checked = await tokenClaims(channel.conn, channel.accessToken);
      if (channel.closed) return;
      if (checked.error) return shutdown(channel, checked.error.message);
      channel.claims = checked.claims;
      scheduleTokenCheck(channel);
    }, Math.max(0, Math.min(CONFIRM_TOKEN_INTERVAL_MS, remainingMs)));
    channel.confirmTimer.unref?.();
  }

  /** The claims of a channel's token: the socket's key claims for its own key, else the JWT's. */
  async function tokenClaims(conn, token) {
    if (token === conn.apikey) return { claims: conn.keyClaims };
    return checkAccessToken(keys, token);
  }

  /** Sets channel.policies (read) for a private channel; false when it may read nothing. */
  async function authoriseRead(channel) {
    const context = authorizationContext(channel.subTopic, channel.claims, channel.conn.headers);
    const read = await readPolicies(pool, context, { presence: channel.presenceEnabled });
    channel.policies = {
      broadcast: { read: read.broadcast, write: null },
      presence: { read: read.presence, write: null },
    };
    return read.broadcast === true || read.presence === true;
  }

  async function authoriseWrite(channel) {
    const context = authorizationContext(channel.subTopic, channel.claims, channel.conn.headers);
    const write = await writePolicies(pool, context, { presence: true });
    channel.policies.broadcast.write = write.broadcast;
    channel.policies.presence.write = write.presence;
  }

  // ---- incoming messages ----------------------------------------------------------------------

  async function join(conn, frame) {
    const { topic, payload } = frame;
    const reply = (status, response) => send(conn, encodeReply(conn.vsn, frame, status, response));
    if (!topic.startsWith("realtime:")) return reply("error", { reason: messages.unmatchedTopic });
    const subTopic = topic.slice("realtime:".length);
    if (subTopic === "") return reply("error", { reason: messages.noTopic });
    // A second join of a topic replaces the first, as Phoenix does.
    const previous = conn.channels.get(topic);
    if (previous) {
      const { joinRef } = previous;
      send(conn, encodeMessage(conn.vsn, { joinRef, ref: joinRef, topic, event: "phx_close", payload: {} }));
      removeChannel(previous);
    }

    const config = parseJoinConfig(payload);
    const given = payload.access_token ?? payload.user_token ?? null;
    const accessToken = typeof given === "string" && given !== "" && !given.startsWith("sb_") ? given : conn.apikey;
    const checked = await tokenClaims(conn, accessToken);
    if (checked.error) return reply("error", { reason: joinTokenReason(checked.error) });

    const channel = {
      id: randomUUID(),
      conn,
      topic,
      subTopic,
      joinRef: frame.joinRef ?? frame.ref,
      private: config.private,
      tenantTopic: `${config.private ? "private" : "public"}:${subTopic}`,
      self: config.self,
      ack: config.ack,
      presenceEnabled: config.presenceEnabled,
      presenceKey: config.presenceKey ?? randomUUID(),
      accessToken,
      claims: checked.claims,
      policies: { broadcast: { read: null, write: null }, presence: { read: null, write: null } },
      subscriptions: [],
      closed: false,
    };
    if (config.replay && !config.private) return reply("error", { reason: messages.replayPublic });
    if (config.private) {
      try {
        if (!(await authoriseRead(channel))) {
          return reply("error", { reason: `Unauthorized: ${messages.cannotRead(subTopic)}` });
        }
      } catch (error) {
        log(`authorising ${subTopic}: ${error.message}`);
        return reply("error", { reason: messages.databaseUnavailable });
      }
      if (config.replay && channel.policies.broadcast.read !== true) {
        return reply("error", { reason: `Unauthorized: ${messages.cannotRead(subTopic)}` });
      }
    }
    if (conn.closed) return;

    const postgresChanges = config.postgresChanges.map((params) => ({ ...params, id: subscriptionId(params) }));
    let subscriptionError = null;
    try {
      channel.subscriptions = config.postgresChanges.map((params, i) => ({
        id: postgresChanges[i].id,
        ...parseSubscription(params),
      }));
    } catch (error) {
      if (!(error instanceof SubscriptionError)) throw error;
      subscriptionError = error.message;
      channel.subscriptions = [];
    }

    conn.channels.set(topic, channel);
    const members = topics.get(channel.tenantTopic) ?? new Set();
    members.add(channel);
    topics.set(channel.tenantTopic, members);
    scheduleTokenCheck(channel);
    reply("ok", { postgres_changes: postgresChanges });

    if (channel.presenceEnabled && canReadPresence(channel)) {
      push(channel, "presence_state", presence.state(channel.tenantTopic));
    }
    if (config.replay) await replay(channel, config.replay);
    if (config.postgresChanges.length) {
      const problem = subscriptionError ?? (await checkSubscriptions(channel.subscriptions));
      if (channel.closed) return;
      if (problem) {
        channel.subscriptions = [];
        systemMessage(channel, "postgres_changes", "error", problem);
      } else {
        changeChannels.add(channel);
        await wal.tablesRead(); // what commits from here on reaches the channel
        if (channel.closed) return;
        systemMessage(channel, "postgres_changes", "ok", "Subscribed to PostgreSQL");
      }
    }
  }

  /** Hosted's replay of a private channel: its broadcasts since `since` (ms), at most `limit`. */
  async function replay(channel, params) {
    const since = Number(params?.since ?? 0);
    const limit = Math.min(25, Math.max(1, Number(params?.limit ?? 25)));
    try {
      const { rows } = await pool.query(
        `select id, event, payload from realtime.messages
          where topic = $1 and extension = 'broadcast' and private is true
            and inserted_at >= (to_timestamp($2::double precision / 1000) at time zone 'utc')
            and inserted_at > now() - interval '3 days'
          order by inserted_at desc limit $3`,
        [channel.subTopic, since, limit],
      );
      for (const row of rows.reverse()) {
        push(channel, "broadcast", {
          type: "broadcast",
          event: row.event,
          payload: row.payload,
          meta: { replayed: true, id: row.id },
        });
      }
    } catch (error) {
      log(`replaying ${channel.subTopic}: ${error.message}`);
    }
  }

  /** Null when every subscription names an existing table and filter column, else the problem. */
  async function checkSubscriptions(subscriptions) {
    try {
      for (const sub of subscriptions) {
        if (sub.table === "*") continue;
        const { rows } = await pool.query(
          `select a.attname from pg_catalog.pg_attribute a
            where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped`,
          [`${quoteIdent(sub.schema)}.${quoteIdent(sub.table)}`],
        );
        if (rows.length === 0) {
          return "Unable to subscribe to changes with given parameters. Please check Realtime is enabled for the " +
            `given connect parameters: [event: ${sub.event}, schema: ${sub.schema}, table: ${sub.table}]`;
        }
        if (sub.filter && !rows.some((r) => r.attname === sub.filter.column)) {
          return `invalid column for filter ${sub.filter.column}`;
        }
      }
      return null;
    } catch (error) {
      return `Unable to subscribe to changes: ${error.message}`;
    }
  }

  async function broadcast(conn, channel, frame) {
    if (channel.private) {
      if (channel.policies.broadcast.write === null) {
        try {
          await authoriseWrite(channel);
        } catch (error) {
          log(`authorising a broadcast on ${channel.subTopic}: ${error.message}`);
          return;
        }
      }
      // Refused: dropped without a reply, as hosted does (an `ack` then times out on the client).
      if (channel.policies.broadcast.write !== true || channel.closed) return;
    }
    const except = channel.self ? null : channel;
    if (frame.userBroadcast) {
      deliverUserBroadcast(channel.tenantTopic, frame.userBroadcast, except);
    } else {
      deliverJsonBroadcast(channel.tenantTopic, frame.payload, except);
    }
    if (channel.ack) send(conn, encodeReply(conn.vsn, frame, "ok", {}));
  }

  async function presenceEvent(conn, channel, frame) {
    const reply = (status, response = {}) => send(conn, encodeReply(conn.vsn, frame, status, response));
    const event = String(frame.payload.event ?? "").toLowerCase();
    if (event === "untrack") {
      const diff = presence.untrack(channel.tenantTopic, channel.presenceKey, channel.id);
      if (diff) deliverPresenceDiff(channel.tenantTopic, diff);
      return reply("ok");
    }
    if (event !== "track") return reply("error");
    if (channel.private) {
      try {
        if (channel.policies.presence.read === null) {
          const context = authorizationContext(channel.subTopic, channel.claims, conn.headers);
          channel.policies.presence.read = (await readPolicies(pool, context, { presence: true })).presence;
        }
        if (channel.policies.presence.write === null) await authoriseWrite(channel);
      } catch (error) {
        log(`authorising presence on ${channel.subTopic}: ${error.message}`);
        return reply("error");
      }
      if (channel.policies.presence.write !== true) return reply("error");
    }
    const payload = frame.payload.payload ?? {};
    if (typeof payload !== "object" || Array.isArray(payload)) {
      return reply("error", { reason: "Presence track payload must be a map" });
    }
    if (channel.closed) return;
    channel.presenceEnabled = true;
    const diff = presence.track(channel.tenantTopic, channel.presenceKey, channel.id, payload);
    deliverPresenceDiff(channel.tenantTopic, diff);
    reply("ok");
  }

  /** An `access_token` message: re-verify, re-authorise, end the channel when it may no longer read. */
  async function accessToken(conn, channel, frame) {
    const token = frame.payload.access_token;
    if (typeof token !== "string" || token.startsWith("sb_") || token === channel.accessToken) return;
    const checked = await checkAccessToken(keys, token);
    if (channel.closed) return;
    if (checked.error) return shutdown(channel, checked.error.message);
    const previous = channel.policies;
    channel.accessToken = token;
    channel.claims = checked.claims;
    if (channel.private) {
      let canRead;
      try {
        canRead = await authoriseRead(channel);
      } catch (error) {
        log(`re-authorising ${channel.subTopic}: ${error.message}`);
        return shutdown(channel, messages.databaseUnavailable);
      }
      if (channel.closed) return;
      if (!canRead) return shutdown(channel, messages.cannotRead(channel.subTopic));
      const revoked = (before, now) => before === true && now === false;
      if (
        revoked(previous.broadcast.read, channel.policies.broadcast.read) ||
        revoked(previous.presence.read, channel.policies.presence.read)
      ) {
        return shutdown(channel, messages.noLongerRead(channel.subTopic));
      }
    }
    scheduleTokenCheck(channel);
  }

  async function handleFrame(conn, frame) {
    if (frame.topic === "phoenix") {
      if (frame.event === "heartbeat") send(conn, encodeReply(conn.vsn, frame, "ok", {}));
      return;
    }
    if (frame.event === "phx_join") return join(conn, frame);
    const channel = conn.channels.get(frame.topic);
    if (!channel || (frame.joinRef && frame.joinRef !== channel.joinRef)) {
      if (frame.event !== "phx_leave" && frame.event !== "access_token") {
        send(conn, encodeReply(conn.vsn, frame, "error", { reason: messages.unmatchedTopic }));
      }
      return;
    }
    switch (frame.event) {
      case "phx_leave":
        send(conn, encodeReply(conn.vsn, frame, "ok", {}));
        return removeChannel(channel);
      case "broadcast":
        return broadcast(conn, channel, frame);
      case "presence":
        return presenceEvent(conn, channel, frame);
      case "access_token":
        return accessToken(conn, channel, frame);
      default:
        return; // hosted ignores other events
    }
  }

  // ---- broadcast from the database and postgres_changes (the WAL) -----------------------------

  const columnsCache = new Map(); // `${role}|${schema}.${table}` → {columns, at}

  /** Whether each subscriber group (role + claims) may see the change, and which columns. */
  async function visibleTo(claims, change) {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query("begin read only");
      await client.query(
        `select set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
                set_config('request.jwt.claim.sub', $3, true), set_config('request.jwt.claim.role', $1, true)`,
        [claims.role ?? "anon", JSON.stringify(claims), claims.sub ?? ""],
      );
      const table = `${quoteIdent(change.schema)}.${quoteIdent(change.table)}`;
      const cacheKey = `${claims.role}|${table}`;
      let columns = columnsCache.get(cacheKey);
      if (!columns || Date.now() - columns.at > 2000) {
        const { rows } = await client.query(
          `select coalesce(jsonb_agg(jsonb_build_object('name', a.attname, 'type', t.typname) order by a.attnum), '[]')
             as columns
             from pg_catalog.pg_attribute a join pg_catalog.pg_type t on t.oid = a.atttypid
            where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped
              and pg_catalog.has_column_privilege(a.attrelid, a.attnum, 'SELECT')`,
          [table],
        );
        columns = { columns: rows[0].columns, at: Date.now() };
        columnsCache.set(cacheKey, columns);
      }
      if (columns.columns.length === 0) return null;
      if (change.type === "DELETE") return columns.columns; // RLS is not applied to deletes, as hosted
      if (change.pk.length === 0) return null;
      const where = change.pk.map((c, i) => `${quoteIdent(c.name)} = $${i + 1}::text::${c.type}`).join(" and ");
      const asText = (v) => (v === null ? null : typeof v === "object" ? JSON.stringify(v) : String(v));
      const values = change.pkValues.map(asText);
      const { rows } = await client.query(`select exists (select 1 from ${table} where ${where}) as visible`, values);
      return rows[0].visible ? columns.columns : null;
    } catch (error) {
      broken = error.code === undefined;
      if (!broken) log(`checking ${change.schema}.${change.table} for ${claims.role}: ${error.message}`);
      return null;
    } finally {
      await client.query("rollback").catch(() => {
        broken = true;
      });
      client.release(broken);
    }
  }

  async function deliverChange(raw) {
    const change = walChange(raw);
    if (!change) return;
    const targets = [];
    for (const channel of changeChannels) {
      const ids = channel.subscriptions.filter((sub) => matchesSubscription(sub, change)).map((sub) => sub.id);
      if (ids.length) targets.push({ channel, ids });
    }
    if (targets.length === 0) return;
    const groups = new Map(); // the same claims see the same thing: one check per group
    for (const target of targets) {
      const key = JSON.stringify(target.channel.claims);
      if (!groups.has(key)) groups.set(key, { claims: target.channel.claims, targets: [] });
      groups.get(key).targets.push(target);
    }
    await Promise.all([...groups.values()].map(async (group) => {
      const columns = await visibleTo(group.claims, change);
      if (!columns) return;
      const data = changePayload(change, columns);
      for (const { channel, ids } of group.targets) {
        if (!channel.closed) push(channel, "postgres_changes", { ids, data });
      }
    }));
  }

  async function onChanges(changes) {
    for (const raw of changes) {
      if (raw.schema === "realtime") {
        if (raw.action !== "I" || !raw.table.startsWith("messages")) continue;
        const row = Object.fromEntries(raw.columns.map((c) => [c.name, c.value]));
        if (row.extension !== "broadcast" || !row.topic) continue;
        const encoding = row.binary_payload !== null && row.binary_payload !== undefined ? "binary" : "json";
        const payload = encoding === "binary"
          ? Buffer.from(String(row.binary_payload).replace(/^\\x/, ""), "hex")
          : Buffer.from(row.payload ?? "{}");
        deliverUserBroadcast(`${row.private ? "private" : "public"}:${row.topic}`, {
          event: row.event ?? "",
          encoding,
          payload,
          metadata: { id: row.id },
        });
        continue;
      }
      if (changeChannels.size) await deliverChange(raw);
    }
  }

  // ---- sockets --------------------------------------------------------------------------------

  const wss = new WebSocketServer({ noServer: true, maxPayload: 3 * 1024 * 1024 });

  function onConnection(ws, { vsn, apikey, keyClaims, headers }) {
    const conn = { ws, vsn, apikey, keyClaims, headers, channels: new Map(), lastSeen: Date.now(), closed: false };
    sockets.add(conn);
    let queue = Promise.resolve(); // a socket's frames are handled in order, as a channel process would
    ws.on("message", (data, isBinary) => {
      conn.lastSeen = Date.now();
      let frame;
      try {
        frame = decodeFrame(vsn, data, isBinary);
      } catch (error) {
        log(`bad frame: ${error.message}`);
        return;
      }
      queue = queue
        .then(() => handleFrame(conn, frame))
        .catch((error) => log(`handling ${frame.event}: ${error.stack}`));
    });
    ws.on("close", () => {
      conn.closed = true;
      sockets.delete(conn);
      for (const channel of [...conn.channels.values()]) removeChannel(channel);
    });
    ws.on("error", () => {});
  }

  // /health is 200 once the WAL slot exists (nothing committed after that is missed), else 503.
  let walReady = false;
  const server = createServer((req, res) => {
    const [status, body] = req.url !== "/health"
      ? [404, { message: "no Route matched with those values" }]
      : walReady ? [200, { status: "ok" }] : [503, { status: "starting" }];
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  });

  server.on("upgrade", (req, socket, head) => {
    const refuse = (status, message) => {
      const body = JSON.stringify({ message });
      socket.end(
        `HTTP/1.1 ${status} ${status === 401 ? "Unauthorized" : "Bad Request"}\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    };
    const url = new URL(req.url ?? "/", "http://realtime");
    if (!/^(\/realtime\/v1)?\/websocket\/?$/.test(url.pathname)) {
      return refuse(400, "no Route matched with those values");
    }
    const vsn = socketVsn(url.searchParams);
    if (!vsn) return refuse(400, `unsupported vsn ${url.searchParams.get("vsn")}`);
    const apikey = url.searchParams.get("apikey") || req.headers.apikey || null;
    apiKeyClaims(keys, apikey).then((keyClaims) => {
      if (!keyClaims) return refuse(401, "Invalid API key");
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name.startsWith("x-")));
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, { vsn, apikey, keyClaims, headers }));
    }, () => refuse(401, "Invalid API key"));
  });

  const idleTimer = setInterval(() => {
    for (const conn of sockets) if (Date.now() - conn.lastSeen > IDLE_TIMEOUT_MS) conn.ws.terminate();
  }, 15_000);
  idleTimer.unref();

  const prune = () => pool.query(RETENTION_SQL).catch((error) => log(`pruning realtime.messages: ${error.message}`));
  const pruneTimer = setInterval(prune, PRUNE_EVERY_MS);
  pruneTimer.unref();
  void prune();

  const wal = startWalReader({ dbUrl, onChanges, wantsTables: () => changeChannels.size > 0, log, intervalMs: pollMs });
  void wal.ready.then(() => (walReady = true));

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });

  return {
    server,
    port: server.address().port,
    walReady: wal.ready,
    async stop() {
      clearInterval(idleTimer);
      clearInterval(pruneTimer);
      for (const conn of sockets) conn.ws.terminate();
      await new Promise((resolve) => server.close(() => resolve()));
      await wal.stop();
      await pool.end().catch(() => {});
    },
  };
}
