// Builds the database the way Supabase does: platform objects first, then the project's
// migrations through the real Supabase CLI, then the development seed.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { DATABASE, SUPERUSER_PASSWORD } from "./postgres.mjs";

function psqlEnv() {
  return { ...process.env, PGPASSWORD: SUPERUSER_PASSWORD, PGSSLMODE: "disable", PGCONNECT_TIMEOUT: "10" };
}

/** Runs SQL (a file or a command) with psql as the superuser; throws with psql's message. */
export function psql(cluster, { file, sql, database = DATABASE, quiet = true }) {
  const args = ["-X", "-v", "ON_ERROR_STOP=1", "-d", cluster.url(undefined, undefined, database)];
  if (quiet) args.push("-q");
  if (file) args.push("-f", file);
  if (sql) args.push("-c", sql);
  const result = spawnSync("psql", args, { encoding: "utf8", env: psqlEnv() });
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
  psql(cluster, { file: join(root, "local", "sql", "bootstrap.sql") });
  const hasPgNet = queryValue(cluster, "select count(*) from pg_available_extensions where name = 'pg_net'");
  if (hasPgNet === "0") psql(cluster, { file: join(root, "local", "sql", "pg_net_standin.sql") });
}

/** Applies pending migrations with the Supabase CLI (`supabase migration up`). */
export function migrate(root, cluster) {
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
}

export function seed(root, cluster) {
  psql(cluster, { file: join(root, "supabase", "seed.sql") });
}

/** Drops and recreates the database, then bootstrap, migrations and seed (`supabase db reset`). */
export function resetDatabase(root, cluster, cronTarget = null) {
  psql(cluster, { database: "template1", sql: `drop database if exists ${DATABASE} with (force)` });
  psql(cluster, { database: "template1", sql: `create database ${DATABASE}` });
  bootstrap(root, cluster);
  migrate(root, cluster);
  seed(root, cluster);
  if (cronTarget) pointCronJobsAt(cluster, cronTarget);
  // PostgREST, if running, rebuilds its schema cache.
  psql(cluster, { sql: "notify pgrst, 'reload schema'" });
}

/**
 * Hosted cron jobs read the project URL and the sweeper's key from Vault; the local database has
 * no Vault, so the jobs' fallback settings (private.cron_settings) point at the local gateway.
 */
export function pointCronJobsAt(cluster, { apiUrl, sweeperKey }) {
  psql(cluster, {
    sql: `do $$ begin
      if to_regclass('private.cron_settings') is not null then
        update private.cron_settings set project_url = '${apiUrl}', sweeper_key = '${sweeperKey}';
      end if; end $$`,
  });
}

/** The seeded auth users (for printing access tokens). */
export function seededUsers(cluster) {
  const out = queryValue(
    cluster,
    "select coalesce(json_agg(json_build_object('id', id, 'email', email, 'persona', raw_user_meta_data->>'persona') order by email), '[]') from auth.users",
  );
  return JSON.parse(out || "[]");
}
