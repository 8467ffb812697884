// The operator console's queue over HTTP through the gateway (assign-chat with the operator's JWT,
// via supabase-js functions.invoke), and the idle sweeper reached by pg_cron; the database is
// checked afterwards. The chat queue is global, so this file's tests run in order and its waiting
// chat is queued far in the past to be the oldest.
import { randomUUID } from "node:crypto";
import { FunctionsHttpError } from "@supabase/supabase-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessToken, closeDb, db, stack, userClient } from "../support/stack.ts";

const realUser = randomUUID();
const available = randomUUID(); // takes chats, capacity 1
const other = randomUUID(); // another available operator
const busy = randomUUID(); // status busy
const users = [realUser, available, other, busy];
const profiles = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
let queuedChat: string;

async function invokeAs(userId: string, path: string, body: unknown = {}) {
  const { data, error } = await userClient(userId).functions.invoke(path, { body });
  if (error instanceof FunctionsHttpError) {
    return { status: error.context.status as number, body: await error.context.json() };
  }
  expect(error).toBeNull();
  return { status: 200, body: data };
}

/** A chat of the test's real user with one unanswered message. */
async function chatWithMessage(profile: string, content: string): Promise<string> {
  const { rows } = await db().query(
    "insert into public.chats (real_user_id, fictional_user_id) values ($1, $2) returning id",
    [realUser, profile],
  );
  await db().query("insert into public.messages (chat_id, sender_type, content) values ($1, 'real', $2)", [rows[0].id, content]);
  return rows[0].id;
}

/** An assignment whose holder has been silent for ten minutes (idle_timeout is 5). */
async function idleAssignment(chatId: string, operatorId: string) {
  await db().query("update public.chats set status = 'assigned' where id = $1", [chatId]);
  await db().query(
    "insert into public.chat_assignments (chat_id, operator_id, assigned_at) values ($1, $2, now() - interval '10 minutes')",
    [chatId, operatorId],
  );
  await db().query(
    "insert into public.operator_activity (operator_id, chat_id, assigned_at, last_activity_at) values ($1, $2, now() - interval '10 minutes', now() - interval '10 minutes')",
    [operatorId, chatId],
  );
}

async function assignments(chatId: string) {
  const { rows } = await db().query(
    "select operator_id, released_at is not null as released, release_reason from public.chat_assignments where chat_id = $1 order by assigned_at, created_at",
    [chatId],
  );
  return rows;
}

async function chat(chatId: string) {
  const { rows } = await db().query("select status, reassignment_count from public.chats where id = $1", [chatId]);
  return rows[0];
}

beforeAll(async () => {
  for (const id of users) {
    await db().query("insert into auth.users (id, email, aud, role) values ($1, $2, 'authenticated', 'authenticated')", [id, `${id}@example.com`]);
  }
  await db().query(
    "insert into public.real_users (id, display_name, age, gender, looking_for, bio) values ($1, 'Queue Tester', 33, 'male', 'female', 'likes tests')",
    [realUser],
  );
  await db().query(
    "insert into public.operators (id, name, status, max_concurrent_chats) values ($1, 'Ava', 'available', 1), ($2, 'Oto', 'available', 1), ($3, 'Bo', 'busy', 3)",
    [available, other, busy],
  );
  for (const [i, id] of profiles.entries()) {
    await db().query(
      "insert into public.fictional_users (id, name, age, gender, bio, interests) values ($1, $2, 27, 'female', 'a profile', '{music}')",
      [id, `Queue profile ${i} ${id}`],
    );
  }
  await db().query(
    "insert into public.fictional_user_guidelines (fictional_user_id, personality_guidelines) values ($1, 'Warm, curious, never pushy.')",
    [profiles[0]],
  );
  queuedChat = await chatWithMessage(profiles[0], "Hello from the queue test");
  // Oldest in the queue, whatever else waits.
  await db().query("update public.chats set queued_at = '1990-01-01T00:00:00Z' where id = $1", [queuedChat]);
});

afterAll(async () => {
  await db().query("delete from public.chats where real_user_id = $1", [realUser]);
  await db().query("delete from public.fictional_users where id = any($1)", [profiles]);
  await db().query("delete from auth.users where id = any($1)", [users]);
  await closeDb();
});

