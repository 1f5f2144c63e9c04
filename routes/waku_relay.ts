/**
 * Waku relay over HTTP, as nwaku's REST API: publish one message, publish in
 * bulk, and follow live messages over WebSocket or SSE.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import { HttpError, toHttpError } from "../error.ts";
import type { Logger } from "../lib/log.ts";
import { toHex0x } from "../lib/bytes.ts";
import type { Metrics } from "../lib/metrics.ts";
import { decodeWakuMessage } from "../protocols/waku/message.ts";
import { parseJsonExact } from "../protocols/waku/rest_json.ts";
import { isAuthorized, tokenMatches, unauthorized } from "../middleware/auth.ts";
import { limitBody } from "../middleware/body_limit.ts";
import { requestTimeout } from "../middleware/timeout.ts";
import type { LiveEvent, LiveHub } from "../services/live_hub.ts";
import { type Publication, WAKU_CHANNEL, type WakuService } from "../services/waku_service.ts";
import { defineRoute, parse, validationError } from "./define.ts";
import { liveSse, liveWebSocket } from "./live.ts";
import {
  BulkBody,
  BulkItem,
  LiveQuery,
  MAX_BULK_MESSAGES,
  PubsubTopicParam,
  RelayMessage,
  Topic,
  toWakuMessage,
} from "./waku_schemas.ts";

export interface WakuRelayDeps {
  waku: WakuService;
  log: Logger;
  hub: LiveHub;
  metrics: Metrics;
  apiKey?: string;
  bodyLimit: number;
  bulkBodyLimit: number;
  liveBufferBytes: number;
}

/**
 * The bulk route's timeout: the largest body (SYNCGATE_BULK_BODY_LIMIT, 100,000 messages)
 * takes tens of seconds to store on a small machine, and a write must not be answered 504
 * while it goes on to succeed.
 */
const BULK_TIMEOUT_MS = 600_000;

const PublishResult = z.object({ messageHash: z.string() }).openapi("PublishResult");
const BulkResult = z.object({
  count: z.number(),
  stored: z.number(),
  duplicates: z.number(),
  ephemeral: z.number(),
  messageHashes: z.array(z.string()),
}).openapi("BulkResult");

const WsPublishFrame = z.object({
  type: z.literal("publish"),
  id: z.string().max(128).optional(),
  pubsubTopic: Topic,
  message: RelayMessage,
});
const WsAuthFrame = z.object({ type: z.literal("auth"), token: z.string().max(1024) });
const WsFrame = z.discriminatedUnion("type", [WsPublishFrame, WsAuthFrame]);

/** The live filter of a request: pubsub topic and any of the content topics. */
function liveFilter(q: z.infer<typeof LiveQuery>): (e: LiveEvent) => boolean {
  const topics = q.contentTopics?.length ? new Set(q.contentTopics) : undefined;
  return (e) =>
    (q.pubsubTopic === undefined || e.attrs.pubsubTopic === q.pubsubTopic) &&
    (topics === undefined || topics.has(e.attrs.contentTopic));
}

