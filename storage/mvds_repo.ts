/**
 * MVDS node state in KV: nodes, their peers and groups, messages, per-peer
 * records with a due index, pending ACKs and final deliveries.
 *
 * | key                                   | value                                            |
 * | ------------------------------------- | ------------------------------------------------ |
 * | ["mvds","n",node]                     | NodeConfig (immutable once created)              |
 * | ["mvds","h",node]                     | Head {seq}: the node's version and arrival head  |
 * | ["mvds","c",node,"messages"/"records"]| Deno.KvU64: messages held, records pending       |
 * | ["mvds","p",node,peer]                | PeerInfo {url?, lastHeardEpoch?}                 |
 * | ["mvds","gp",node,group,peer]         | empty: peer shares group (group → peers)         |
 * | ["mvds","pg",node,peer,group]         | empty: the same, peer → groups                   |
 * | ["mvds","m",node,id]                  | StoredMessage {groupId, timestamp, body, from?, seq} |
 * | ["mvds","o",node,group,seq]           | id: arrival order within a group                 |
 * | ["mvds","r",node,peer,id]             | RecordValue {type, sendCount, sendEpoch}         |
 * | ["mvds","d",node,peer,epoch8,id]      | due index (epoch8 = sendEpoch, 8 bytes BE): 5 bytes, type and send count |
 * | ["mvds","a",node,peer,id]             | empty: an ACK to send peer in its next payload   |
 * | ["mvds","f",node,id,peer]             | Delivery {state: acked/failed, sendCount, sendEpoch} |
 * | ["mvds","lb"/"ln"/"la"/"lc",…]        | remote-log backing and catch-up: storage/mvds_remote_log_repo.ts |
 *
 * node, peer, group and id are raw bytes. Every commit that changes a
 * node's state checks the versionstamp of its head ["mvds","h",node] and
 * replaces it, so changes to one node are serialized across processes: a
 * commit built from a stale read fails and is built again. The head's
 * `seq` is also the arrival counter: new messages get seq head+1, head+2…
 * in the commit that stores them, so arrival order is commit order and
 * `after=` paging misses nothing under concurrent writers.
 *
 * A record and its due-index entry move together (the commit deletes the
 * entry at the old sendEpoch and writes the one at the new), so a tick
 * reads only due records: a range of "d" up to the current epoch. The
 * entry's value repeats the record's type and send count (5 bytes: type
 * code, u32 BE), so that one range list yields the due records whole; an
 * entry with an empty value (written before that, or a send count past
 * u32) is looked up in "r".
 * Pending ACKs are in KV, written in the commit of the payload that caused
 * them, because the process that builds the next payload may be another.
 */
import { compareBytes, int64BE } from "../lib/bytes.ts";
import type { Mode } from "../protocols/mvds/node.ts";
import type { Message } from "../protocols/mvds/proto.ts";
import type { RecordType, SyncRecord } from "../protocols/mvds/record.ts";
import { appendKey, backedByKey, type Backing, backingKey } from "./mvds_remote_log_repo.ts";
import {
  addCosts,
  checkCost,
  chunkForCommit,
  commit,
  type CommitCost,
  deleteCost,
  fits,
  getMany,
  type KvLimits,
  NO_COST,
  setCost,
  type Store,
  sumCost,
} from "./kv.ts";

const P = "mvds";
const EMPTY = new Uint8Array(0);

