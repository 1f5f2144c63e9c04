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
import { createMetrics } from "./lib/metrics.ts";
import { BroadcastNotifier, LiveHub, LocalNotifier } from "./services/live_hub.ts";
import { openStore } from "./storage/kv.ts";

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
  const notifier = config.deploy ? new BroadcastNotifier() : new LocalNotifier();
  const hub = new LiveHub(notifier, metrics);
  const deps: AppDeps = { config, store, metrics, log, hub };
  const parts = bridges.map((b) =>
    b.create({ core: config, store, hub, metrics, log }, config.bridges[b.name] as never)
  );
  const app = createApp(deps, parts);
  // Started in order, stopped in reverse.
  const services = parts.flatMap((p) => p.services);
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
