// The local Realtime server with the real client (supabase-js / realtime-js), in both protocol
// versions it speaks (vsn 1.0.0 JSON objects, 2.0.0 arrays and binary broadcasts): broadcast,
// presence, private channels authorised by RLS policies on realtime.messages (at join and on
// access_token), broadcast from the database and postgres_changes with RLS per subscriber.
// Private channels use test-only policies on `test:` topics, created here and dropped afterwards.
import { randomUUID } from "node:crypto";
import { request } from "node:http";
import type { RealtimeChannel } from "@supabase/supabase-js";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { accessToken, closeDb, db, stack } from "../support/stack.ts";
import { closeClients, realtimeClient, refused, sleep, subscribed, until, type Vsn } from "./support.ts";

const ALICE = "11111111-1111-4111-8111-111111111111";
const BRIAN = "22222222-2222-4222-8222-222222222222";
const ALICE_CHAT = "c0000000-0000-4000-8000-000000000001";
const BRIAN_CHAT = "c0000000-0000-4000-8000-000000000002";
const run = randomUUID().slice(0, 8);

// test:<run>:<user id>[:open]: the user reads and writes; on ":open" topics anyone signed in may
// also read presence (so that swapping users revokes broadcast reads only).
const POLICIES = `
  create policy "realtime tests: owners read test topics" on realtime.messages for select to authenticated
    using ((select realtime.topic()) like 'test:%' and (
      split_part((select realtime.topic()), ':', 3) = (select auth.uid())::text
      or (extension = 'presence' and split_part((select realtime.topic()), ':', 4) = 'open')));
  create policy "realtime tests: owners write test topics" on realtime.messages for insert to authenticated
    with check ((select realtime.topic()) like 'test:%'
      and split_part((select realtime.topic()), ':', 3) = (select auth.uid())::text);`;

beforeAll(async () => {
  await db().query(`
    drop policy if exists "realtime tests: owners read test topics" on realtime.messages;
    drop policy if exists "realtime tests: owners write test topics" on realtime.messages;
    ${POLICIES}`);
});

afterEach(async () => {
  await closeClients();
});

afterAll(async () => {
  await db().query(`
    drop policy if exists "realtime tests: owners read test topics" on realtime.messages;
    drop policy if exists "realtime tests: owners write test topics" on realtime.messages;`);
  await closeDb();
});

type Received = { event: string; payload: Record<string, unknown> };

function collectBroadcasts(channel: RealtimeChannel): Received[] {
  const received: Received[] = [];
  channel.on("broadcast", { event: "*" }, (message) => received.push(message as unknown as Received));
  return received;
}

