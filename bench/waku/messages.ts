/**
 * The Waku bench's messages: message i is a pure function of (seed, i), so
 * the gateway and the raw baselines store the very same messages and the
 * bench knows every message's RFC 14 hash in advance (to check answers and
 * to write cursors into wrk's request lists).
 */
import { messageHash, type WakuMessage } from "../../protocols/waku/message.ts";
import type { WrkRequest } from "../harness/wrk.ts";
import { mulberry32Uint32 } from "../../lib/prng.ts";

export const PUBSUB = ["/waku/2/rs/0/0", "/waku/2/rs/0/1"];
export const CONTENT = [0, 1, 2, 3, 4].map((i) => `/syncgate-bench/1/chat-${i}/proto`);
export const PAYLOAD_BYTES = 200;
/** 2026-01-01T00:00:00Z in ns; message i has a timestamp in [BASE + 1000·i, BASE + 1000·i + 999]. */
export const BASE_TS = 1_767_225_600_000_000_000n;

/** Topics and timestamp of a message. */
export interface Meta {
  pubsubTopic: string;
  contentTopic: string;
  timestamp: bigint;
}

/** A message with its pubsub topic. */
export interface Msg extends Meta {
  message: WakuMessage;
}

/** The messages of one seed. */
export class Messages {
  constructor(readonly seed: number) {}

  #prng(i: number): () => number {
    return mulberry32Uint32(Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(this.seed, 0x85ebca6b));
  }

  /** Topics and timestamp of message i (3/4 of messages on the first pubsub topic). */
  meta(i: number, r = this.#prng(i)): Meta {
    return {
      pubsubTopic: r() % 4 === 0 ? PUBSUB[1] : PUBSUB[0],
      contentTopic: CONTENT[r() % CONTENT.length],
      timestamp: BASE_TS + BigInt(i) * 1000n + BigInt(r() % 1000),
    };
  }

  /** Message i: its meta and a random 200-byte payload. */
  at(i: number): Msg {
    const r = this.#prng(i);
    const meta = this.meta(i, r);
    const payload = new Uint8Array(PAYLOAD_BYTES);
    const view = new DataView(payload.buffer);
    for (let k = 0; k < PAYLOAD_BYTES; k += 4) view.setUint32(k, r());
    return {
      ...meta,
      message: { payload, contentTopic: meta.contentTopic, version: 0, timestamp: meta.timestamp },
    };
  }

  /** RFC 14 hash of message i. */
  hash(i: number): Uint8Array {
    const m = this.at(i);
    return messageHash(m.pubsubTopic, m.message);
  }

  /** Random message indices with a full page (and a full filtered page) after them. */
  positions(n: number, stored: number, salt: number): number[] {
    const r = this.#prng(0x7fff0000 + salt);
    return Array.from({ length: n }, () => r() % (stored - 1500));
  }

  /** Index of the first message after i on content topic ct. */
  nextOnTopic(i: number, ct: string): number {
    for (let j = i + 1;; j++) if (this.meta(j).contentTopic === ct) return j;
  }
}

/** nwaku relay JSON of a message, with or without its pubsubTopic field, or ephemeral. */
export function relayJson(m: Msg, withTopic: boolean, ephemeral = false): string {
  const topic = withTopic ? `"pubsubTopic":${JSON.stringify(m.pubsubTopic)},` : "";
  return `{${topic}"payload":"${m.message.payload.toBase64()}",` +
    `"contentTopic":${JSON.stringify(m.contentTopic)},"version":0,"timestamp":${m.timestamp}` +
    (ephemeral ? `,"ephemeral":true}` : "}");
}

/** The path of a single publish of m (nwaku: the pubsub topic percent-encoded). */
export const publishPath = (m: Msg): string =>
  `/relay/v1/messages/${encodeURIComponent(m.pubsubTopic)}`;

/** The single-publish request of m (body without its pubsub topic). */
export function publishRequest(m: Msg, ephemeral = false): WrkRequest {
  return { method: "POST", path: publishPath(m), body: relayJson(m, false, ephemeral) };
}
