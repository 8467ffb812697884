// The app's Realtime topics (docs/realtime.md, 009_realtime.sql) end to end with the real client:
// supabase-js channels through the gateway, `config: { private: true }`, on both protocol versions.
// Each test asserts what arrived and what did not (a quiet window after a positive control has
// arrived), and that every database broadcast it asserts was written to realtime.messages.
//
// The assignment queue is global: the test's chats are queued far in the past so that assign-chat
// takes them, and every chat the test made is deleted after each test.
import { randomUUID } from "node:crypto";
import type { RealtimeChannel, SupabaseClient } from "@supabase/supabase-js";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { deliver, fakePaystack, invokeAs } from "../support/paystack.ts";
import { accessToken, anonClient, closeDb, db, stack, userClient } from "../support/stack.ts";
import {
  closeClients,
  realtimeClient,
  recordFrames,
  refused,
  serialise,
  sleep,
  subscribed,
  until,
  type Vsn,
} from "./support.ts";

const QUIET_MS = 400; // how long "nothing else arrived" is watched, after a positive control arrived
const QUEUED_AT = "1971-01-01T00:00:00Z"; // older than anything else waiting: assign-chat takes it

const run = randomUUID().slice(0, 8);
const realUser = randomUUID();
const otherUser = randomUUID();
const holder = randomUUID(); // the operator that takes the test's chats
const otherOperator = randomUUID(); // active, holds nothing
const inactiveOperator = randomUUID(); // deactivated by an admin
const admin = randomUUID();
const users = [realUser, otherUser, holder, otherOperator, inactiveOperator, admin];
const holderName = `Holder ${run}`;
const holderEmail = `holder-${run}@fantooo.local`;
const profiles: string[] = [];
let popularPackage: { id: string; credits: number; bonus_credits: number };

const refusal = (topic: string) => `Unauthorized: You do not have permissions to read from this Channel topic: ${topic}`;

type Received = { type: string; event: string; payload: Record<string, any>; meta?: { id: string } };

/** Every broadcast the channel receives, in order. */
function listen(channel: RealtimeChannel): Received[] {
  const received: Received[] = [];
  channel.on("broadcast", { event: "*" }, (message) => received.push(message as unknown as Received));
  return received;
}

const ofEvent = (received: Received[], event: string) => received.filter((m) => m.event === event);

/** A private channel of the app's topics, listened to; resolves once joined. */
async function joined(client: SupabaseClient, topic: string): Promise<{ channel: RealtimeChannel; received: Received[] }> {
  const channel = client.channel(topic, { config: { private: true } });
  const received = listen(channel);
  await subscribed(channel);
  return { channel, received };
}

/** The join's refusal message (the channel is removed afterwards, so supabase-js stops rejoining). */
async function refusedJoin(client: SupabaseClient, topic: string): Promise<string> {
  const channel = client.channel(topic, { config: { private: true } });
  const message = await refused(channel);
  await client.removeChannel(channel);
  return message;
}

/**
 * Every database broadcast received (those with meta.id) is a row of realtime.messages with the
 * same topic, event and payload, private, extension broadcast.
 */
async function expectWritten(topic: string, received: Received[]): Promise<void> {
  const fromDb = received.filter((m) => m.meta?.id);
  expect(fromDb.length).toBeGreaterThan(0);
  const { rows } = await db().query(
    "select id, topic, event, payload, private, extension from realtime.messages where id = any($1::uuid[])",
    [fromDb.map((m) => m.meta!.id)],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const message of fromDb) {
    expect(byId.get(message.meta!.id)).toEqual({
      id: message.meta!.id,
      topic,
      event: message.event,
      payload: message.payload,
      private: true,
      extension: "broadcast",
    });
  }
}

/** A new idle chat of the real user with a profile of its own. */
async function newChat(): Promise<string> {
  const { rows: [profile] } = await db().query(
    "insert into public.fictional_users (name, age, gender, bio) values ($1, 29, 'female', 'a profile') returning id",
    [`Topics ${run} ${profiles.length}`],
  );
  profiles.push(profile.id);
  const { rows: [chat] } = await db().query(
    "insert into public.chats (real_user_id, fictional_user_id) values ($1, $2) returning id",
    [realUser, profile.id],
  );
  return chat.id;
}

