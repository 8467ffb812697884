// Drains the pg_net stand-in's queue (local/stack/sql/pg_net_standin.sql): what pg_net's background
// worker does on Supabase. Woken by NOTIFY on each queued request, and polling as a fallback.
import pg from "pg";

const BATCH = 20;

export function startPgNetDrainer({ connectionString, log = () => {} }) {
  let client = null;
  let stopped = false;
  let draining = false;
  let again = false;
  let timer = null;

  async function connect() {
    while (!stopped) {
      try {
        client = new pg.Client({ connectionString });
        client.on("error", () => {}); // reconnects below on the next failed query
        client.on("notification", () => void drain());
        await client.connect();
        await client.query("listen pg_net_standin");
        return;
      } catch {
        client = null;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  async function call(row) {
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), row.timeout_milliseconds);
    try {
      const response = await fetch(row.url, {
        method: row.method,
        headers: row.headers ?? {},
        body: row.method === "GET" ? undefined : row.body,
        signal: controller.signal,
      });
      const content = await response.text();
      return {
        status_code: response.status,
        content_type: response.headers.get("content-type"),
        headers: Object.fromEntries(response.headers),
        content,
        timed_out: false,
        error_msg: null,
      };
    } catch (error) {
      const timedOut = controller.signal.aborted;
      return {
        status_code: null, content_type: null, headers: null, content: null, timed_out: timedOut,
        error_msg: timedOut ? `Timeout of ${row.timeout_milliseconds} ms reached` : String(error.cause ?? error.message),
      };
    } finally {
      clearTimeout(timeout);
    }
  }

  async function drain() {
    if (draining) {
      again = true;
      return;
    }
    draining = true;
    try {
      do {
        again = false;
        if (!client) await connect();
        if (stopped || !client) return;
        const { rows } = await client.query(
          `delete from net.http_request_queue where id in (
             select id from net.http_request_queue order by id limit $1 for update skip locked)
           returning id, method, url, headers, body, timeout_milliseconds`,
          [BATCH],
        );
        const results = await Promise.all(rows.map(async (row) => ({ id: row.id, ...(await call(row)) })));
        for (const r of results) {
          log(`pg_net ${r.id} -> ${r.status_code ?? r.error_msg}`);
          await client.query(
            `insert into net._http_response (id, status_code, content_type, headers, content, timed_out, error_msg)
             values ($1, $2, $3, $4, $5, $6, $7)`,
            [r.id, r.status_code, r.content_type, r.headers, r.content, r.timed_out, r.error_msg],
          );
        }
        if (rows.length === BATCH) again = true;
      } while (again && !stopped);
    } catch {
      // The database went away (restart, db:reset): reconnect on the next tick.
      try {
        await client?.end();
      } catch { /* already closed */ }
      client = null;
    } finally {
      draining = false;
    }
  }

  const ready = connect().then(() => {
    timer = setInterval(() => void drain(), 1000);
    return drain();
  });

  return {
    ready,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await client?.end().catch(() => {});
    },
  };
}
