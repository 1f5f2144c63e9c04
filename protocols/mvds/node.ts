/**
 * The MVDS node state machine, sans-I/O, over explicit data. A service
 * loads what a step needs from storage, calls one of these functions and
 * commits what it returns in one atomic write:
 *
 * - `send` — the user sends a message: one record per peer of its group,
 *   MESSAGE in batch mode, OFFER in interactive mode, due now.
 * - `receive` — a payload arrived from a peer: the spec's reactions for
 *   both modes (a node sends in one mode but reacts to every record type).
 * - `due` and `peerHeard` (due.ts) — an epoch ticked, or a peer was heard
 *   from again.
 *
 * Records are keyed per peer by message id (`idKey`); a node keeps at most
 * one record per (peer, id), since it either holds a message (OFFER or
 * MESSAGE) or wants it (REQUEST).
 *
 * @example
 * ```ts
 * const { id, records } = send(message, ["bob"], "batch", epoch);
 * // store message and records; at the next tick, for bob:
 * const out = due({ peer: "bob", records, acks: [], messages }, epoch, settings);
 * // commit out.put / out.delete, then transmit encodePayload(out.payload)
 * ```
 */
import { idKey, messageId } from "./message_id.ts";
import type { Message, Payload } from "./proto.ts";
import type { RecordType, SyncRecord } from "./record.ts";

/** How a node sends its own messages: batch (MESSAGE at once) or interactive (OFFER first). */
export type Mode = "batch" | "interactive";

/** A message received from a peer, to be stored. */
export interface ReceivedMessage {
  id: Uint8Array;
  message: Message;
  /** The peer it came from. */
  from: string;
}

/**
 * What happened, for event feeds and the per-peer delivery state:
 * - `received`: a new message from `peer` (stored in `Changes.store`);
 * - `acked`: `peer` holds our message (it ACKed it, or offered or sent it
 *   itself), so our OFFER or MESSAGE record for it ended;
 * - `offered`: `peer` offered a message we lack; a REQUEST is queued;
 * - `requested`: `peer` requested a message we hold; a MESSAGE is queued;
 * - `failed`: a record was dropped: sent `maxSendCount` times without an
 *   answer, or (`missing`) a MESSAGE record whose message is gone;
 * - `ignored`: `peer` sent a message of a group it does not share with us;
 *   not stored, not ACKed.
 */
export type MvdsEvent =
  | { type: "received"; peer: string; id: Uint8Array; message: Message }
  | { type: "acked"; peer: string; id: Uint8Array; record: "OFFER" | "MESSAGE" }
  | { type: "offered"; peer: string; id: Uint8Array }
  | { type: "requested"; peer: string; id: Uint8Array }
  | {
    type: "failed";
    peer: string;
    id: Uint8Array;
    record: RecordType;
    reason: "maxSendCount" | "missing";
  }
  | { type: "ignored"; peer: string; id: Uint8Array; reason: "group not shared" };

/** State changes for one peer: commit them together. */
export interface Changes {
  /** Records to write (whole values), for this peer. */
  put: SyncRecord[];
  /** Ids whose record with this peer is removed. */
  delete: Uint8Array[];
  /** Messages to store as received (new ones only). */
  store: ReceivedMessage[];
  /**
   * Ids to ACK in the next payload to this peer. ACKs are not state (the
   * spec resends them whenever a MESSAGE comes again), so losing them in a
   * crash is allowed; they must still be visible to whichever process
   * builds the next payload.
   */
  acks: Uint8Array[];
  events: MvdsEvent[];
}

// ---- send ----

/** A new record for a message this node sends: MESSAGE (batch) or OFFER (interactive), due now. */
export function outgoingRecord(id: Uint8Array, mode: Mode, epoch: number): SyncRecord {
  return { id, type: mode === "batch" ? "MESSAGE" : "OFFER", sendCount: 0, sendEpoch: epoch };
}

/** What `send` returns: the message's id and one new record per peer. */
export interface SendResult {
  id: Uint8Array;
  records: { peer: string; record: SyncRecord }[];
}

/**
 * Sends a message to the peers that share its group (`peers`, which the
 * service looked up): store the message, put each record. Also used to
 * share an already held message with a peer that joins its group later.
 */
export function send(
  message: Message,
  peers: readonly string[],
  mode: Mode,
  epoch: number,
): SendResult {
  const id = messageId(message);
  return {
    id,
    records: [...new Set(peers)].map((peer) => ({ peer, record: outgoingRecord(id, mode, epoch) })),
  };
}

// ---- receive ----

