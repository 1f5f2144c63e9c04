/**
 * MVDS over HTTP: nodes, their peers and groups, sending and reading
 * messages with their delivery state, the HTTP transport's inbound side
 * (`POST …/payloads`), WebSocket peers (`…/ws`), and a live feed of events.
 */
import { z } from "@hono/zod-openapi";
import { HttpError } from "../error.ts";
import { toHex0x } from "../lib/bytes.ts";
import type { Metrics } from "../lib/metrics.ts";
import { isAuthorized, tokenMatches } from "../middleware/auth.ts";
import type { LiveHub } from "../services/live_hub.ts";
import { MVDS_CHANNEL, timestampJson } from "../services/mvds_events.ts";
import type { MvdsService } from "../services/mvds_service.ts";
import type { MvdsSessions } from "../services/mvds_session.ts";
import { PEER_HEADER } from "../services/mvds_transport.ts";
import type { Routes } from "./define.ts";
import { liveSse, liveWebSocket, upgradeWebSocket } from "./live.ts";
import {
  CreateNodeBody,
  DeliveryJson,
  deliveryJson,
  GroupParams,
  GroupPeerBody,
  idBytes,
  MessageJson,
  messageJson,
  MessageParams,
  MessagesQuery,
  NodeId,
  NodeInfoJson,
  nodeInfoJson,
  NodeJson,
  nodeJson,
  NodeParams,
  PeerBody,
  SendBody,
  WsQuery,
} from "./mvds_schemas.ts";

export interface MvdsRoutesDeps {
  mvds: MvdsService;
  sessions: MvdsSessions;
  hub: LiveHub;
  metrics: Metrics;
  apiKey?: string;
  /** Largest message body (bytes). */
  maxMessageBytes: number;
  /** Largest payload taken over HTTP or in a WebSocket frame. */
  maxPayloadBytes: number;
  liveBufferBytes: number;
  frameLimit: number;
}

