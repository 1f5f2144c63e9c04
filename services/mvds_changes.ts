/**
 * From the MVDS state machine's outputs to storage changes: what `receive`
 * and `due` return, turned into the NodeChanges one commit applies, and an
 * inbound payload cut into parts small enough to commit one at a time.
 */
import type { DueResult } from "../protocols/mvds/due.ts";
import { idKey } from "../protocols/mvds/message_id.ts";
import { type Changes, type MvdsEvent, payloadIds } from "../protocols/mvds/node.ts";
import {
  type Message,
  messageWireSize,
  type Payload,
  WIRE_ID_BYTES,
} from "../protocols/mvds/proto.ts";
import { addCosts, type CommitCost, fits, type KvLimits, NO_COST } from "../storage/kv.ts";
import type { SyncRecord } from "../protocols/mvds/record.ts";
import type { Delivery, NodeChanges } from "../storage/mvds_repo.ts";

/** Encoded bytes of the messages in one part (a larger single message goes alone). */
export const PART_BYTES = 256 * 1024;

/** What one item of a payload is expected to add to a commit, and what a commit may hold. */
export interface PartBudget {
  /** The limits left for items (KvLimits less the head, counters, peer info). */
  limits: KvLimits;
  /** Expected cost of a message, an ACK, an offer, a request. */
  cost(item: { message: Message } | { list: "acks" | "offers" | "requests" }): CommitCost;
}

/**
 * Cuts a payload into parts that each fit one KV commit: items (messages
 * first, then ACKs, offers and requests) while their expected cost fits
 * `budget.limits` and the part's messages take at most PART_BYTES. The
 * expectation may be short (a message that also ends a record of ours
 * writes more than a new one): the service halves a part whose actual
 * changes do not fit (`halvePart`). Reacting to the parts one after
 * another, each on the state the previous one committed, is reacting to
 * the whole payload (`receive` too takes messages first); a crash between
 * parts loses the rest of the payload, which the sender's retransmission
 * repairs.
 */
export function payloadParts(p: Payload, budget: PartBudget): Payload[] {
  const parts: Payload[] = [];
  let cur = empty();
  let items = 0;
  let bytes = 0;
  let cost = NO_COST;
  const room = (size: number, c: CommitCost) => {
    const next = addCosts(cost, c);
    if (items > 0 && (bytes + size > PART_BYTES || !fits(next, budget.limits))) {
      parts.push(cur);
      cur = empty();
      items = 0;
      bytes = 0;
      cost = c;
    } else cost = next;
    items++;
    bytes += size;
  };
  for (const m of p.messages) {
    room(messageWireSize(m), budget.cost({ message: m }));
    cur.messages.push(m);
  }
  for (const list of ["acks", "offers", "requests"] as const) {
    const c = budget.cost({ list });
    for (const id of p[list]) {
      room(WIRE_ID_BYTES, c);
      cur[list].push(id);
    }
  }
  if (items > 0 || parts.length === 0) parts.push(cur);
  return parts;
}

/** A part in two, in order (messages, ACKs, offers, requests); null for a single item. */
export function halvePart(p: Payload): [Payload, Payload] | null {
  const all = [
    ...p.messages.map((m) => ["messages", m] as const),
    ...p.acks.map((id) => ["acks", id] as const),
    ...p.offers.map((id) => ["offers", id] as const),
    ...p.requests.map((id) => ["requests", id] as const),
  ];
  if (all.length < 2) return null;
  const half = Math.ceil(all.length / 2);
  const [x, y] = [empty(), empty()];
  all.forEach(([list, v], i) => {
    const to = i < half ? x : y;
    if (list === "messages") to.messages.push(v as Message);
    else to[list].push(v as Uint8Array);
  });
  return [x, y];
}

/** The ids a part's reactions need held messages for: all but those only ACKed. */
export function heldIdsNeeded(p: Payload): Uint8Array[] {
  if (p.messages.length === 0 && p.offers.length === 0 && p.requests.length === 0) return [];
  return payloadIds({ acks: [], offers: p.offers, requests: p.requests, messages: p.messages });
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