const nodeKey = (node: Uint8Array): Deno.KvKey => [P, "n", node];
const headKey = (node: Uint8Array): Deno.KvKey => [P, "h", node];
const counterKey = (node: Uint8Array, what: "messages" | "records"): Deno.KvKey => [
  P,
  "c",
  node,
  what,
];
const peerKey = (node: Uint8Array, peer: Uint8Array): Deno.KvKey => [P, "p", node, peer];
const groupPeerKey = (node: Uint8Array, group: Uint8Array, peer: Uint8Array): Deno.KvKey => [
  P,
  "gp",
  node,
  group,
  peer,
];
const peerGroupKey = (node: Uint8Array, peer: Uint8Array, group: Uint8Array): Deno.KvKey => [
  P,
  "pg",
  node,
  peer,
  group,
];
const messageKey = (node: Uint8Array, id: Uint8Array): Deno.KvKey => [P, "m", node, id];
const orderKey = (node: Uint8Array, group: Uint8Array, seq: number): Deno.KvKey => [
  P,
  "o",
  node,
  group,
  seq,
];
const recordKey = (node: Uint8Array, peer: Uint8Array, id: Uint8Array): Deno.KvKey => [
  P,
  "r",
  node,
  peer,
  id,
];
const dueKey = (node: Uint8Array, peer: Uint8Array, epoch: number, id: Uint8Array): Deno.KvKey => [
  P,
  "d",
  node,
  peer,
  int64BE(BigInt(epoch)),
  id,
];
const ackKey = (node: Uint8Array, peer: Uint8Array, id: Uint8Array): Deno.KvKey => [
  P,
  "a",
  node,
  peer,
  id,
];
const deliveryKey = (node: Uint8Array, id: Uint8Array, peer: Uint8Array): Deno.KvKey => [
  P,
  "f",
  node,
  id,
  peer,
];

/** A node's settings, as created. */
export interface NodeConfig {
  mode: Mode;
  epochMs: number;
  backoffCapEpochs: number;
  /** Sends after which a record is dropped; absent = unlimited. */
  maxSendCount?: number;
  /** ms since the Unix epoch. */
  createdAt: number;
}

/** What a node knows of one peer. */
export interface PeerInfo {
  /** Where the peer takes payloads over HTTP; absent: it connects by WebSocket. */
  url?: string;
  /**
   * The epoch it was last heard from: its payload handled, its connection
   * opened, or its answer to our payload.
   */
  lastHeardEpoch?: number;
}

/** A message a node holds (its own or received). */
export interface StoredMessage extends Message {
  /** The peer it came from; absent for the node's own. */
  from?: Uint8Array;
  /** Arrival position (the node's head when it was stored). */
  seq: number;
}

/** How delivery of a message to a peer ended. */
export interface Delivery {
  state: "acked" | "failed";
  sendCount: number;
  sendEpoch: number;
}

/** The node's head as read: its arrival counter and the versionstamp a commit must match. */
export interface Head {
  seq: number;
  versionstamp: string;
}

interface RecordValue {
  type: RecordType;
  sendCount: number;
  sendEpoch: number;
}

/** A record moving from `before` to `after` (either absent: created, or removed). */
export interface RecordChange {
  peer: Uint8Array;
  before?: SyncRecord;
  after?: SyncRecord;
}

/** Changes to one node, committed atomically by `commit`. */
export interface NodeChanges {
  peers?: { peer: Uint8Array; info: PeerInfo }[];
  /** Group memberships to add. */
  members?: { group: Uint8Array; peer: Uint8Array }[];
  /** New messages (the caller read that they are not held); given seq head+1, head+2… */
  messages?: { id: Uint8Array; message: Message; from?: Uint8Array }[];
  records?: RecordChange[];
  acks?: { peer: Uint8Array; id: Uint8Array; pending: boolean }[];
  deliveries?: { peer: Uint8Array; id: Uint8Array; delivery: Delivery }[];
  /** Groups to back by a remote log (each checked not backed yet). */
  backings?: { group: Uint8Array; backing: Backing }[];
  /** Sent messages to append to their group's remote log (markers, see mvds_remote_log_repo.ts). */
  appends?: { group: Uint8Array; id: Uint8Array; at: number }[];
}

/** Counters of a node's state. */
export interface NodeCounts {
  messages: number;
  records: number;
}

/** V8-serialized values are not measured; these bound what they add to a commit. */
const SMALL_VALUE = 64;
/** A head for planning costs only. */
const PLAN_HEAD: Head = { seq: 0, versionstamp: "" };

export class MvdsRepo {
  constructor(private readonly store: Store) {}

  /** The limits a commit of this repo stays within. */
  get limits(): KvLimits {
    return this.store.limits;
  }

  // ---- nodes ----

  /** Stores a new node and its head; false if the id is taken. */
  async createNode(node: Uint8Array, config: NodeConfig): Promise<boolean> {
    const res = await commit(
      this.store,
      "mvds",
      (op) =>
        op.check({ key: nodeKey(node), versionstamp: null })
          .set(nodeKey(node), config)
          .set(headKey(node), { seq: 0 }),
    );
    return res.ok;
  }

