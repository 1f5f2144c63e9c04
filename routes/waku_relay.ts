/**
 * Waku relay over HTTP, as nwaku's REST API: publish one message, publish in
 * bulk, and follow live messages over WebSocket or SSE.
 */
import { z } from "@hono/zod-openapi";
import { type FieldProblem, HttpError, toHttpError } from "../error.ts";
import { BusyError, IncompleteError, InvalidInputError } from "../lib/errors.ts";
import { jsonArrayItems, ndjsonLines } from "../lib/json_items.ts";
import { parseJsonExact } from "../lib/json_exact.ts";
import type { Logger } from "../lib/log.ts";
import { toHex0x } from "../lib/bytes.ts";
import type { Metrics } from "../lib/metrics.ts";
import { decodeWakuMessage } from "../protocols/waku/message.ts";
import { isAuthorized, tokenMatches, unauthorized } from "../middleware/auth.ts";
import type { LiveEvent, LiveHub } from "../services/live_hub.ts";
import { type Publication, WAKU_CHANNEL, type WakuService } from "../services/waku_service.ts";
import {
  exactInt64Keys,
  fieldProblems,
  parse,
  parseJson,
  requestBody,
  type Routes,
} from "./define.ts";
import { frameId, liveSse, liveWebSocket, sendFrame } from "./live.ts";
import { PUBLISHED, publishedAnswer, validateAsNwaku } from "./waku_publish_nwaku.ts";
import {
  BulkBody,
  BulkItem,
  LiveQuery,
  MAX_BULK_MESSAGES,
  NwakuMessage,
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
  /** Largest WebSocket frame. */
  frameLimit: number;
  bulkBodyLimit: number;
  liveBufferBytes: number;
}

/**
 * The bulk route's timeout: the largest body (100,000 messages) takes tens of seconds to
 * store on a small machine, and a write must not be answered 504 while it goes on to succeed.
 */
