// Builds the database the way Supabase does: platform objects first, then the project's
// migrations through the real Supabase CLI, then the development seed.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DATABASE, SUPERUSER_PASSWORD } from "./postgres.mjs";

function psqlEnv() {
  return { ...process.env, PGPASSWORD: SUPERUSER_PASSWORD, PGSSLMODE: "disable", PGCONNECT_TIMEOUT: "10" };
}

/** Runs SQL (a file or a command) with psql as the superuser; throws with psql's message. */
export function psql(cluster, { file, sql, database = DATABASE, quiet = true, variables = {} }) {
  const args = ["-X", "-v", "ON_ERROR_STOP=1", "-d", cluster.url(undefined, undefined, database)];
  for (const [name, value] of Object.entries(variables)) args.push("-v", `${name}=${value}`);
  if (quiet) args.push("-q");
  if (file) args.push("-f", file);
  // psql expands :'variables' in scripts read from stdin or a file, not in -c commands.
  const input = sql && Object.keys(variables).length ? sql : undefined;
  if (sql && !input) args.push("-c", sql);
  const result = spawnSync("psql", args, { encoding: "utf8", env: psqlEnv(), input });
  if (result.status !== 0) {
    throw new Error(`${file ?? sql}: ${(result.stderr || result.stdout).trim()}`);
  }
  return result.stdout;
}

/** One value of one row, as text. */
export function queryValue(cluster, sql) {
  const result = spawnSync("psql", ["-X", "-At", "-d", cluster.url(), "-c", sql], {
    encoding: "utf8",
    env: psqlEnv(),
  });
  if (result.status !== 0) throw new Error(`${sql}: ${result.stderr.trim()}`);
  return result.stdout.trim();
}

/** Supabase's platform objects, and the pg_net stand-in where the real extension is missing. */
export function bootstrap(root, cluster) {
  psql(cluster, { file: join(root, "local", "stack", "sql", "bootstrap.sql") });
  const hasPgNet = queryValue(cluster, "select count(*) from pg_available_extensions where name = 'pg_net'");
  if (hasPgNet === "0") psql(cluster, { file: join(root, "local", "stack", "sql", "pg_net_standin.sql") });
}

const MIGRATIONS = join("supabase", "migrations");
const checksumFile = (cluster) => join(cluster.dir, "migration-checksums.json");

/** sha256 of every migration file, by file name. */
function migrationChecksums(root) {
  return Object.fromEntries(
    readdirSync(join(root, MIGRATIONS)).filter((f) => f.endsWith(".sql")).sort().map((file) => [
      file,
      createHash("sha256").update(readFileSync(join(root, MIGRATIONS, file))).digest("hex"),
    ]),
  );
}

/**
 * The migrations this database has applied whose file has changed or gone since. The Supabase CLI
 * applies only versions it has not recorded, so such a database no longer matches supabase/ (and
 * the next migration may fail on it). Until the project is deployed its migrations may still be
 * regrouped; `npm run db:reset` rebuilds the local database from them.
 */
export function changedMigrations(root, cluster) {
  const applied = queryValue(
    cluster,
    `select coalesce(string_agg(version || '_' || name || '.sql', ',' order by version), '')
       from supabase_migrations.schema_migrations`,
  ).split(",").filter(Boolean);
  const current = migrationChecksums(root);
  let recorded = {};
  try {
    recorded = JSON.parse(readFileSync(checksumFile(cluster), "utf8"));
  } catch { /* a database built before checksums were kept: compare names only */ }
  return applied.filter((file) => !current[file] || (recorded[file] && recorded[file] !== current[file]));
}

/** Whether the Supabase CLI has recorded migrations in this database. */
export function hasMigrationHistory(cluster) {
  return queryValue(cluster, "select to_regclass('supabase_migrations.schema_migrations') is not null") === "t";
}

/** Notes the checksums of the migration files the database now matches. */
export function recordMigrations(root, cluster) {
  writeFileSync(checksumFile(cluster), `${JSON.stringify(migrationChecksums(root), null, 2)}\n`);
}

/** The migrations this database has recorded, as `NNN_name`, in order. */
function appliedMigrations(cluster) {
  if (!hasMigrationHistory(cluster)) return [];
  return queryValue(
    cluster,
    `select coalesce(string_agg(version || '_' || name, ',' order by version), '')
       from supabase_migrations.schema_migrations`,
  ).split(",").filter(Boolean);
}

/**
 * Applies pending migrations with the Supabase CLI (`supabase migration up`). Returns the ones it
 * applied now (`NNN_name`, in order), so that the caller can name them.
 */
