/**
 * The remote log bridge (remote-log spec 0.0.6) on the CAS and NS bridges'
 * stores: logs this gateway writes for clients that do not sign, and any
 * log a name resolves to, read page by page or followed live.
 */
import { z } from "zod";
import { int, setting, settingGroup, type SettingValues } from "../lib/settings.ts";
import { remoteLogRoutes } from "../routes/remote_log.ts";
import { runUnderLease } from "../services/exclusive_job.ts";
import { peerBase, RemoteLogMirror } from "../services/remote_log_mirror.ts";
import { RemoteLogService } from "../services/remote_log_service.ts";
import { RemoteLogRepo } from "../storage/remote_log_repo.ts";
import { defineBridge } from "./bridge.ts";

/** The remote log bridge's settings: SYNCGATE_REMOTELOG_*. */
export const REMOTELOG_SETTINGS = settingGroup("REMOTELOG", {
  maxEntryBytes: setting(
    int(1, 1024 * 1024 * 1024).default(64 * 1024 * 1024),
    "largest entry `POST /logs/{name}/entries` takes; larger is 413",
  ),
  recordLifetime: setting(
    int(60, 10 * 365 * 86_400).default(7 * 86_400),
    "seconds each IPNS record the gateway signs for a log it writes stays valid",
  ),
  recordTtl: setting(
    int(0, 86_400).default(60),
    "seconds resolvers may cache a log's record (its TTL, and `/ipns/{name}`'s max-age)",
  ),
  peers: setting(
    z.string().default("").transform((text, ctx) => {
      const urls = text.split(",").map((s) => s.trim()).filter(Boolean);
      try {
        return urls.map(peerBase);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: (e as Error).message });
        return z.NEVER;
      }
    }),
    "comma-separated base URLs of the gateways this one may mirror logs from (outbound " +
      "connections go only to these, MVDS peers' urls and RemoteFile peers a user adds); " +
      "empty = none",
  ),
  mirrorInterval: setting(int(1, 86_400).default(10), "seconds between mirror syncs"),
});

/** The remote log bridge's settings, read. */
export type RemoteLogSettings = SettingValues<typeof REMOTELOG_SETTINGS.settings>;

export const remotelog = defineBridge({
  name: "remotelog",
  settings: REMOTELOG_SETTINGS,
  create(ctx, config) {
    const logs = new RemoteLogService(ctx.store, ctx.blobs, ctx.hub, {
      maxEntryBytes: config.maxEntryBytes,
      recordLifetimeMs: config.recordLifetime * 1000,
      recordTtlMs: config.recordTtl * 1000,
      log: ctx.log,
    });
    const mirror = new RemoteLogMirror(logs, new RemoteLogRepo(ctx.store), ctx.hub, {
      peers: config.peers,
      timeoutMs: ctx.core.requestTimeoutMs,
      maxEntryBytes: config.maxEntryBytes,
      maxPages: 100_000,
      log: ctx.log,
    });
    const mirrorJob = runUnderLease(ctx.store, {
      name: "remotelog-mirror",
      intervalMs: config.mirrorInterval * 1000,
      job: (signal) => mirror.syncAll(signal),
      log: ctx.log,
    });
    return {
      services: [mirrorJob],
      routes: (routes) =>
        remoteLogRoutes(routes, {
          logs,
          mirror,
          hub: ctx.hub,
          metrics: ctx.metrics,
          maxEntryBytes: config.maxEntryBytes,
          liveBufferBytes: ctx.core.liveBufferBytes,
          frameLimit: ctx.core.bodyLimit,
        }),
    };
  },
});