const BULK_TIMEOUT_MS = 600_000;
/** Bulk requests handled at once; more are 503 Busy (each may hold its body's messages). */
export const MAX_CONCURRENT_BULKS = 2;
/** Publish frames one WebSocket may have in flight; past it a frame is answered 503 Busy. */
export const MAX_FRAMES_IN_FLIGHT = 256;

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
export function wakuRelayRoutes(routes: Routes, deps: WakuRelayDeps): void {
  const { waku } = deps;

  routes.define({
    method: "post",
    path: "/relay/v1/messages/{pubsubTopic}",
    tags: ["waku relay"],
    summary: "Publish a message",
    description: "nwaku's relay publish. The message is stored (unless ephemeral) before the " +
      "answer, on any topic (nwaku publishes only on topics it is subscribed to). The body is " +
      "nwaku's JSON, checked as nwaku checks it (an empty payload or a message over the size " +
      "limit is a 400 saying `Failed to publish: …`), or a protobuf WakuMessage " +
      "(application/x-protobuf; over the size limit is a 413). `Accept: text/plain` answers " +
      "nwaku's `OK`.",
    params: PubsubTopicParam,
    body: { json: NwakuMessage, raw: ["application/x-protobuf"] },
    responses: PUBLISHED,
  }, async (c, { params, body }) => {
    const p = body
      ? validateAsNwaku(
        waku,
        { pubsubTopic: params.pubsubTopic, message: toWakuMessage(body) },
        { prefix: "Failed to publish: " },
      )
      : waku.validate({
        pubsubTopic: params.pubsubTopic,
        message: decodeProtobufMessage(new Uint8Array(await c.req.arrayBuffer())),
      });
    const r = await waku.publish(p);
    return publishedAnswer(c, r.hash);
  });

  let bulks = 0;
  routes.define({
    method: "post",
    path: "/relay/v1/bulk",
    tags: ["waku relay"],
    summary: "Publish many messages",
    description:
      "A JSON array or an NDJSON stream (application/x-ndjson) of relay messages, each with " +
      "its pubsubTopic (or the `pubsubTopic` query default). The body is read and validated item " +
      "by item as it arrives; every item is validated before any is stored, and all are durable " +
      `when this answers. At most ${MAX_BULK_MESSAGES} messages; at most ${MAX_CONCURRENT_BULKS} ` +
      "bulk requests at once (more are 503 with Retry-After). Give messages timestamps to make " +
      "retries idempotent.",
    query: z.object({ pubsubTopic: Topic.optional() }),
    body: { json: BulkBody, raw: ["application/x-ndjson"], stream: true },
    bodyLimit: deps.bulkBodyLimit,
    timeoutMs: BULK_TIMEOUT_MS,
    responses: {
      200: { description: "Published", content: { "application/json": { schema: BulkResult } } },
    },
  }, async (c, { query, contentType }) => {
    if (bulks >= MAX_CONCURRENT_BULKS) {
      throw new BusyError(`${MAX_CONCURRENT_BULKS} bulk requests are in progress`);
    }
    bulks++;
    try {
      const text = requestBody(c)
        .pipeThrough(new TextDecoderStream());
      const items = contentType === "application/x-ndjson"
        ? mapItems(ndjsonLines(text), (l) => ({ where: `line[${l.line}]`, text: l.text }))
        : mapItems(jsonArrayItems(text), (t, i) => ({ where: `body[${i}]`, text: t }));
      const pubs = await readBulk(items, query.pubsubTopic, waku);
      const results = await waku.publishMany(pubs);
      const failed = results.find((r) => r.error !== undefined);
      if (failed) {
        const stored = results.filter((r) => r.stored).map((r) => toHex0x(r.hash));
        throw new IncompleteError(`${stored.length} of ${results.length} messages were stored`, {
          stored: stored.length,
          storedHashes: stored,
        }, { cause: failed.error });
      }
      const stored = results.filter((r) => r.stored).length;
      const ephemeral = pubs.filter((p) => p.message.ephemeral).length;
      return c.json({
        count: results.length,
        stored,
        duplicates: results.length - stored - ephemeral,
        ephemeral,
        messageHashes: results.map((r) => toHex0x(r.hash)),
      });
    } finally {
      bulks--;
    }
  });

  routes.define({
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
    let authorized = isAuthorized(c, deps.apiKey);
    return liveWebSocket(c, {
      hub: deps.hub,
      metrics: deps.metrics,
      channel: WAKU_CHANNEL,
      matches: liveFilter(query),
      bufferBytes: deps.liveBufferBytes,
      maxFrameBytes: deps.frameLimit,
      maxInFlight: MAX_FRAMES_IN_FLIGHT,
      log: deps.log,
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

  routes.define({
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
    throw new InvalidInputError("body", (e as Error).message, { cause: e });
  }
}

const FRAME_INT64 = exactInt64Keys(WsFrame);

function parseFrame(text: string): unknown {
  try {
    return parseJsonExact(text, FRAME_INT64);
  } catch {
    throw new InvalidInputError("frame", "is not valid JSON");
  }
}

const ITEM_INT64 = exactInt64Keys(BulkItem);

async function* mapItems<T, U>(
  items: AsyncIterable<T>,
  f: (item: T, i: number) => U,
): AsyncGenerator<U> {
  let i = 0;
  for await (const item of items) yield f(item, i++);
}

/**
 * Reads a bulk body's items one by one: each is parsed, validated and
 * checked against the store's rules as it arrives. Every problem is
 * collected (a 400 lists the first few and counts them all); a message over
 * the size limit is a 413 at once.
 */
async function readBulk(
  items: AsyncIterable<{ where: string; text: string }>,
  defaultTopic: string | undefined,
  waku: WakuService,
): Promise<Publication[]> {
  const pubs: Publication[] = [];
  const problems: FieldProblem[] = [];
  let i = 0;
  for await (const { where, text } of items) {
    if (i++ === MAX_BULK_MESSAGES) {
      throw new InvalidInputError("body", `has more than ${MAX_BULK_MESSAGES} messages`);
    }
    let item;
    try {
      item = parseJson(text, BulkItem, where, ITEM_INT64);
    } catch (e) {
      problems.push(
        ...(e as HttpError).init.errors ?? [{ field: where, message: "is not valid JSON" }],
      );
      continue;
    }
    const pubsubTopic = item.pubsubTopic ?? defaultTopic;
    if (pubsubTopic === undefined) {
      problems.push({ field: `${where}.pubsubTopic`, message: "is required" });
      continue;
    }
    try {
      pubs.push(waku.validate({ pubsubTopic, message: toWakuMessage(item) }, where));
    } catch (e) {
      if (!(e instanceof InvalidInputError)) throw e;
      problems.push({ field: e.field ?? where, message: e.problem });
    }
  }
  if (problems.length) throw fieldProblems(problems);
  return pubs;
}
