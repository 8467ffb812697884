// Rollback (supabase/rollback): every migration's down script removes exactly what the migration
// created (the schema dump, the rows of every table and the cron jobs are as before it), and
// `npm run db:down` (rollbackNewest) rolls back the newest migration keeping the rows of the tables
// that stay, so that `supabase migration up` applies it again.
//
// All of it runs on a scratch PostgreSQL cluster of its own (created in a temporary folder, under a
// second), never on the stack's database that the other files share. A scratch database on the
// stack's cluster would not do: pg_cron lives only in the database cron.database_name names, so
// 011_cron_schedules could not be applied there.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain ESM modules of the local stack
import { bootstrap, migrate } from "../../local/stack/database.mjs";
// @ts-expect-error: plain ESM modules of the local stack
import { Cluster, SUPERUSER_PASSWORD } from "../../local/stack/postgres.mjs";
// @ts-expect-error: plain ESM modules of the local stack
import { downScriptFor, downStatements, RollbackRefused, rollbackNewest } from "../../local/commands/db-down.mjs";

const root = resolve(import.meta.dirname, "..", "..");
const migrations: string[] = readdirSync(join(root, "supabase", "migrations")).filter((f) => f.endsWith(".sql")).sort();
const versionOf = (migration: string) => migration.split("_")[0];

let dir: string;
let cluster: { url(): string; init(): boolean; start(): boolean; stop(): void };

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    }).on("error", fail);
  });
}

function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, {
    encoding: "utf8",
    env: { ...process.env, PGPASSWORD: SUPERUSER_PASSWORD, PGSSLMODE: "disable" },
  });
  if (result.status !== 0) throw new Error(`${command} ${args.at(-1)}: ${result.stderr || result.stdout}`);
  return result.stdout;
}

/** Runs a SQL file as psql does for a developer; `single` wraps it in one transaction (psql -1). */
function psqlFile(file: string, { single = false } = {}) {
  run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", ...(single ? ["-1"] : []), "-d", cluster.url(), "-f", file]);
}

/**
 * What a migration may change, as text: `pg_dump --schema-only` (without the lines that differ from
 * one dump to the next), then the rows of every table, sorted (a schema dump leaves out rows a
 * migration inserts into or updates in an earlier migration's table), then the pg_cron jobs.
 */
async function snapshot(): Promise<string> {
  const dump = run("pg_dump", ["--schema-only", "-d", cluster.url()])
    .split("\n")
    .filter((line) => !/^\\(un)?restrict /.test(line) && !/^-- Dumped (from|by) /.test(line))
    .join("\n");
  const client = new pg.Client({ connectionString: cluster.url() });
  await client.connect();
  try {
    const parts = [dump];
    const { rows: tables } = await client.query<{ name: string }>(
      `select format('%I.%I', n.nspname, c.relname) as name
         from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'cron', 'net')
        order by 1`,
    );
    for (const { name } of tables) {
      const { rows } = await client.query(`select string_agg(t::text, E'\\n' order by t::text) as rows from ${name} t`);
      parts.push(`-- rows of ${name}:\n${rows[0].rows ?? ""}`);
    }
    // Jobs by name: their ids come from a sequence that a rollback does not rewind.
    const { rows: jobs } = await client.query(
      "select jobname, schedule, command, database, username, active from cron.job order by jobname",
    );
    parts.push(`-- pg_cron jobs:\n${jobs.map((job) => JSON.stringify(job)).join("\n")}`);
    return parts.join("\n");
  } finally {
    await client.end();
  }
}

/** The first differences between two dumps as a unified diff ("" when equal). */
function firstDifferences(expected: string, actual: string): string {
  const a = join(dir, "expected.sql");
  const b = join(dir, "actual.sql");
  writeFileSync(a, expected);
  writeFileSync(b, actual);
  const { stdout } = spawnSync("diff", ["-u", "--label", "before the migration", "--label", "after its rollback", a, b], {
    encoding: "utf8",
  });
  return stdout.split("\n").slice(0, 80).join("\n");
}

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
  dir = mkdtempSync(join(tmpdir(), "fantooo-rollback-"));
  cluster = new Cluster({ dir, port: await freePort() });
  cluster.init();
  cluster.start();
  bootstrap(root, cluster);
});

afterAll(() => {
  cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

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
        before.push(await snapshot());
        psqlFile(join(root, "supabase", "migrations", migration), { single: true });
      }
      expect(before).toHaveLength(migrations.length);
    });

    for (const [index, migration] of [...migrations.entries()].reverse()) {
      it(`rolling back ${migration} restores the schema and rows from before it`, async () => {
        expect(before, "the migrations were not all applied").toHaveLength(migrations.length);
        const script = downScriptFor(root, versionOf(migration));
        if (!script) throw new Error(`${migration} has no down script in supabase/rollback`);
        psqlFile(join(root, script));
        const differences = firstDifferences(before[index], await snapshot());
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

    // Newest first, down to 002: 001 would drop real_users itself.
    for (const migration of [...migrations].reverse().slice(0, -1)) {
      const result = await rollbackNewest({ root, dbUrl: cluster.url() });
      expect(result.version).toBe(versionOf(migration));
      expect(await applied()).not.toContain(versionOf(migration));
      const rows = await query("select display_name, credits from public.real_users where id = $1", [realUserId]);
      expect(rows, `after rolling back ${migration}`).toEqual([{ display_name: "Rolled Back", credits: 42 }]);
    }
    expect(await applied()).toEqual(["001"]);
  });

  it("refuses a migration without a down script, changing nothing", async () => {
    const elsewhere = mkdtempSync(join(dir, "no-rollback-"));
    await expect(rollbackNewest({ root: elsewhere, dbUrl: cluster.url() })).rejects.toThrow(
      /migration 001_initial_schema has no down script/,
    );
    expect(await query("select version from supabase_migrations.schema_migrations")).toEqual([{ version: "001" }]);
  });

  it("`supabase migration up` applies the rolled-back migrations again, over the kept rows", async () => {
    migrate(root, cluster);
    const rows = await query("select display_name, credits from public.real_users where id = $1", [realUserId]);
    expect(rows).toEqual([{ display_name: "Rolled Back", credits: 42 }]);
    const versions = await query<{ version: string }>("select version from supabase_migrations.schema_migrations");
    expect(versions).toHaveLength(migrations.length);
  });
});
