/**
 * The MVDS bridge: durable data-sync nodes whose peers are other gateways
 * (over HTTP) and browsers or apps (over WebSocket). Node state lives in
 * KV; the epoch ticker for HTTP peers runs under a lease, and WebSocket
 * peers are served by the process holding their socket.
 */
import { int, setting, settingGroup, type SettingValues } from "../lib/settings.ts";
import { MAX_PAYLOAD_BYTES } from "../protocols/mvds/proto.ts";
import { mvdsRoutes } from "../routes/mvds.ts";
import { runUnderLease } from "../services/exclusive_job.ts";
import { MvdsService } from "../services/mvds_service.ts";
import { MvdsSessions } from "../services/mvds_session.ts";
import { MvdsTicker } from "../services/mvds_ticker.ts";
import { MvdsHttpTransport } from "../services/mvds_transport.ts";
import { MAX_VALUE_BYTES } from "../storage/kv.ts";
import { MvdsRepo } from "../storage/mvds_repo.ts";
import { defineBridge } from "./bridge.ts";

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
    const sessions = new MvdsSessions(service, {
      maxFrameBytes: MAX_INBOUND_PAYLOAD_BYTES,
      log: ctx.log,
    });
    return {
      // Stopped in reverse: sockets close, the ticker stops, then POSTs in flight end.
      services: [http, tickerJob, sessions],
      routes: (routes) =>
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
        }),
    };
  },
});