/** Mounts the relay routes. */
export function wakuRelayRoutes(app: OpenAPIHono, deps: WakuRelayDeps): void {
  const { waku } = deps;

  defineRoute(app, {
    method: "post",
    path: "/relay/v1/messages/{pubsubTopic}",
    tags: ["waku relay"],
    summary: "Publish a message",
    description:
      "nwaku's relay publish. The message is stored (unless ephemeral) before the answer. " +
      "The body is nwaku's JSON, or a protobuf WakuMessage (application/x-protobuf).",
    params: PubsubTopicParam,
    body: { schema: RelayMessage, raw: ["application/x-protobuf"] },
    responses: {
      200: { description: "Published", content: { "application/json": { schema: PublishResult } } },
    },
  }, async (c, { params, body }) => {
    const message = body
      ? toWakuMessage(body)
      : decodeProtobufMessage(new Uint8Array(await c.req.arrayBuffer()));
    const p = waku.validate({ pubsubTopic: params.pubsubTopic, message });
    const r = await waku.publish(p);
    return c.json({ messageHash: toHex0x(r.hash) });
  });

  defineRoute(app, {
    method: "post",
    path: "/relay/v1/bulk",
    tags: ["waku relay"],
    summary: "Publish many messages",
    description:
      "A JSON array or an NDJSON stream (application/x-ndjson) of relay messages, each with " +
      "its pubsubTopic (or the `pubsubTopic` query default). Every item is validated before any is " +
      "stored; all are durable when this answers. Give messages timestamps to make retries idempotent.",
    query: z.object({ pubsubTopic: Topic.optional() }),
    body: { schema: BulkBody, raw: ["application/x-ndjson"] },
    middleware: [requestTimeout(BULK_TIMEOUT_MS), limitBody(deps.bulkBodyLimit)],
    responses: {
      200: { description: "Published", content: { "application/json": { schema: BulkResult } } },
    },
  }, async (c, { query, body }) => {
    const items = body ?? parseNdjson(await c.req.text());
    const pubs: Publication[] = items.map((item, i) => {
      const pubsubTopic = item.pubsubTopic ?? query.pubsubTopic;
      if (pubsubTopic === undefined) {
        throw validationError([{
          code: "custom",
          path: [i, "pubsubTopic"],
          message: "is required",
          input: undefined,
        }], "body");
      }
      return waku.validate({ pubsubTopic, message: toWakuMessage(item) }, `body[${i}]`);
    });
    const results = await waku.publishMany(pubs);
    const stored = results.filter((r) => r.stored).length;
    const ephemeral = pubs.filter((p) => p.message.ephemeral).length;
    return c.json({
      count: results.length,
      stored,
      duplicates: results.length - stored - ephemeral,
      ephemeral,
      messageHashes: results.map((r) => toHex0x(r.hash)),
    });
  });

  defineRoute(app, {
    method: "get",
    path: "/relay/v1/ws",
    tags: ["waku relay"],
    summary: "Live messages over WebSocket",
    description:
      "Sends each new matching message as a store entry `{messageHash, message, pubsubTopic}`. " +
      'Accepts `{"type":"publish","id"?,"pubsubTopic","message":{…}}` (answered with ' +
      '`{"type":"ack","id","messageHash"}` or `{"type":"error","id","problem":{…}}`) and, when an API key is set and ' +
      'the upgrade had no Authorization header, `{"type":"auth","token"}`. A subscriber that falls ' +
      "behind is closed with code 4008.",
    query: LiveQuery,
    responses: { 101: { description: "Switching to WebSocket" } },
  }, (c, { query }) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new HttpError(426, "Upgrade Required", { detail: "Connect with a WebSocket client" });
    }
    let authorized = isAuthorized(c, deps.apiKey);
    return liveWebSocket(c, {
      hub: deps.hub,
      metrics: deps.metrics,
      channel: WAKU_CHANNEL,
      matches: liveFilter(query),
      bufferBytes: deps.liveBufferBytes,
      maxFrameBytes: deps.bodyLimit,
      onFrame: async (ws, text) => {
        let id: string | undefined;
        try {
          const raw = parseFrame(text);
          id = frameId(raw);
          const frame = parse(WsFrame, raw, "frame");
          if (frame.type === "auth") {
            authorized = deps.apiKey === undefined || tokenMatches(frame.token, deps.apiKey);
            sendFrame(ws, { type: "auth", ok: authorized });
            return;
          }
          if (!authorized) throw unauthorized();
          const p = waku.validate({
            pubsubTopic: frame.pubsubTopic,
            message: toWakuMessage(frame.message),
          });
          const r = await waku.publish(p);
          sendFrame(ws, { type: "ack", id, messageHash: toHex0x(r.hash) });
        } catch (e) {
          const http = toHttpError(e, `WebSocket frame id ${id ?? "(none)"}`);
          if (http.status >= 500) deps.log.error("WebSocket publish failed", { id, error: e });
          sendFrame(ws, { type: "error", id, problem: http.toProblem() });
        }
      },
    });
  });

  defineRoute(app, {
    method: "get",
    path: "/relay/v1/events",
    tags: ["waku relay"],
    summary: "Live messages over SSE",
    description:
      "text/event-stream: each new matching message as `event: message` with a store entry " +
      "as data. A subscriber that falls behind gets `event: error` and the stream ends.",
    query: LiveQuery,
    responses: {
      200: {
        description: "Event stream",
        content: { "text/event-stream": { schema: z.string() } },
      },
    },
  }, (_c, { query }) =>
    liveSse({
      hub: deps.hub,
      metrics: deps.metrics,
      channel: WAKU_CHANNEL,
      matches: liveFilter(query),
      bufferBytes: deps.liveBufferBytes,
    }));
}

function decodeProtobufMessage(bytes: Uint8Array) {
  try {
    return decodeWakuMessage(bytes);
  } catch (e) {
    throw new HttpError(400, "Bad Request", { detail: (e as Error).message });
  }
}

/** A frame's `id`, when it has a usable one: even a frame that fails validation is answered with it. */
function frameId(raw: unknown): string | undefined {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === "string" && id.length <= 128 ? id : undefined;
}

/** Sends a JSON frame unless the socket has closed meanwhile. */
function sendFrame(ws: WebSocket, frame: Record<string, unknown>): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
}

function parseFrame(text: string): unknown {
  try {
    return parseJsonExact(text);
  } catch {
    throw new HttpError(400, "Bad Request", { detail: "Frame is not valid JSON" });
  }
}

function parseNdjson(text: string): z.infer<typeof BulkItem>[] {
  const out: z.infer<typeof BulkItem>[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    if (out.length === MAX_BULK_MESSAGES) {
      throw new HttpError(400, "Bad Request", {
        detail: `At most ${MAX_BULK_MESSAGES} messages per request`,
      });
    }
    let json: unknown;
    try {
      json = parseJsonExact(line);
    } catch {
      throw new HttpError(400, "Bad Request", { detail: `Line ${i + 1} is not valid JSON` });
    }
    out.push(parse(BulkItem, json, `line[${i + 1}]`));
  }
  return out;
}
