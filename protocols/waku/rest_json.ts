/**
 * Waku messages in the JSON of nwaku's REST API: base64 payload and meta,
 * `0x`-hex message hashes, and int64 nanosecond timestamps written as exact
 * JSON numbers (JSON.stringify cannot write a bigint).
 */
import { toBase64, toHex0x } from "../../lib/bytes.ts";
import type { WakuMessage } from "./message.ts";

/** The `message` object of nwaku's REST API, as a JSON string. */
export function messageToJson(msg: WakuMessage): string {
  let s =
    `{"payload":"${toBase64(msg.payload)}","contentTopic":${JSON.stringify(msg.contentTopic)},` +
    `"version":${msg.version},"timestamp":${msg.timestamp}`;
  if (msg.meta?.length) s += `,"meta":"${toBase64(msg.meta)}"`;
  return s + `,"ephemeral":${msg.ephemeral === true}}`;
}

/** One store entry: `{messageHash, message?, pubsubTopic?}`, as a JSON string. */
export function storeEntryToJson(
  hash: Uint8Array,
  pubsubTopic: string,
  msg: WakuMessage,
  includeData: boolean,
): string {
  if (!includeData) return `{"messageHash":"${toHex0x(hash)}"}`;
  return `{"messageHash":"${toHex0x(hash)}","message":${messageToJson(msg)},` +
    `"pubsubTopic":${JSON.stringify(pubsubTopic)}}`;
}

/**
 * Parses JSON keeping integers that do not fit a double exact: every integer
 * literal under a key named `timestamp`, `startTime` or `endTime` becomes a
 * bigint. Other values parse as JSON.parse would.
 */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(text, function (key, value, context?: { source?: string }) {
    if (
      typeof value === "number" && BIG_KEYS.has(key) && context?.source &&
      /^-?\d+$/.test(context.source)
    ) {
      return BigInt(context.source);
    }
    return value;
  });
}

const BIG_KEYS = new Set(["timestamp", "startTime", "endTime"]);
