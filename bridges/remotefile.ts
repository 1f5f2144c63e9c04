/**
 * The RemoteFile bridge (RemoteFile 1.0, with APX on top): a listener APX
 * nodes connect to, client connections to APX servers and nodes that users
 * create, every file mirrored and stored, and APX ports on REST and
 * WebSocket.
 */
import { z } from "zod";
import { int, setting, settingGroup, type SettingValues } from "../lib/settings.ts";
import { remoteFileRoutes } from "../routes/remotefile.ts";
import { remoteFileApxRoutes } from "../routes/remotefile_apx.ts";
import { parseHostPort, parsePeerList } from "../services/remotefile_peers.ts";
import { RemoteFileService } from "../services/remotefile_service.ts";
import { defineBridge } from "./bridge.ts";

/** A setting's text through a parser that throws: its message becomes the setting's problem. */
const parsed = <T>(parse: (text: string) => T) =>
  z.string().default("").transform((text, ctx) => {
    try {
      return parse(text.trim());
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
      return z.NEVER;
    }
  });

/** The RemoteFile bridge's settings: SYNCGATE_REMOTEFILE_*. */
export const REMOTEFILE_SETTINGS = settingGroup("REMOTEFILE", {
  listen: setting(
    parsed((t) => {
      if (!t) return undefined;
      const { host, port } = parseHostPort(t);
      return { hostname: host, port: port as number };
    }),
    "`host:port` of the RemoteFile (APX) TCP listener (`[::1]:5000` for IPv6; port `0` = any " +
      "free one); empty = off. Always off on Deno Deploy",
  ),
  socket: setting(
    parsed((t) => t || undefined),
    "unix socket path of a RemoteFile (APX) listener; empty = off. Always off on Deno Deploy",
  ),
  peers: setting(
    parsed(parsePeerList),
    "where `POST /remotefile/connections` may connect, comma-separated: `host:port`, `host:*`, " +
      "`unix:/path`, `loopback`, `*`; empty = loopback TCP only (127.0.0.0/8, ::1, localhost)",
  ),
  maxConnections: setting(
    int(1, 100_000).default(64),
    "RemoteFile connections each listener accepts at once (more are closed), and client " +
      "connections that may exist",
  ),
  maxMessageBytes: setting(
    int(1024, 64 * 1024 * 1024).default((1 << 20) + 4),
    "largest RemoteFile message a peer may send (checked before reading it); larger writes must " +
      "be fragmented",
  ),
  maxFileBytes: setting(
    int(1, 1024 * 1024 * 1024).default(4 * 1024 * 1024),
    "largest file published or mirrored (a larger offered file is not opened)",
  ),
  maxDefinitionBytes: setting(
    int(1024, 4 * 1024 * 1024).default(64 * 1024),
    "largest APX definition (`.apx`) decoded; a larger one is mirrored but not parsed",
  ),
  maxFiles: setting(
    int(1, 100_000).default(256),
    "files a peer may announce on one connection; past it FILE_INFO is refused (NACK)",
  ),
  maxConnectionBytes: setting(
    int(1024, 4 * 1024 * 1024 * 1024).default(16 * 1024 * 1024),
    "file bytes one connection may hold, ours and the peer's together",
  ),
  connectTimeoutMs: setting(
    int(100, 600_000).default(10_000),
    "ms a client connection's connect may take",
  ),
  greetingTimeoutMs: setting(
    int(100, 600_000).default(10_000),
    "ms a peer has to complete the greeting (the ACK, for a client connection)",
  ),
  readTimeoutMs: setting(
    int(100, 3_600_000).default(30_000),
    "ms a RemoteFile message may take to arrive once its first byte has (no limit between " +
      "messages: liveness comes from TCP)",
  ),
  reconnectMinMs: setting(
    int(10, 3_600_000).default(500),
    "first backoff (ms) of a client reconnect",
  ),
  reconnectMaxMs: setting(
    int(10, 3_600_000).default(30_000),
    "longest backoff (ms) between client reconnects",
  ),
  saveIntervalMs: setting(
    int(10, 60_000).default(500),
    "ms between saves of mirrored changes (the last known bytes and port values) to the store",
  ),
  keepClosed: setting(
    int(0, 10_000).default(32),
    "closed listener connections kept readable in the store (the newest)",
  ),
});

/** The RemoteFile bridge's settings, read. */
export type RemoteFileSettings = SettingValues<typeof REMOTEFILE_SETTINGS.settings>;

export const remotefile = defineBridge({
  name: "remotefile",
  settings: REMOTEFILE_SETTINGS,
  create(ctx, config) {
    const limits = {
      maxMessageBytes: config.maxMessageBytes,
      maxFileBytes: config.maxFileBytes,
      maxTotalBytes: config.maxConnectionBytes,
      greetingTimeoutMs: config.greetingTimeoutMs,
      // Parsing runs on the main thread: the definition's own, small limit bounds its cost.
      definition: {
        maxTextBytes: config.maxDefinitionBytes,
        maxFileSize: config.maxFileBytes,
      },
      maxFiles: config.maxFiles,
    };
    const service = new RemoteFileService({
      listen: ctx.core.deploy ? undefined : config.listen,
      socket: ctx.core.deploy ? undefined : config.socket,
      peers: config.peers,
      maxAccepted: config.maxConnections,
      maxClients: config.maxConnections,
      keepClosed: config.keepClosed,
      limits,
      timing: {
        connectTimeoutMs: config.connectTimeoutMs,
        readTimeoutMs: config.readTimeoutMs,
        baseMs: config.reconnectMinMs,
        maxMs: config.reconnectMaxMs,
        stableMs: 30_000,
      },
      saveIntervalMs: config.saveIntervalMs,
      store: ctx.store,
      hub: ctx.hub,
      metrics: ctx.metrics,
      log: ctx.log,
    });
    return {
      services: [service],
      routes(routes) {
        remoteFileRoutes(routes, {
          service,
          hub: ctx.hub,
          metrics: ctx.metrics,
          liveBufferBytes: ctx.core.liveBufferBytes,
          frameLimit: ctx.core.bodyLimit,
          maxFileBytes: config.maxFileBytes,
        });
        remoteFileApxRoutes(routes, { service, definitionLimits: limits.definition });
      },
    };
  },
});
