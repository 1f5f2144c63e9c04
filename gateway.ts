/**
 * Builds and runs a whole gateway from a Config: KV, services, the HTTP
 * server; and closes it cleanly. main.ts and the tests use it alike.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { type AppDeps, createApp } from "./app.ts";
import type { Config } from "./config.ts";
import { createLogger, type Logger } from "./lib/log.ts";
import { createMetrics } from "./lib/metrics.ts";
import { BroadcastNotifier, LiveHub, LocalNotifier } from "./services/live_hub.ts";
import type { Service } from "./services/service.ts";
import { WakuService } from "./services/waku_service.ts";
import { openStore } from "./storage/kv.ts";
import { WakuRepo } from "./storage/waku_repo.ts";

/** A running gateway. */
export interface Gateway {
  app: OpenAPIHono;
  deps: AppDeps;
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:8000 */
  url: string;
  close(): Promise<void>;
}

/** Opens KV, starts services and serves HTTP; resolves once listening. */
export async function startGateway(
  config: Config,
  log: Logger = createLogger(config.logLevel),
): Promise<Gateway> {
  const metrics = createMetrics();
  const store = await openStore(config.kvPath, metrics);
  const notifier = config.deploy ? new BroadcastNotifier() : new LocalNotifier();
  const hub = new LiveHub(notifier, metrics);
  const waku = new WakuService(new WakuRepo(store), hub, {
    maxMessageBytes: config.waku.maxMessageBytes,
    retention: config.waku.retention,
    retentionIntervalMs: config.waku.retentionIntervalMs,
    log,
  });
  const deps: AppDeps = { config, store, metrics, log, hub, waku };
  const app = createApp(deps);
  // Long-lived work (retention now; listeners and peer sessions of later bridges) starts here
  // and stops in reverse order.
  const services: Service[] = [waku];
  for (const s of services) await s.start();
  const server = Deno.serve(
    { hostname: config.host, port: config.port, onListen: () => {} },
    app.fetch,
  );
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    app,
    deps,
    url: `http://${host}:${server.addr.port}`,
    close: () =>
      closing ??= (async () => {
        hub.closeAll("Gateway is shutting down");
        await server.shutdown();
        for (const s of services.reverse()) await s.stop();
        notifier.close();
        store.kv.close();
      })(),
  };
}
