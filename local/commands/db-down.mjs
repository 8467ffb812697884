// `npm run db:down`: rolls back the newest migration the database has applied, with its down script
// (supabase/rollback/NNN_<name>.down.sql), and deletes its row from the Supabase CLI's history so
// that `supabase migration up` (and the next `npm start`) applies it again.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";

export const ROLLBACK_DIR = join("supabase", "rollback");

/** A rollback that was not attempted: nothing to roll back, or no down script. Nothing changed. */
export class RollbackRefused extends Error {}

/** The down script of migration `version` (e.g. "012"), relative to root, or null when there is none. */
export function downScriptFor(root, version) {
  const dir = join(root, ROLLBACK_DIR);
  if (!existsSync(dir)) return null;
  const file = readdirSync(dir).find((f) => f.startsWith(`${version}_`) && f.endsWith(".down.sql"));
  return file ? join(ROLLBACK_DIR, file) : null;
}

/**
 * The statements of a down script without its `begin;` … `commit;` wrapper. Every script has one, so
 * that running it alone (psql, the SQL editor) is all-or-nothing; here it runs inside a larger
 * transaction instead.
 */
export function downStatements(sql, file = "the down script") {
  const match = /^(?:[ \t]*(?:--[^\n]*)?\n)*begin;\n([\s\S]*)\ncommit;\s*$/.exec(sql);
  if (!match) throw new RollbackRefused(`${file} must start with \`begin;\` and end with \`commit;\` (after its header comment)`);
  return match[1];
}

/**
 * Rolls back the newest applied migration in one transaction: its down script, then the delete of
 * its supabase_migrations.schema_migrations row; then asks PostgREST to reload its schema cache.
 * Tables that stay keep their rows. Returns { version, name, file }. Throws RollbackRefused when no
 * migration is applied or its down script is missing, and the database's error when the script
 * fails (then nothing changed).
 */
export async function rollbackNewest({ root, dbUrl }) {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      "select version, name from supabase_migrations.schema_migrations order by version desc limit 1",
    ).catch((error) => {
      if (error.code === "42P01") return { rows: [] }; // no history table: the CLI never ran here
      throw error;
    });
    if (!rows.length) throw new RollbackRefused("no migration is applied: nothing to roll back");
    const { version, name } = rows[0];
    const migration = `${version}_${name}`;
    const file = downScriptFor(root, version);
    if (!file) {
      throw new RollbackRefused(
        `migration ${migration} has no down script (${ROLLBACK_DIR}/${migration}.down.sql): nothing was rolled back`,
      );
    }
    const statements = downStatements(readFileSync(join(root, file), "utf8"), file);

    await client.query("begin");
    try {
      await client.query(statements);
      await client.query("delete from supabase_migrations.schema_migrations where version = $1", [version]);
      await client.query("commit");
    } catch (error) {
      await client.query("rollback");
      error.message = `${file} failed, nothing was rolled back: ${error.message}`;
      throw error;
    }
    await client.query("notify pgrst, 'reload schema'");
    return { version, name, file };
  } finally {
    await client.end();
  }
}
