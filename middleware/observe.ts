/**
 * Request id, one log line per request, and the HTTP metrics. The route
 * label is the matched pattern (not the raw path), so metrics stay bounded.
 */
import type { MiddlewareHandler } from "hono";
import type { Logger } from "../lib/log.ts";
import type { Metrics } from "../lib/metrics.ts";

const ID_RE = /^[\w.:-]{1,128}$/;

/** Assigns X-Request-Id (a caller's well-formed one is kept), logs and measures. */
export function observe(log: Logger, metrics: Metrics): MiddlewareHandler {
  const logRequests = log.enabled("info");
  return async (c, next) => {
    const started = performance.now();
    const given = c.req.header("x-request-id");
    const id = given && ID_RE.test(given) ? given : crypto.randomUUID();
    c.set("requestId" as never, id as never);
    try {
      await next();
    } finally {
      // On the response's own headers: Hono's c.header() would rebuild a finished response
      // around a stream of its body, which costs every request Deno's fast path for bodies.
      c.res.headers.set("x-request-id", id);
      const seconds = (performance.now() - started) / 1000;
      const route = c.req.routePath || "unmatched";
      const method = c.req.method;
      const status = c.res.status;
      metrics.httpRequests.inc({ route, method, status: String(status) });
      metrics.httpDuration.observe(seconds, { route, method });
      if (logRequests) {
        log.info("request", {
          id,
          method,
          path: c.req.path,
          status,
          ms: Math.round(seconds * 1e4) / 10,
        });
      }
    }
  };
}