/** Sends a message as a signed-in user through the Data API (send_message), as the apps do. */
async function write(userId: string, chatId: string, content: string): Promise<Record<string, any>> {
  const { data, error } = await userClient(userId).rpc("send_message", { p_chat_id: chatId, p_content: content });
  expect(error).toBeNull();
  return data;
}

/** The real user writes in the chat, which is then first in the queue. */
async function queue(chatId: string, content = `hello ${randomUUID()}`): Promise<Record<string, any>> {
  const message = await write(realUser, chatId, content);
  await db().query("update public.chats set queued_at = $2 where id = $1", [chatId, QUEUED_AT]);
  return message;
}

/** The holder takes the oldest waiting chat over HTTP: it must be this one. */
async function assign(chatId: string): Promise<void> {
  const { status, body } = await invokeAs(holder, "assign-chat");
  expect(status).toBe(200);
  expect(body.chat?.id).toBe(chatId);
}

async function release(chatId: string, reason: "completed" | "operator_offline"): Promise<void> {
  const { status, body } = await invokeAs(holder, "assign-chat/release", { chat_id: chatId, reason });
  expect(status).toBe(200);
  expect(body).toEqual({ released: true, chat_id: chatId });
}

const waitingCount = async () =>
  Number((await db().query("select count(*) from public.chats where status = 'waiting'")).rows[0].count);

/** Fails when `text` names the holder: its id, name or email. */
function expectNoOperator(text: string): void {
  for (const secret of [holder, holderName, holderEmail]) expect(text).not.toContain(secret);
}

beforeAll(async () => {
  for (const id of users) {
    const email = id === holder ? holderEmail : `topics-${id}@example.com`;
    await db().query("insert into auth.users (id, email, aud, role) values ($1, $2, 'authenticated', 'authenticated')", [id, email]);
  }
  await db().query(
    `insert into public.real_users (id, display_name, age, gender, looking_for, credits)
     values ($1, 'Topics Tester', 30, 'male', 'female', 100), ($2, 'Other Tester', 31, 'female', 'male', 100)`,
    [realUser, otherUser],
  );
  await db().query(
    `insert into public.operators (id, name, status, max_concurrent_chats, is_active)
     values ($1, $2, 'available', 5, true), ($3, $4, 'available', 5, true), ($5, $6, 'available', 5, false)`,
    [holder, holderName, otherOperator, `Other ${run}`, inactiveOperator, `Inactive ${run}`],
  );
  await db().query("insert into public.admins (id, name) values ($1, $2)", [admin, `Admin ${run}`]);
  const { data, error } = await anonClient().from("credit_packages").select("id, name, credits, bonus_credits");
  expect(error).toBeNull();
  popularPackage = data!.find((p) => p.name === "Popular");
});

afterEach(async () => {
  await closeClients();
  // Nothing of this test stays in the shared queue.
  await db().query("delete from public.chats where real_user_id = $1", [realUser]);
});

afterAll(async () => {
  await db().query("delete from public.chats where real_user_id = any($1)", [[realUser, otherUser]]);
  await db().query("delete from public.fictional_users where id = any($1)", [profiles]);
  await db().query(
    "delete from public.paystack_events where transaction_id in (select id from public.transactions where real_user_id = any($1))",
    [users],
  );
  await db().query("delete from public.transactions where real_user_id = any($1)", [users]);
  await db().query("delete from auth.users where id = any($1)", [users]);
  await closeDb();
});

