// A PostgreSQL cluster of a test's own (created in a temporary folder, under a second) with the
// platform objects of the local bootstrap, and what a migration may change, as text: the schema
// dump, the rows of every table and the pg_cron jobs. Used by rollback.test.ts (each down script
// restores what was before its migration) and schema.test.ts (supabase/schema.sql is what the
// migrations build).
//
// A scratch database on the stack's cluster would not do: pg_cron lives only in the database
// cron.database_name names, so the schedules migration could not be applied there.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
// @ts-expect-error: plain ESM modules of the local stack
import { bootstrap } from "../../local/stack/database.mjs";
// @ts-expect-error: plain ESM modules of the local stack
import { Cluster, SUPERUSER_PASSWORD } from "../../local/stack/postgres.mjs";

export const root = resolve(import.meta.dirname, "..", "..");

/** The migration files, in apply order. */
export const migrations: string[] = readdirSync(join(root, "supabase", "migrations"))
  .filter((f) => f.endsWith(".sql"))
  .sort();

/** The cluster (as local/stack/postgres.mjs makes it, so that the stack's migrate() takes it too) and remove(). */
export type ScratchCluster = { dir: string; url(): string; stop(): void; remove(): void };

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    }).on("error", fail);
  });
}

/** A new cluster, started, with the bootstrap's platform objects (auth, realtime, Vault, pg_cron) and no migration. */
export async function startScratchCluster(prefix: string): Promise<ScratchCluster> {
  const dir = mkdtempSync(join(tmpdir(), `fantooo-${prefix}-`));
  const cluster = new Cluster({ dir, port: await freePort() });
  cluster.init();
  cluster.start();
  bootstrap(root, cluster);
  return Object.assign(cluster, {
    remove() {
      cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, PGPASSWORD: SUPERUSER_PASSWORD, PGSSLMODE: "disable" },
  });
  if (result.status !== 0) throw new Error(`${command} ${args.at(-1)}: ${result.stderr || result.stdout}`);
  return result.stdout;
}

/** Runs a SQL file as psql does for a developer; `single` wraps it in one transaction (psql -1). */
export function psqlFile(url: string, file: string, { single = false } = {}) {
  run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", ...(single ? ["-1"] : []), "-d", url, "-f", file]);
}

/** Applies every migration in order, each in one transaction, as psql -1 does. */
export function applyMigrations(url: string) {
  for (const migration of migrations) psqlFile(url, join(root, "supabase", "migrations", migration), { single: true });
}

/** `pg_dump --schema-only`, without the lines that differ from one dump to the next. */
export function schemaDump(url: string): string {
  return run("pg_dump", ["--schema-only", "-d", url])
    .split("\n")
    .filter((line) => !/^\\(un)?restrict /.test(line) && !/^-- Dumped (from|by) /.test(line))
    .join("\n");
}

/**
 * A schema dump with its objects in a stable order, so that two databases built by different
 * migrations compare equal when they hold the same objects: pg_dump's entries (each opens with
 * `-- Name: …; Type: …; Schema: …; Owner: …`) sorted by that line, and the lines of each privilege
 * entry sorted (their order is the order the grants were made in).
 */
export function sortedSchema(dump: string): string {
  const [head, ...entries] = dump.split(/\n(?=--\n-- (?:Name|Data for Name): )/);
  const sorted = entries
    .map((entry) => {
      const lines = entry.replace(/\n+$/, "").split("\n");
      const title = lines[1];
      if (/; Type: (DEFAULT )?ACL;/.test(title)) {
        return { title, text: [...lines.slice(0, 4), ...lines.slice(4).filter((l) => l.trim()).sort()].join("\n") };
      }
      return { title, text: lines.join("\n") };
    })
    .sort((a, b) => (a.title < b.title ? -1 : a.title > b.title ? 1 : a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  return `${head.replace(/\n+$/, "")}\n\n${sorted.map((e) => e.text).join("\n\n")}\n`;
}

/**
 * What a migration may change, as text: the schema dump, then the rows of every table, sorted (a
 * schema dump leaves out rows a migration inserts into or updates in an earlier migration's table),
 * then the pg_cron jobs.
 */
export async function snapshot(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const parts = [schemaDump(url)];
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

/** The first differences between two texts as a unified diff ("" when equal). */
export function firstDifferences(
  dir: string,
  expected: string,
  actual: string,
  labels: [string, string] = ["expected", "actual"],
): string {
  const a = join(dir, "expected.sql");
  const b = join(dir, "actual.sql");
  writeFileSync(a, expected);
  writeFileSync(b, actual);
  const { stdout } = spawnSync("diff", ["-u", "--label", labels[0], "--label", labels[1], a, b], {
    encoding: "utf8",
  });
  return stdout.split("\n").slice(0, 80).join("\n");
}
