// `npm run simulate` is safe on a shared stack (local/commands/simulate.mjs): the queue hands its
// operators the oldest waiting chat of all, so it holds others' waiting chats aside and hands them
// back at the end. A waiting chat counts a reassignment on every release, `completed` included
// (SPEC 12), so handing back must leave such a chat exactly as it was: count, flag, place, and no
// assignment of the run's operators.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain ESM module of the local commands
import { runSimulation } from "../../local/commands/simulate.mjs";
import { closeDb, db, readStackEnv } from "../support/stack.ts";

const userId = randomUUID();
const profileId = randomUUID();
const chatId = randomUUID();

beforeAll(async () => {
  await db().query("insert into auth.users (id, email, aud, role) values ($1, $2, 'authenticated', 'authenticated')", [userId, `shared-${userId}@example.com`]);
  await db().query("insert into public.real_users (id, display_name, age, gender, looking_for, credits) values ($1, 'Shared', 30, 'male', 'female', 50)", [userId]);
  await db().query("insert into public.fictional_users (id, name, age, gender) values ($1, 'Shared Profile', 30, 'female')", [profileId]);
  await db().query("insert into public.chats (id, real_user_id, fictional_user_id, queued_at) values ($1, $2, $3, now() - interval '30 days')", [chatId, userId, profileId]);
  // The oldest waiting chat of all, reassigned twice already: one more counted release flags it.
  await db().query("update public.chats set status = 'waiting', reassignment_count = 2 where id = $1", [chatId]);
});

afterAll(async () => {
  await db().query("delete from public.chats where id = $1", [chatId]);
  await db().query("delete from public.fictional_users where id = $1", [profileId]);
  await db().query("delete from auth.users where id = $1", [userId]);
  await closeDb();
});

describe("npm run simulate on a shared stack", () => {
  it("hands back a waiting chat of someone else's as it was: not counted as reassigned, not flagged, same place", async () => {
    const before = (await db().query(
      "select status, queued_at, reassignment_count, flagged_for_review, flag_reason from public.chats where id = $1", [chatId],
    )).rows[0];
    const result = await runSimulation({ env: readStackEnv(), scale: "small", log: () => {} });
    expect(result.error ?? null).toBeNull();
    const after = (await db().query(
      "select status, queued_at, reassignment_count, flagged_for_review, flag_reason from public.chats where id = $1", [chatId],
    )).rows[0];
    expect(after).toEqual(before);
    const { rows } = await db().query("select operator_id, release_reason from public.chat_assignments where chat_id = $1", [chatId]);
    expect(rows).toEqual([]); // the run held it untouched, and its assignments of it are gone
  }, 120_000);
});