const TAGS = ["mvds"];
const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export function mvdsRoutes(routes: Routes, deps: MvdsRoutesDeps): void {
  const { mvds } = deps;

  routes.define({
    method: "post",
    path: "/mvds/nodes",
    tags: TAGS,
    summary: "Create an MVDS node",
    description: "A node keeps its messages, peers and per-peer records in KV and syncs them " +
      "with its peers every epoch. `batch` sends MESSAGE records at once; `interactive` OFFERs " +
      "first. An `id` taken already is 409.",
    body: { json: CreateNodeBody },
    responses: { 201: json(NodeJson, "Created") },
  }, async (c, { body }) => {
    const b = body!;
    const { id, config } = await mvds.createNode({
      ...b,
      id: b.id === undefined ? undefined : idBytes(b.id),
    });
    return c.json(nodeJson(id, config), 201);
  });

  routes.define({
    method: "get",
    path: "/mvds/nodes/{node}",
    tags: TAGS,
    summary: "A node: its settings, current epoch, counters and peers",
    params: NodeParams,
    responses: { 200: json(NodeInfoJson, "The node") },
  }, async (c, { params }) => c.json(nodeInfoJson(await mvds.nodeInfo(idBytes(params.node)))));

  routes.define({
    method: "post",
    path: "/mvds/nodes/{node}/peers",
    tags: TAGS,
    summary: "Add a peer (or change its url)",
    description: "`url`: where the peer takes payloads over HTTP (another gateway: " +
      "`<base>/mvds/nodes/<id>/payloads`); the gateway POSTs there, and only there. Without " +
      "`url` the peer connects by WebSocket (`GET /mvds/nodes/{node}/ws?peer=<id>`). 201 when " +
      "new, 200 when changed.",
    params: NodeParams,
    body: { json: PeerBody },
    responses: {
      201: json(z.object({ id: z.string(), url: z.string().optional() }), "Added"),
      200: json(z.object({ id: z.string(), url: z.string().optional() }), "Changed"),
    },
  }, async (c, { params, body }) => {
    const peer = idBytes(body!.id);
    const created = await mvds.addPeer(idBytes(params.node), peer, body!.url);
    return c.json(
      { id: toHex0x(peer), ...(body!.url ? { url: body!.url } : {}) },
      created ? 201 : 200,
    );
  });

  routes.define({
    method: "post",
    path: "/mvds/nodes/{node}/groups/{group}/peers",
    tags: TAGS,
    summary: "Share a group with a peer",
    description: "The peer (added with `…/peers` first) gets the group's messages from now " +
      "on, and every message of the group the node holds already (`shared`: how many were " +
      "made pending for it). 201 when new, 200 when the peer shared the group already.",
    params: GroupParams,
    body: { json: GroupPeerBody },
    responses: {
      201: json(z.object({ group: z.string(), peer: z.string(), shared: z.number() }), "Shared"),
      200: json(
        z.object({ group: z.string(), peer: z.string(), shared: z.number() }),
        "Shared already",
      ),
    },
  }, async (c, { params, body }) => {
    const [group, peer] = [idBytes(params.group), idBytes(body!.peer)];
    const r = await mvds.addGroupPeer(idBytes(params.node), group, peer);
    return c.json(
      { group: toHex0x(group), peer: toHex0x(peer), shared: r.shared },
      r.added ? 201 : 200,
    );
  });

  routes.define({
    method: "post",
    path: "/mvds/nodes/{node}/groups/{group}/messages",
    tags: TAGS,
    summary: "Send a message to the group's peers",
    description: "Stored at once, with a record for every peer of the group (MESSAGE in batch " +
      "mode, OFFER in interactive mode); delivered from the next epoch on. `id` = sha256(" +
      '"MESSAGE_ID" ‖ group ‖ timestamp (8 bytes LE) ‖ body). The same message again is 200 ' +
      "with the same id, stored once. A body over SYNCGATE_MVDS_MAX_MESSAGE_BYTES is 413.",
    params: GroupParams,
    body: { json: SendBody },
    bodyLimit: Math.ceil(deps.maxMessageBytes * 4 / 3) + 4096,
    responses: {
      201: json(z.object({ id: z.string(), timestamp: z.number() }), "Sent"),
      200: json(z.object({ id: z.string(), timestamp: z.number() }), "Held already"),
    },
  }, async (c, { params, body }) => {
    const r = await mvds.sendMessage(
      idBytes(params.node),
      idBytes(params.group),
      body!.body,
      body!.timestamp,
    );
    return c.json(
      { id: toHex0x(r.id), timestamp: timestampJson(r.timestamp) },
      r.created ? 201 : 200,
    );
  });

  routes.define({
    method: "get",
    path: "/mvds/nodes/{node}/groups/{group}/messages",
    tags: TAGS,
    summary: "A group's messages, own and received, in arrival order",
    description: "Page with `after` = the last id you saw (an id not in the group is 404). " +
      "Arrival order is the order the node committed them, so paging misses nothing.",
    params: GroupParams,
    query: MessagesQuery,
    responses: { 200: json(z.object({ messages: z.array(MessageJson) }), "Messages") },
  }, async (c, { params, query }) => {
    const got = await mvds.listMessages(
      idBytes(params.node),
      idBytes(params.group),
      query.after === undefined ? undefined : idBytes(query.after),
      query.limit,
    );
    return c.json({ messages: got.map((m) => messageJson(m.id, m.message)) });
  });

  routes.define({
    method: "get",
    path: "/mvds/nodes/{node}/messages/{id}",
    tags: TAGS,
    summary: "A message and its delivery to each peer",
    description: "`delivery`: per peer id, `offered` (an OFFER pending), `requested` (the peer " +
      "asked; the MESSAGE goes next epoch), `sent` (a MESSAGE sent, awaiting its ACK), `acked`, " +
      "or `failed` (dropped after maxSendCount), with the record's send count and send epoch.",
    params: MessageParams,
    responses: {
      200: json(
        MessageJson.extend({ delivery: z.record(z.string(), DeliveryJson) }),
        "The message",
      ),
    },
  }, async (c, { params }) => {
    const id = idBytes(params.id);
    const { message, delivery } = await mvds.getMessage(idBytes(params.node), id);
    return c.json({ ...messageJson(id, message), delivery: deliveryJson(delivery) });
  });

  routes.define({
    method: "post",
    path: "/mvds/nodes/{node}/payloads",
    tags: TAGS,
    summary: "The HTTP transport: take a Payload from a peer",
    description: "Body: an MVDS Payload (protobuf, `vac.mvds`); header `X-MVDS-Peer: <sender " +
      "id>`. 202 once its effects are committed. Not a Payload: 400; a sender that is not a " +
      "peer of the node: 403; nothing is stored in either case.",
    params: NodeParams,
    body: { raw: ["application/x-protobuf"], description: "An MVDS Payload" },
    bodyLimit: deps.maxPayloadBytes,
    responses: {
      202: json(
        z.object({ stored: z.number().openapi({ description: "new messages stored" }) }),
        "Accepted",
      ),
    },
  }, async (c, { params }) => {
    const sender = NodeId.safeParse(c.req.header(PEER_HEADER) ?? "");
    if (!sender.success) {
      throw new HttpError(400, "Bad Request", {
        detail: "X-MVDS-Peer must be the sending node's id: hex (0x optional) of 1–64 bytes",
        errors: [{ field: "header.x-mvds-peer", message: "must be a node id" }],
      });
    }
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    const r = await mvds.receivePayload(idBytes(params.node), idBytes(sender.data), bytes);
    return c.json({ stored: r.stored }, 202);
  });

  routes.define({
    method: "get",
    path: "/mvds/nodes/{node}/ws",
    tags: TAGS,
    summary: "A WebSocket peer: binary frames are Payloads both ways",
    description: "For `peer` (a peer of the node): every binary frame it sends is a Payload " +
      "to the node; every epoch the node sends it a binary frame with its payload (unless the " +
      "peer has a url: then payloads go there). With an API key set and no Authorization " +
      'header, send `{"type":"auth","token":"<key>"}` first. A frame that is not a Payload ' +
      "closes the socket with 1007 and the reason. A newer socket of the same peer replaces " +
      "an older one (4009). Not a peer: 403 before the upgrade.",
    params: NodeParams,
    query: WsQuery,
    responses: { 101: { description: "Switching to WebSocket" } },
  }, async (c, { params, query }) => {
    const [node, peer] = [idBytes(params.node), idBytes(query.peer)];
    await mvds.assertPeer(node, peer);
    // Read every header before the upgrade: afterwards the request is gone, and reading it
    // throws inside the server.
    const apiKey = deps.apiKey;
    const authorized = isAuthorized(c, apiKey);
    const { socket, response } = upgradeWebSocket(c);
    deps.sessions.accept(socket, node, peer, {
      authorized,
      check: (token) => apiKey === undefined || tokenMatches(token, apiKey),
    });
    return response;
  });

  routes.define({
    method: "get",
    path: "/mvds/nodes/{node}/events",
    tags: TAGS,
    summary: "A node's events as they happen: WebSocket, or SSE",
    description: "Each frame: `{node, type, peer, id, …}` with `type` `received` (+ groupId, " +
      "timestamp, size), `acked` (+ record), `offered`, `requested`, `failed` (+ record, " +
      "reason) or `ignored` (+ reason). With `Upgrade: websocket` a WebSocket, else a " +
      "text/event-stream. Events of every gateway process sharing this KV arrive.",
    params: NodeParams,
    responses: { 200: { description: "An event stream" }, 101: { description: "WebSocket" } },
  }, async (c, { params }) => {
    const node = idBytes(params.node);
    await mvds.config(node);
    const live = {
      hub: deps.hub,
      metrics: deps.metrics,
      channel: MVDS_CHANNEL,
      matches: (e: { attrs: Record<string, string> }) => e.attrs.node === toHex0x(node),
      bufferBytes: deps.liveBufferBytes,
    };
    if (c.req.header("upgrade")?.toLowerCase() === "websocket") {
      return liveWebSocket(c, { ...live, maxFrameBytes: deps.frameLimit });
    }
    return liveSse(live);
  });
}
