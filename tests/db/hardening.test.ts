// Hardening (docs/rules.md "Hardening") under real concurrency and over the Data API: two sessions straight
// against Postgres, each transaction switching role and JWT claims as PostgREST does.
//
//   * a message racing a close waits for the chat lock and is then refused with chat_closed, never
//     written uncharged (the insert policy alone checked an older snapshot);
//   * a heartbeat racing the idle sweep keeps the chat: the sweep skips the chat row the heartbeat
//     holds, instead of releasing it (and counting an idle incident) right after the heartbeat;
//   * an admin deactivating an operator that is writing does not deadlock with it: both take the
//     operator's row before the chat's;
//   * over the Data API a closed chat answers 403 chat_closed and a deactivated account 403
//     account_deactivated, not PostgREST's "new row violates row-level security policy".
//
// Fixture rows are created here (ids unique to the run) and removed afterwards.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { beginAs, closeDb, closeSessions, db, session, userClient, waitsForLock } from "../support/stack.ts";

type PgError = Error & { code?: string };

const userId = randomUUID();
const otherUserId = randomUUID();
const operatorId = randomUUID();
const profileIds = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];

async function pidOf(client: pg.Client): Promise<number> {
  return (await client.query("select pg_backend_pid() as pid")).rows[0].pid;
}

/** A fresh chat of the real user with a profile, held by the operator, the user unanswered. */
async function heldChat(profileId: string, realUserId = userId): Promise<string> {
  const chatId = randomUUID();
  await db().query(
    `insert into public.chats (id, real_user_id, fictional_user_id, status, queued_at)
     values ($1, $2, $3, 'assigned', now())`,
    [chatId, realUserId, profileId],
  );
  await db().query(`insert into public.chat_assignments (chat_id, operator_id) values ($1, $2)`, [chatId, operatorId]);
  await db().query(
    `insert into public.operator_activity (operator_id, chat_id, last_activity_at) values ($1, $2, now())`,
    [operatorId, chatId],
  );
  return chatId;
}

beforeAll(async () => {
  await db().query(
    `insert into auth.users (id, email, aud, role)
     select id, 'hard-' || id || '@test.local', 'authenticated', 'authenticated' from unnest($1::uuid[]) id`,
    [[userId, otherUserId, operatorId]],
  );
  await db().query(
    `insert into public.real_users (id, display_name, age, gender, looking_for, credits)
     values ($1, 'Hard user', 30, 'male', 'female', 100), ($2, 'Hard other', 30, 'male', 'female', 100)`,
    [userId, otherUserId],
  );
  await db().query(
    `insert into public.operators (id, name, status, max_concurrent_chats) values ($1, 'Hard op', 'available', 10)`,
    [operatorId],
  );
  await db().query(
    `insert into public.fictional_users (id, name, age, gender)
     select id, 'Hard profile ' || id, 30, 'female' from unnest($1::uuid[]) id`,
    [profileIds],
  );
});

afterAll(async () => {
  await closeSessions();
  await db().query("delete from public.chats where fictional_user_id = any($1::uuid[])", [profileIds]);
  await db().query("delete from public.fictional_users where id = any($1::uuid[])", [profileIds]);
  await db().query("delete from auth.users where id = any($1::uuid[])", [[userId, otherUserId, operatorId]]);
  await closeDb();
});

