/**
 * zod schemas of the Waku routes, in nwaku's REST vocabulary. They validate
 * requests and document them in /openapi.json.
 */
import { z } from "@hono/zod-openapi";
import { utf8Length } from "../lib/bytes.ts";
import type { WakuMessage } from "../protocols/waku/message.ts";
import { isEmptyOrWhitespace } from "../protocols/waku/nim_text.ts";
import {
  DEFAULT_PAGE_SIZE,
  parseAscending,
  parseContentTopics,
  parseHash,
  parseHashes,
  parseIncludeData,
  parsePageSize,
  parsePeerAddr,
  parsePubsubTopic,
  parseTime,
} from "../protocols/waku/rest_query.ts";
import { MAX_QUERY_TOPICS, MAX_TOPIC_BYTES } from "../protocols/waku/store_rpc.ts";
import { base64Bytes, exactInt64, listParam } from "./define.ts";

// "Incorrect base64 string" is nwaku's wording, which its clients may look for.
const base64 = (what: string) =>
  base64Bytes(`${what} is not valid base64 (Incorrect base64 string)`);

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

const fitsKey = topicBytes(MAX_TOPIC_BYTES);
const TOO_LONG = `must be at most ${MAX_TOPIC_BYTES} bytes`;

/** A topic, as a path segment or field. */
export const Topic = z.string().min(1, "must not be empty").refine(
  (s) => s.isWellFormed(),
  "must be valid Unicode (it has a lone surrogate)",
).refine(fitsKey, TOO_LONG);

/**
 * A topic as nwaku takes one in a body: any text, which nwaku's own rules
 * (sharding, topic format) judge later, in its words; at most 512 bytes, as
 * a longer one is in no key.
 */
export const AnyTopic = z.string().refine((s) => s.isWellFormed(), "must be valid Unicode")
  .refine(fitsKey, TOO_LONG);

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

/** A string nwaku requires, and refuses when empty or only whitespace, in its words. */
const required = (field: string) => {
  const message = `Field \`${field}\` is missing or empty`;
  return z.string({ error: message }).refine((s) => !isEmptyOrWhitespace(s), message);
};

/**
 * nwaku's relay message JSON as its REST API reads a publish: `payload` and
 * `contentTopic` must not be empty or blank, and `proof` is the
 * rate_limit_proof (base64).
 */
export const NwakuMessage = RelayMessage.extend({
  payload: required("payload").pipe(base64("payload")).openapi({
    type: "string",
    format: "byte",
    description: "base64, not empty",
  }),
  contentTopic: required("contentTopic").pipe(Topic).openapi({ type: "string" }),
  proof: base64("proof").optional().openapi({
    type: "string",
    format: "byte",
    description: "rate_limit_proof (base64)",
  }),
}).openapi("NwakuMessage");

/** Converts a validated relay message to a WakuMessage (timestamp 0 = to be filled in). */
export function toWakuMessage(
  m: z.infer<typeof RelayMessage> & { proof?: Uint8Array },
): WakuMessage {
  const msg: WakuMessage = {
    payload: m.payload,
    contentTopic: m.contentTopic,
    version: m.version ?? 0,
    timestamp: m.timestamp ?? 0n,
  };
  if (m.meta?.length) msg.meta = m.meta;
  if (m.proof?.length) msg.rateLimitProof = m.proof;
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

export const ContentTopicParam = z.object({
  contentTopic: Topic.openapi({
    param: { name: "contentTopic", in: "path" },
    example: "/app/1/chat/proto",
  }),
});

/** A JSON array of topics as nwaku's subscription routes take it, at most `max`. */
export const TopicList = (max: number) =>
  z.array(AnyTopic).max(max, `at most ${max} topics per request`);

const list = (max: number, what: string) =>
  listParam(
    z.string().transform((s) => s.split(",").map((t) => t.trim()).filter(Boolean)).refine(
      (a) => a.length <= max,
      `at most ${max} ${what} are allowed`,
    ),
  );

/** Live filters (WebSocket and SSE), the same as the store query's. */
export const LiveQuery = z.object({
  pubsubTopic: Topic.optional(),
  contentTopics: list(MAX_QUERY_TOPICS, "content topics").pipe(z.array(Topic)).optional(),
});

/**
 * A store query parameter read as nwaku reads it: absent or empty is
 * `absent`, anything else goes through `parse` (protocols/waku/rest_query.ts),
 * whose error, in nwaku's words, is the field's problem.
 */
const nwakuParam = <T>(parse: (value: string) => T, absent: T) =>
  z.string().optional().transform((v, ctx): T => {
    if (v === undefined || v === "") return absent;
    try {
      return parse(v);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
      return z.NEVER;
    }
  });

/** Most hashes one query may name (nwaku's postgres archive takes no more either). */
const MAX_QUERY_HASHES = 100;

const timeParam = nwakuParam(parseTime, undefined).openapi({
  type: "string",
  description: "Unix ns, inclusive; 0 or less is no bound",
});

/**
 * GET /store/v3/messages query, read as nwaku reads it: an empty value is
 * absent; topics, hashes, cursor and peerAddr are percent-decoded once more;
 * errors carry nwaku's messages. Beyond nwaku: at most 10 content topics and
 * 100 hashes, and topics of at most 512 bytes (a longer one is in no key).
 */
export const StoreQueryParams = z.object({
  peerAddr: nwakuParam(parsePeerAddr, undefined).openapi({
    type: "string",
    description: "a store peer's multiaddr, checked as nwaku checks it; the query is " +
      "answered from this gateway's store",
  }),
  includeData: nwakuParam(parseIncludeData, false).openapi({
    type: "string",
    description: "Nim's parseBool: y/yes/true/1/on or n/no/false/0/off (any case); default false",
  }),
  pubsubTopic: nwakuParam(parsePubsubTopic, undefined).refine((t) => !t || fitsKey(t), TOO_LONG)
    .openapi({ type: "string" }),
  contentTopics: listParam(
    nwakuParam(parseContentTopics, [] as string[])
      .refine(
        (a) => a.length <= MAX_QUERY_TOPICS,
        `INVALID_QUERY: too many content topics (at most ${MAX_QUERY_TOPICS})`,
      )
      .refine((a) => a.every(fitsKey), `each ${TOO_LONG}`)
      .openapi({ type: "string", description: "comma-separated, at most 10, none trimmed" }),
  ),
  startTime: timeParam,
  endTime: timeParam,
  hashes: listParam(
    nwakuParam(parseHashes, [] as Uint8Array[]).refine(
      (a) => a.length <= MAX_QUERY_HASHES,
      `can not attend queries with more than ${MAX_QUERY_HASHES} hashes`,
    ).openapi({
      type: "string",
      description: "comma-separated hex message hashes (0x optional); they combine with the " +
        "other filters",
    }),
  ),
  cursor: nwakuParam(parseHash, undefined)
    .refine((c) => !c || c.some((b) => b !== 0), "INVALID_QUERY: all zeroes cursor hash")
    .openapi({ type: "string", description: "hex message hash (0x optional), exclusive" }),
  pageSize: nwakuParam(parsePageSize, DEFAULT_PAGE_SIZE).openapi({
    type: "string",
    description: "default 20 (also for 0 or less), above 100 is 100",
  }),
  ascending: nwakuParam(parseAscending, true).openapi({
    type: "string",
    description: 'exactly "true" (or absent) is ascending; any other value is descending',
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
