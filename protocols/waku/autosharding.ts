/**
 * Autosharding (RFC 51) as nwaku computes it: a content topic
 * `/[gen/]app/version/name/encoding` belongs to shard
 * `sha256(app ‖ version)[24..32] (big-endian) mod shards` of the cluster,
 * whose pubsub topic is `/waku/2/rs/<cluster>/<shard>`. Also reads static
 * shard pubsub topics. Errors carry nwaku's messages
 * (waku/waku_core/topics/{content_topic,sharding,pubsub_topic}.nim).
 *
 * @example
 * ```ts
 * autoshard("/toychat/2/huilong/proto", { clusterId: 1, shards: 8 }); // "/waku/2/rs/1/3"
 * ```
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8Encode } from "../../lib/bytes.ts";
import { parseInt64 } from "./nim_text.ts";

/** A cluster and how many shards autosharding spreads content topics over (0: static sharding). */
export interface Sharding {
  clusterId: number;
  shards: number;
}

/** A content topic's parts (RFC 23), with its generation when it has one. */
interface NsContentTopic {
  generation?: bigint;
  application: string;
  version: string;
  name: string;
  encoding: string;
}

/** nwaku's `ParsingError` texts. */
const invalid = (cause: string) => new SyntaxError(`invalid format: ${cause}`);
const missing = (part: string) => new SyntaxError(`missing part: ${part}`);

const STRUCTURE = "Invalid content topic structure. Expected either " +
  "/<application>/<version>/<topic-name>/<encoding> or " +
  "/<gen>/<application>/<version>/<topic-name>/<encoding>";

/** Splits a content topic into its parts; throws SyntaxError as nwaku's NsContentTopic.parse. */
export function parseContentTopic(topic: string): NsContentTopic {
  if (!topic.startsWith("/")) throw invalid(`content-topic '${topic}' must start with slash`);
  const parts = topic.slice(1).split("/");
  if (parts.length !== 4 && parts.length !== 5) throw invalid(STRUCTURE);
  let generation: bigint | undefined;
  if (parts.length === 5) {
    const gen = parts.shift()!;
    if (gen === "") throw missing("generation");
    try {
      generation = parseInt64(gen);
    } catch {
      throw invalid("generation should be a numeric value");
    }
  }
  const names = ["application", "version", "topic-name", "encoding"];
  parts.forEach((p, i) => {
    if (p === "") throw missing(names[i]);
  });
  const [application, version, name, encoding] = parts;
  return { generation, application, version, name, encoding };
}

/** The shard of a parsed content topic among `shards` (> 0); only generation 0 is defined. */
export function shardOf(topic: NsContentTopic, shards: number): number {
  if (topic.generation !== undefined && topic.generation !== 0n) {
    throw new RangeError("Generation > 0 are not supported yet");
  }
  const digest = sha256(utf8Encode(topic.application + topic.version));
  const value = new DataView(digest.buffer, digest.byteOffset).getBigUint64(24);
  return Number(value % BigInt(shards));
}

/** The pubsub topic of a shard: `/waku/2/rs/<cluster>/<shard>`. */
function shardTopic(clusterId: number, shard: number): string {
  return `/waku/2/rs/${clusterId}/${shard}`;
}

/**
 * The pubsub topic autosharding gives a content topic. Throws SyntaxError
 * (a topic not in RFC 23's form) or RangeError (a generation above 0), in
 * nwaku's words; the caller checks that sharding is automatic (shards > 0).
 */
export function autoshard(contentTopic: string, sharding: Sharding): string {
  return shardTopic(sharding.clusterId, shardOf(parseContentTopic(contentTopic), sharding.shards));
}

/**
 * Reads a static-sharding pubsub topic `/waku/2/rs/<cluster>/<shard>` (both
 * 16-bit decimals) as nwaku's parseStaticSharding, quirks kept: only the
 * prefix `/waku/2/rs` is checked before everything past its 11th character
 * is split. Throws SyntaxError.
 */
export function parseStaticShard(topic: string): { clusterId: number; shard: number } {
  if (!topic.startsWith("/waku/2/rs")) throw invalid("must start with /waku/2/rs");
  const parts = topic.slice(11).split("/");
  if (parts.length !== 2) throw invalid("invalid topic structure");
  const [clusterId, shard] = parts.map((p, i) => {
    if (p === "") throw missing(i === 0 ? "cluster_id" : "shard_number");
    if (!/^\d+$/.test(p) || Number(p) > 0xffff) throw invalid(`not a 16-bit number: ${p}`);
    return Number(p);
  });
  return { clusterId, shard };
}
