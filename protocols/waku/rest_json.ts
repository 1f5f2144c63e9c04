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
  s += `,"ephemeral":${msg.ephemeral === true}`;
  // nwaku's store JSON names rate_limit_proof "proof", and writes it only when present.
  if (msg.rateLimitProof?.length) s += `,"proof":"${toBase64(msg.rateLimitProof)}"`;
  return s + "}";
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
