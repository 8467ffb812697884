// One structured log line per request: function, method, path, status and duration.
import type { MiddlewareHandler } from "hono";

export function requestLog(fn: string): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    console.log(JSON.stringify({
      fn,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      duration_ms: Math.round(performance.now() - started),
    }));
  };
}
