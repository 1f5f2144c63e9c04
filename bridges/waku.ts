/**
 * The Waku bridge: a store node behind nwaku's REST API (relay publish,
 * store v3 queries), the seed's store 2.0.0-beta2 over HTTP, live messages
 * over WebSocket and SSE, and retention per pubsub topic.
 */
import { z } from "zod";
import { int, setting, settingGroup, type SettingValues } from "../lib/settings.ts";
import { parseRetention } from "../protocols/waku/retention_policy.ts";
import { wakuRelayRoutes } from "../routes/waku_relay.ts";
import { wakuStoreRoutes } from "../routes/waku_store.ts";
import { WakuService } from "../services/waku_service.ts";
import { WakuRepo } from "../storage/waku_repo.ts";
import { defineBridge } from "./bridge.ts";

/** The Waku bridge's settings: SYNCGATE_WAKU_*. */
export const WAKU_SETTINGS = settingGroup("WAKU", {
  maxMessageBytes: setting(
    int(1024, 16 * 1024 * 1024).default(150 * 1024),
    "largest Waku message (encoded), as nwaku's 150 KiB",
  ),
  bulkBodyLimit: setting(
    int(1024, 1024 * 1024 * 1024).default(256 * 1024 * 1024),
    "max body of `POST /relay/v1/bulk` (also read as `SYNCGATE_BULK_BODY_LIMIT`, its old name)",
    { alias: "SYNCGATE_BULK_BODY_LIMIT" },
  ),
  retention: setting(
    z.string().default("").transform((text, ctx) => {
      try {
        return parseRetention(text);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: (e as Error).message });
        return z.NEVER;
      }
    }),
    "per pubsub topic: `topic=time:<seconds>,capacity:<count>;*=…` (`*` = every other topic); " +
      "empty = keep all",
  ),
  retentionInterval: setting(int(1, 86_400).default(60), "seconds between retention passes"),
  maxClockSkew: setting(
    int(0, 31_536_000).default(600),
    "seconds a message's timestamp may be ahead of the gateway's clock; later ones are refused " +
      "(400), so none escapes time retention",
  ),
});

/** The Waku bridge's settings, read. */
export type WakuSettings = SettingValues<typeof WAKU_SETTINGS.settings>;

export const waku = defineBridge({
  name: "waku",
  settings: WAKU_SETTINGS,
  create(ctx, config) {
    const service = new WakuService(new WakuRepo(ctx.store), ctx.hub, {
      maxMessageBytes: config.maxMessageBytes,
      maxClockSkewSeconds: config.maxClockSkew,
      retention: config.retention,
      retentionIntervalMs: config.retentionInterval * 1000,
      log: ctx.log,
    });
    return {
      services: [service],
      routes(routes) {
        wakuRelayRoutes(routes, {
          waku: service,
          hub: ctx.hub,
          metrics: ctx.metrics,
          log: ctx.log,
          apiKey: ctx.core.apiKey,
          frameLimit: ctx.core.bodyLimit,
          bulkBodyLimit: config.bulkBodyLimit,
          liveBufferBytes: ctx.core.liveBufferBytes,
        });
        wakuStoreRoutes(routes, { waku: service });
      },
    };
  },
});
