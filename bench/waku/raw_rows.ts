/**
 * The Waku rows' raw KV baselines, on KV files of the bench's own:
 *
 * - the 1-key log: one `set` per message keyed (timestamp, hash) → the
 *   protobuf message, the least KV work a time-ordered message log needs
 *   (the baseline the targets name; its layout is the bench's own);
 * - the gateway's writes: exactly what storage/waku_repo.ts commits for each
 *   message (publishWrites: its keys and values, the dedup check, the topic
 *   counter, the receive-order head once per commit), as many messages per
 *   commit as KV allows it checks.
 */
import { createMetrics } from "../../lib/metrics.ts";
import { encodeWakuMessage } from "../../protocols/waku/message.ts";
import { openStore, type Store } from "../../storage/kv.ts";
import { publishWrites } from "../../storage/waku_repo.ts";
import type { Phase } from "../harness/measure.ts";
import { rawCommits, rawListPages, type RawWrites } from "../harness/raw_kv.ts";
import type { Result } from "../harness/result.ts";
import { BASE_TS, type Messages } from "./messages.ts";

/** The 1-key log's prefix: [ONE_KEY, timestamp, hash] → protobuf WakuMessage. */
const ONE_KEY = "m";

/** The 1-key log's write of message i. */
export function oneKeyWrites(msgs: Messages, i: number): RawWrites {
  const m = msgs.at(i);
  return { sets: [[[ONE_KEY, m.timestamp, msgs.hash(i)], encodeWakuMessage(m.message)]] };
}

/** Message i as the gateway's store keeps it, received at BASE_TS + i (increasing, like ours). */
function storedAt(msgs: Messages, i: number) {
  const m = msgs.at(i);
  return publishWrites({
    hash: msgs.hash(i),
    pubsubTopic: m.pubsubTopic,
    receivedTime: BASE_TS + BigInt(i),
    message: m.message,
  });
}

/**
 * The gateway's publish commit for message i: its dedup check ("h"), every set, the counter, and
 * the receive-order head (a sum here, so once per commit, as the gateway's check and set are).
 */
export function gatewayWrites(msgs: Messages, i: number): RawWrites {
  const w = storedAt(msgs, i);
  return { checks: [w.sets.at(-1)![0]], sets: w.sets, sums: [[w.counter, 1n], [w.head, 1n]] };
}

/**
 * The publish commit without the hash index's key and its check: what the layout's other keys
 * cost. "h" is ordered by hash, so each message's lands on a random B-tree page.
 */
export function gatewayWritesWithoutHashIndex(msgs: Messages, i: number): RawWrites {
  const w = gatewayWrites(msgs, i);
  return { sets: w.sets.slice(0, -1), sums: w.sums };
}

const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a === b || (a.length === b.length && a.every((x, k) => x === b[k]));

/** Of the publish commit's sets, those holding the full record (the "t" key's value). */
export function fullRecordWrites(msgs: Messages, i: number): RawWrites {
  const { sets } = storedAt(msgs, i);
  return { sets: sets.filter(([, v]) => sameBytes(v, sets[0][1])) };
}

/** How the publish commit's sets split: keys holding the full record, and the others. */
export function gatewayKeyCounts(msgs: Messages): { records: number; small: number } {
  const all = gatewayWrites(msgs, 0).sets.length;
  const records = fullRecordWrites(msgs, 0).sets.length;
  return { records, small: all - records };
}

/** A KV file for the raw gateway-layout baseline, opened as the gateway opens its own. */
export function openRawStore(path: string): Promise<Store> {
  return openStore(path, createMetrics());
}

/**
 * Messages per raw commit of the gateway's writes: one dedup check each, so as many as KV allows
 * checks, as in the gateway's own commits of these (small) messages.
 */
export const perGatewayCommit = (store: Store): number => store.limits.maxChecks;

/** The gateway's writes of messages [from, to) on raw KV: its publish commits. */
export function rawGatewayIngest(
  store: Store,
  msgs: Messages,
  from: number,
  to: number,
): Promise<Result> {
  return rawCommits(store.kv, from, to, {
    perCommit: perGatewayCommit(store),
    writesOf: (i) => gatewayWrites(msgs, i),
  });
}

/** The 1-key log's writes of messages [from, to), `perCommit` per atomic. */
export function rawOneKeyIngest(
  kv: Deno.Kv,
  msgs: Messages,
  from: number,
  to: number,
  perCommit: number,
): Promise<Result> {
  return rawCommits(kv, from, to, { perCommit, writesOf: (i) => oneKeyWrites(msgs, i) });
}

/** Raw `kv.list` pages of 100 on the 1-key log from random start times, `conc` callers. */
export function rawOneKeyPages(
  kv: Deno.Kv,
  msgs: Messages,
  stored: number,
  pages: number,
  conc: number,
  maxSeconds: number,
): Promise<Result> {
  const warm = Math.min(200, pages);
  const pos = msgs.positions(pages + warm, stored, 3);
  const phase: Phase = { concurrency: conc, warm, total: pages, maxSeconds };
  const prefix = [ONE_KEY];
  return rawListPages(kv, phase, 100, (k) => ({
    prefix,
    start: [ONE_KEY, BASE_TS + BigInt(pos[k]) * 1000n],
  }));
}
