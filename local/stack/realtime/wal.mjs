// Reads the WAL for the local Realtime server: one dedicated connection owns a TEMPORARY logical
// replication slot (wal2json, which Debian packages as postgresql-15-wal2json) and polls it with
// pg_logical_slot_get_changes, with the options hosted Realtime's realtime.list_changes uses
// (format-version 2, one row per change, commit timestamps, primary keys, type oids), limited to
// realtime.* (broadcast from the database) and the tables of the `supabase_realtime` publication
// at that moment. Polling keeps one code path and no replication protocol: every `intervalMs`
// (15 ms) it reads pg_current_wal_flush_lsn() and decodes only when the WAL moved. Measured on
// this stack: decoding on every poll cost the backend ~15% of a CPU while idle; with the check,
// ~1% (plus ~2% for this Node process), and a broadcast still arrives within one interval.
// The slot dies with its connection: when Postgres restarts the reader reconnects with backoff and
// makes a new slot (changes made while it was down are not delivered, as with hosted's temporary
// slots).
import { randomBytes } from "node:crypto";
import pg from "pg";

const CHANGES_SQL = `
  select data from pg_logical_slot_get_changes($1, null, $2,
    'format-version', '2', 'include-transaction', 'false', 'include-timestamp', 'true',
    'include-pk', 'true', 'include-type-oids', 'true', 'actions', 'insert,update,delete',
    'add-tables', (
      select concat_ws(',', 'realtime.*', string_agg(
        regexp_replace(schemaname, '([\\\\,. *])', '\\\\\\1', 'g') || '.' ||
        regexp_replace(tablename, '([\\\\,. *])', '\\\\\\1', 'g'), ','))
      from pg_catalog.pg_publication_tables where pubname = 'supabase_realtime'))`;

/**
 * Starts polling; `onChanges(changes)` gets each non-empty batch (parsed wal2json objects, in
 * commit order) and is awaited before the next poll. Returns {ready, stop()}; `ready` resolves
 * once the first slot exists.
 */
export function startWalReader({ dbUrl, onChanges, log = () => {}, intervalMs = 15, batchSize = 1000 }) {
  let stopped = false;
  let client = null;
  let timer = null;
  let wake = null;
  let markReady;
  const ready = new Promise((resolve) => (markReady = resolve));
  const sleep = (ms) => new Promise((resolve) => {
    wake = resolve;
    timer = setTimeout(resolve, ms);
  });

  async function session() {
    client = new pg.Client({ connectionString: dbUrl, application_name: "realtime_local_wal" });
    client.on("error", () => {}); // a dropped connection surfaces as a failed query below
    await client.connect();
    const slot = `realtime_local_${process.pid}_${randomBytes(4).toString("hex")}`;
    await client.query("select pg_catalog.pg_create_logical_replication_slot($1, 'wal2json', true)", [slot]);
    markReady();
    let decodedUpTo = null;
    while (!stopped) {
      // Decoding is what costs (a few ms of the backend's CPU per call, even with nothing to
      // read): only decode when the flushed WAL moved. get_changes reads up to the flush
      // position at its call, so everything up to `flushed` is read by it.
      const { rows: [{ flushed }] } = await client.query(
        "select pg_catalog.pg_current_wal_flush_lsn()::text as flushed",
      );
      if (flushed === decodedUpTo) {
        await sleep(intervalMs);
        continue;
      }
      const { rows } = await client.query(CHANGES_SQL, [slot, batchSize]);
      if (rows.length) await onChanges(rows.map((row) => JSON.parse(row.data)));
      if (rows.length < batchSize) {
        decodedUpTo = flushed;
        await sleep(intervalMs);
      }
    }
  }

  const loop = (async () => {
    let attempt = 0;
    while (!stopped) {
      const startedAt = Date.now();
      try {
        await session();
      } catch (error) {
        if (stopped) break;
        if (Date.now() - startedAt > 30_000) attempt = 0;
        const delay = Math.min(5000, 250 * 2 ** attempt++);
        log(`WAL reader: ${error.message}; reconnecting in ${delay} ms`);
        await client?.end().catch(() => {});
        client = null;
        await sleep(delay);
      }
    }
  })();

  return {
    ready,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await client?.end().catch(() => {});
      await loop;
    },
  };
}
