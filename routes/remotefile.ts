/**
 * RemoteFile connections over HTTP: list them, open client connections to
 * peers, read the peer's files as mirrored, publish and write our own, and
 * follow everything live (WebSocket, or SSE). The APX routes are in
 * remotefile_apx.ts.
 */
import { z } from "@hono/zod-openapi";
import { fromHex0x } from "../lib/bytes.ts";
import { NotFoundError } from "../lib/errors.ts";
import type { Metrics } from "../lib/metrics.ts";
import type { LiveHub } from "../services/live_hub.ts";
import type { PeerAddress } from "../services/peer_connection.ts";
import { fileJson, REMOTEFILE_CHANNEL } from "../services/remotefile_events.ts";
import type { FileSide } from "../services/remotefile_files.ts";
import type {
  ConnectionSummary,
  ConnectionView,
  RemoteFileService,
} from "../services/remotefile_service.ts";
import type { Routes } from "./define.ts";
import { liveSse, liveWebSocket } from "./live.ts";
import {
  ConnectBody,
  DetailJson,
  FileJson,
  FileParams,
  IdParams,
  OffsetQuery,
  PublishBody,
  SummaryJson,
} from "./remotefile_schemas.ts";

export interface RemoteFileRoutesDeps {
  service: RemoteFileService;
  hub: LiveHub;
  metrics: Metrics;
  liveBufferBytes: number;
  frameLimit: number;
  /** Largest file; bounds the bodies of publish and write. */
  maxFileBytes: number;
}

const TAGS = ["remotefile"];
const json = (schema: z.ZodType, description = "OK") => ({
  description,
  content: { "application/json": { schema } },
});
const bytes = (description: string) => ({
  description,
  content: {
    "application/octet-stream": { schema: { type: "string" as const, format: "binary" as const } },
  },
});

/** A summary as JSON (times as ISO text). */
function summaryJson(s: ConnectionSummary) {
  return { ...s, since: new Date(s.since).toISOString() };
}

/** A connection's detail: its summary, files both ways and APX definitions. */
function detailJson(v: ConnectionView) {
  const list = (side: FileSide) => v.files.list(side).map((f) => fileJson(f.file));
  return {
    ...summaryJson(v.summary),
    localFiles: list("local"),
    remoteFiles: list("remote"),
    apxNodes: v.apx.nodes().map((n) => ({
      file: n.file,
      side: n.side,
      ...(n.definition ? { node: n.definition.nodeName } : {}),
      ...(n.error ? { error: n.error } : {}),
    })),
  };
}

/** The bytes of a file as last known; NotFoundError when unknown or never received. */
function fileBytes(v: ConnectionView, side: FileSide, name: string): Uint8Array<ArrayBuffer> {
  const f = v.files.get(side, name);
  const whose = side === "remote" ? "The peer has" : "This connection publishes";
  if (!f) throw new NotFoundError(`${whose} no file named "${name}"`);
  if (f.data === null) throw new NotFoundError(`"${name}" has not been received yet`);
  return f.data.slice(); // a snapshot: the file may change while the response is written
}

