// CORS for functions that browsers call (every function but the Paystack webhook), with the
// headers supabase-js sends (`authorization`, `apikey`, `x-client-info`, `content-type`).
import { cors } from "hono/cors";

export function browserCors() {
  return cors({
    origin: "*",
    allowMethods: ["POST", "OPTIONS"],
    allowHeaders: ["authorization", "x-client-info", "apikey", "content-type"],
    maxAge: 86400,
  });
}
