/**
 * createApp(deps): the HTTP application — middleware, error handling and
 * every protocol's routes. Tests build it too.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { timeout } from "hono/timeout";
import type { Config } from "./config.ts";
import { HttpError } from "./error.ts";
import type { Logger } from "./lib/log.ts";
import type { Metrics } from "./lib/metrics.ts";
import { requireApiKey } from "./middleware/auth.ts";
import { limitBody } from "./middleware/body_limit.ts";
import { observe } from "./middleware/observe.ts";
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

/** Routes that set their own (larger) body limit. */
const OWN_BODY_LIMIT = new Set(["/relay/v1/bulk"]);

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
  app.use(timeout(config.requestTimeoutMs, () =>
    new HttpError(504, "Gateway Timeout", {
      detail: `The request took longer than ${config.requestTimeoutMs} ms`,
    }) as unknown as HTTPException));
  const limit = limitBody(config.bodyLimit);
  app.use((c, next) => OWN_BODY_LIMIT.has(c.req.path) ? next() : limit(c, next));
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
    if (err instanceof HttpError) return err.getResponse(c.req.path);
    if (err instanceof HTTPException && err.status < 500) {
      return new HttpError(err.status, undefined, { detail: err.message }).getResponse(c.req.path);
    }
    const id = c.get("requestId" as never) as string | undefined;
    log.error("unhandled error", {
      id,
      method: c.req.method,
      path: c.req.path,
      error: err,
      stack: err.stack,
    });
    return new HttpError(500, "Internal Server Error", {
      detail:
        `The gateway failed to handle this request; its log has the details under request id ${id}`,
    }).getResponse(c.req.path);
  });
  return app;
}
