/**
 * createApp(deps, bridges): the HTTP application — middleware, error
 * handling, the system routes and every bridge's routes. Tests build it too.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import type { BridgeParts } from "./bridges/bridge.ts";
import type { Config } from "./config.ts";
import { HttpError, toHttpError } from "./error.ts";
import type { Logger } from "./lib/log.ts";
import type { Metrics } from "./lib/metrics.ts";
import { observe } from "./middleware/observe.ts";
import { Routes } from "./routes/define.ts";
import { systemRoutes } from "./routes/system.ts";
import type { LiveHub } from "./services/live_hub.ts";
import type { Store } from "./storage/kv.ts";

/** What the app itself needs, built once by the gateway. */
export interface AppDeps {
  config: Config;
  store: Store;
  metrics: Metrics;
  log: Logger;
  hub: LiveHub;
}

/** Builds the app with the routes of the given bridges. */
export function createApp(deps: AppDeps, bridges: readonly BridgeParts[]): OpenAPIHono {
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

  // Each route sets its own body limit and timeout, or gets these; writes need the API key.
  const routes = new Routes(app, {
    bodyLimit: config.bodyLimit,
    timeoutMs: config.requestTimeoutMs,
    apiKey: config.apiKey,
  });
  systemRoutes(routes, deps);
  for (const b of bridges) b.routes(routes);
  routes.finish();

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