  /** A node's config, or null. */
  async node(node: Uint8Array): Promise<NodeConfig | null> {
    return (await this.store.kv.get<NodeConfig>(nodeKey(node))).value;
  }

  /** Every node, with its config. */
  async nodes(): Promise<{ node: Uint8Array; config: NodeConfig }[]> {
    const out = [];
    for await (const e of this.store.kv.list<NodeConfig>({ prefix: [P, "n"] })) {
      out.push({ node: e.key[2] as Uint8Array, config: e.value });
    }
    return out;
  }

  /** The node's head (NodeChanges are committed against it); null for an unknown node. */
  async head(node: Uint8Array): Promise<Head | null> {
    const e = await this.store.kv.get<{ seq: number }>(headKey(node));
    return e.versionstamp === null ? null : { seq: e.value.seq, versionstamp: e.versionstamp };
  }

  async counts(node: Uint8Array): Promise<NodeCounts> {
    const [m, r] = await this.store.kv.getMany<[Deno.KvU64, Deno.KvU64]>([
      counterKey(node, "messages"),
      counterKey(node, "records"),
    ]);
    return { messages: Number(m.value?.value ?? 0n), records: Number(r.value?.value ?? 0n) };
  }

  // ---- peers and groups ----

  async peer(node: Uint8Array, peer: Uint8Array): Promise<PeerInfo | null> {
    return (await this.store.kv.get<PeerInfo>(peerKey(node, peer))).value;
  }

  /** The node's peers (at most `limit`). */
  async peers(node: Uint8Array, limit: number): Promise<{ peer: Uint8Array; info: PeerInfo }[]> {
    const out = [];
    for await (const e of this.store.kv.list<PeerInfo>({ prefix: [P, "p", node] }, { limit })) {
      out.push({ peer: e.key[3] as Uint8Array, info: e.value });
    }
    return out;
  }

  /** The peers sharing a group (at most `limit`). */
  groupPeers(node: Uint8Array, group: Uint8Array, limit: number): Promise<Uint8Array[]> {
    return this.#lastParts([P, "gp", node, group], limit);
  }

  /** The groups a peer shares (at most `limit`). */
  peerGroups(node: Uint8Array, peer: Uint8Array, limit: number): Promise<Uint8Array[]> {
    return this.#lastParts([P, "pg", node, peer], limit);
  }

