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
  return async (c, next) => {
    const started = performance.now();
    const given = c.req.header("x-request-id");
    const id = given && ID_RE.test(given) ? given : crypto.randomUUID();
    c.set("requestId" as never, id as never);
    try {
      await next();
    } finally {
      c.header("x-request-id", id);
      const seconds = (performance.now() - started) / 1000;
      const route = c.req.routePath || "unmatched";
      const labels = { route, method: c.req.method };
      metrics.httpRequests.inc({ ...labels, status: String(c.res.status) });
      metrics.httpDuration.observe(seconds, labels);
      log.info("request", {
        id,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(seconds * 1e4) / 10,
      });
    }
  };
}
