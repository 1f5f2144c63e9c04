/**
 * A tiny in-memory node for state-machine tests: the maps a service keeps
 * in KV, and the three calls (send, receive, one payload per peer per
 * epoch) done exactly as a service does them.
 */
import { idKey } from "../../../protocols/mvds/message_id.ts";
import { due, type DueLimits, type DueResult } from "../../../protocols/mvds/due.ts";
import { type Changes, type Mode, receive, send } from "../../../protocols/mvds/node.ts";
import type { Message, Payload } from "../../../protocols/mvds/proto.ts";
import {
  type MvdsSettings,
  mvdsSettings,
  type SyncRecord,
} from "../../../protocols/mvds/record.ts";

export const GROUP = new Uint8Array([0x47, 1]);

export function message(body: string, group = GROUP, timestamp = 1_700_000_000n): Message {
  return { groupId: group, timestamp, body: new TextEncoder().encode(body) };
}

export class TestNode {
  readonly settings: MvdsSettings;
  readonly messages = new Map<string, Message>();
  readonly records = new Map<string, Map<string, SyncRecord>>();
  readonly acks = new Map<string, Map<string, Uint8Array>>();
  readonly groups = new Map<string, Set<string>>();
  lastDue: DueResult | undefined;

  constructor(readonly mode: Mode, settings: Partial<MvdsSettings> = {}) {
    this.settings = mvdsSettings(settings);
  }

  /** Makes `peer` share `group` with this node. */
  share(peer: string, group = GROUP): this {
    const s = this.groups.get(peer) ?? new Set<string>();
    s.add(idKey(group));
    this.groups.set(peer, s);
    return this;
  }

  peerRecords(peer: string): Map<string, SyncRecord> {
    let m = this.records.get(peer);
    if (!m) this.records.set(peer, m = new Map());
    return m;
  }

  /** Record of `peer` for message id, as [type, sendCount, sendEpoch]. */
  record(peer: string, id: Uint8Array): [string, number, number] | undefined {
    const r = this.peerRecords(peer).get(idKey(id));
    return r && [r.type, r.sendCount, r.sendEpoch];
  }

  send(m: Message, epoch: number): Uint8Array {
    const peers = [...this.groups].filter(([, g]) => g.has(idKey(m.groupId))).map(([p]) => p);
    const { id, records } = send(m, peers, this.mode, epoch);
    this.messages.set(idKey(id), m);
    for (const { peer, record } of records) this.peerRecords(peer).set(idKey(id), record);
    return id;
  }

  receive(from: string, payload: Payload, epoch: number): Changes {
    const records = this.peerRecords(from);
    const changes = receive(
      {
        held: this.messages,
        records: new Map(records),
        groups: this.groups.get(from) ?? new Set(),
      },
      from,
      payload,
      epoch,
    );
    for (const r of changes.put) records.set(idKey(r.id), r);
    for (const id of changes.delete) records.delete(idKey(id));
    for (const s of changes.store) this.messages.set(idKey(s.id), s.message);
    const acks = this.acks.get(from) ?? new Map<string, Uint8Array>();
    for (const id of changes.acks) acks.set(idKey(id), id);
    this.acks.set(from, acks);
    return changes;
  }

  /** The epoch's payload for `peer` (undefined when nothing is due). */
  tick(peer: string, epoch: number, limits: Partial<DueLimits> = {}): Payload | undefined {
    const records = this.peerRecords(peer);
    const acks = this.acks.get(peer);
    const result = due(
      {
        peer,
        records: records.values(),
        acks: [...(acks?.values() ?? [])],
        messages: this.messages,
      },
      epoch,
      this.settings,
      limits,
    );
    for (const r of result.put) records.set(idKey(r.id), r);
    for (const id of result.delete) records.delete(idKey(id));
    for (const id of result.acksSent) acks?.delete(idKey(id));
    this.lastDue = result;
    return result.payload;
  }

  /** Number of records held for all peers. */
  stateSize(): number {
    let n = 0;
    for (const m of this.records.values()) n += m.size;
    return n;
  }
}

/** A payload as hex lists per field, empty fields left out, for assertions. */
export function show(p: Payload | undefined): Record<string, string[]> | undefined {
  if (!p) return undefined;
  const o: Record<string, string[]> = {};
  if (p.acks.length) o.acks = p.acks.map(idKey);
  if (p.offers.length) o.offers = p.offers.map(idKey);
  if (p.requests.length) o.requests = p.requests.map(idKey);
  if (p.messages.length) o.messages = p.messages.map((m) => new TextDecoder().decode(m.body));
  return o;
}