/** What `receive` needs from storage, for the ids in the payload (see `payloadIds`). */
export interface ReceiveView {
  /** Messages the node holds, by idKey (a Message will do; only the group is read). */
  held: ReadonlyMap<string, { groupId: Uint8Array }>;
  /** This peer's records, by idKey. */
  records: ReadonlyMap<string, SyncRecord>;
  /** Group ids (idKey of the group id) this node shares with the peer. */
  groups: ReadonlySet<string>;
}

/**
 * The ids a payload's reactions depend on (acks, offers, requests and the
 * recomputed ids of its messages), deduplicated: what the service loads
 * into the ReceiveView.
 */
export function payloadIds(payload: Payload): Uint8Array[] {
  const out = new Map<string, Uint8Array>();
  for (const id of [...payload.acks, ...payload.offers, ...payload.requests]) {
    out.set(idKey(id), id);
  }
  for (const m of payload.messages) {
    const id = messageId(m);
    out.set(idKey(id), id);
  }
  return [...out.values()];
}

/**
 * Reacts to a payload from peer `from` at `epoch`, by the spec's rules for
 * both modes:
 * - MESSAGE (of a shared group): stored if new, ACKed (every time, so a
 *   lost ACK is repaired by the sender's retransmission), our REQUEST for
 *   it removed. Its id is recomputed, never read from the wire. A message
 *   of a group the peer does not share is ignored (event, no ACK).
 * - ACK: our MESSAGE (or OFFER) record for it is removed.
 * - OFFER: a REQUEST record, due now, unless we hold the message: then an
 *   ACK, telling the peer to stop offering. Offers from a peer sharing no
 *   group are ignored.
 * - REQUEST: for a message we hold in a group the peer shares, our OFFER
 *   (if any) becomes a MESSAGE record due now; a REQUEST for anything else
 *   is ignored.
 * An OFFER or MESSAGE from the peer also ends our own OFFER/MESSAGE record
 * for that id: the peer evidently holds the message.
 */
export function receive(view: ReceiveView, from: string, payload: Payload, epoch: number): Changes {
  const records = new Map<string, SyncRecord | null>(); // working copy; null = removed
  const record = (k: string) => records.has(k) ? records.get(k) ?? undefined : view.records.get(k);
  const stored = new Map<string, ReceivedMessage>();
  const holds = (k: string) => view.held.get(k) ?? stored.get(k)?.message;
  const acks = new Map<string, Uint8Array>();
  const events: MvdsEvent[] = [];
  const peerHolds = (k: string, id: Uint8Array) => {
    const r = record(k);
    if (r && r.type !== "REQUEST") {
      records.set(k, null);
      events.push({ type: "acked", peer: from, id, record: r.type });
    }
  };

  // Messages first, so that offers and requests in the same payload see them held.
  for (const message of payload.messages) {
    const id = messageId(message);
    const k = idKey(id);
    if (acks.has(k)) continue; // a duplicate within the payload
    if (!view.groups.has(idKey(message.groupId))) {
      if (record(k)?.type === "REQUEST") records.set(k, null); // asked, but not acceptable
      events.push({ type: "ignored", peer: from, id, reason: "group not shared" });
      continue;
    }
    if (!holds(k)) {
      stored.set(k, { id, message, from });
      events.push({ type: "received", peer: from, id, message });
    }
    acks.set(k, id);
    if (record(k)?.type === "REQUEST") records.set(k, null);
    else peerHolds(k, id);
  }
  for (const id of payload.acks) peerHolds(idKey(id), id);
  if (view.groups.size > 0) {
    for (const id of payload.offers) {
      const k = idKey(id);
      const held = holds(k);
      if (held) {
        if (!view.groups.has(idKey(held.groupId))) continue;
        acks.set(k, id);
        peerHolds(k, id);
      } else if (!record(k)) {
        records.set(k, { id, type: "REQUEST", sendCount: 0, sendEpoch: epoch });
        events.push({ type: "offered", peer: from, id });
      } // else: already requesting; its own schedule retransmits it
    }
  }
  for (const id of payload.requests) {
    const k = idKey(id);
    const held = holds(k);
    if (!held || !view.groups.has(idKey(held.groupId))) continue;
    if (record(k)?.type === "MESSAGE") continue; // already sending it
    records.set(k, { id, type: "MESSAGE", sendCount: 0, sendEpoch: epoch });
    events.push({ type: "requested", peer: from, id });
  }

  const put: SyncRecord[] = [];
  const del: Uint8Array[] = [];
  for (const [k, r] of records) {
    if (r) put.push(r);
    else if (view.records.has(k)) del.push(view.records.get(k)!.id);
  }
  return { put, delete: del, store: [...stored.values()], acks: [...acks.values()], events };
}
