/**
 * The query of nwaku's `GET /store/v3/messages`, read value by value as
 * nwaku's REST handler reads it (waku/rest_api/endpoint/store/handlers.nim),
 * with its error messages. Each function takes one non-empty value after
 * the HTTP layer's own percent-decoding (nwaku reads an empty value as an
 * absent one, before any of these); topics, hashes and the peer address
 * are then decoded once more, as nwaku does, so values encoded twice by
 * nwaku's own clients arrive as meant.
 */
import { decodeUrl, hexToBytes, parseBool, parseInt64 } from "./nim_text.ts";
import { peerAddrProblem } from "./multiaddr.ts";

/** The page size without one (and for 0 or less), and the largest, as nwaku's archive. */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Runs a parse, prefixing its error message as nwaku does (`time parsing error: …`). */
function prefixed<T>(prefix: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    const err = e as Error;
    throw new (err.constructor as ErrorConstructor)(prefix + err.message, { cause: e });
  }
}

/** `includeData`: Nim's parseBool. */
export function parseIncludeData(value: string): boolean {
  return prefixed("include data parsing error: ", () => parseBool(value));
}

/** `ascending`: exactly "true" is ascending; any other value is descending, never an error. */
export function parseAscending(value: string): boolean {
  return value === "true";
}

/** `pubsubTopic`, decoded again; empty after decoding means no filter. */
export function parsePubsubTopic(value: string): string | undefined {
  return decodeUrl(value) || undefined;
}

/**
 * `contentTopics`, decoded again and split on commas, with nothing trimmed
 * or dropped: `a,,b` is `a`, `` and `b`, and ` ` is a topic of one space.
 */
export function parseContentTopics(value: string): string[] {
  const list = decodeUrl(value);
  return list === "" ? [] : list.split(",");
}

/** `startTime`/`endTime` in ns: only a value above 0 bounds the query. */
export function parseTime(value: string): bigint | undefined {
  const t = prefixed("time parsing error: ", () => parseInt64(value));
  return t > 0n ? t : undefined;
}

/** `cursor` (and each of `hashes`): hex of 32 bytes, `0x` optional, decoded again (no `+`). */
export function parseHash(value: string): Uint8Array | undefined {
  if (value === "") return undefined;
  const bytes = prefixed(
    "Exception converting hex string to bytes: ",
    () => hexToBytes(decodeUrl(value, false)),
  );
  if (bytes.length !== 32) {
    throw new RangeError(`waku message hash parsing error: invalid hash length: ${bytes.length}`);
  }
  return bytes;
}

/** `hashes`: decoded, split on commas, each read as a hash; empty items are skipped. */
export function parseHashes(value: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const item of decodeUrl(value, false).split(",")) {
    const hash = parseHash(item);
    if (hash) out.push(hash);
  }
  return out;
}

/**
 * `pageSize`: Nim's parseInt. 0 is the archive's default and above 100 is
 * 100, as in nwaku; below 0 is also the default (nwaku converts it to an
 * unsigned integer, which Nim's range checks refuse with a defect, not an answer).
 */
export function parsePageSize(value: string): number {
  const n = prefixed("page size parsing error: ", () => parseInt64(value));
  if (n <= 0n) return DEFAULT_PAGE_SIZE;
  return n > BigInt(MAX_PAGE_SIZE) ? MAX_PAGE_SIZE : Number(n);
}

/**
 * `peerAddr`, decoded again: a store peer's multiaddr as nwaku's
 * parseUrlPeerAddr accepts it (libp2p's syntax, a `/p2p/` peer id, TCP or
 * WebSocket transport); errors are nwaku's, `Failed parsing remote peer info: …`.
 */
export function parsePeerAddr(value: string): string {
  const addr = decodeUrl(value);
  const problem = peerAddrProblem(addr);
  if (problem) throw new SyntaxError(`Failed parsing remote peer info: ${problem}`);
  return addr;
}