describe("assign-chat", () => {
  it("gives an available operator the oldest waiting chat with its details", async () => {
    const { status, body } = await invokeAs(available, "assign-chat");
    expect(status).toBe(200);
    expect(body.chat).toMatchObject({
      id: queuedChat,
      status: "assigned",
      real_user: { id: realUser, display_name: "Queue Tester", age: 33, bio: "likes tests" },
      fictional_user: { id: profiles[0], personality_guidelines: "Warm, curious, never pushy.", interests: ["music"] },
      messages: [expect.objectContaining({ sender_type: "real", content: "Hello from the queue test" })],
    });
    expect(await assignments(queuedChat)).toEqual([{ operator_id: available, released: false, release_reason: null }]);
    const { rows } = await db().query("select 1 from public.operator_activity where chat_id = $1 and operator_id = $2", [queuedChat, available]);
    expect(rows).toHaveLength(1);
  });

  it("refuses an operator at capacity with 409 at_capacity", async () => {
    const { status, body } = await invokeAs(available, "assign-chat");
    expect(status).toBe(409);
    expect(body).toEqual({ error: { code: "at_capacity", message: expect.any(String) } });
    expect(await assignments(queuedChat)).toHaveLength(1);
  });

  it("refuses a busy operator with 409 operator_unavailable", async () => {
    const { status, body } = await invokeAs(busy, "assign-chat");
    expect(status).toBe(409);
    expect(body.error.code).toBe("operator_unavailable");
  });

  it("refuses a real user with 403 not_operator", async () => {
    const { status, body } = await invokeAs(realUser, "assign-chat");
    expect(status).toBe(403);
    expect(body).toEqual({ error: { code: "not_operator", message: expect.any(String) } });
  });

  it("is refused by the gateway without a JWT", async () => {
    const response = await fetch(`${stack.functionsUrl}/assign-chat`, { method: "POST", body: "{}" });
    expect(response.status).toBe(401);
  });

  it("heartbeat refreshes the holder's activity", async () => {
    await db().query("update public.operator_activity set last_activity_at = now() - interval '3 minutes' where chat_id = $1", [queuedChat]);
    const { status, body } = await invokeAs(available, "assign-chat/heartbeat", { chat_id: queuedChat });
    expect(status).toBe(200);
    expect(body).toEqual({ chat_id: queuedChat, last_activity_at: expect.any(String) });
    const { rows } = await db().query("select now() - last_activity_at < interval '30 seconds' as fresh from public.operator_activity where chat_id = $1", [queuedChat]);
    expect(rows).toEqual([{ fresh: true }]);
  });

  it("heartbeat and release of a chat the operator does not hold are 404 chat_not_held", async () => {
    const heartbeat = await invokeAs(other, "assign-chat/heartbeat", { chat_id: queuedChat });
    expect(heartbeat.status).toBe(404);
    expect(heartbeat.body.error.code).toBe("chat_not_held");
    const release = await invokeAs(other, "assign-chat/release", { chat_id: queuedChat, reason: "completed" });
    expect(release.status).toBe(404);
    expect(release.body.error.code).toBe("chat_not_held");
    expect(await assignments(queuedChat)).toEqual([{ operator_id: available, released: false, release_reason: null }]);
  });

  it("refuses bad input with 400 and reasons reserved to others with 403", async () => {
    const notUuid = await invokeAs(available, "assign-chat/release", { chat_id: "chat-1", reason: "completed" });
    expect(notUuid.status).toBe(400);
    expect(notUuid.body.error.code).toBe("invalid_request");
    const noReason = await invokeAs(available, "assign-chat/release", { chat_id: queuedChat });
    expect(noReason.status).toBe(400);
    const sweepReason = await invokeAs(available, "assign-chat/release", { chat_id: queuedChat, reason: "idle_timeout" });
    expect(sweepReason.status).toBe(403);
    expect(sweepReason.body.error.code).toBe("forbidden");
    expect(await assignments(queuedChat)).toEqual([{ operator_id: available, released: false, release_reason: null }]);
  });

  it("release by the holder ends the assignment and requeues the unanswered chat", async () => {
    const { status, body } = await invokeAs(available, "assign-chat/release", { chat_id: queuedChat, reason: "completed" });
    expect(status).toBe(200);
    expect(body).toEqual({ released: true, chat_id: queuedChat });
    expect(await assignments(queuedChat)).toEqual([{ operator_id: available, released: true, release_reason: "completed" }]);
    // a completed release of a chat whose user is still unanswered counts (private.release_chat, SPEC 12)
    expect(await chat(queuedChat)).toEqual({ status: "waiting", reassignment_count: 1 });

    const again = await invokeAs(available, "assign-chat/release", { chat_id: queuedChat, reason: "completed" });
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe("chat_not_held");
  });

  it("the requeued chat keeps its place and goes to the next available operator", async () => {
    const { status, body } = await invokeAs(other, "assign-chat");
    expect(status).toBe(200);
    expect(body.chat.id).toBe(queuedChat);
    await invokeAs(other, "assign-chat/release", { chat_id: queuedChat, reason: "operator_offline" });
    expect(await chat(queuedChat)).toEqual({ status: "waiting", reassignment_count: 2 });
  });
});