  async #lastParts(prefix: Deno.KvKey, limit: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for await (const e of this.store.kv.list({ prefix }, { limit })) {
      out.push(e.key[e.key.length - 1] as Uint8Array);
    }
    return out;
  }

  // ---- messages ----

  async message(node: Uint8Array, id: Uint8Array): Promise<StoredMessage | null> {
    return (await this.store.kv.get<StoredMessage>(messageKey(node, id))).value;
  }

  /** Messages by id, in order (null where not held). */
  async messages(node: Uint8Array, ids: readonly Uint8Array[]): Promise<(StoredMessage | null)[]> {
    const got = await getMany<StoredMessage>(this.store, ids.map((id) => messageKey(node, id)));
    return got.map((e) => e.value);
  }

  /** A group's messages in arrival order with seq > `afterSeq`, at most `limit`. */
  async messagesAfter(
    node: Uint8Array,
    group: Uint8Array,
    afterSeq: number,
    limit: number,
  ): Promise<{ id: Uint8Array; message: StoredMessage }[]> {
    const ids: Uint8Array[] = [];
    const iter = this.store.kv.list<Uint8Array>({
      prefix: [P, "o", node, group],
      start: orderKey(node, group, afterSeq + 1),
    }, { limit });
    for await (const e of iter) ids.push(e.value);
    const msgs = await this.messages(node, ids);
    return ids.flatMap((id, i) => msgs[i] ? [{ id, message: msgs[i] }] : []);
  }

  /** The remote log backing a group (read in a send, so its marker goes in the same commit). */
  async backing(node: Uint8Array, group: Uint8Array): Promise<Backing | null> {
    return (await this.store.kv.get<Backing>(backingKey(node, group))).value;
  }

  // ---- records, ACKs, deliveries ----

  /** A peer's records for these ids, in order (null where none). */
  records(
    node: Uint8Array,
    peer: Uint8Array,
    ids: readonly Uint8Array[],
  ): Promise<(SyncRecord | null)[]> {
    return this.recordsOf(node, ids.map((id) => ({ peer, id })));
  }

  /** The records of several peers for one id (null where none). */
  recordsFor(
    node: Uint8Array,
    id: Uint8Array,
    peers: readonly Uint8Array[],
  ): Promise<(SyncRecord | null)[]> {
    return this.recordsOf(node, peers.map((peer) => ({ peer, id })));
  }

  /** Records of (peer, id) pairs, in order (null where none). */
  async recordsOf(
    node: Uint8Array,
    pairs: readonly { peer: Uint8Array; id: Uint8Array }[],
  ): Promise<(SyncRecord | null)[]> {
    const got = await getMany<RecordValue>(
      this.store,
      pairs.map(({ peer, id }) => recordKey(node, peer, id)),
    );
    return got.map((e, i) => e.value ? { id: pairs[i].id, ...e.value } : null);
  }

  /** A page of a peer's records in id order, after `afterId` (for making them all due). */
  async recordPage(
    node: Uint8Array,
    peer: Uint8Array,
    afterId: Uint8Array | undefined,
    limit: number,
  ): Promise<SyncRecord[]> {
    const prefix: Deno.KvKey = [P, "r", node, peer];
    const sel = afterId ? { prefix, start: [...prefix, afterId] } : { prefix };
    const out: SyncRecord[] = [];
    for await (const e of this.store.kv.list<RecordValue>(sel, { limit: limit + 1 })) {
      const id = e.key[4] as Uint8Array;
      if (afterId && compareBytes(id, afterId) === 0) continue; // start is inclusive
      if (out.length < limit) out.push({ id, ...e.value });
    }
    return out;
  }

  /** Records due at `epoch` (sendEpoch ≤ epoch), oldest first, at most `limit`: one range list. */
  async dueRecords(
    node: Uint8Array,
    peer: Uint8Array,
    epoch: number,
    limit: number,
  ): Promise<SyncRecord[]> {
    const out: (SyncRecord | Uint8Array)[] = [];
    const bare: Uint8Array[] = [];
    const iter = this.store.kv.list<Uint8Array>({
      prefix: [P, "d", node, peer],
      end: [P, "d", node, peer, int64BE(BigInt(epoch) + 1n)],
    }, { limit });
    for await (const e of iter) {
      const id = e.key[5] as Uint8Array;
      const r = decodeDue(id, e.key[4] as Uint8Array, e.value);
      if (r) out.push(r);
      else {
        out.push(id);
        bare.push(id);
      }
    }
    if (bare.length === 0) return out as SyncRecord[];
    // Entries without the record's fields: read the records themselves.
    const read = new Map(
      (await this.records(node, peer, bare)).flatMap((r) => r ? [[hexOf(r.id), r]] : []),
    );
    return out.flatMap((r) => r instanceof Uint8Array ? (read.get(hexOf(r)) ?? []) : [r]);
  }

  /** ACKs waiting for a peer's next payload, at most `limit`. */
  async acks(node: Uint8Array, peer: Uint8Array, limit: number): Promise<Uint8Array[]> {
    return await this.#lastParts([P, "a", node, peer], limit);
  }

  /** How delivery of a message ended, per peer (peers that ACKed it or failed). */
  async deliveries(
    node: Uint8Array,
    id: Uint8Array,
  ): Promise<{ peer: Uint8Array; delivery: Delivery }[]> {
    const out = [];
    for await (const e of this.store.kv.list<Delivery>({ prefix: [P, "f", node, id] })) {
      out.push({ peer: e.key[4] as Uint8Array, delivery: e.value });
    }
    return out;
  }

  // ---- writing ----

  /**
   * Commits changes to a node if its head is still `head`: one atomic
   * write. Returns the new head, or null when another commit got there
   * first (read again and rebuild). RangeError if the changes do not fit
   * one commit (split them with `split`).
   */
  async commit(node: Uint8Array, head: Head, changes: NodeChanges): Promise<Head | null> {
    const ops = this.#plan(node, head, changes);
    const cost = costOf(ops);
    if (!fits(cost, this.store.limits)) {
      throw new RangeError(
        `MVDS commit is over the store's limits: ${cost.mutations} mutations, ${cost.bytes} bytes`,
      );
    }
    const res = await commit(this.store, "mvds", (op) => {
      for (const o of ops) o.apply(op);
    });
    if (!res.ok) return null;
    return { seq: head.seq + (changes.messages?.length ?? 0), versionstamp: res.versionstamp };
  }

  /**
   * Splits changes into runs that each fit one commit: peers, members and
   * messages stay in the first; records, ACKs and deliveries are spread
   * over as many runs as their size needs, in order.
   */
  split(node: Uint8Array, changes: NodeChanges): NodeChanges[] {
    const { peers, members, messages, backings, appends } = changes;
    const first: NodeChanges = { peers, members, messages, backings, appends };
    // Every run has the head's check and write and the counters; the first also `first`.
    const reserve = addCosts(
      costOf(this.#plan(node, PLAN_HEAD, first)),
      sumCost(counterKey(node, "records")),
    );
    const l = this.store.limits;
    const limits: KvLimits = {
      maxMutations: l.maxMutations - reserve.mutations,
      maxChecks: l.maxChecks - reserve.checks,
      maxBytes: l.maxBytes - reserve.bytes,
      maxKeyBytes: l.maxKeyBytes - reserve.keyBytes,
    };
    const items: NodeChanges[] = [
      ...(changes.records ?? []).map((r) => ({ records: [r] })),
      ...(changes.acks ?? []).map((a) => ({ acks: [a] })),
      ...(changes.deliveries ?? []).map((d) => ({ deliveries: [d] })),
    ];
    const runs = chunkForCommit(
      items,
      limits,
      (item) => costOf(this.#plan(node, PLAN_HEAD, item).filter((o) => !o.base)),
    );
    if (runs.length <= 1) return [changes];
    return runs.map((run, i) => ({
      ...(i === 0 ? first : {}),
      records: run.flatMap((x) => x.records ?? []),
      acks: run.flatMap((x) => x.acks ?? []),
      deliveries: run.flatMap((x) => x.deliveries ?? []),
    }));
  }

  /** Whether `changes` fit one commit (`commit` takes them without a RangeError). */
  fits(node: Uint8Array, changes: NodeChanges): boolean {
    return fits(costOf(this.#plan(node, PLAN_HEAD, changes)), this.store.limits);
  }

  /**
   * What `changes` add to a commit besides its base (the head's check and
   * write, the counters): to fill a commit item by item within
   * `limitsBeside`.
   */
  costOf(node: Uint8Array, changes: NodeChanges): CommitCost {
    return costOf(this.#plan(node, PLAN_HEAD, changes).filter((o) => !o.base));
  }

  /**
   * The store's limits less what every commit of `base` holds besides its
   * items: the head, both counters, and `base`'s own changes (e.g. a peer's
   * info written with each part).
   */
  limitsBeside(node: Uint8Array, base: NodeChanges = {}): KvLimits {
    const reserve = addCosts(
      costOf(this.#plan(node, PLAN_HEAD, base)),
      sumCost(counterKey(node, "messages")),
      sumCost(counterKey(node, "records")),
    );
    const l = this.store.limits;
    return {
      maxMutations: l.maxMutations - reserve.mutations,
      maxChecks: l.maxChecks - reserve.checks,
      maxBytes: l.maxBytes - reserve.bytes,
      maxKeyBytes: l.maxKeyBytes - reserve.keyBytes,
    };
  }

  /** The mutations of a commit, each with its cost (`base`: the head check, head and counters). */
  #plan(node: Uint8Array, head: Head, ch: NodeChanges): PlannedOp[] {
    const ops: PlannedOp[] = [];
    const set = (key: Deno.KvKey, value: unknown, bytes: number) =>
      ops.push({ cost: setCost(key, bytes), apply: (op) => op.set(key, value) });
    const del = (key: Deno.KvKey) =>
      ops.push({ cost: deleteCost(key), apply: (op) => op.delete(key) });

    const hk = headKey(node);
    const messages = ch.messages ?? [];
    ops.push({
      base: true,
      cost: addCosts(checkCost(hk), setCost(hk, SMALL_VALUE)),
      apply: (op) =>
        op.check({ key: hk, versionstamp: head.versionstamp })
          .set(hk, { seq: head.seq + messages.length }),
    });
    for (const { peer, info } of ch.peers ?? []) {
      set(peerKey(node, peer), info, SMALL_VALUE + (info.url?.length ?? 0));
    }
    for (const { group, peer } of ch.members ?? []) {
      set(groupPeerKey(node, group, peer), EMPTY, 0);
      set(peerGroupKey(node, peer, group), EMPTY, 0);
    }
    messages.forEach(({ id, message, from }, i) => {
      const seq = head.seq + i + 1;
      const value: StoredMessage = {
        groupId: message.groupId,
        timestamp: message.timestamp,
        body: message.body,
        seq,
        ...(from ? { from } : {}),
      };
      set(
        messageKey(node, id),
        value,
        SMALL_VALUE + message.groupId.length + message.body.length + (from?.length ?? 0),
      );
      set(orderKey(node, message.groupId, seq), id, id.length);
    });
    let records = 0;
    for (const { peer, before, after } of ch.records ?? []) {
      const r = (before ?? after)!;
      if (before) del(dueKey(node, peer, before.sendEpoch, before.id));
      if (after) {
        const value: RecordValue = {
          type: after.type,
          sendCount: after.sendCount,
          sendEpoch: after.sendEpoch,
        };
        set(recordKey(node, peer, after.id), value, SMALL_VALUE);
        const dv = encodeDue(after);
        set(dueKey(node, peer, after.sendEpoch, after.id), dv, dv.length);
      } else del(recordKey(node, peer, r.id));
      records += (after ? 1 : 0) - (before ? 1 : 0);
    }
    for (const { peer, id, pending } of ch.acks ?? []) {
      if (pending) set(ackKey(node, peer, id), EMPTY, 0);
      else del(ackKey(node, peer, id));
    }
    for (const { peer, id, delivery } of ch.deliveries ?? []) {
      set(deliveryKey(node, id, peer), delivery, SMALL_VALUE);
    }
    for (const { group, backing } of ch.backings ?? []) {
      const key = backingKey(node, group);
      ops.push({
        cost: addCosts(checkCost(key), setCost(key, SMALL_VALUE + 256)),
        apply: (op) => op.check({ key, versionstamp: null }).set(key, backing),
      });
      set(backedByKey(backing.name), { node, group }, SMALL_VALUE + node.length + group.length);
    }
    for (const { group, id, at } of ch.appends ?? []) set(appendKey(node, group, id), { at }, 16);
    for (const [what, n] of [["messages", messages.length], ["records", records]] as const) {
      if (n === 0) continue;
      const key = counterKey(node, what);
      ops.push({
        base: true,
        cost: sumCost(key),
        apply: (op) => op.sum(key, BigInt.asUintN(64, BigInt(n))),
      });
    }
    return ops;
  }
}

interface PlannedOp {
  cost: CommitCost;
  apply(op: Deno.AtomicOperation): void;
  /** Part of every commit (the head, counters) rather than of one change. */
  base?: boolean;
}

const costOf = (ops: readonly PlannedOp[]): CommitCost =>
  ops.reduce((c, o) => addCosts(c, o.cost), NO_COST);

const TYPE_CODES: readonly RecordType[] = ["OFFER", "REQUEST", "MESSAGE"];
const hexOf = (b: Uint8Array) => b.toHex();

/** A due-index entry's value: the record's type code and send count (u32 BE); empty past u32. */
function encodeDue(r: Pick<SyncRecord, "type" | "sendCount">): Uint8Array {
  if (!Number.isInteger(r.sendCount) || r.sendCount < 0 || r.sendCount > 0xffff_ffff) return EMPTY;
  const out = new Uint8Array(5);
  out[0] = TYPE_CODES.indexOf(r.type);
  new DataView(out.buffer).setUint32(1, r.sendCount);
  return out;
}

/** The record a due-index entry stands for, or null when its value does not carry it. */
function decodeDue(id: Uint8Array, epoch8: Uint8Array, v: unknown): SyncRecord | null {
  if (!(v instanceof Uint8Array) || v.length !== 5 || v[0] >= TYPE_CODES.length) return null;
  const sendEpoch = Number(new DataView(epoch8.buffer, epoch8.byteOffset, 8).getBigInt64(0));
  const sendCount = new DataView(v.buffer, v.byteOffset, 5).getUint32(1);
  return { id, type: TYPE_CODES[v[0]], sendCount, sendEpoch };
}
