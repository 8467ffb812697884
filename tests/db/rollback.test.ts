// Rollback (supabase/rollback): every migration's down script removes exactly what the migration
// created (the schema dump, the rows of every table and the cron jobs are as before it), and
// `npm run db:down` (rollbackNewest) rolls back the newest migration keeping the rows of the tables
// that stay, so that `supabase migration up` applies it again.
//
// All of it runs on a scratch PostgreSQL cluster of its own (tests/db/scratch-database.ts), never on
// the stack's database that the other files share.
import { mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain ESM modules of the local stack
import { migrate } from "../../local/stack/database.mjs";
// @ts-expect-error: plain ESM modules of the local stack
import { downScriptFor, downStatements, RollbackRefused, rollbackNewest } from "../../local/commands/db-down.mjs";
import {
  firstDifferences,
  migrations,
  psqlFile,
  root,
  type ScratchCluster,
  snapshot,
  startScratchCluster,
} from "./scratch-database.ts";

const versionOf = (migration: string) => migration.split("_")[0];

let cluster: ScratchCluster;
let dir: string;

async function query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: cluster.url() });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  cluster = await startScratchCluster("rollback");
  dir = cluster.dir;
});

afterAll(() => cluster?.remove());

describe("down scripts", () => {
  it("every migration has one, named after it and wrapped in begin; … commit;", () => {
    const expected = migrations.map((m) => join("supabase", "rollback", m.replace(/\.sql$/, ".down.sql")));
    expect(migrations.map((m) => downScriptFor(root, versionOf(m)))).toEqual(expected);
    for (const file of expected) {
      expect(() => downStatements(readFileSync(join(root, file), "utf8"), file)).not.toThrow();
    }
  });

  describe("each one brings the schema and rows back to what they were before its migration", () => {
    const before: string[] = [];

    it("every migration applies in order (the database is dumped before each)", async () => {
      for (const migration of migrations) {
        before.push(await snapshot(cluster.url()));
        psqlFile(cluster.url(), join(root, "supabase", "migrations", migration), { single: true });
      }
      expect(before).toHaveLength(migrations.length);
    });

    for (const [index, migration] of [...migrations.entries()].reverse()) {
      it(`rolling back ${migration} restores the schema and rows from before it`, async () => {
        expect(before, "the migrations were not all applied").toHaveLength(migrations.length);
        const script = downScriptFor(root, versionOf(migration));
        if (!script) throw new Error(`${migration} has no down script in supabase/rollback`);
        psqlFile(cluster.url(), join(root, script));
        const differences = firstDifferences(dir, before[index], await snapshot(cluster.url()), [
          "before the migration",
          "after its rollback",
        ]);
        expect(differences, `the schema after rolling back ${migration} differs from the one before it`).toBe("");
      });
    }
  });
});

describe("rollbackNewest (npm run db:down)", () => {
  const realUserId = "7c0d5e8a-2f7b-4a55-9d43-0d7d6a3f0001";

  it("refuses when no migration is applied, changing nothing", async () => {
    await expect(rollbackNewest({ root, dbUrl: cluster.url() })).rejects.toThrow(RollbackRefused);
    await expect(rollbackNewest({ root, dbUrl: cluster.url() })).rejects.toThrow(/nothing to roll back/);
  });

  it("rolls back the newest migration and its history row, keeping the rows of the tables that stay", async () => {
    migrate(root, cluster); // the Supabase CLI, which records the history
    await query("insert into auth.users (id, email) values ($1, 'rollback@example.com')", [realUserId]);
    await query(
      `insert into public.real_users (id, display_name, age, gender, looking_for, credits)
       values ($1, 'Rolled Back', 30, 'male', 'female', 42)`,
      [realUserId],
    );
    const applied = async () =>
      (await query<{ version: string }>("select version from supabase_migrations.schema_migrations order by version"))
        .map((r) => r.version);
    expect(await applied()).toEqual(migrations.map(versionOf));

    // Newest first, down to the one after 002_people: that one would drop real_users itself.
    for (const migration of [...migrations].reverse().slice(0, -2)) {
      const result = await rollbackNewest({ root, dbUrl: cluster.url() });
      expect(result.version).toBe(versionOf(migration));
      expect(await applied()).not.toContain(versionOf(migration));
      const rows = await query("select display_name, credits from public.real_users where id = $1", [realUserId]);
      expect(rows, `after rolling back ${migration}`).toEqual([{ display_name: "Rolled Back", credits: 42 }]);
    }
    expect(await applied()).toEqual(["001", "002"]);
  });

  it("refuses a migration without a down script, changing nothing", async () => {
    const elsewhere = mkdtempSync(join(dir, "no-rollback-"));
    await expect(rollbackNewest({ root: elsewhere, dbUrl: cluster.url() })).rejects.toThrow(
      /migration 002_people has no down script/,
    );
    expect(await query("select version from supabase_migrations.schema_migrations order by version")).toEqual([
      { version: "001" },
      { version: "002" },
    ]);
  });

  it("`supabase migration up` applies the rolled-back migrations again, over the kept rows", async () => {
    migrate(root, cluster);
    const rows = await query("select display_name, credits from public.real_users where id = $1", [realUserId]);
    expect(rows).toEqual([{ display_name: "Rolled Back", credits: 42 }]);
    const versions = await query<{ version: string }>("select version from supabase_migrations.schema_migrations");
    expect(versions).toHaveLength(migrations.length);
  });
});
