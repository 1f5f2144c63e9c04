/**
 * zod schemas of the Waku routes, in nwaku's REST vocabulary. They validate
 * requests and document them in /openapi.json.
 */
import { z } from "@hono/zod-openapi";
import { fromBase64, fromHex0x, utf8Length } from "../lib/bytes.ts";
import type { WakuMessage } from "../protocols/waku/message.ts";
import { MAX_QUERY_TOPICS, MAX_TOPIC_BYTES } from "../protocols/waku/store_rpc.ts";
import { exactInt64, listParam } from "./define.ts";

const base64 = (what: string) =>
  z.string().transform((s, ctx) => {
    try {
      return fromBase64(s);
    } catch {
      ctx.addIssue({ code: "custom", message: `${what} is not valid base64` });
      return z.NEVER;
    }
  });

// Strings first: the exact JSON parser hands integers over as their digits, and a union
// tries its members in order (each miss costs an issue object).
const int64 = () =>
  exactInt64(
    z.union([
      z.string().regex(/^-?\d{1,19}$/, "must be an integer (nanoseconds)"),
      z.number().int(),
      z.bigint(),
    ]).transform((v, ctx) => {
      const b = BigInt(v);
      if (b < -(1n << 63n) || b >= 1n << 63n) {
        ctx.addIssue({ code: "custom", message: "does not fit a signed 64-bit integer" });
        return z.NEVER;
      }
      return b;
    }),
  );

const topicBytes = (max: number) => (s: string) => utf8Length(s) <= max;

/** A topic, as a path segment or field. */
export const Topic = z.string().min(1, "must not be empty").refine(
  (s) => s.isWellFormed(),
  "must be valid Unicode (it has a lone surrogate)",
).refine(topicBytes(MAX_TOPIC_BYTES), `must be at most ${MAX_TOPIC_BYTES} bytes`);

/** nwaku's relay message JSON. */
export const RelayMessage = z.object({
  payload: base64("payload").openapi({ type: "string", format: "byte", description: "base64" }),
  contentTopic: Topic,
  version: z.number().int().min(0).max(0xffffffff).optional(),
  timestamp: int64().optional().openapi({
    type: "integer",
    format: "int64",
    description: "Unix ns; absent or 0 = now",
  }),
  meta: base64("meta").refine((b) => b.length <= 64, "must be at most 64 bytes").optional().openapi(
    {
      type: "string",
      format: "byte",
    },
  ),
  ephemeral: z.boolean().optional(),
}).openapi("RelayMessage");

/** Converts a validated relay message to a WakuMessage (timestamp 0 = to be filled in). */
export function toWakuMessage(m: z.infer<typeof RelayMessage>): WakuMessage {
  const msg: WakuMessage = {
    payload: m.payload,
    contentTopic: m.contentTopic,
    version: m.version ?? 0,
    timestamp: m.timestamp ?? 0n,
  };
  if (m.meta?.length) msg.meta = m.meta;
  if (m.ephemeral) msg.ephemeral = true;
  return msg;
}

/** One item of a bulk publish: a relay message plus its pubsub topic. */
export const BulkItem = RelayMessage.extend({ pubsubTopic: Topic.optional() }).openapi("BulkItem");
/** Most messages one bulk request may carry. */
export const MAX_BULK_MESSAGES = 100_000;
export const BulkBody = z.array(BulkItem).max(
  MAX_BULK_MESSAGES,
  `at most ${MAX_BULK_MESSAGES} messages per request`,
)
  .openapi("BulkBody");

export const PubsubTopicParam = z.object({
  pubsubTopic: Topic.openapi({
    param: { name: "pubsubTopic", in: "path" },
    example: "/waku/2/rs/0/0",
  }),
});

const hash = z.string().transform((s, ctx) => {
  try {
    const b = fromHex0x(s);
    if (b.length === 32) return b;
  } catch { /* reported below */ }
  ctx.addIssue({
    code: "custom",
    message: `"${s.slice(0, 80)}" is not a 0x-hex 32-byte message hash`,
  });
  return z.NEVER;
});

const list = (max: number, what: string) =>
  listParam(
    z.string().transform((s) => s.split(",").map((t) => t.trim()).filter(Boolean)).refine(
      (a) => a.length <= max,
      `at most ${max} ${what} are allowed`,
    ),
  );

const flag = (dflt: boolean) =>
  z.enum(["true", "false"]).default(dflt ? "true" : "false").transform((v) => v === "true");

/** Live filters (WebSocket and SSE), the same as the store query's. */
export const LiveQuery = z.object({
  pubsubTopic: Topic.optional(),
  contentTopics: list(MAX_QUERY_TOPICS, "content topics").pipe(z.array(Topic)).optional(),
});

/** GET /store/v3/messages query, as nwaku's. */
export const StoreQueryParams = z.object({
  pubsubTopic: Topic.optional(),
  contentTopics: list(MAX_QUERY_TOPICS, "content topics").pipe(z.array(Topic)).optional()
    .openapi({ type: "string", description: "comma-separated, at most 10" }),
  startTime: int64().optional().openapi({ type: "string", description: "Unix ns, inclusive" }),
  endTime: int64().optional().openapi({ type: "string", description: "Unix ns, inclusive" }),
  hashes: list(100, "hashes").pipe(z.array(hash)).optional()
    .openapi({ type: "string", description: "comma-separated 0x-hex message hashes" }),
  cursor: hash.optional().openapi({
    type: "string",
    description: "0x-hex message hash (exclusive)",
  }),
  pageSize: z.coerce.number().int().min(0).optional()
    .transform((n) => n === undefined || n === 0 ? 20 : Math.min(n, 100))
    .openapi({ type: "integer", description: "default 20, max 100 (larger is clamped)" }),
  ascending: flag(true).openapi({ type: "string", enum: ["true", "false"] }),
  includeData: flag(false).openapi({ type: "string", enum: ["true", "false"] }),
  peerAddr: z.string().optional().openapi({
    description: "accepted for nwaku compatibility; this gateway is the store",
  }),
});

export const StoreEntry = z.object({
  messageHash: z.string(),
  message: RelayMessage.extend({
    proof: z.string().optional().openapi({
      type: "string",
      format: "byte",
      description: "rate_limit_proof (base64), when the message has one",
    }),
  }).optional(),
  pubsubTopic: z.string().optional(),
}).openapi("StoreEntry");

export const StoreResponse = z.object({
  requestId: z.string(),
  statusCode: z.number(),
  statusDesc: z.string(),
  messages: z.array(StoreEntry),
  paginationCursor: z.string().optional(),
}).openapi("StoreResponse");
