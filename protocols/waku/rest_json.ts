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

/**
 * Parses JSON keeping integers that do not fit a double exact: every integer
 * literal under a key named `timestamp`, `startTime` or `endTime` comes back
 * as its decimal digits in a string (the schemas read it as an int64). Other
 * values parse as JSON.parse would.
 *
 * The literals are quoted in the text before JSON.parse: a reviver with
 * source access would do the same but costs ~17× a plain parse, most of a
 * bulk publish. The pattern takes only a whole JSON integer right after such
 * a key (whose opening quote is not escaped, so it is not inside a string)
 * and before `,`, `}` or `]`: valid text stays valid, invalid text invalid.
 */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(text.replace(BIG_INT_FIELD, '"$1"$2:$3"$4"'));
}

// The lookbehind: the opening quote is not escaped (an even run of backslashes before it).
const BIG_INT_FIELD =
  /(?<=(?:^|[^\\])(?:\\\\)*)"(timestamp|startTime|endTime)"(\s*):(\s*)(-?(?:0|[1-9]\d*))(?=\s*[,}\]])/g;
