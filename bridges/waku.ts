/**
 * The Waku bridge: a store node behind nwaku's REST API (relay publish,
 * subscriptions and polling, lightpush, filter, store v3 queries, node
 * info), the seed's store 2.0.0-beta2 over HTTP, live messages over
 * WebSocket and SSE, and retention per pubsub topic.
 */
import { z } from "zod";
import { int, setting, settingGroup, type SettingValues } from "../lib/settings.ts";
import { parseRetention } from "../protocols/waku/retention_policy.ts";
import { MAX_FILTER_CRITERIA, wakuFilterRoutes } from "../routes/waku_filter.ts";
import { wakuLightpushRoutes } from "../routes/waku_lightpush.ts";
import { wakuNodeRoutes } from "../routes/waku_node.ts";
import { wakuRelayRoutes } from "../routes/waku_relay.ts";
import { MAX_RELAY_SUBSCRIPTIONS, wakuRelayPollRoutes } from "../routes/waku_relay_poll.ts";
import { wakuStoreRoutes } from "../routes/waku_store.ts";
import { WakuPollCache } from "../services/waku_poll_cache.ts";
import { WakuService } from "../services/waku_service.ts";
import { WakuRepo } from "../storage/waku_repo.ts";
import { WakuSubscriptionRepo } from "../storage/waku_subscriptions.ts";
import { defineBridge } from "./bridge.ts";

/** nwaku's filter cache holds 50 messages (MessageCache.init()), with no setting. */
const FILTER_CACHE_CAPACITY = 50;

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
  clusterId: setting(
    int(0, 65535).default(0),
    "cluster of autosharding's pubsub topics `/waku/2/rs/<cluster>/<shard>`, as nwaku's " +
      "`--cluster-id` (The Waku Network: 1)",
  ),
  shards: setting(
    int(0, 1024).default(1),
    "shards autosharding spreads content topics over, as nwaku's `--num-shards-in-network` " +
      "(The Waku Network: 8); 0 is static sharding (no autosharding)",
  ),
  relayCacheCapacity: setting(
    int(1, 10_000).default(50),
    "messages the relay polling cache holds for `GET /relay/v1/messages/…`, over all topics, " +
      "as nwaku's `--rest-relay-cache-capacity`",
  ),
});

/** The Waku bridge's settings, read. */
export type WakuSettings = SettingValues<typeof WAKU_SETTINGS.settings>;

export const waku = defineBridge({
  name: "waku",
  settings: WAKU_SETTINGS,
  create(ctx, config) {
    const service = new WakuService(new WakuRepo(ctx.store, ctx.blobs), ctx.hub, {
      maxMessageBytes: config.maxMessageBytes,
      maxClockSkewSeconds: config.maxClockSkew,
      retention: config.retention,
      retentionIntervalMs: config.retentionInterval * 1000,
      log: ctx.log,
    });
    const sharding = { clusterId: config.clusterId, shards: config.shards };
    const subscriptions = new WakuSubscriptionRepo(ctx.store);
    const relay = new WakuPollCache(subscriptions, ctx.hub, {
      kinds: ["relay", "auto"],
      capacity: config.relayCacheCapacity,
      maxSubscriptions: MAX_RELAY_SUBSCRIPTIONS,
      log: ctx.log,
    });
    const filter = new WakuPollCache(subscriptions, ctx.hub, {
      kinds: ["filter"],
      capacity: FILTER_CACHE_CAPACITY,
      maxSubscriptions: MAX_FILTER_CRITERIA,
      log: ctx.log,
    });
    return {
      services: [service, relay, filter],
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
        wakuRelayPollRoutes(routes, { waku: service, relay, sharding });
        wakuLightpushRoutes(routes, { waku: service, sharding });
        wakuFilterRoutes(routes, { filter, sharding });
        wakuStoreRoutes(routes, { waku: service });
        wakuNodeRoutes(routes);
      },
    };
  },
});
