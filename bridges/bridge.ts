/**
 * The bridge contract: each protocol is one module that brings its settings,
 * its services and its routes. The spine (config.ts, gateway.ts, app.ts)
 * assembles the list in bridges/mod.ts and names no protocol, so adding a
 * bridge is adding it to that list.
 *
 * @example
 * ```ts
 * export const echo = defineBridge({
 *   name: "echo",
 *   settings: settingGroup("ECHO", { greeting: setting(z.string().default("hi"), "what to say") }),
 *   create: (ctx, config) => ({
 *     services: [],
 *     routes: (r) => r.define({ method: "get", path: "/echo", … }, (c) => c.text(config.greeting)),
 *   }),
 * });
 * ```
 */
import type { Logger } from "../lib/log.ts";
import type { Metrics } from "../lib/metrics.ts";
import type { SettingGroup, SettingsShape, SettingValues } from "../lib/settings.ts";
import type { Routes } from "../routes/define.ts";
import type { LiveHub } from "../services/live_hub.ts";
import type { Service } from "../services/service.ts";
import type { BlobStore } from "../storage/blob_store.ts";
import type { Store } from "../storage/kv.ts";

/** The core settings a bridge may read (config.ts's Config has them all). */
export interface CoreContext {
  apiKey?: string;
  bodyLimit: number;
  requestTimeoutMs: number;
  liveBufferBytes: number;
  /** On Deno Deploy: no listeners of a bridge's own. */
  deploy: boolean;
}

/** What the gateway gives every bridge. */
export interface BridgeContext {
  core: CoreContext;
  store: Store;
  /** The shared blob store; the gateway collects what nothing refers to. */
  blobs: BlobStore;
  hub: LiveHub;
  metrics: Metrics;
  log: Logger;
}

/** A bridge built for one gateway. */
export interface BridgeParts {
  /** Long-lived work: started in this order after KV opens, stopped in reverse before it closes. */
  services: Service[];
  /** Declares the bridge's routes. */
  routes(routes: Routes): void;
}

/** A protocol bridge. */
export interface Bridge<S extends SettingsShape = SettingsShape> {
  /** Short lower-case name; also its settings' key in Config.bridges. */
  name: string;
  /** Its settings, under their own prefix (SYNCGATE_<PREFIX>_*). */
  settings: SettingGroup<S>;
  create(ctx: BridgeContext, config: SettingValues<S>): BridgeParts;
}

/** Declares a bridge, keeping its settings' types inside and erasing them for the list. */
export function defineBridge<S extends SettingsShape>(bridge: Bridge<S>): Bridge {
  return bridge as unknown as Bridge;
}