describe("idle-sweeper", () => {
  it("pg_cron's minute tick releases an idle assignment without the test calling the sweeper", async () => {
    const idleChat = await chatWithMessage(profiles[1], "anyone there?");
    const setUp = new Date();
    await idleAssignment(idleChat, available);

    let released = false;
    const deadline = Date.now() + 75_000; // pg_cron here ticks on the minute
    while (!released && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      released = (await assignments(idleChat))[0]?.released === true;
    }
    expect(released).toBe(true);
    expect(await assignments(idleChat)).toEqual([{ operator_id: available, released: true, release_reason: "idle_timeout" }]);
    expect(await chat(idleChat)).toEqual({ status: "waiting", reassignment_count: 1 });

    const { rows } = await db().query(
      `select d.status from cron.job_run_details d join cron.job j on j.jobid = d.jobid
        where j.jobname = 'idle-sweeper' and d.start_time >= $1 order by d.start_time limit 1`,
      [setUp],
    );
    expect(rows).toEqual([{ status: "succeeded" }]);
    // The cron job sent the sweeper's key from Vault, and the sweep recorded its success.
    const status = await db().query("select last_success_at, runs from public.sweeper_status");
    expect(new Date(status.rows[0].last_success_at).getTime()).toBeGreaterThanOrEqual(setUp.getTime());
    expect(Number(status.rows[0].runs)).toBeGreaterThan(0);
  }, 90_000);

  it("a sweeper_key rotated in Vault is what the next sweep sends: a wrong key is refused 401, the right one sweeps", async () => {
    const status = async () => (await db().query("select runs, last_success_at from public.sweeper_status")).rows[0];
    const rotate = (key: string) =>
      db().query("select vault.update_secret(id, $1) from vault.secrets where name = 'sweeper_key'", [key]);
    /** What the idle-sweeper cron job runs, sent by the pg_net stand-in's drainer; its response. */
    const sweepFromCron = async () => {
      const { rows: [{ command }] } = await db().query("select command from cron.job where jobname = 'idle-sweeper'");
      const { rows: [{ id }] } = await db().query(`${command} as id`);
      let response: { status_code: number; content: string } | undefined;
      const deadline = Date.now() + 20_000;
      while (!response && Date.now() < deadline) {
        response = (await db().query("select status_code, content from net._http_response where id = $1", [id])).rows[0];
        if (!response) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return response;
    };
    const { rows: [{ decrypted_secret: saved }] } = await db().query(
      "select decrypted_secret from vault.decrypted_secrets where name = 'sweeper_key'",
    );
    expect(saved).toBe(stack.secretKey);
    await rotate("sb_secret_rotated_out_00000000000000");
    try {
      const before = await status();
      const refused = await sweepFromCron();
      expect(refused?.status_code).toBe(401);
      expect(JSON.parse(refused!.content).error.code).toBe("unauthorized");
      expect(await status()).toEqual(before);
    } finally {
      await rotate(saved);
    }
    const before = await status();
    const swept = await sweepFromCron();
    expect(swept?.status_code).toBe(200);
    const after = await status();
    expect(Number(after.runs)).toBeGreaterThan(Number(before.runs));
    expect(new Date(after.last_success_at).getTime()).toBeGreaterThan(new Date(before.last_success_at ?? 0).getTime());
  });

  it("overlapping sweeps release each idle chat exactly once", async () => {
    const idleChats = [
      await chatWithMessage(profiles[2], "one"),
      await chatWithMessage(profiles[3], "two"),
      await chatWithMessage(profiles[4], "three"),
    ];
    await db().query("update public.operators set max_concurrent_chats = 5 where id = $1", [other]);
    for (const id of idleChats) await idleAssignment(id, other);

    const sweeps = await Promise.all(Array.from({ length: 4 }, () =>
      fetch(`${stack.functionsUrl}/idle-sweeper`, {
        method: "POST",
        headers: { apikey: stack.secretKey, "Content-Type": "application/json" },
        body: "{}",
      })
    ));
    for (const sweep of sweeps) {
      expect(sweep.status).toBe(200);
      expect(await sweep.json()).toEqual({ released: expect.any(Number), flagged: expect.any(Number), duration_ms: expect.any(Number) });
    }
    for (const id of idleChats) {
      expect(await assignments(id)).toEqual([{ operator_id: other, released: true, release_reason: "idle_timeout" }]);
      expect(await chat(id)).toEqual({ status: "waiting", reassignment_count: 1 });
    }
    const { rows } = await db().query("select count(*)::int as n from public.operator_activity where operator_id = $1", [other]);
    expect(rows).toEqual([{ n: 0 }]);
  });

  it("refuses anything but a secret key", async () => {
    for (const token of [stack.publishableKey, accessToken(available)]) {
      const response = await fetch(`${stack.functionsUrl}/idle-sweeper`, { method: "POST", headers: { Authorization: `Bearer ${token}` } });
      expect(response.status).toBe(401);
      expect((await response.json()).error.code).toBe("unauthorized");
    }
  });
});
