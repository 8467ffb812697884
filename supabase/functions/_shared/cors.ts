// CORS for functions that browsers call (every function but the Paystack webhook), with the
// headers supabase-js sends: those of its canonical `@supabase/supabase-js/cors` list
// (`authorization`, `x-client-info`, `apikey`, `content-type`, `x-retry-count`) and the
// `x-region` header `functions.invoke` adds when a region is chosen.
import { cors } from "hono/cors";

export function browserCors() {
  return cors({
    origin: "*",
    allowMethods: ["POST", "OPTIONS"],
    allowHeaders: [
      "authorization",
      "x-client-info",
      "apikey",
      "content-type",
      "x-retry-count",
      "x-region",
    ],
    maxAge: 86400,
  });
}
