// Entry of the local Realtime server (server.mjs), the child process stack.mjs starts and the
// supervisor restarts. Everything comes from the environment:
//   REALTIME_PORT            port on 127.0.0.1 (the gateway proxies /realtime/v1/websocket to it)
//   REALTIME_DB_URL          the cluster, as the postgres superuser (policies, WAL slot, RLS checks)
//   REALTIME_JWT_SECRET      the legacy HS256 secret (HS256 tokens and the legacy API keys)
//   REALTIME_JWKS            the project's public signing keys, JSON ({"keys": [...]})
//   REALTIME_PUBLISHABLE_KEY / REALTIME_SECRET_KEY  the `sb_` keys (absent on a legacy project)
//   REALTIME_POLL_MS         how often the WAL is polled (default 15)
import { startRealtimeServer } from "./server.mjs";

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`realtime: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

const keys = {
  jwtSecret: required("REALTIME_JWT_SECRET"),
  jwks: JSON.parse(process.env.REALTIME_JWKS || '{"keys":[]}'),
  publishableKey: process.env.REALTIME_PUBLISHABLE_KEY || null,
  secretKey: process.env.REALTIME_SECRET_KEY || null,
};
const log = (line) => console.log(`[realtime] ${new Date().toISOString()} ${line}`);

const realtime = await startRealtimeServer({
  port: Number(required("REALTIME_PORT")),
  dbUrl: required("REALTIME_DB_URL"),
  keys,
  log,
  pollMs: Number(process.env.REALTIME_POLL_MS ?? 15),
});
log(`listening on 127.0.0.1:${realtime.port}`);

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, () => {
    realtime.stop().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  });
}
