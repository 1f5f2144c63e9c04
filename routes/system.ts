/**
 * System routes: health, Prometheus metrics, the OpenAPI document, and an
 * API reference page whose assets come from the swagger-ui-dist package
 * (no CDN), so it renders offline. /health also answers nwaku's health
 * report (`nodeHealth`, `protocolsHealth`), whose protocols the bridges
 * report through reportProtocolHealth.
 */
import { z } from "@hono/zod-openapi";
// The path helper alone: the package index would load the 1.4 MB bundle as a module.
import getAbsoluteFSPath from "swagger-ui-dist/absolute-path.js";
import { NotFoundError } from "../lib/errors.ts";
import type { Metrics } from "../lib/metrics.ts";
import { probeStore, type Store } from "../storage/kv.ts";
import type { Routes } from "./define.ts";

export const VERSION = "0.1.0";
/** How often /health probes KV at most; calls in between answer with the last probe. */
const PROBE_EVERY_MS = 1000;

/** A status of nwaku's health report. */
export type HealthStatus =
  | "INITIALIZING"
  | "SYNCHRONIZING"
  | "READY"
  | "NOT_READY"
  | "NOT_MOUNTED"
  | "SHUTTING_DOWN";

/** One protocol's health; /health writes it as nwaku does: `{"<protocol>": "<health>", "desc"?}`. */
export interface ProtocolHealth {
  protocol: string;
  health: HealthStatus;
  desc?: string;
}

/** The protocol reports bridges added to each app's routes. */
const reports = new WeakMap<Routes, (() => ProtocolHealth[])[]>();

/**
 * Lists a bridge's protocols in /health's `protocolsHealth`, in the order
 * reported; while KV fails, those READY are NOT_READY, with KV's trouble as `desc`.
 */
export function reportProtocolHealth(routes: Routes, report: () => ProtocolHealth[]): void {
  reports.set(routes, [...reports.get(routes) ?? [], report]);
}

const Health = z.object({
  status: z.enum(["ok", "degraded"]),
  version: z.string(),
  uptimeSeconds: z.number(),
  kv: z.enum(["ok", "full", "error"]).openapi({
    description: "ok: reads and writes work; full: reads work, writes fail for lack of space; " +
      "error: the store fails",
  }),
  kvDetail: z.string().optional().openapi({ description: "What failed, when kv is not ok" }),
  nodeHealth: z.enum(["READY", "NOT_READY"]).openapi({
    description: "nwaku's: READY when KV takes reads and writes",
  }),
  protocolsHealth: z.array(z.record(z.string(), z.string())).openapi({
    description: 'nwaku\'s: one `{"<protocol>": "<status>", "desc"?: "<why>"}` per protocol',
  }),
}).openapi("Health");

/** The docs page's assets: a file of swagger-ui-dist, or our own initialiser. */
const DOCS_ASSETS = new Map<string, { type: string; file?: string; text?: string }>([
  ["swagger-ui.css", { type: "text/css", file: "swagger-ui.css" }],
  ["swagger-ui-bundle.js", { type: "text/javascript", file: "swagger-ui-bundle.js" }],
  ["init.js", {
    type: "text/javascript",
    text: `window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#ui" });`,
  }],
]);

const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>syncgate API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script></body></html>`;

/** Mounts /health, /metrics, /openapi.json and /docs. */
export function systemRoutes(routes: Routes, deps: { store: Store; metrics: Metrics }): void {
  const { app } = routes;
  const started = performance.now();
  // One probe (a KV read and write) serves every health call of the next second.
  let last: { at: number; result: ReturnType<typeof probeStore> } | undefined;
  const probe = () => {
    if (!last || performance.now() - last.at > PROBE_EVERY_MS) {
      last = { at: performance.now(), result: probeStore(deps.store) };
    }
    return last.result;
  };

  routes.define({
    method: "get",
    path: "/health",
    tags: ["system"],
    summary: "Liveness, and whether KV takes reads and writes",
    description: "Probes KV with a read and a small write, at most once a second. Also nwaku's " +
      "health report: `nodeHealth` and `protocolsHealth` (nwaku answers 200 whatever its " +
      "health; this route answers 503 while KV fails).",
    responses: {
      200: { description: "Healthy", content: { "application/json": { schema: Health } } },
      503: {
        description: "KV fails, or is full",
        content: { "application/json": { schema: Health } },
      },
    },
  }, async (c) => {
    const { kv, detail } = await probe();
    const ready = kv === "ok";
    const protocolsHealth = (reports.get(routes) ?? []).flatMap((report) => report()).map((p) => {
      const down = p.health === "READY" && !ready;
      const desc = down ? `the store (KV) fails: ${detail}` : p.desc;
      return { [p.protocol]: down ? "NOT_READY" : p.health, ...(desc ? { desc } : {}) };
    });
    const body = {
      status: ready ? "ok" : "degraded",
      version: VERSION,
      uptimeSeconds: Math.round((performance.now() - started) / 1000),
      kv,
      ...(detail ? { kvDetail: detail } : {}),
      nodeHealth: ready ? "READY" : "NOT_READY",
      protocolsHealth,
    };
    return c.json(body, ready ? 200 : 503);
  });

  routes.define(
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

  routes.define({
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
          "application/problem+json (RFC 9457). With an API key set, writes need `Authorization: Bearer <key>`.",
      },
    })));

  routes.define({
    method: "get",
    path: "/docs",
    tags: ["system"],
    summary: "API reference page (works offline)",
    responses: { 200: { description: "HTML", content: { "text/html": { schema: z.string() } } } },
  }, (c) => c.html(DOCS_HTML));

  const assetDir = getAbsoluteFSPath();
  const cache = new Map<string, Uint8Array>();
  routes.define({
    method: "get",
    path: "/docs/assets/{name}",
    tags: ["system"],
    summary: "Assets of the API reference page",
    params: z.object({ name: z.string().openapi({ enum: [...DOCS_ASSETS.keys()] }) }),
    responses: { 200: { description: "CSS or JavaScript" } },
  }, async (c, { params }) => {
    const asset = DOCS_ASSETS.get(params.name);
    if (!asset) throw new NotFoundError(`No docs asset "${params.name}"`);
    let bytes = cache.get(params.name);
    if (!bytes) {
      bytes = asset.text !== undefined
        ? new TextEncoder().encode(asset.text)
        : await Deno.readFile(`${assetDir}/${asset.file}`);
      cache.set(params.name, bytes);
    }
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "content-type": asset.type,
      "cache-control": "public, max-age=86400",
    });
  });
}
