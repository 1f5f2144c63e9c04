/**
 * Per-peer sync state: records of type OFFER, REQUEST or MESSAGE, each with
 * its send count and send epoch (ACKs are never records: they are not
 * retransmitted), and the retransmission schedule.
 *
 * The spec leaves the backoff open: "exponentially increased until reaching
 * an upper bound where it then goes back to a lower epoch". Here the gap
 * after the n-th send is 2^n epochs (2, 4, 8, …) up to the largest power of
 * two ≤ `backoffCapEpochs`, then the exponent starts over at 2. The first
 * gap is 2 because an ACK needs two epochs to come back (the peer reacts in
 * its next payload), so nothing is resent before it could have been
 * acknowledged. With the default cap of 64 a record is sent 6 times per
 * 126 epochs, and a peer that was away waits at most 64 epochs (less: see
 * `peerHeard` in node.ts).
 *
 * @example
 * ```ts
 * const s = mvdsSettings({ backoffCapEpochs: 8 });
 * [1, 2, 3, 4, 5].map((n) => nextSendEpoch(100, n, s)); // [102, 104, 108, 102, 104]
 * ```
 */

/** The kinds of record kept in state (never ACK). */
export type RecordType = "OFFER" | "REQUEST" | "MESSAGE";

/** What a node keeps per peer per message id. */
export interface SyncRecord {
  /** The 32-byte message id. */
  id: Uint8Array;
  type: RecordType;
  /** How many times this record has been sent to the peer. */
  sendCount: number;
  /** The epoch at or after which it is (re)sent. */
  sendEpoch: number;
}

/** A node's settings, as the issue names them. */
export interface MvdsSettings {
  /** Epoch length in ms; only the service's ticker uses it. */
  epochMs: number;
  /** Upper bound of the gap between two sends of a record, in epochs. */
  backoffCapEpochs: number;
  /** Sends after which a record is dropped and reported failed; undefined = unlimited. */
  maxSendCount: number | undefined;
}

/** Defaults: 1 s epochs, gaps up to 64 epochs, unlimited sends (as in the spec). */
export const DEFAULT_SETTINGS: Readonly<MvdsSettings> = Object.freeze({
  epochMs: 1000,
  backoffCapEpochs: 64,
  maxSendCount: undefined,
});

/** Settings with defaults filled in; RangeError naming the setting for a bad value. */
export function mvdsSettings(partial: Partial<MvdsSettings> = {}): MvdsSettings {
  const s: MvdsSettings = { ...DEFAULT_SETTINGS };
  for (const [k, v] of Object.entries(partial)) {
    if (v !== undefined) (s as unknown as Record<string, unknown>)[k] = v;
  }
  positiveInt("epochMs", s.epochMs);
  positiveInt("backoffCapEpochs", s.backoffCapEpochs);
  if (s.maxSendCount !== undefined) positiveInt("maxSendCount", s.maxSendCount);
  return s;
}

function positiveInt(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new RangeError(`MVDS setting ${name} must be a positive integer, got ${v}`);
  }
}

/**
 * The gap, in epochs, after a record's `sendCount`-th send (1-based):
 * 2^k with k cycling 1, 2, … up to the largest 2^k ≤ the cap, then back to
 * 1. A cap below 2 gives a gap of 1.
 */
export function backoffInterval(sendCount: number, settings: MvdsSettings): number {
  const cap = settings.backoffCapEpochs;
  if (cap < 2) return 1;
  const steps = Math.floor(Math.log2(cap)); // exponents 1..steps
  const k = (Math.max(sendCount, 1) - 1) % steps;
  return 2 ** (k + 1);
}

/**
 * The send epoch of a record that has just been sent for the `sendCount`-th
 * time at `epoch`. Always later than `epoch`; the gap grows exponentially
 * up to `backoffCapEpochs`, then starts over.
 */
export function nextSendEpoch(epoch: number, sendCount: number, settings: MvdsSettings): number {
  return epoch + backoffInterval(sendCount, settings);
}

/**
 * The epoch a record was last sent, from its schedule (a record sent at e
 * for the n-th time has sendEpoch e + backoffInterval(n)); undefined for a
 * record never sent.
 */
export function lastSentEpoch(r: SyncRecord, settings: MvdsSettings): number | undefined {
  return r.sendCount > 0 ? r.sendEpoch - backoffInterval(r.sendCount, settings) : undefined;
}