export function remoteFileRoutes(routes: Routes, deps: RemoteFileRoutesDeps): void {
  const { service } = deps;

  routes.define({
    method: "get",
    path: "/remotefile/listeners",
    tags: TAGS,
    summary: "Where the gateway accepts RemoteFile (APX) connections",
    description: "From `SYNCGATE_REMOTEFILE_LISTEN` and `SYNCGATE_REMOTEFILE_SOCKET`, with the " +
      "port bound; empty when both are off (the default, and always on Deno Deploy).",
    responses: { 200: json(z.array(z.object({ transport: z.string() }).passthrough())) },
  }, (c) => c.json(service.listeners()));

  routes.define({
    method: "get",
    path: "/remotefile/connections",
    tags: TAGS,
    summary: "Every RemoteFile connection: accepted by the listener and created by users",
    description: "Live ones in this process first, then those known from the store (served by " +
      "another process, reconnecting, or closed: as last saved).",
    responses: { 200: json(z.array(SummaryJson)) },
  }, async (c) => c.json((await service.list()).map(summaryJson)));

  routes.define({
    method: "post",
    path: "/remotefile/connections",
    tags: TAGS,
    summary: "Connect to a RemoteFile peer (an APX server or node), and stay connected",
    description: "`{host, port}` (TCP) or `{path}` (unix socket). The gateway greets with " +
      "NumHeader32, opens every file the peer offers, and reconnects with backoff after a drop, " +
      "keeping the mirrors. The connection is stored and comes back after a restart. Only peers " +
      "that `SYNCGATE_REMOTEFILE_PEERS` allows (default: loopback TCP); others are 403.",
    body: { json: ConnectBody },
    responses: { 201: json(z.object({ id: z.string() }), "Created") },
  }, async (c, { body }) => {
    const b = body!;
    const address: PeerAddress = "path" in b
      ? { transport: "unix", path: b.path }
      : { transport: "tcp", hostname: b.host, port: b.port };
    const id = await service.connect(address);
    return c.json({ id }, 201);
  });

  routes.define({
    method: "get",
    path: "/remotefile/connections/{id}",
    tags: TAGS,
    summary: "A connection: its state, our files and the peer's",
    params: IdParams,
    responses: { 200: json(DetailJson) },
  }, async (c, { params }) => c.json(detailJson(await service.view(params.id))));

  routes.define({
    method: "delete",
    path: "/remotefile/connections/{id}",
    tags: TAGS,
    summary: "Close a connection and forget it (a client connection stops reconnecting)",
    params: IdParams,
    responses: { 204: { description: "Deleted" } },
  }, async (c, { params }) => {
    await service.remove(params.id);
    return c.body(null, 204);
  });

  for (const [segment, side] of [["remote-files", "remote"], ["files", "local"]] as const) {
    routes.define({
      method: "get",
      path: `/remotefile/connections/{id}/${segment}/{name}`,
      tags: TAGS,
      summary: side === "remote"
        ? "The bytes of one of the peer's files, as mirrored"
        : "The bytes of one of our files",
      params: FileParams,
      responses: { 200: bytes("The file's last known bytes") },
    }, async (c, { params }) => {
      const data = fileBytes(await service.view(params.id), side, params.name);
      return c.body(data, 200, { "content-type": "application/octet-stream" });
    });
  }

  for (const action of ["open", "close"] as const) {
    routes.define({
      method: "post",
      path: `/remotefile/connections/{id}/remote-files/{name}/${action}`,
      tags: TAGS,
      summary: `${
        action === "open" ? "Open" : "Close"
      } one of the peer's files (FILE_${action.toUpperCase()})`,
      description: action === "open"
        ? "The peer then writes it whole, then its changes. Files are opened as they are " +
          "offered; this is for one closed before."
        : "The peer stops writing it; its last known bytes stay readable.",
      params: FileParams,
      responses: { 204: { description: "Sent" } },
    }, async (c, { params }) => {
      await (await service.link(params.id)).setRemoteOpen(params.name, action === "open");
      return c.body(null, 204);
    });
  }

  routes.define({
    method: "post",
    path: "/remotefile/connections/{id}/files",
    tags: TAGS,
    summary: "Publish a file of ours to the peer (FILE_INFO)",
    description: "Sent whole when the peer opens it, then as deltas. On a client connection " +
      "it is stored and published again on every reconnect.",
    params: IdParams,
    body: { json: PublishBody },
    bodyLimit: Math.ceil(deps.maxFileBytes * 4 / 3) + 64 * 1024,
    responses: { 201: json(FileJson, "Published") },
  }, async (c, { params, body }) => {
    const b = body!;
    const link = await service.link(params.id);
    const file = await link.publish({
      name: b.name,
      size: b.size,
      address: b.address,
      fileType: b.fileType,
      digestType: b.digestType,
      digest: b.digest ? fromHex0x(b.digest) : undefined,
      data: b.data,
    });
    return c.json(fileJson(file), 201);
  });

  routes.define({
    method: "put",
    path: "/remotefile/connections/{id}/files/{name}",
    tags: TAGS,
    summary: "Write into one of our files at `offset` (raw body): a delta",
    description: "Sent to the peer at once when it has the file open (else with the whole " +
      "file when it opens it). Answered once stored.",
    params: FileParams,
    query: OffsetQuery,
    body: { raw: ["application/octet-stream"], description: "The bytes to write" },
    bodyLimit: deps.maxFileBytes,
    responses: { 204: { description: "Written" } },
  }, async (c, { params, query }) => {
    const data = new Uint8Array(await c.req.arrayBuffer());
    await (await service.link(params.id)).write(params.name, query.offset, data);
    return c.body(null, 204);
  });

  routes.define({
    method: "delete",
    path: "/remotefile/connections/{id}/files/{name}",
    tags: TAGS,
    summary: "Revoke one of our files (REVOKE_FILE)",
    params: FileParams,
    responses: { 204: { description: "Revoked" } },
  }, async (c, { params }) => {
    await (await service.link(params.id)).revoke(params.name);
    return c.body(null, 204);
  });

  routes.define({
    method: "get",
    path: "/remotefile/connections/{id}/ws",
    tags: TAGS,
    summary: "A connection's events, live: WebSocket (or SSE without Upgrade)",
    description: "JSON frames: `state`, `fileInfo`, `open`, `close`, `revoke`, " +
      "`write {side, name, offset, size, data?}` (data in base64 up to 64 KiB; larger writes " +
      "without, read the file), `port {node, name, direction, value}` for APX ports.",
    params: IdParams,
    responses: { 101: { description: "WebSocket" }, 200: { description: "An event stream" } },
  }, async (c, { params }) => {
    await service.mustExist(params.id);
    const live = {
      hub: deps.hub,
      metrics: deps.metrics,
      channel: REMOTEFILE_CHANNEL,
      matches: (e: { attrs: Record<string, string> }) => e.attrs.id === params.id,
      bufferBytes: deps.liveBufferBytes,
    };
    if (c.req.header("upgrade")?.toLowerCase() === "websocket") {
      return liveWebSocket(c, { ...live, maxFrameBytes: deps.frameLimit });
    }
    return liveSse(live);
  });
}