describe.each(["1.0.0", "2.0.0"] as Vsn[])("the app's topics over vsn %s", (vsn) => {
  test("chat:<id>: the real user hears the operator's reply (the row's fields, no operator) and every status change", async () => {
    const chatId = await newChat();
    const userSide = realtimeClient(vsn, realUser);
    const frames = recordFrames(userSide);
    const { received } = await joined(userSide, `chat:${chatId}`);

    const asked = await queue(chatId);
    await assign(chatId);
    const reply = await write(holder, chatId, `reply ${randomUUID()}`);
    await release(chatId, "completed");

    await until(() => ofEvent(received, "chat_status").length === 3, "three chat_status events");
    await until(() => ofEvent(received, "message_created").length === 2, "both messages");
    await sleep(QUIET_MS);

    const { rows: [row] } = await db().query(
      "select id, chat_id, sender_type, content, credits_charged, created_at from public.messages where id = $1",
      [reply.id],
    );
    const [question, answer] = ofEvent(received, "message_created").map((m) => m.payload);
    expect(question).toMatchObject({ id: asked.id, sender_type: "real", content: asked.content });
    // Exactly the row's fields as its reader reads it: no operator field.
    expect(Object.keys(answer).sort()).toEqual(["chat_id", "content", "created_at", "credits_charged", "id", "sender_type"]);
    expect({ ...answer, created_at: Date.parse(answer.created_at) }).toEqual({
      ...row,
      created_at: row.created_at.getTime(),
    });
    expect(answer).toMatchObject({ id: reply.id, chat_id: chatId, sender_type: "fictional", credits_charged: 0 });

    const statuses = ofEvent(received, "chat_status").map((m) => m.payload);
    expect(statuses.map((s) => [s.previous_status, s.status])).toEqual([
      ["idle", "waiting"],
      ["waiting", "assigned"],
      ["assigned", "idle"],
    ]);
    expect(statuses[1]).toEqual({
      id: expect.any(String),
      chat_id: chatId,
      status: "assigned",
      previous_status: "waiting",
      queued_at: expect.any(String),
      closed_at: null,
      close_reason: null,
      changed_at: expect.any(String),
    });
    expect(statuses[2].queued_at).toBeNull(); // answered, so released to idle
    // Only the chat's events, nothing else (no assignment events, no flags).
    expect(new Set(received.map((m) => m.event))).toEqual(new Set(["message_created", "chat_status"]));
    expect(serialise(frames)).toContain(reply.content); // the recording did capture what arrived
    expectNoOperator(serialise(frames));
    await expectWritten(`chat:${chatId}`, received);
  });

  test("chat:<id> refuses another real user, an operator not holding the chat and an anonymous client; nothing reaches their sockets", async () => {
    const chatId = await newChat();
    await queue(chatId);
    await assign(chatId);
    const topic = `chat:${chatId}`;

    const user = await joined(realtimeClient(vsn, realUser), topic);
    const held = await joined(realtimeClient(vsn, holder), topic);
    const strangers = { otherUser: realtimeClient(vsn, otherUser), otherOperator: realtimeClient(vsn, otherOperator), anonymous: realtimeClient(vsn) };
    const strangerFrames = Object.values(strangers).map(recordFrames);
    for (const client of Object.values(strangers)) expect(await refusedJoin(client, topic)).toBe(refusal(topic));

    // The other topics refuse whoever is not theirs, with the same reply.
    const cases: Array<[SupabaseClient, string]> = [
      [strangers.otherUser, `user:${realUser}`],
      [strangers.anonymous, `user:${realUser}`],
      [strangers.otherOperator, `operator:${holder}`],
      [realtimeClient(vsn, realUser), `operator:${holder}`],
      [realtimeClient(vsn, realUser), "operators:queue"],
      [realtimeClient(vsn, inactiveOperator), "operators:queue"],
      [strangers.anonymous, "operators:queue"],
      [realtimeClient(vsn, realUser), "admin"],
      [realtimeClient(vsn, holder), "admin"],
      [realtimeClient(vsn, holder), `user:${realUser}`],
    ];
    for (const [client, other] of cases) expect(await refusedJoin(client, other)).toBe(refusal(other));

    const reply = await write(holder, chatId, `secret reply ${randomUUID()}`);
    await until(() => user.received.some((m) => m.payload.id === reply.id), "the reply at the real user");
    await until(() => held.received.some((m) => m.payload.id === reply.id), "the reply at the holder");
    await sleep(QUIET_MS);
    for (const frames of strangerFrames) {
      expect(serialise(frames)).toContain(refusal(topic)); // the recording did capture the refusal
      expect(serialise(frames)).not.toContain(reply.content);
    }
    await expectWritten(topic, user.received);
  });

  test("operator:<id>: the holder hears chat_assigned and joins the chat; released, it hears chat_released with the reason, its next join is refused and a tab still joined ends at its next token", async () => {
    const chatId = await newChat();
    const topic = `chat:${chatId}`;
    const opConsole = realtimeClient(vsn, holder);
    const mine = await joined(opConsole, `operator:${holder}`);
    const other = await joined(realtimeClient(vsn, otherOperator), `operator:${otherOperator}`);

    await queue(chatId);
    await assign(chatId);
    await until(() => ofEvent(mine.received, "chat_assigned").length, "chat_assigned");
    const { rows: [assignment] } = await db().query(
      "select id, assigned_at from public.chat_assignments where chat_id = $1 and operator_id = $2",
      [chatId, holder],
    );
    expect(ofEvent(mine.received, "chat_assigned")[0].payload).toEqual({
      id: expect.any(String),
      chat_id: chatId,
      assignment_id: assignment.id,
      assigned_at: expect.any(String),
    });
    expect(Date.parse(ofEvent(mine.received, "chat_assigned")[0].payload.assigned_at)).toBe(assignment.assigned_at.getTime());

    const chat = await joined(opConsole, topic);
    // A second console tab that stays on the chat's channel through the release.
    const tabClient = realtimeClient(vsn, holder);
    const tab = tabClient.channel(topic, { config: { private: true } });
    const atTab = listen(tab);
    const tabSystem: Record<string, unknown>[] = [];
    tab.on("system", {}, (payload) => tabSystem.push(payload));
    await subscribed(tab);
    // 1.0.0 releases through the function, 2.0.0 through the RPC the function calls.
    const reason = vsn === "1.0.0" ? "completed" : "operator_offline";
    if (vsn === "1.0.0") {
      await release(chatId, "completed");
    } else {
      const { data, error } = await userClient(holder).rpc("release_and_reassign_chat", { p_chat_id: chatId, p_reason: reason });
      expect(error).toBeNull();
      expect(data).toBe(true);
    }
    await until(() => ofEvent(mine.received, "chat_released").length, "chat_released");
    const { rows: [released] } = await db().query("select released_at, release_reason from public.chat_assignments where id = $1", [assignment.id]);
    expect(released.release_reason).toBe(reason);
    expect(ofEvent(mine.received, "chat_released")[0].payload).toEqual({
      id: expect.any(String),
      chat_id: chatId,
      assignment_id: assignment.id,
      reason,
      released_at: expect.any(String),
    });
    expect(Date.parse(ofEvent(mine.received, "chat_released")[0].payload.released_at)).toBe(released.released_at.getTime());

    // The console leaves the chat's channel; its next join is refused.
    await opConsole.removeChannel(chat.channel);
    expect(await refusedJoin(opConsole, topic)).toBe(refusal(topic));

    // A tab that missed chat_released keeps the join's authorisation, as hosted does, until its
    // next token: then hosted's read refusal (no read is left, so not "no longer") and a close.
    const late = await write(realUser, chatId, `after the release ${randomUUID()}`);
    await until(() => atTab.some((m) => m.payload.id === late.id), "the message at the tab joined before the release");
    await tabClient.realtime.setAuth(accessToken(holder));
    await until(() => tabSystem.length, "the system message at the refreshed tab");
    expect(tabSystem[0]).toEqual({ extension: "system", status: "error", message: refusal(topic).replace("Unauthorized: ", ""), channel: topic });
    await until(() => tab.state === "closed", "the tab's channel closing");
    await sleep(QUIET_MS);
    expect(other.received).toEqual([]); // another operator hears nothing of it
    expect(mine.received.map((m) => m.event)).toEqual(["chat_assigned", "chat_released"]);
    await expectWritten(`operator:${holder}`, mine.received);
  });

  test("an admin joins every topic and hears the database on each", async () => {
    const chatId = await newChat();
    const client = realtimeClient(vsn, admin);
    const topics = [`chat:${chatId}`, `user:${realUser}`, `operator:${holder}`, "operators:queue", "admin"];
    const channels = await Promise.all(topics.map((topic) => joined(client, topic)));

    const probe = randomUUID();
    for (const topic of topics) {
      await db().query("select realtime.send($1::jsonb, 'probe', $2, true)", [JSON.stringify({ probe }), topic]);
    }
    for (const [i, { received }] of channels.entries()) {
      await until(() => received.some((m) => m.event === "probe" && m.payload.probe === probe), `the probe on ${topics[i]}`);
      await expectWritten(topics[i], received);
    }
  });

  test("operators:queue: queue_changed carries the waiting count when a chat starts waiting and again when it is assigned", async () => {
    const chatId = await newChat();
    const { received } = await joined(realtimeClient(vsn, holder), "operators:queue");
    const before = await waitingCount();

    await write(realUser, chatId, `waiting ${randomUUID()}`);
    await until(() => ofEvent(received, "queue_changed").length === 1, "queue_changed for the new waiting chat");
    const waitingNow = await waitingCount();
    const { rows: [{ oldest }] } = await db().query("select min(queued_at) as oldest from public.chats where status = 'waiting'");
    const first = ofEvent(received, "queue_changed")[0].payload;
    expect(first).toEqual({
      id: expect.any(String),
      waiting: waitingNow,
      oldest_queued_at: expect.any(String),
      oldest_wait_seconds: expect.any(Number),
      changed_at: expect.any(String),
    });
    expect(waitingNow).toBe(before + 1);
    expect(Date.parse(first.oldest_queued_at)).toBe(oldest.getTime());

    await db().query("update public.chats set queued_at = $2 where id = $1", [chatId, QUEUED_AT]);
    await assign(chatId);
    await until(() => ofEvent(received, "queue_changed").length === 2, "queue_changed for the assignment");
    const second = ofEvent(received, "queue_changed")[1].payload;
    expect(second.waiting).toBe(await waitingCount());
    expect(second.waiting).toBe(first.waiting - 1);

    await sleep(QUIET_MS);
    expect(received.map((m) => m.event)).toEqual(["queue_changed", "queue_changed"]); // one per transaction
    await expectWritten("operators:queue", received);
  });

  test("user:<id>: a purchase credited by a signed webhook arrives as the new balance, to that user only; a client's own broadcast there goes nowhere", async () => {
    const userSide = realtimeClient(vsn, realUser);
    const mine = await joined(userSide, `user:${realUser}`);
    const watcher = await joined(realtimeClient(vsn, admin), `user:${realUser}`);
    const other = await joined(realtimeClient(vsn, otherUser), `user:${otherUser}`);
    const before = (await db().query("select credits from public.real_users where id = $1", [realUser])).rows[0].credits;

    // Nobody sends on user: topics: a forged balance is dropped.
    await mine.channel.send({ type: "broadcast", event: "balance", payload: { credits: 1_000_000, delta: 999_900 } });

    const checkout = await invokeAs(realUser, "credits-checkout", { package_id: popularPackage.id });
    expect(checkout.status).toBe(200);
    const event = await fakePaystack(`/transactions/${checkout.body.reference}/pay`);
    const webhook = await deliver(JSON.stringify(event));
    expect(webhook.body).toEqual({ received: true, outcome: "credited" });

    await until(() => ofEvent(mine.received, "balance").length, "the balance at the user");
    await until(() => ofEvent(watcher.received, "balance").length, "the balance at the admin");
    const after = (await db().query("select credits from public.real_users where id = $1", [realUser])).rows[0].credits;
    const granted = popularPackage.credits + popularPackage.bonus_credits;
    expect(after).toBe(before + granted);
    expect(ofEvent(mine.received, "balance")[0].payload).toEqual({
      id: expect.any(String),
      credits: after,
      delta: granted,
      changed_at: expect.any(String),
    });

    await sleep(QUIET_MS);
    expect(other.received).toEqual([]);
    expect(mine.received.map((m) => m.event)).toEqual(["balance"]);
    expect(watcher.received.map((m) => [m.event, m.payload.credits])).toEqual([["balance", after]]); // not the forgery
    await expectWritten(`user:${realUser}`, mine.received);
  });

  test("typing and presence cross a chat both ways; nothing the real user receives names the operator", async () => {
    const chatId = await newChat();
    await queue(chatId);
    await assign(chatId);
    const topic = `chat:${chatId}`;

    const userClientRt = realtimeClient(vsn, realUser);
    const userFrames = recordFrames(userClientRt);
    const presenceSeen: unknown[] = [];
    const userChannel = userClientRt.channel(topic, { config: { private: true } });
    const atUser = listen(userChannel);
    for (const event of ["sync", "join", "leave"] as const) {
      userChannel.on("presence", { event }, (diff: unknown) => presenceSeen.push(diff ?? userChannel.presenceState()));
    }
    const opChannel = realtimeClient(vsn, holder).channel(topic, { config: { private: true } });
    const atOperator = listen(opChannel);
    opChannel.on("presence", { event: "sync" }, () => {});
    await Promise.all([subscribed(userChannel), subscribed(opChannel)]);

    expect(await userChannel.track({ sender_type: "real" })).toBe("ok");
    expect(await opChannel.track({ sender_type: "fictional" })).toBe("ok");
    const sides = (channel: RealtimeChannel) =>
      Object.values(channel.presenceState()).flat().map((meta) => (meta as { sender_type?: string }).sender_type).sort();
    await until(() => sides(userChannel).join() === "fictional,real", "both presences at the real user");
    await until(() => sides(opChannel).join() === "fictional,real", "both presences at the operator");

    await userChannel.send({ type: "broadcast", event: "typing", payload: { sender_type: "real", typing: true } });
    await opChannel.send({ type: "broadcast", event: "typing", payload: { sender_type: "fictional", typing: true } });
    await until(() => ofEvent(atOperator, "typing").length, "the real user's typing at the operator");
    await until(() => ofEvent(atUser, "typing").length, "the operator's typing at the real user");
    expect(ofEvent(atOperator, "typing").map((m) => m.payload)).toEqual([{ sender_type: "real", typing: true }]);
    expect(ofEvent(atUser, "typing").map((m) => m.payload)).toEqual([{ sender_type: "fictional", typing: true }]);

    const reply = await write(holder, chatId, `typed ${randomUUID()}`);
    await until(() => atUser.some((m) => m.payload.id === reply.id), "the reply at the real user");
    await opChannel.untrack();
    await until(() => sides(userChannel).join() === "real", "the operator's presence leaving");
    await sleep(QUIET_MS);

    expect(ofEvent(atUser, "typing")).toHaveLength(1); // not its own typing back (self is off)
    expect(presenceSeen.length).toBeGreaterThan(0);
    const everything = serialise({ frames: userFrames, presenceSeen, broadcasts: atUser, state: userChannel.presenceState() });
    expect(everything).toContain(reply.content); // the serialisation did capture what arrived
    expectNoOperator(everything);
    for (const key of Object.keys(userChannel.presenceState())) expect(key).not.toBe(holder);
  });

  test("admin: a chat flagged by its third counted release sends chat_flagged to the admin only", async () => {
    const chatId = await newChat();
    const adminSide = await joined(realtimeClient(vsn, admin), "admin");
    const userSideClient = realtimeClient(vsn, realUser);
    const userFrames = recordFrames(userSideClient);
    const userSide = await joined(userSideClient, `chat:${chatId}`);
    const opClient = realtimeClient(vsn, holder);
    const opFrames = recordFrames(opClient);
    const opSide = await joined(opClient, `operator:${holder}`);
    const queueSide = await joined(opClient, "operators:queue");
    expect(await refusedJoin(userSideClient, "admin")).toBe(refusal("admin"));
    expect(await refusedJoin(opClient, "admin")).toBe(refusal("admin"));

    await queue(chatId);
    for (let i = 0; i < 3; i++) {
      await assign(chatId);
      await release(chatId, "operator_offline"); // unanswered: every release counts
    }
    await until(() => ofEvent(adminSide.received, "chat_flagged").length, "chat_flagged at the admin");
    await until(() => ofEvent(opSide.received, "chat_released").length === 3, "the three releases at the operator");
    await until(() => ofEvent(userSide.received, "chat_status").length === 7, "the seven status changes at the real user");
    await sleep(QUIET_MS);

    const { rows: [chat] } = await db().query("select flagged_for_review, flag_reason, reassignment_count from public.chats where id = $1", [chatId]);
    expect(chat).toEqual({ flagged_for_review: true, flag_reason: "reassigned 3 times", reassignment_count: 3 });
    const flags = ofEvent(adminSide.received, "chat_flagged");
    expect(flags).toHaveLength(1);
    expect(flags[0].payload).toEqual({
      id: expect.any(String),
      chat_id: chatId,
      flag_reason: "reassigned 3 times",
      reassignment_count: 3,
      flagged_at: expect.any(String),
    });
    for (const frames of [userFrames, opFrames]) expect(serialise(frames)).not.toContain("chat_flagged");
    for (const side of [userSide, opSide, queueSide]) expect(ofEvent(side.received, "chat_flagged")).toEqual([]);
    expectNoOperator(serialise(userFrames));
    await expectWritten("admin", flags);
  });
});