export function migrate(root, cluster) {
  const before = new Set(appliedMigrations(cluster));
  const cli = join(root, "node_modules", ".bin", "supabase");
  const result = spawnSync(cli, ["migration", "up", `--remote=${cluster.url()}`, "--yes", "--workdir", root], {
    encoding: "utf8",
    env: { ...psqlEnv(), SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
  });
  if (result.status !== 0) {
    const output = `${result.stdout}\n${result.stderr}`.trim();
    throw new Error(
      `a migration failed; the database keeps every migration before it. Fix the file and run the ` +
        `command again.\n${output}`,
    );
  }
  return appliedMigrations(cluster).filter((migration) => !before.has(migration));
}

/** "001_a, 002_b" for a few migrations; "23 migrations (001_a … 023_w)" for many. */
export function describeMigrations(names) {
  if (names.length <= 5) return names.join(", ");
  return `${names.length} migrations (${names[0]} … ${names.at(-1)})`;
}

export function seed(root, cluster) {
  psql(cluster, { file: join(root, "supabase", "seed.sql") });
}

/** Drops and recreates the database, then bootstrap, migrations and seed (`supabase db reset`). */
export function resetDatabase(root, cluster, cronTarget = null) {
  // A logical replication slot in use (the local Realtime server's) blocks the drop. Refuse new
  // connections first (Realtime reconnects within a quarter of a second and would make a new
  // slot), end every session, drop what slots are left, then drop the database, trying again
  // while a slot's owner is still going away; Realtime reconnects to the new database by itself.
  psql(cluster, {
    database: "template1",
    sql: `do $$ begin
            if exists (select 1 from pg_database where datname = '${DATABASE}') then
              alter database ${DATABASE} allow_connections false;
            end if;
          end $$;`,
  });
  for (let attempt = 1; ; attempt++) {
    try {
      psql(cluster, {
        database: "template1",
        sql: `select pg_terminate_backend(pid) from pg_stat_activity where datname = '${DATABASE}';
              select pg_drop_replication_slot(slot_name) from pg_replication_slots
               where database = '${DATABASE}' and not active;`,
      });
      psql(cluster, { database: "template1", sql: `drop database if exists ${DATABASE} with (force)` });
      break;
    } catch (error) {
      if (attempt >= 50 || !/replication slot/.test(error.message)) {
        psql(cluster, { database: "template1", sql: `alter database ${DATABASE} allow_connections true` });
        throw error;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100); // a slot's owner is exiting
    }
  }
  psql(cluster, { database: "template1", sql: `create database ${DATABASE}` });
  bootstrap(root, cluster);
  migrate(root, cluster);
  recordMigrations(root, cluster);
  seed(root, cluster);
  if (cronTarget) pointCronJobsAt(cluster, cronTarget);
  // PostgREST, if running, rebuilds its schema cache.
  psql(cluster, { sql: "notify pgrst, 'reload schema'" });
}

/**
 * The cron jobs read the project URL and their keys from Vault, here as on hosted Supabase (the
 * bootstrap's Vault stand-in): writes the secrets `project_url`, `sweeper_key` and `reconcile_key`
 * (creating or updating each). Hosted projects give each scheduled caller its own named secret key;
 * the local stack has one, so both keys hold it unless `reconcileKey` is given.
 */
export function pointCronJobsAt(cluster, { apiUrl, sweeperKey, reconcileKey = sweeperKey }) {
  // Values go in as psql variables (:'name' quotes them), never pasted into the SQL text.
  psql(cluster, {
    sql: `select case when exists (select 1 from vault.secrets where name = s.name)
                 then (select vault.update_secret(v.id, s.value) from vault.secrets v where v.name = s.name)::text
                 else vault.create_secret(s.value, s.name)::text end
            from (values ('project_url', :'url'), ('sweeper_key', :'sweeper'), ('reconcile_key', :'reconcile'))
                 as s (name, value)`,
    variables: { url: apiUrl, sweeper: sweeperKey, reconcile: reconcileKey },
  });
}

/** The seeded auth users (for printing access tokens). */
export function seededUsers(cluster) {
  const out = queryValue(
    cluster,
    // The seed marks its users with a persona; users who signed up since are not "seeded".
    "select coalesce(json_agg(json_build_object('id', id, 'email', email, 'persona', raw_user_meta_data->>'persona') order by email), '[]') from auth.users where raw_user_meta_data ? 'persona'",
  );
  return JSON.parse(out || "[]");
}
