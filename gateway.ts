/**
 * Builds and runs a whole gateway from a Config: KV, the live hub, every
 * bridge's services and routes, the HTTP server; and closes it cleanly.
 * main.ts and the tests use it alike.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { type AppDeps, createApp } from "./app.ts";
import type { Bridge } from "./bridges/bridge.ts";
import { BRIDGES } from "./bridges/mod.ts";
import type { Config } from "./config.ts";
import { createLogger, type Logger } from "./lib/log.ts";
import { createMetrics, type Metrics } from "./lib/metrics.ts";
import { blobCollector } from "./services/blob_collector.ts";
import { startFront } from "./services/http_front.ts";
import { KvNotifier } from "./services/kv_notifier.ts";
import { BroadcastNotifier, LiveHub, LocalNotifier, type Notifier } from "./services/live_hub.ts";
import { BlobStore } from "./storage/blob_store.ts";
import { openStore, type Store } from "./storage/kv.ts";

/** A running gateway. */
export interface Gateway {
  app: OpenAPIHono;
  deps: AppDeps;
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:8000 */
  url: string;
  close(): Promise<void>;
}

/** Opens KV, starts every bridge's services and serves HTTP; resolves once listening. */
export async function startGateway(
  config: Config,
  log: Logger = createLogger(config.log),
  bridges: readonly Bridge[] = BRIDGES,
): Promise<Gateway> {
  const metrics = createMetrics();
  const store = await openStore(config.kvPath, metrics);
  const notifier = await openNotifier(config, store, log);
  const hub = new LiveHub(notifier, metrics, { totalBytes: config.liveBufferTotalBytes });
  const deps: AppDeps = { config, store, metrics, log, hub };
  const blobs = new BlobStore(store);
  const parts = bridges.map((b) =>
    b.create({ core: config, store, blobs, hub, metrics, log }, config.bridges[b.name] as never)
  );
  const app = createApp(deps, parts);
  // Started in order, stopped in reverse.
  const services = [blobCollector(store, blobs, log), ...parts.flatMap((p) => p.services)];
  for (const s of services) await s.start();
  const server = await serve(config, app.fetch, { metrics, log });
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    app,
    deps,
    url: `http://${host}:${server.port}`,
    close: () =>
      closing ??= (async () => {
        hub.closeAll("Gateway is shutting down");
        await server.close();
        for (const s of services.reverse()) await s.stop();
        await notifier.close();
        store.kv.close();
      })(),
  };
}

/**
 * How live events reach other instances: on Deploy a BroadcastChannel
 * reaches every isolate; processes sharing a KV file or URL read a feed in
 * it; an in-memory KV has no one to share with.
 */
async function openNotifier(config: Config, store: Store, log: Logger): Promise<Notifier> {
  if (config.deploy) return new BroadcastNotifier();
  if (config.kvPath === ":memory:") return new LocalNotifier();
  return await KvNotifier.open(store, { pollIntervalMs: config.livePollMs, log });
}

/** Serves the app: through the gateway's own front, or with Deno.serve alone (Deploy, or off). */
async function serve(
  config: Config,
  handler: Deno.ServeHandler,
  deps: { metrics: Metrics; log: Logger },
): Promise<{ port: number; close(): Promise<void> }> {
  if (config.front !== "off" && !config.deploy) {
    const front = await startFront({
      hostname: config.host,
      port: config.port,
      handler,
      thread: config.front,
      limits: {
        headerTimeoutMs: config.headerTimeoutMs,
        idleTimeoutMs: config.idleTimeoutMs,
        writeStallTimeoutMs: config.writeStallTimeoutMs,
        maxConnections: config.maxConnections,
      },
      ...deps,
    });
    return { port: front.addr.port, close: () => front.close() };
  }
  const server = Deno.serve(
    { hostname: config.host, port: config.port, onListen: () => {} },
    handler,
  );
  return { port: server.addr.port, close: () => server.shutdown() };
}
