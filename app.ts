/**
 * createApp(deps): the HTTP application — middleware, error handling and
 * every protocol's routes. Tests build it too.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import type { Config } from "./config.ts";
import { HttpError, toHttpError } from "./error.ts";
import type { Logger } from "./lib/log.ts";
import type { Metrics } from "./lib/metrics.ts";
import { requireApiKey } from "./middleware/auth.ts";
import { limitBody } from "./middleware/body_limit.ts";
import { observe } from "./middleware/observe.ts";
import { requestTimeout } from "./middleware/timeout.ts";
import { systemRoutes } from "./routes/system.ts";
import { wakuRelayRoutes } from "./routes/waku_relay.ts";
import { wakuStoreRoutes } from "./routes/waku_store.ts";
import type { LiveHub } from "./services/live_hub.ts";
import type { WakuService } from "./services/waku_service.ts";
import type { Store } from "./storage/kv.ts";

/** Everything the routes need, built once by the gateway. */
export interface AppDeps {
  config: Config;
  store: Store;
  metrics: Metrics;
  log: Logger;
  hub: LiveHub;
  waku: WakuService;
}

/** Routes that set their own (larger) body limit and timeout. */
const OWN_LIMITS = new Set(["/relay/v1/bulk"]);

/** Builds the app. */
export function createApp(deps: AppDeps): OpenAPIHono {
  const { config, log, metrics } = deps;
  const app = new OpenAPIHono();

  app.use(observe(log, metrics));
  app.use(
    // The headers that matter for a JSON API (OWASP REST cheat sheet); the legacy browser
    // ones Hono also sets by default are left out, since each header costs on every response.
    secureHeaders({
      crossOriginResourcePolicy: config.corsOrigins.length ? "cross-origin" : "same-origin",
      xFrameOptions: "DENY",
      originAgentCluster: false,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xPermittedCrossDomainPolicies: false,
      xXssProtection: false,
      removePoweredBy: false,
    }),
  );
  if (config.corsOrigins.length) {
    app.use(cors({
      origin: config.corsOrigins.includes("*") ? "*" : config.corsOrigins,
      allowHeaders: ["Authorization", "Content-Type", "X-Request-Id"],
      exposeHeaders: ["X-Request-Id"],
    }));
  }
  for (const mw of [requestTimeout(config.requestTimeoutMs), limitBody(config.bodyLimit)]) {
    app.use((c, next) => OWN_LIMITS.has(c.req.path) ? next() : mw(c, next));
  }
  app.use(requireApiKey(config.apiKey));

  systemRoutes(app, deps);
  wakuRelayRoutes(app, {
    ...deps,
    apiKey: config.apiKey,
    bodyLimit: config.bodyLimit,
    bulkBodyLimit: config.bulkBodyLimit,
    liveBufferBytes: config.liveBufferBytes,
  });
  wakuStoreRoutes(app, deps);

  app.notFound((c) =>
    new HttpError(404, "Not Found", { detail: `No route for ${c.req.method} ${c.req.path}` })
      .getResponse(c.req.path)
  );
  app.onError((err, c) => {
    if (err instanceof HTTPException && err.status < 500) {
      return new HttpError(err.status, undefined, { detail: err.message }).getResponse(c.req.path);
    }
    const id = c.get("requestId" as never) as string | undefined;
    const http = toHttpError(err, `request id ${id}`);
    if (http.status >= 500) {
      log.error("request failed", {
        id,
        method: c.req.method,
        path: c.req.path,
        status: http.status,
        error: err,
        stack: http.status === 500 ? err.stack : undefined,
      });
    }
    return http.getResponse(c.req.path);
  });
  return app;
}