describe.each(["1.0.0", "2.0.0"] as Vsn[])("Realtime over vsn %s", (vsn) => {
  test("a public broadcast reaches the other client, not the sender unless self is on, and is acknowledged", async () => {
    const topic = `room-${randomUUID()}`;
    const sender = realtimeClient(vsn).channel(topic, { config: { broadcast: { ack: true } } });
    const selfish = realtimeClient(vsn).channel(topic, { config: { broadcast: { self: true } } });
    const listener = realtimeClient(vsn).channel(topic);
    const atSender = collectBroadcasts(sender);
    const atSelfish = collectBroadcasts(selfish);
    const atListener = collectBroadcasts(listener);
    await Promise.all([subscribed(sender), subscribed(selfish), subscribed(listener)]);

    expect(await sender.send({ type: "broadcast", event: "hello", payload: { n: 1 } })).toBe("ok");
    await selfish.send({ type: "broadcast", event: "echo", payload: { n: 2 } });

    await until(() => atListener.length === 2, "both broadcasts at the listener");
    expect(atListener.map((m) => [m.event, m.payload])).toEqual([["hello", { n: 1 }], ["echo", { n: 2 }]]);
    await until(() => atSelfish.length === 2, "the self broadcast back at its sender");
    expect(atSelfish.map((m) => m.event)).toEqual(["hello", "echo"]);
    await sleep(200);
    expect(atSender.map((m) => m.event)).toEqual(["echo"]); // not its own "hello"
  });

  test("presence: the state on join, a diff on track and on leave, under the configured key", async () => {
    const topic = `lobby-${randomUUID()}`;
    const first = realtimeClient(vsn).channel(topic, { config: { presence: { key: "first" } } });
    const syncs: number[] = [];
    const leaves: string[] = [];
    first.on("presence", { event: "sync" }, () => syncs.push(Date.now()));
    first.on("presence", { event: "leave" }, ({ key }) => leaves.push(key));
    await subscribed(first);
    expect(await first.track({ status: "online" })).toBe("ok");
    await until(() => first.presenceState().first, "first's own presence");

    const second = realtimeClient(vsn).channel(topic, { config: { presence: { key: "second" } } });
    second.on("presence", { event: "sync" }, () => {});
    await subscribed(second);
    // The joiner gets the state as it is: first, already tracked.
    await until(() => second.presenceState().first, "presence_state with first at the joiner");
    expect(second.presenceState().first[0]).toMatchObject({ status: "online" });
    expect(await second.track({ status: "typing" })).toBe("ok");
    await until(() => first.presenceState().second, "the diff with second at first");
    expect(first.presenceState().second[0]).toMatchObject({ status: "typing" });

    await second.unsubscribe();
    await until(() => leaves.includes("second"), "second's leave at first");
    expect(Object.keys(first.presenceState())).toEqual(["first"]);
    expect(syncs.length).toBeGreaterThan(0);
  });

  test("a private channel is joined by the user its policy lets read, refused to another with hosted's error", async () => {
    const topic = `test:${run}:${ALICE}`;
    await subscribed(realtimeClient(vsn, ALICE).channel(topic, { config: { private: true } }));

    const error = await refused(realtimeClient(vsn, BRIAN).channel(topic, { config: { private: true } }));
    expect(error).toBe(`Unauthorized: You do not have permissions to read from this Channel topic: ${topic}`);
  });

  test("an anonymous client (publishable key, no user) is refused a private channel", async () => {
    const topic = `test:${run}:${ALICE}`;
    const error = await refused(realtimeClient(vsn).channel(topic, { config: { private: true } }));
    expect(error).toContain(`You do not have permissions to read from this Channel topic: ${topic}`);
  });

  test("an expired token is refused at join with hosted's message", async () => {
    const expired = accessToken(ALICE, { exp: Math.floor(Date.now() / 1000) - 30 });
    const channel = realtimeClient(vsn, undefined, expired).channel(`test:${run}:${ALICE}`, { config: { private: true } });
    expect(await refused(channel)).toMatch(/^InvalidJWTToken: Token has expired \d+ seconds ago$/);
  });

  test("a private broadcast needs the write policy: the owner's arrives, a refused sender's is dropped", async () => {
    const topic = `test:${run}:${ALICE}:open`;
    const alice = realtimeClient(vsn, ALICE).channel(topic, { config: { private: true, broadcast: { self: true } } });
    const atAlice = collectBroadcasts(alice);
    await subscribed(alice);
    // Brian may join (presence is open) but not write.
    const brian = realtimeClient(vsn, BRIAN).channel(topic, { config: { private: true } });
    brian.on("presence", { event: "sync" }, () => {});
    await subscribed(brian);

    await brian.send({ type: "broadcast", event: "from-brian", payload: {} });
    await alice.send({ type: "broadcast", event: "from-alice", payload: {} });
    await until(() => atAlice.some((m) => m.event === "from-alice"), "alice's own broadcast");
    await sleep(200);
    expect(atAlice.map((m) => m.event)).toEqual(["from-alice"]);
  });

  test("access_token re-authorises: a user whose token no longer reads the topic gets hosted's system error and a close", async () => {
    const topic = `test:${run}:${ALICE}:open`;
    const client = realtimeClient(vsn, ALICE);
    const channel = client.channel(topic, { config: { private: true } });
    const system: Record<string, unknown>[] = [];
    let closed = false;
    channel.on("presence", { event: "sync" }, () => {});
    channel.on("system", {}, (payload) => system.push(payload));
    channel.subscribe((status) => {
      if (status === "CLOSED") closed = true;
    });
    await until(() => channel.state === "joined", "the join");

    // Brian's token still reads presence on ":open" topics but no longer its broadcasts.
    await client.realtime.setAuth(accessToken(BRIAN));
    await until(() => closed, "the channel's close");
    expect(system).toContainEqual({
      extension: "system",
      status: "error",
      message: `You no longer have permission to read from this Channel topic: ${topic}`,
      channel: topic,
    });
  });

  test("access_token that reads nothing at all ends the channel with hosted's read refusal", async () => {
    const topic = `test:${run}:${ALICE}`;
    const client = realtimeClient(vsn, ALICE);
    const channel = client.channel(topic, { config: { private: true } });
    const system: Record<string, unknown>[] = [];
    channel.on("system", {}, (payload) => system.push(payload));
    await subscribed(channel);
    await client.realtime.setAuth(accessToken(BRIAN));
    await until(() => system.length, "the system message");
    expect(system[0]).toMatchObject({
      status: "error",
      message: `You do not have permissions to read from this Channel topic: ${topic}`,
    });
    await until(() => channel.state === "closed", "the close");
  });

  test("a token expiring while joined ends the channel (system error, then close)", async () => {
    const short = accessToken(ALICE, { exp: Math.floor(Date.now() / 1000) + 2 });
    const channel = realtimeClient(vsn, undefined, short).channel(`test:${run}:${ALICE}`, { config: { private: true } });
    const system: Record<string, unknown>[] = [];
    channel.on("system", {}, (payload) => system.push(payload));
    await subscribed(channel);
    await until(() => system.length, "the expiry's system message", 6000);
    expect(system[0]).toMatchObject({ extension: "system", status: "error" });
    expect(String(system[0].message)).toMatch(/^Token has expired \d+ seconds ago$/);
    await until(() => channel.state === "closed", "the close");
  });

  test("realtime.send from the database reaches the authorised private subscriber only, with meta.id", async () => {
    const topic = `test:${run}:${ALICE}:db-${randomUUID()}`;
    const alice = realtimeClient(vsn, ALICE).channel(topic, { config: { private: true } });
    const publicListener = realtimeClient(vsn, BRIAN).channel(topic); // same name, public: another channel
    const atAlice = collectBroadcasts(alice);
    const atPublic = collectBroadcasts(publicListener);
    await Promise.all([subscribed(alice), subscribed(publicListener)]);

    await db().query("select realtime.send($1::jsonb, 'note', $2, true)", [JSON.stringify({ text: "private" }), topic]);
    await db().query("select realtime.send($1::jsonb, 'note', $2, false)", [JSON.stringify({ text: "public" }), topic]);

    await until(() => atAlice.length && atPublic.length, "both database broadcasts");
    await sleep(200);
    expect(atAlice).toHaveLength(1);
    expect(atAlice[0]).toMatchObject({ type: "broadcast", event: "note", payload: { text: "private" } });
    const { rows } = await db().query(
      "select id from realtime.messages where topic = $1 and private and payload->>'text' = 'private'",
      [topic],
    );
    expect(rows).toHaveLength(1);
    expect((atAlice[0] as unknown as { meta: { id: string } }).meta.id).toBe(rows[0].id);
    expect(atPublic).toHaveLength(1);
    expect(atPublic[0].payload).toMatchObject({ text: "public" });
  });

  test("postgres_changes delivers a new message only to subscribers whose RLS lets them read it, filtered by eq", async () => {
    type Change = { eventType: string; new: Record<string, unknown>; table: string; commit_timestamp: string };
    const atAlice: Change[] = [];
    const atBrian: Change[] = [];
    const atAliceFiltered: Change[] = [];
    const system: Record<string, unknown>[] = [];
    const alice = realtimeClient(vsn, ALICE).channel(`pg-${randomUUID()}`)
      .on("postgres_changes", { event: "INSERT", schema: "public", table: "messages" }, (c) => atAlice.push(c as Change))
      .on("system", {}, (payload) => system.push(payload));
    const aliceFiltered = realtimeClient(vsn, ALICE).channel(`pg-${randomUUID()}`)
      .on(
        "postgres_changes",
        { event: "*", schema: "public", table: "messages", filter: `chat_id=eq.${BRIAN_CHAT}` },
        (c) => atAliceFiltered.push(c as Change),
      );
    const brian = realtimeClient(vsn, BRIAN).channel(`pg-${randomUUID()}`)
      .on("postgres_changes", { event: "INSERT", schema: "public", table: "messages" }, (c) => atBrian.push(c as Change));
    await Promise.all([subscribed(alice), subscribed(aliceFiltered), subscribed(brian)]);
    await until(() => system.length, "the postgres_changes system message");
    expect(system[0]).toMatchObject({ extension: "postgres_changes", status: "ok", message: "Subscribed to PostgreSQL" });

    const content = `rt ${randomUUID()}`;
    const { rows } = await db().query(
      "insert into public.messages (chat_id, sender_type, content) values ($1, 'fictional', $2) returning id",
      [ALICE_CHAT, content],
    );
    const brianContent = `rt brian ${randomUUID()}`;
    await db().query(
      "insert into public.messages (chat_id, sender_type, content) values ($1, 'fictional', $2)",
      [BRIAN_CHAT, brianContent],
    );

    await until(() => atAlice.find((c) => c.new.content === content), "alice's message at alice");
    await until(() => atBrian.find((c) => c.new.content === brianContent), "brian's message at brian");
    await sleep(300);
    const mine = atAlice.find((c) => c.new.content === content)!;
    expect(mine).toMatchObject({ eventType: "INSERT", table: "messages", new: { id: rows[0].id, chat_id: ALICE_CHAT } });
    expect(Number.isNaN(Date.parse(mine.commit_timestamp))).toBe(false);
    expect(atAlice.some((c) => c.new.content === brianContent)).toBe(false); // RLS: not alice's chat
    expect(atBrian.some((c) => c.new.content === content)).toBe(false);
    expect(atAliceFiltered).toEqual([]); // filtered to brian's chat, which alice may not read either
  });
});

describe("the websocket endpoint", () => {
  /** The gateway's answer to a websocket upgrade: its status and JSON body (or 101). */
  function upgrade(query: string): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const req = request(`${stack.apiUrl}/realtime/v1/websocket?vsn=2.0.0${query}`, {
        headers: {
          connection: "Upgrade",
          upgrade: "websocket",
          "sec-websocket-version": "13",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
      });
      req.on("upgrade", (res, socket) => {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, body: null });
      });
      req.on("response", async (res) => {
        let text = "";
        for await (const chunk of res) text += chunk;
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
      });
      req.on("error", reject);
      req.end();
    });
  }

  test("no key or an unknown key is refused before the upgrade with hosted's 401; a known key upgrades", async () => {
    expect(await upgrade("")).toEqual({
      status: 401,
      body: expect.objectContaining({ message: "No API key found in request" }),
    });
    expect(await upgrade("&apikey=sb_publishable_nope")).toEqual({
      status: 401,
      body: expect.objectContaining({ message: "Invalid API key" }),
    });
    expect((await upgrade(`&apikey=${stack.publishableKey}`)).status).toBe(101);
  });
});
