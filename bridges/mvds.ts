/**
 * The MVDS bridge: durable data-sync nodes whose peers are other gateways
 * (over HTTP) and browsers or apps (over WebSocket). Node state lives in
 * KV; the epoch ticker for HTTP peers runs under a lease, and WebSocket
 * peers are served by the process holding their socket. A group may be
 * backed by a remote log written here, and caught up from a peer's log
 * (services/mvds_remote_log*.ts, on their own handles of the remote log
 * services: they keep nothing in memory, so they agree with the remote
 * log bridge's).
 */
import { int, setting, settingGroup, type SettingValues } from "../lib/settings.ts";
import { MAX_PAYLOAD_BYTES } from "../protocols/mvds/proto.ts";
import { mvdsRoutes } from "../routes/mvds.ts";
import { mvdsRemoteLogRoutes } from "../routes/mvds_remote_log.ts";
import { runUnderLease } from "../services/exclusive_job.ts";
import { MvdsRemoteLogBacking } from "../services/mvds_remote_log.ts";
import { MvdsCatchUp } from "../services/mvds_remote_log_catch_up.ts";
import { MvdsService } from "../services/mvds_service.ts";
import { MvdsSessions } from "../services/mvds_session.ts";
import { MvdsTicker } from "../services/mvds_ticker.ts";
import { MvdsHttpTransport } from "../services/mvds_transport.ts";
import { RemoteLogMirror } from "../services/remote_log_mirror.ts";
import { RemoteLogService } from "../services/remote_log_service.ts";
import { MAX_VALUE_BYTES } from "../storage/kv.ts";
import { MvdsRemoteLogRepo } from "../storage/mvds_remote_log_repo.ts";
import { MvdsRepo } from "../storage/mvds_repo.ts";
import { RemoteLogRepo } from "../storage/remote_log_repo.ts";
import { defineBridge } from "./bridge.ts";
import { REMOTELOG_SETTINGS } from "./remotelog.ts";

/** Largest payload taken: what a sender builds (1 MiB), and one largest message past it. */
const MAX_INBOUND_PAYLOAD_BYTES = MAX_PAYLOAD_BYTES + 2 * MAX_VALUE_BYTES;

/** The MVDS bridge's settings: SYNCGATE_MVDS_*. */
export const MVDS_SETTINGS = settingGroup("MVDS", {
  maxMessageBytes: setting(
    int(1, MAX_VALUE_BYTES).default(MAX_VALUE_BYTES),
    "largest MVDS message body (bytes; it is kept in one KV value, so at most 61440); a larger " +
      "one sent is 413, a larger one received is dropped (not stored, not ACKed)",
  ),
  sendTimeoutMs: setting(
    int(100, 600_000).default(5000),
    "ms a POST of a payload to an HTTP peer may take; a slower one counts as lost " +
      "(retransmission repairs it)",
  ),
  leaseTtlMs: setting(
    int(1000, 600_000).default(15_000),
    "ms after which another process takes over the epoch ticker of HTTP peers from one that died",
  ),
});

/** A remote log setting's default (the MVDS bridge cannot read the remote log bridge's values). */
const remoteLogDefault = <K extends keyof typeof REMOTELOG_SETTINGS.settings>(k: K) =>
  REMOTELOG_SETTINGS.settings[k].schema.parse(undefined) as number;

/** Ms between retries of appends to remote logs that failed (or were cut by a crash). */
const APPEND_RETRY_MS = 5000;

/** The MVDS bridge's settings, read. */
export type MvdsBridgeSettings = SettingValues<typeof MVDS_SETTINGS.settings>;

export const mvds = defineBridge({
  name: "mvds",
  settings: MVDS_SETTINGS,
  create(ctx, config) {
    const service = new MvdsService(new MvdsRepo(ctx.store), ctx.hub, {
      maxMessageBytes: config.maxMessageBytes,
      log: ctx.log,
    });
    const http = new MvdsHttpTransport({
      apiKey: ctx.core.apiKey,
      timeoutMs: config.sendTimeoutMs,
      log: ctx.log,
    });
    const ticker = new MvdsTicker(service, http, { log: ctx.log });
    const tickerJob = runUnderLease(ctx.store, {
      name: "mvds-ticker",
      ttlMs: config.leaseTtlMs,
      intervalMs: 1000, // only between runs that ended by failing: a run lasts the tenure
      job: (signal) => ticker.run(signal),
      log: ctx.log,
    });
    const logs = new RemoteLogService(ctx.store, ctx.blobs, ctx.hub, {
      maxEntryBytes: remoteLogDefault("maxEntryBytes"),
      recordLifetimeMs: remoteLogDefault("recordLifetime") * 1000,
      recordTtlMs: remoteLogDefault("recordTtl") * 1000,
      log: ctx.log,
    });
    const logRepo = new MvdsRemoteLogRepo(ctx.store);
    const backing = new MvdsRemoteLogBacking(service, logs, logRepo, { log: ctx.log });
    backing.attach();
    const appendJob = runUnderLease(ctx.store, {
      name: "mvds-remote-log-appends",
      ttlMs: config.leaseTtlMs,
      intervalMs: APPEND_RETRY_MS,
      // Markers younger than a retry interval are most likely being appended by their send.
      job: (signal) => backing.drain({ minAgeMs: APPEND_RETRY_MS, signal }),
      log: ctx.log,
    });
    const catchUp = new MvdsCatchUp(service, logs, logRepo, {
      mirror: (peers) =>
        new RemoteLogMirror(logs, new RemoteLogRepo(ctx.store), ctx.hub, {
          peers,
          timeoutMs: ctx.core.requestTimeoutMs,
          maxEntryBytes: remoteLogDefault("maxEntryBytes"),
          maxPages: 100_000,
          log: ctx.log,
        }),
      log: ctx.log,
    });
    const sessions = new MvdsSessions(service, {
      maxFrameBytes: MAX_INBOUND_PAYLOAD_BYTES,
      log: ctx.log,
    });
    return {
      // Stopped in reverse: sockets close, the ticker stops, then POSTs in flight end.
      services: [http, tickerJob, appendJob, sessions],
      routes: (routes) => {
        mvdsRoutes(routes, {
          mvds: service,
          sessions,
          hub: ctx.hub,
          metrics: ctx.metrics,
          apiKey: ctx.core.apiKey,
          maxMessageBytes: config.maxMessageBytes,
          maxPayloadBytes: MAX_INBOUND_PAYLOAD_BYTES,
          liveBufferBytes: ctx.core.liveBufferBytes,
          frameLimit: ctx.core.bodyLimit,
        });
        mvdsRemoteLogRoutes(routes, { backing, catchUp });
      },
    };
  },
});
