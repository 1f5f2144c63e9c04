/**
 * System routes: health, Prometheus metrics, the OpenAPI document, and an
 * API reference page whose assets come from the swagger-ui-dist package
 * (no CDN), so it renders offline.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
// The path helper alone: the package index would load the 1.4 MB bundle as a module.
import getAbsoluteFSPath from "swagger-ui-dist/absolute-path.js";
import { HttpError } from "../error.ts";
import type { Metrics } from "../lib/metrics.ts";
import { probeStore, type Store } from "../storage/kv.ts";
import { defineRoute } from "./define.ts";

export const VERSION = "0.1.0";

const Health = z.object({
  status: z.enum(["ok", "degraded"]),
  version: z.string(),
  uptimeSeconds: z.number(),
  kv: z.enum(["ok", "full", "error"]).openapi({
    description: "ok: reads and writes work; full: reads work, writes fail for lack of space; " +
      "error: the store fails",
  }),
  kvDetail: z.string().optional().openapi({ description: "What failed, when kv is not ok" }),
}).openapi("Health");

const DOCS_ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css",
  "swagger-ui-bundle.js": "text/javascript",
};

const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>syncgate API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script></body></html>`;

const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#ui" });`;

/** Mounts /health, /metrics, /openapi.json and /docs. */
export function systemRoutes(app: OpenAPIHono, deps: { store: Store; metrics: Metrics }): void {
  const started = performance.now();

  defineRoute(app, {
    method: "get",
    path: "/health",
    tags: ["system"],
    summary: "Liveness, and whether KV takes reads and writes",
    description: "Probes KV with a read and a small write on every call.",
    responses: {
      200: { description: "Healthy", content: { "application/json": { schema: Health } } },
      503: {
        description: "KV fails, or is full",
        content: { "application/json": { schema: Health } },
      },
    },
  }, async (c) => {
    const { kv, detail } = await probeStore(deps.store);
    const body = {
      status: kv === "ok" ? "ok" : "degraded",
      version: VERSION,
      uptimeSeconds: Math.round((performance.now() - started) / 1000),
      kv,
      ...(detail ? { kvDetail: detail } : {}),
    };
    return c.json(body, kv === "ok" ? 200 : 503);
  });

  defineRoute(
    app,
    {
      method: "get",
      path: "/metrics",
      tags: ["system"],
      summary: "Prometheus metrics",
      responses: {
        200: {
          description: "Text exposition format",
          content: { "text/plain": { schema: z.string() } },
        },
      },
    },
    (c) =>
      c.body(deps.metrics.registry.render(), 200, { "content-type": "text/plain; version=0.0.4" }),
  );

  defineRoute(app, {
    method: "get",
    path: "/openapi.json",
    tags: ["system"],
    summary: "This API as OpenAPI 3.1",
    responses: {
      200: {
        description: "OpenAPI document",
        content: { "application/json": { schema: z.object({}) } },
      },
    },
  }, (c) =>
    c.json(app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "syncgate",
        version: VERSION,
        description: "HTTP and WebSocket gateway to peer-to-peer sync protocols. Errors are " +
          "application/problem+json (RFC 9457). With an API key set, writes need Authorization: Bearer <key>.",
      },
    })));

  defineRoute(app, {
    method: "get",
    path: "/docs",
    tags: ["system"],
    summary: "API reference page (works offline)",
    responses: { 200: { description: "HTML", content: { "text/html": { schema: z.string() } } } },
  }, (c) => c.html(DOCS_HTML));

  const assetDir = getAbsoluteFSPath();
  const cache = new Map<string, Uint8Array>();
  app.get("/docs/assets/:name", async (c) => {
    const name = c.req.param("name");
    if (name === "init.js") return c.body(DOCS_INIT, 200, { "content-type": "text/javascript" });
    const type = DOCS_ASSETS[name];
    if (!type) throw new HttpError(404, "Not Found", { detail: `No docs asset "${name}"` });
    let bytes = cache.get(name);
    if (!bytes) cache.set(name, bytes = await Deno.readFile(`${assetDir}/${name}`));
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "content-type": type,
      "cache-control": "public, max-age=86400",
    });
  });
}
