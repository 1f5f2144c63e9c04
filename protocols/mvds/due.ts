/**
 * When records go out: `due` builds the one payload per peer per epoch
 * from its due records and pending ACKs and reschedules what it sent;
 * `peerHeard` makes a returning peer's pending records due at once.
 *
 * @example
 * ```ts
 * const out = due({ peer: "bob", records, acks, messages }, epoch, settings);
 * // commit out.put, out.delete and the removal of out.acksSent in one write,
 * // then transmit encodePayload(out.payload) when it is defined
 * ```
 */
import { idKey } from "./message_id.ts";
import type { MvdsEvent } from "./node.ts";
import {
  DEFAULT_PAYLOAD_LIMITS,
  emptyPayload,
  isEmptyPayload,
  MAX_PAYLOAD_BYTES,
  type Message,
  messageWireSize,
  type Payload,
  type PayloadLimits,
  WIRE_ID_BYTES,
} from "./proto.ts";
import {
  backoffInterval,
  lastSentEpoch,
  type MvdsSettings,
  nextSendEpoch,
  type SyncRecord,
} from "./record.ts";

// ---- peer heard from again ----

/**
 * The peer was heard from (a payload came, a connection opened): its
 * pending records become due at once. A record sent less than the first
 * backoff gap (2 epochs) ago is left alone: an answer to it may still be on
 * its way, and resending it would only double the traffic of a chatty peer.
 * Returns the records to put (sendEpoch = `epoch`, send count unchanged so
 * that `maxSendCount` still ends a flapping peer's records).
 */
export function peerHeard(
  records: Iterable<SyncRecord>,
  epoch: number,
  settings: MvdsSettings,
): SyncRecord[] {
  const grace = backoffInterval(1, settings);
  const put: SyncRecord[] = [];
  for (const r of records) {
    if (r.sendEpoch <= epoch) continue; // already due
    const last = lastSentEpoch(r, settings);
    if (last === undefined || epoch - last >= grace) put.push({ ...r, sendEpoch: epoch });
  }
  return put;
}

/**
 * Whether a peer last heard at `lastHeardEpoch` counts as returning when
 * heard at `epoch`: silent for at least the first backoff gap. A service
 * can call `peerHeard` (which loads all the peer's records) only then.
 */
export function peerReturned(
  lastHeardEpoch: number | undefined,
  epoch: number,
  settings: MvdsSettings,
): boolean {
  return lastHeardEpoch === undefined || epoch - lastHeardEpoch >= backoffInterval(1, settings);
}

// ---- due: the one payload per peer per epoch ----

/** What `due` needs from storage for one peer. */
export interface DueView {
  peer: string;
  /** The peer's records (all, or at least those with sendEpoch ≤ epoch). */
  records: Iterable<SyncRecord>;
  /** Pending ACKs for this peer, oldest first. */
  acks: readonly Uint8Array[];
  /** Messages for the due MESSAGE records, by idKey. */
  messages: ReadonlyMap<string, Message>;
}

/** What `due` returns: the payload to send (if any) and the state changes to commit first. */
export interface DueResult {
  /** The payload for the peer; undefined when there is nothing to send. */
  payload: Payload | undefined;
  /** Records sent: send count + 1, next send epoch. */
  put: SyncRecord[];
  /** Records dropped (see the `failed` events). */
  delete: Uint8Array[];
  events: MvdsEvent[];
  /** Pending ACKs that went into the payload (clear them). */
  acksSent: Uint8Array[];
  /** Pending ACKs that did not fit (keep them for the next epoch). */
  acksLeft: Uint8Array[];
}

/** Size bounds of a built payload: the receiver's decode limits, plus a byte budget. */
export interface DueLimits extends PayloadLimits {
  /** Encoded payload size to stay within; a single larger message still goes alone. */
  maxPayloadBytes: number;
}

/**
 * Builds the one payload for `view.peer` at `epoch`: every pending ACK and
 * every record with sendEpoch ≤ epoch (oldest first), within `limits` (what
 * does not fit stays due for the next epoch). Each record sent gets send
 * count + 1 and sendEpoch = nextSendEpoch(epoch, count). A due record that
 * was already sent `maxSendCount` times is dropped instead, with a `failed`
 * event. Call it at most once per peer per epoch; commit its changes, then
 * transmit the payload (a payload lost after the commit is just a loss).
 */
export function due(
  view: DueView,
  epoch: number,
  settings: MvdsSettings,
  limits: Partial<DueLimits> = {},
): DueResult {
  const lim: DueLimits = {
    ...DEFAULT_PAYLOAD_LIMITS,
    maxPayloadBytes: MAX_PAYLOAD_BYTES,
    ...limits,
  };
  const payload = emptyPayload();
  const result: DueResult = {
    payload: undefined,
    put: [],
    delete: [],
    events: [],
    acksSent: [],
    acksLeft: [],
  };
  let bytes = 0;
  const fits = (size: number) => bytes === 0 || bytes + size <= lim.maxPayloadBytes;

  for (const id of view.acks) {
    if (payload.acks.length < lim.maxIds && fits(WIRE_ID_BYTES)) {
      payload.acks.push(id);
      result.acksSent.push(id);
      bytes += WIRE_ID_BYTES;
    } else result.acksLeft.push(id);
  }
  const ready = [...view.records].filter((r) => r.sendEpoch <= epoch)
    .sort((a, b) => a.sendEpoch - b.sendEpoch);
  for (const r of ready) {
    if (settings.maxSendCount !== undefined && r.sendCount >= settings.maxSendCount) {
      result.delete.push(r.id);
      result.events.push({
        type: "failed",
        peer: view.peer,
        id: r.id,
        record: r.type,
        reason: "maxSendCount",
      });
      continue;
    }
    let size = WIRE_ID_BYTES;
    let list: Uint8Array[] | undefined;
    const message = r.type === "MESSAGE" ? view.messages.get(idKey(r.id)) : undefined;
    if (r.type === "MESSAGE") {
      if (!message) {
        result.delete.push(r.id);
        result.events.push({
          type: "failed",
          peer: view.peer,
          id: r.id,
          record: r.type,
          reason: "missing",
        });
        continue;
      }
      size = messageWireSize(message);
      if (payload.messages.length >= lim.maxMessages || !fits(size)) continue;
      payload.messages.push(message);
    } else {
      list = r.type === "OFFER" ? payload.offers : payload.requests;
      if (list.length >= lim.maxIds || !fits(size)) continue;
      list.push(r.id);
    }
    bytes += size;
    const sendCount = r.sendCount + 1;
    result.put.push({ ...r, sendCount, sendEpoch: nextSendEpoch(epoch, sendCount, settings) });
  }
  if (!isEmptyPayload(payload)) result.payload = payload;
  return result;
}
