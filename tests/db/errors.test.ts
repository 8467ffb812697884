// One error catalogue: errors.catalogue (001_platform.sql) is the list of every refusal the
// SQL raises on purpose, docs/errors.md documents the same list, and every raise in the migrations
// goes through errors.raise_error with a code of that list. Then, through the Data API, a catalogued
// refusal arrives with the catalogue's HTTP status, SQLSTATE and code.
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { closeDb, db, serviceClient, userClient } from "../support/stack.ts";

const root = resolve(import.meta.dirname, "..", "..");
const migrationsDir = join(root, "supabase", "migrations");
const migrations = readdirSync(migrationsDir)
  .filter((name) => name.endsWith(".sql"))
  .sort()
  .map((name) => ({ name, sql: readFileSync(join(migrationsDir, name), "utf8") }));

type Entry = { code: string; http_status: number; sqlstate: string; message: string };

async function catalogue(): Promise<Entry[]> {
  const { rows } = await db().query<Entry>(
    "select code, http_status, sqlstate, message from errors.catalogue order by code",
  );
  return rows;
}

/** The rows of the table in docs/errors.md: | `code` | status | `SQLSTATE` | meaning | raised by |. */
function documented(): Entry[] {
  const text = readFileSync(join(root, "docs", "errors.md"), "utf8");
  const rows = [...text.matchAll(/^\| `([a-z0-9_]+)` \| (\d{3}) \| `([0-9A-Z]{5})` \| (.+?) \| .+ \|$/gm)];
  return rows
    .map(([, code, status, sqlstate, message]) => ({ code, http_status: Number(status), sqlstate, message }))
    .sort((a, b) => a.code.localeCompare(b.code));
}

afterAll(closeDb);

describe("the error catalogue", () => {
  it("docs/errors.md lists exactly the rows of errors.catalogue", async () => {
    const docs = documented();
    expect(docs.length).toBeGreaterThan(0);
    expect(docs).toEqual(await catalogue());
  });

  it("every raise_error('…') in the migrations names a catalogue code, and every code is raised", async () => {
    const codes = new Set((await catalogue()).map((entry) => entry.code));
    const raised = migrations.flatMap(({ name, sql }) =>
      [...sql.matchAll(/raise_error\(\s*'([^']*)'/g)].map(([, code]) => ({ name, code }))
    );
    expect(raised.length).toBeGreaterThan(0);
    expect(raised.filter(({ code }) => !codes.has(code))).toEqual([]);
    expect([...codes].filter((code) => !raised.some((r) => r.code === code))).toEqual([]);
  });

  it("no migration raises an error except through errors.raise_error", () => {
    const raises = migrations.flatMap(({ name, sql }) =>
      sql.split("\n").flatMap((line, i) => (/\braise\s+exception\b/i.test(line) ? [`${name}:${i + 1}`] : []))
    );
    // The two raises of errors.raise_error itself: the catalogued error, and an unknown code.
    expect(raises.every((where) => where.startsWith("001_platform.sql:"))).toBe(true);
    expect(raises).toHaveLength(2);
  });

  it("raise_error raises each code with the catalogue's SQLSTATE, the code as message and its text as detail", async () => {
    for (const entry of await catalogue()) {
      const failure = await db().query("select errors.raise_error($1)", [entry.code]).catch((error) => error);
      expect({ code: failure.code, message: failure.message, detail: failure.detail })
        .toEqual({ code: entry.sqlstate, message: entry.code, detail: entry.message });
    }
  });

  it("raise_error with a detail uses it, and refuses a code the catalogue does not have", async () => {
    const detailed = await db().query("select errors.raise_error('chat_not_found', 'No chat 42.')").catch((e) => e);
    expect([detailed.code, detailed.message, detailed.detail]).toEqual(["PT404", "chat_not_found", "No chat 42."]);
    const unknown = await db().query("select errors.raise_error('no_such_code')").catch((e) => e);
    expect([unknown.code, unknown.message]).toEqual(["XX000", "unknown_error_code"]);
  });
});

describe("catalogued refusals through the Data API", () => {
  const userId = randomUUID();
  const profileId = randomUUID();
  const chatId = randomUUID();

  afterAll(async () => {
    await db().query("delete from public.fictional_users where id = $1", [profileId]);
    await db().query("delete from auth.users where id = $1", [userId]);
  });

  it("a PT403 refusal is HTTP 403 with the code as message (start_chat by someone with no profile)", async () => {
    const { error, status } = await userClient(randomUUID()).rpc("start_chat", { p_fictional_user_id: randomUUID() });
    expect(status).toBe(403);
    expect(error).toMatchObject({ code: "PT403", message: "not_real_user" });
  });

  it("a PT404 refusal is HTTP 404 (update_operator_stats for an id that is no operator)", async () => {
    const { error, status } = await serviceClient().rpc("update_operator_stats", { p_operator_id: randomUUID() });
    expect(status).toBe(404);
    expect(error).toMatchObject({ code: "PT404", message: "operator_not_found", details: "No operator has this id." });
  });

  it("the lifecycle guard refuses service_role too: 400, 23514 invalid_status_transition", async () => {
    await db().query("insert into auth.users (id, email) values ($1, $2)", [userId, `errors-${userId}@example.com`]);
    await db().query(
      "insert into public.real_users (id, display_name, age, gender, looking_for) values ($1, 'Errors', 30, 'female', 'male')",
      [userId],
    );
    await db().query("insert into public.fictional_users (id, name, age, gender) values ($1, $2, 30, 'male')", [
      profileId,
      `Errors ${profileId.slice(0, 8)}`,
    ]);
    await db().query(
      "insert into public.chats (id, real_user_id, fictional_user_id, status, closed_at, close_reason) values ($1, $2, $3, 'closed', now(), 'user')",
      [chatId, userId, profileId],
    );
    const { error, status } = await serviceClient().from("chats").update({ status: "waiting", queued_at: new Date().toISOString() }).eq("id", chatId);
    expect(status).toBe(400);
    expect(error).toMatchObject({
      code: "23514",
      message: "invalid_status_transition",
      details: "A chat cannot go from closed to waiting.",
    });
    const { rows } = await db().query("select status from public.chats where id = $1", [chatId]);
    expect(rows).toEqual([{ status: "closed" }]);
  });
});
