// The Realtime server is one of the stack's supervised processes: killed, it is started again, and
// a supabase-js client reconnects and rejoins by itself and receives again (broadcast from the
// database included, so the new process has its WAL slot).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, expect, test } from "vitest";
import { closeDb, db, stack } from "../support/stack.ts";
import { closeClients, realtimeClient, subscribed, until } from "./support.ts";

afterAll(async () => {
  await closeClients();
  await closeDb();
});

const realtimePid = (): number => JSON.parse(readFileSync(join(stack.stackDir, "pids.json"), "utf8")).realtime;

test("after the Realtime process is killed, the supervisor restarts it and a client rejoins and receives again", async () => {
  const topic = `restart-${randomUUID()}`;
  const channel = realtimeClient("2.0.0").channel(topic);
  const received: string[] = [];
  channel.on("broadcast", { event: "*" }, ({ event }) => received.push(event));
  await subscribed(channel);
  await db().query("select realtime.send('{}'::jsonb, 'before', $1, false)", [topic]);
  await until(() => received.includes("before"), "the broadcast before the kill");

  const pid = realtimePid();
  process.kill(pid, "SIGKILL");
  await until(() => channel.state !== "joined", "the client noticing the lost socket");
  await until(() => realtimePid() !== pid && channel.state === "joined", "a new process and the rejoin", 20_000);

  // The rejoin can come before the new process's WAL slot exists: send until one arrives.
  const deadline = Date.now() + 10_000;
  while (!received.includes("after") && Date.now() < deadline) {
    await db().query("select realtime.send('{}'::jsonb, 'after', $1, false)", [topic]);
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(received).toContain("after");
  expect(received[0]).toBe("before");
}, 40_000);

const postmasterPid = (): number =>
  Number(readFileSync(join(stack.stackDir, "postgres", "data", "postmaster.pid"), "utf8").split("\n")[0]);

test("after Postgres is killed and restarted, the server has a new WAL slot and database broadcasts arrive again", async () => {
  const topic = `pg-restart-${randomUUID()}`;
  const channel = realtimeClient("1.0.0").channel(topic);
  const received: string[] = [];
  channel.on("broadcast", { event: "*" }, ({ event }) => received.push(event));
  await subscribed(channel);

  const killed = postmasterPid();
  process.kill(killed, "SIGKILL");
  await closeDb(); // the pool's connections died with it
  await until(() => {
    try {
      return postmasterPid() !== killed;
    } catch {
      return false;
    }
  }, "a new postmaster", 20_000);

  const deadline = Date.now() + 20_000;
  while (!received.includes("after") && Date.now() < deadline) {
    await db().query("select realtime.send('{}'::jsonb, 'after', $1, false)", [topic]).catch(() => {});
    await new Promise((r) => setTimeout(r, 300));
  }
  expect(received).toContain("after");
  expect(channel.state).toBe("joined"); // the socket itself never dropped
}, 60_000);
