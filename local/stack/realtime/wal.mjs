// Reads the WAL for the local Realtime server: one dedicated connection owns a TEMPORARY logical
// replication slot (wal2json, which Debian packages as postgresql-15-wal2json) and polls it with
// pg_logical_slot_get_changes, with the options hosted Realtime's realtime.list_changes uses
// (format-version 2, one row per change, commit timestamps, primary keys, type oids), limited to
// realtime.* (broadcast from the database) and, while a client subscribes to postgres_changes, the
// tables of the `supabase_realtime` publication at that moment: without a subscriber, every
// message and chat update would be formatted by wal2json and parsed here for nobody. Polling keeps
// one code path and no replication protocol: every `intervalMs` (15 ms) it reads
// pg_current_wal_flush_lsn() and decodes only when the WAL moved. Measured on this stack: decoding
// on every poll cost the backend ~15% of a CPU while idle; with the check, ~1% (plus ~2% for this
// Node process), and a broadcast still arrives within one interval. Under write load decoding
// costs in proportion to the WAL written, not to the polls (bench/README.md, "Realtime").
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
      from pg_catalog.pg_publication_tables where pubname = 'supabase_realtime' and $3))`;

/**
 * Starts polling; `onChanges(changes)` gets each non-empty batch (parsed wal2json objects, in
 * commit order) and is awaited before the next poll. `wantsTables()` says, before each poll,
 * whether the publication's tables are read too (someone subscribes to postgres_changes).
 * Returns {ready, tablesRead(), stop()}; `ready` resolves once the first slot exists,
 * `tablesRead()` once a poll has asked for the tables (a new subscriber awaits it: the changes
 * committed after that are read for it).
 */
export function startWalReader({
  dbUrl, onChanges, wantsTables = () => true, log = () => {}, intervalMs = 15, batchSize = 1000, tickMs = 1000,
}) {
  let stopped = false;
  let client = null;
  let timer = null;
  let wake = null;
  let markReady;
  const ready = new Promise((resolve) => (markReady = resolve));
  let tableWaiters = []; // resolved once a poll has asked for the publication's tables
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
    const ticker = startSnapshotTicker();
    try {
      await poll(slot);
    } finally {
      ticker.stop();
    }
  }

  async function poll(slot) {
    let decodedUpTo = null;
    while (!stopped) {
      // Asked before the flush position is read: whatever commits after this reads the tables.
      const tables = wantsTables();
      if (tables && tableWaiters.length) {
        for (const resolve of tableWaiters) resolve();
        tableWaiters = [];
      }
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
      const { rows } = await client.query(CHANGES_SQL, [slot, batchSize, tables]);
      if (rows.length) await onChanges(rows.map((row) => JSON.parse(row.data)));
      if (rows.length < batchSize) {
        decodedUpTo = flushed;
        await sleep(intervalMs);
      }
    }
  }

  /**
   * Every call of pg_logical_slot_get_changes decodes from the slot's restart_lsn, which Postgres
   * moves only at a running-transactions record (the background writer logs one every 15 s) and
   * then only to the one before (an older transaction may still be open): under a steady write
   * load the slot re-read 15 to 30 s of WAL at every poll (measured: 110-150 MB per call under the
   * bench's message load, about 30% of a CPU, and the reader fell further behind the WAL every
   * second). Creating a logical slot logs such a record at once (Postgres 15 has no
   * pg_log_standby_snapshot), so once a second, when the WAL moved, a second connection creates and
   * drops a throwaway temporary slot: restart_lsn then trails by one or two seconds of WAL. The
   * creation waits for the transactions open at that moment, on its own connection, so a long
   * transaction never holds the reader up.
   */
  function startSnapshotTicker() {
    let ticking = true;
    let ticker = null;
    let pause = null;
    const run = (async () => {
      let lastLsn = null;
      let delay = tickMs;
      while (ticking && !stopped) {
        await new Promise((resolve) => {
          pause = resolve;
          setTimeout(resolve, delay).unref?.();
        });
        delay = tickMs;
        if (!ticking || stopped) break;
        try {
          if (!ticker) {
            ticker = new pg.Client({ connectionString: dbUrl, application_name: "realtime_local_wal_ticker" });
            ticker.on("error", () => {});
            await ticker.connect();
          }
          const { rows: [{ lsn }] } = await ticker.query("select pg_catalog.pg_current_wal_insert_lsn()::text as lsn");
          if (lsn === lastLsn) continue; // nothing written since the last tick (ours included)
          const name = `realtime_local_tick_${process.pid}_${randomBytes(4).toString("hex")}`;
          await ticker.query("select pg_catalog.pg_create_logical_replication_slot($1, 'wal2json', true)", [name]);
          await ticker.query("select pg_catalog.pg_drop_replication_slot($1)", [name]);
          lastLsn = (await ticker.query("select pg_catalog.pg_current_wal_insert_lsn()::text as lsn")).rows[0].lsn;
        } catch (error) {
          if (ticking && !stopped) log(`WAL reader's snapshot ticker: ${error.message}; again in 30 s`);
          await ticker?.end().catch(() => {});
          ticker = null;
          delay = 30_000; // the reader still works, only at the old cost
        }
      }
    })();
    void run;
    return {
      // Not awaited to the end: a tick stuck on a dead connection must not hold the reader's
      // reconnection up (the loop ends at its next step).
      stop() {
        ticking = false;
        pause?.();
        void ticker?.end().catch(() => {});
      },
    };
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
    /** Resolves once every change committed from now on is read with the publication's tables. */
    tablesRead() {
      if (stopped) return Promise.resolve();
      return new Promise((resolve) => {
        tableWaiters.push(resolve);
        wake?.(); // no need to wait out the interval
      });
    },
    async stop() {
      stopped = true;
      for (const resolve of tableWaiters) resolve();
      clearTimeout(timer);
      wake?.();
      await client?.end().catch(() => {});
      await loop;
    },
  };
}