describe("hardening under concurrency", () => {
  it("a message racing a close waits for it and is refused with chat_closed, never written uncharged", async () => {
    const chatId = randomUUID();
    await db().query(
      `insert into public.chats (id, real_user_id, fictional_user_id) values ($1, $2, $3)`,
      [chatId, userId, profileIds[0]],
    );
    const closer = await session();
    const writer = await session();
    await beginAs(closer, userId);
    await closer.query("select public.close_chat($1)", [chatId]); // holds the chat row lock
    const writerPid = await pidOf(writer);
    await beginAs(writer, userId);
    const insert = writer.query(
      `insert into public.messages (chat_id, sender_type, content) values ($1, 'real', 'racing the close')`,
      [chatId],
    ).then(() => null, (error: PgError) => error);
    await waitsForLock(writerPid);
    await closer.query("commit");
    const error = await insert;
    await writer.query("rollback");
    expect(error?.code).toBe("42501");
    expect(error?.message).toBe("chat_closed");
    const { rows } = await db().query("select count(*)::int as n from public.messages where chat_id = $1", [chatId]);
    expect(rows[0].n).toBe(0);
  });

  it("a heartbeat racing the idle sweep keeps the chat: the sweep skips the chat row it holds", async () => {
    const chatId = await heldChat(profileIds[1]);
    await db().query(
      "update public.operator_activity set last_activity_at = now() - interval '1 hour' where chat_id = $1",
      [chatId],
    );
    const operator = await session();
    const sweeper = await session();
    await beginAs(operator, operatorId);
    await operator.query("select public.operator_heartbeat($1)", [chatId]);
    // The sweep runs while the heartbeat is not committed yet, then the heartbeat commits.
    const sweeperPid = await pidOf(sweeper);
    await sweeper.query("begin");
    const sweep = sweeper.query("select public.sweep_idle_chats() as result");
    const waited = await Promise.race([
      sweep.then(() => false),
      waitsForLock(sweeperPid).then(() => true, () => false),
    ]);
    await operator.query("commit");
    await sweep;
    await sweeper.query("commit");
    expect(waited).toBe(false); // the sweep skipped the locked chat instead of queueing behind it
    const { rows } = await db().query(
      "select operator_id, released_at from public.chat_assignments where chat_id = $1",
      [chatId],
    );
    expect(rows).toEqual([{ operator_id: operatorId, released_at: null }]);
  });

  it("an admin deactivating an operator that is writing does not deadlock with it", async () => {
    const chatId = await heldChat(profileIds[2], otherUserId);
    const admin = await session();
    const operator = await session();
    // The admin's transaction takes the operator's row first (as admin_set_operator_active does) ...
    await admin.query("begin");
    await admin.query("select 1 from public.operators where id = $1 for update", [operatorId]);
    // ... while the operator answers in a chat it holds ...
    const operatorPid = await pidOf(operator);
    await beginAs(operator, operatorId);
    const answer = operator.query(
      `insert into public.messages (chat_id, sender_type, content) values ($1, 'fictional', 'answering')`,
      [chatId],
    ).then(() => null, (error: PgError) => error);
    await waitsForLock(operatorPid);
    // ... and then deactivates it, which releases its chats.
    const deactivation = await admin.query("update public.operators set is_active = false where id = $1", [operatorId])
      .then(() => null, (error: PgError) => error);
    await admin.query(deactivation ? "rollback" : "commit");
    const error = await answer;
    await operator.query("rollback");
    expect(deactivation?.code).toBeUndefined(); // no 40P01 deadlock_detected
    expect(error?.code).toBe("PT404"); // the chat was released before the answer got it
    expect(error?.message).toBe("chat_not_held");
    await db().query("update public.operators set is_active = true where id = $1", [operatorId]);
  });
});

describe("hardening over the Data API", () => {
  it("a message to a closed chat is 403 chat_closed; from a deactivated account 403 account_deactivated", async () => {
    const chatId = randomUUID();
    await db().query(
      `insert into public.chats (id, real_user_id, fictional_user_id, status, closed_at, close_reason)
       values ($1, $2, $3, 'closed', now(), 'user')`,
      [chatId, userId, profileIds[3]],
    );
    const closed = await userClient(userId).from("messages").insert({ chat_id: chatId, sender_type: "real", content: "hi" });
    expect(closed.status).toBe(403);
    expect(closed.error?.code).toBe("42501");
    expect(closed.error?.message).toBe("chat_closed");

    await db().query("update public.chats set status = 'idle', closed_at = null, close_reason = null where id = $1", [chatId]);
    await db().query("update public.real_users set is_active = false where id = $1", [userId]);
    try {
      const inactive = await userClient(userId).from("messages").insert({ chat_id: chatId, sender_type: "real", content: "hi" });
      expect(inactive.status).toBe(403);
      expect(inactive.error?.code).toBe("42501");
      expect(inactive.error?.message).toBe("account_deactivated");
    } finally {
      await db().query("update public.real_users set is_active = true where id = $1", [userId]);
    }
    const { rows } = await db().query("select count(*)::int as n from public.messages where chat_id = $1", [chatId]);
    expect(rows[0].n).toBe(0);
  });

  it("an operator reads no real_users row over the Data API", async () => {
    const chatId = await heldChat(profileIds[3], otherUserId);
    const { data, error } = await userClient(operatorId).from("real_users").select("*");
    expect(error).toBeNull();
    expect(data).toEqual([]);
    const details = await userClient(operatorId).rpc("get_chat_with_details", { p_chat_id: chatId });
    expect(details.error).toBeNull();
    expect(Object.keys(details.data.real_user).sort()).toEqual(["age", "avatar_url", "bio", "display_name", "gender", "id"]);
  });
});
