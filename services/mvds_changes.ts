/**
 * From the MVDS state machine's outputs to storage changes: what `receive`
 * and `due` return, turned into the NodeChanges one commit applies, and an
 * inbound payload cut into parts small enough to commit one at a time.
 */
import type { DueResult } from "../protocols/mvds/due.ts";
import { idKey } from "../protocols/mvds/message_id.ts";
import type { Changes, MvdsEvent } from "../protocols/mvds/node.ts";
import { messageWireSize, type Payload, WIRE_ID_BYTES } from "../protocols/mvds/proto.ts";
import type { SyncRecord } from "../protocols/mvds/record.ts";
import type { Delivery, NodeChanges } from "../storage/mvds_repo.ts";

/** Items (ids and messages) in one part of an inbound payload. */
export const PART_ITEMS = 64;
/** Encoded bytes of the messages in one part (a larger single message goes alone). */
export const PART_BYTES = 256 * 1024;

/**
 * Cuts a payload into parts that each fit one KV commit (at most PART_ITEMS
 * items and PART_BYTES of messages): messages first, then ACKs, offers and
 * requests. Reacting to the parts one after another, each on the state the
 * previous one committed, is reacting to the whole payload (`receive` too
 * takes messages first); a crash between parts loses the rest of the
 * payload, which the sender's retransmission repairs.
 */
export function payloadParts(p: Payload): Payload[] {
  const parts: Payload[] = [];
  let cur = empty();
  let items = 0;
  let bytes = 0;
  const room = (size: number) => {
    if (items > 0 && (items >= PART_ITEMS || bytes + size > PART_BYTES)) {
      parts.push(cur);
      cur = empty();
      items = 0;
      bytes = 0;
    }
    items++;
    bytes += size;
  };
  for (const m of p.messages) {
    room(messageWireSize(m));
    cur.messages.push(m);
  }
  for (const list of ["acks", "offers", "requests"] as const) {
    for (const id of p[list]) {
      room(WIRE_ID_BYTES);
      cur[list].push(id);
    }
  }
  if (items > 0 || parts.length === 0) parts.push(cur);
  return parts;
}

const empty = (): Payload => ({ acks: [], offers: [], requests: [], messages: [] });

/** The records of one peer as read, by idKey. */
export type RecordsRead = ReadonlyMap<string, SyncRecord>;

/** Storage changes for what `receive` returned on payload (part) from `peer`. */
export function receiveChanges(peer: Uint8Array, before: RecordsRead, ch: Changes): NodeChanges {
  return {
    messages: ch.store.map((s) => ({ id: s.id, message: s.message, from: peer })),
    records: recordChanges(peer, before, ch.put, ch.delete),
    acks: ch.acks.map((id) => ({ peer, id, pending: true })),
    deliveries: deliveries(peer, before, ch.events),
  };
}

/** Storage changes for what `due` returned for `peer`. */
export function dueChanges(peer: Uint8Array, before: RecordsRead, r: DueResult): NodeChanges {
  return {
    records: recordChanges(peer, before, r.put, r.delete),
    acks: r.acksSent.map((id) => ({ peer, id, pending: false })),
    deliveries: deliveries(peer, before, r.events),
  };
}

/** Whether changes hold anything to commit. */
export function isEmptyChanges(c: NodeChanges): boolean {
  return !c.peers?.length && !c.members?.length && !c.messages?.length && !c.records?.length &&
    !c.acks?.length && !c.deliveries?.length && !c.backings?.length && !c.appends?.length;
}

function recordChanges(
  peer: Uint8Array,
  before: RecordsRead,
  put: readonly SyncRecord[],
  del: readonly Uint8Array[],
): NonNullable<NodeChanges["records"]> {
  return [
    ...put.map((after) => ({ peer, before: before.get(idKey(after.id)), after })),
    ...del.flatMap((id) => {
      const b = before.get(idKey(id));
      return b ? [{ peer, before: b }] : [];
    }),
  ];
}

/** Final deliveries: a peer's ACK of our OFFER/MESSAGE record, or a record that failed. */
function deliveries(
  peer: Uint8Array,
  before: RecordsRead,
  events: readonly MvdsEvent[],
): NonNullable<NodeChanges["deliveries"]> {
  const out: NonNullable<NodeChanges["deliveries"]> = [];
  for (const e of events) {
    if (e.type !== "acked" && e.type !== "failed") continue;
    if (e.type === "failed" && e.record === "REQUEST") continue; // a message we wanted, not ours
    const r = before.get(idKey(e.id));
    const delivery: Delivery = {
      state: e.type,
      sendCount: r?.sendCount ?? 0,
      sendEpoch: r?.sendEpoch ?? 0,
    };
    out.push({ peer, id: e.id, delivery });
  }
  return out;
}
