// Lock order (005_chats.sql's header): every writer of a chat locks the person's row (the operator's or the
// real user's) before the chat's, so two of them never wait for each other in a circle. Checked
// here the deterministic way, straight against Postgres: hold the operator's row in one
// transaction, start the admin's reassignment of a chat to that operator in another, and while it
// waits, the chat must still be free to lock. Before 019, admin_reassign_chat locked the chat
// first and could deadlock with the operator answering in it.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { beginAs, closeDb, closeSessions, db, session, waitsForLock } from "../support/stack.ts";

const ADMIN = "55555555-5555-4555-8555-555555555555"; // seeded admin
const operator = randomUUID();
const realUser = randomUUID();
const profile = randomUUID();
let chat = "";

beforeAll(async () => {
  await db().query("insert into auth.users (id, email) values ($1, $2), ($3, $4)", [
    operator, `lock-order-op-${operator}@fantooo.local`, realUser, `lock-order-user-${realUser}@example.com`,
  ]);
  await db().query("insert into public.operators (id, name, status, max_concurrent_chats) values ($1, 'Lock Order', 'available', 5)", [operator]);
  await db().query("insert into public.real_users (id, display_name, age, gender, looking_for) values ($1, 'Lock Order', 30, 'male', 'female')", [realUser]);
  await db().query("insert into public.fictional_users (id, name, age, gender) values ($1, $2, 25, 'female')", [profile, `Lock order ${profile}`]);
  ({ rows: [{ id: chat }] } = await db().query(
    "insert into public.chats (real_user_id, fictional_user_id) values ($1, $2) returning id", [realUser, profile],
  ));
  await db().query("insert into public.messages (chat_id, sender_type, content) values ($1, 'real', 'anyone?')", [chat]);
  // Queued far in the future: the queue's other takers (other suites) reach it last.
  await db().query("update public.chats set queued_at = now() + interval '10 years' where id = $1", [chat]);
});

afterAll(async () => {
  await closeSessions();
  await db().query("delete from public.chats where id = $1", [chat]);
  await db().query("delete from public.operators where id = $1", [operator]);
  await db().query("delete from public.real_users where id = $1", [realUser]);
  await db().query("delete from public.fictional_users where id = $1", [profile]);
  await db().query("delete from auth.users where id = any($1)", [[operator, realUser]]);
  await closeDb();
});

describe("admin_reassign_chat locks the operator before the chat", () => {
  it("while it waits for the operator's row, the chat stays free for whoever holds the operator", async () => {
    const holder = await session(); // stands for the operator answering: its row first
    const adminSession = await session();
    const probe = await session();
    await holder.query("begin");
    await holder.query("select 1 from public.operators where id = $1 for update", [operator]);

    await beginAs(adminSession, ADMIN);
    const { rows: [{ pid }] } = await adminSession.query("select pg_backend_pid() as pid");
    const reassign = adminSession.query("select public.admin_reassign_chat($1, $2) as result", [chat, operator]);
    await waitsForLock(pid); // the admin's call waits for the operator's row

    // The chat is not locked by the waiting admin: the operator could go on and lock it.
    await probe.query("begin");
    const locked = await probe.query("select id from public.chats where id = $1 for update nowait", [chat]).then(
      () => null,
      (error: Error & { code?: string }) => error.code,
    );
    await probe.query("rollback");
    expect(locked).toBeNull(); // 55P03 (lock_not_available) when the admin took the chat first

    await holder.query("rollback");
    const { rows: [{ result }] } = await reassign;
    await adminSession.query("commit");
    expect(result).toMatchObject({ chat_id: chat, operator_id: operator });
  });
});
