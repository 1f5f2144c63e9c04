/**
 * Reads back a store entry written by rest_json.ts's storeEntryToJson (with
 * its data): live events carry messages in that form, also between
 * processes, and the polling caches keep them as WakuMessages.
 */
import { fromBase64, fromHex0x } from "../../lib/bytes.ts";
import { parseJsonExact } from "../../lib/json_exact.ts";
import type { WakuMessage } from "./message.ts";

/** A store entry with its data. */
export interface StoreEntry {
  hash: Uint8Array;
  pubsubTopic: string;
  message: WakuMessage;
}

interface EntryJson {
  messageHash?: unknown;
  pubsubTopic?: unknown;
  message?: Record<string, unknown>;
}

const str = (v: unknown, what: string): string => {
  if (typeof v !== "string") throw new SyntaxError(`Store entry has no ${what}`);
  return v;
};

/** Parses `{"messageHash","message":{…},"pubsubTopic"}`; throws SyntaxError on anything else. */
export function parseStoreEntry(json: string): StoreEntry {
  const e = parseJsonExact(json, ["timestamp"]) as EntryJson;
  const m = e.message;
  if (!m || typeof m !== "object") throw new SyntaxError("Store entry has no message");
  const message: WakuMessage = {
    payload: fromBase64(str(m.payload, "payload")),
    contentTopic: str(m.contentTopic, "contentTopic"),
    version: Number(m.version ?? 0),
    timestamp: BigInt(str(m.timestamp, "timestamp")),
  };
  if (m.meta !== undefined) message.meta = fromBase64(str(m.meta, "meta"));
  if (m.proof !== undefined) message.rateLimitProof = fromBase64(str(m.proof, "proof"));
  if (m.ephemeral === true) message.ephemeral = true;
  return {
    hash: fromHex0x(str(e.messageHash, "messageHash")),
    pubsubTopic: str(e.pubsubTopic, "pubsubTopic"),
    message,
  };
}
