/**
 * A deterministic simulation of MVDS nodes, for property tests and the
 * benchmark: N nodes in full mesh per group, lossy links that may also
 * duplicate and delay (so reorder) payloads, nodes going offline, a
 * virtual clock of epochs and a seeded PRNG. It drives the state machine
 * (node.ts) exactly as a service does, with in-memory maps for storage and
 * the real codec on the wire, and reports delivery, latency and bytes.
 *
 * Each epoch: payloads due this epoch arrive at online nodes (in random
 * order), the epoch's traffic is sent, then every online node builds one
 * payload per peer. A payload sent at epoch e arrives at e + 1 + delay,
 * so an ACK comes back two epochs after its MESSAGE left.
 *
 * @example
 * ```ts
 * const report = new Simulation({
 *   seed: 1,
 *   nodes: [{ mode: "batch" }, { mode: "batch" }, { mode: "batch" }],
 *   loss: 0.3,
 *   traffic: randomTraffic(new Prng(1), { nodes: 3, messages: 50, epochs: 20 }),
 *   epochs: 10_000,
 * }).run();
 * report.deliveryRatio; // 1
 * ```
 */
import { idKey } from "./message_id.ts";
import { due, type DueLimits, type DueResult, peerHeard, peerReturned } from "./due.ts";
import { type Changes, type Mode, receive, send } from "./node.ts";
import { decodePayload, encodePayload, type Message, type Payload } from "./proto.ts";
import { type MvdsSettings, mvdsSettings, type SyncRecord } from "./record.ts";
import { mulberry32 } from "../../lib/prng.ts";

/** A seeded PRNG (lib/prng.ts), so every run is reproducible from its seed. */
export class Prng {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }
  /** Uniform in [0, 1). */
  float(): number {
    return this.#next();
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }
}

/** One node of the simulation. */
export interface SimNodeConfig {
  mode: Mode;
  settings?: Partial<MvdsSettings>;
}

/** A message sent by the user of node `from` in group `group` at `epoch`. */
export interface SimSend {
  epoch: number;
  from: number;
  group: number;
  /** Body size in bytes (default 32). */
  bodyBytes?: number;
}

/** Hooks to watch every step (the property tests check invariants here). */
export interface SimObserver {
  /** After a node reacted to a payload; `before` = the peer's records before. */
  receive?(e: {
    node: number;
    from: number;
    epoch: number;
    payload: Payload;
    before: ReadonlyMap<string, SyncRecord>;
    changes: Changes;
  }): void;
  /** After a node made a returning peer's records due. */
  heard?(e: { node: number; peer: number; epoch: number; put: SyncRecord[] }): void;
  /** After a node stored a message of `from`'s user for the first time (latency = epoch − sentEpoch). */
  delivered?(e: { node: number; from: number; epoch: number; sentEpoch: number }): void;
  /** After a node built a payload (or nothing) for a peer. */
  due?(e: {
    node: number;
    peer: number;
    epoch: number;
    before: ReadonlyMap<string, SyncRecord>;
    result: DueResult;
  }): void;
}

export interface SimulationConfig {
  seed: number;
  nodes: readonly SimNodeConfig[];
  /** Members of each group (node indexes); default one group of all nodes. */
  groups?: readonly (readonly number[])[];
  /** Probability that a payload is lost. */
  loss?: number;
  /** Probability that a delivered payload arrives twice. */
  duplicate?: number;
  /** Extra delay of a payload, uniform in [0, maxDelay] epochs (reorders payloads). */
  maxDelay?: number;
  /** Probability that a node is offline in a given epoch (it neither sends nor receives). */
  offline?: number;
  /** Epoch ranges [from, to) in which a node is offline. */
  offlineWindows?: readonly { node: number; from: number; to: number }[];
  traffic: readonly SimSend[];
  /** Most epochs to run; the run stops earlier once all traffic is sent and settled. */
  epochs: number;
  limits?: Partial<DueLimits>;
  observer?: SimObserver;
}

/** What a run measured. */
export interface SimulationReport {
  /** Epochs run. */
  epochs: number;
  /** Whether it ended settled: all traffic sent, no record left, nothing in flight. */
  settled: boolean;
  /** (message, recipient) pairs that should be delivered / were. */
  expected: number;
  delivered: number;
  deliveryRatio: number;
  /** Epochs from send to arrival, over delivered pairs. */
  latency: { mean: number; p50: number; p95: number; max: number };
  payloadsSent: number;
  payloadsLost: number;
  bytesSent: number;
  /** bytesSent / delivered (Infinity when nothing was delivered). */
  bytesPerDelivered: number;
  /** Records dropped after maxSendCount. */
  failed: number;
  /** Most records held by all nodes at once, and at the end. */
  maxRecords: number;
  finalRecords: number;
  /**
   * The most records one node held at once (over all its peers), and how
   * many distinct messages those records were about at that moment: what
   * per-node state is bounded by.
   */
  peakNode: { node: number; epoch: number; records: number; messages: number };
}

/** In-memory node storage: what a service keeps in KV. */
interface SimNode {
  mode: Mode;
  settings: MvdsSettings;
  messages: Map<string, Message>;
  records: Map<number, Map<string, SyncRecord>>;
  acks: Map<number, Map<string, Uint8Array>>;
  lastHeard: Map<number, number>;
  /** Group keys shared with each peer. */
  shared: Map<number, Set<string>>;
  /** Running count of records over all peers, and of records per message id. */
  recordCount: number;
  perMessage: Map<string, number>;
}

interface InFlight {
  at: number;
  from: number;
  to: number;
  bytes: Uint8Array;
}

/** A simulation run; `run()` plays it, `node(i)` shows a node's state afterwards. */
export class Simulation {
  readonly #cfg: SimulationConfig;
  readonly #rng: Prng;
  readonly #nodes: SimNode[];
  readonly #groupIds: Uint8Array[];
  readonly #members: (readonly number[])[];
  #flight: InFlight[] = [];
  /** Which nodes are online in the current epoch. */
  #online: boolean[] = [];
  /** Send epoch and outstanding recipients per message key. */
  readonly #pending = new Map<string, { epoch: number; from: number; to: Set<number> }>();
  readonly #latencies: number[] = [];
  #expected = 0;
  #stats = { payloadsSent: 0, payloadsLost: 0, bytesSent: 0, failed: 0, maxRecords: 0 };
  /** Running count of all nodes' records (kept by #putRecord/#deleteRecord). */
  #records = 0;
  #peak = { node: 0, epoch: 0, records: 0, messages: 0 };

  constructor(config: SimulationConfig) {
    this.#cfg = config;
    this.#rng = new Prng(config.seed);
    const n = config.nodes.length;
    this.#members = (config.groups ?? [[...Array(n).keys()]]).map((g) => [...new Set(g)]);
    this.#groupIds = this.#members.map((_, g) => new Uint8Array([0x67, g >> 8, g & 0xff]));
    this.#nodes = config.nodes.map((c) => ({
      mode: c.mode,
      settings: mvdsSettings(c.settings),
      messages: new Map(),
      records: new Map(),
      acks: new Map(),
      lastHeard: new Map(),
      shared: new Map(),
      recordCount: 0,
      perMessage: new Map(),
    }));
    this.#members.forEach((members, g) => {
      for (const a of members) {
        for (const b of members) {
          if (a === b) continue;
          const s = this.#nodes[a].shared.get(b) ?? new Set<string>();
          s.add(idKey(this.#groupIds[g]));
          this.#nodes[a].shared.set(b, s);
        }
      }
    });
  }

  /** A node's messages and per-peer records (live maps; read only). */
  node(i: number): {
    messages: ReadonlyMap<string, Message>;
    records: ReadonlyMap<number, ReadonlyMap<string, SyncRecord>>;
  } {
    return { messages: this.#nodes[i].messages, records: this.#nodes[i].records };
  }

  /** Plays the configured run and reports on it. */
  run(): SimulationReport {
    const traffic = [...this.#cfg.traffic].sort((a, b) => a.epoch - b.epoch);
    const lastTraffic = traffic.length ? traffic[traffic.length - 1].epoch : 0;
    let t = 0;
    let epoch = 0;
    let settled = false;
    for (; epoch < this.#cfg.epochs; epoch++) {
      this.#online = this.#nodes.map((_, i) => this.#isOnline(i, epoch));
      this.#deliver(epoch);
      for (; t < traffic.length && traffic[t].epoch <= epoch; t++) this.#send(traffic[t], epoch);
      for (let i = 0; i < this.#nodes.length; i++) {
        if (this.#online[i]) this.#tick(i, epoch);
      }
      const records = this.#records;
      this.#stats.maxRecords = Math.max(this.#stats.maxRecords, records);
      this.#nodes.forEach((n, i) => {
        if (n.recordCount > this.#peak.records) {
          this.#peak = { node: i, epoch, records: n.recordCount, messages: n.perMessage.size };
        }
      });
      if (epoch >= lastTraffic && records === 0 && this.#flight.length === 0 && !this.#hasAcks()) {
        settled = true;
        epoch++;
        break;
      }
    }
    const delivered = this.#latencies.length;
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    const pct = (p: number) =>
      sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0;
    return {
      epochs: epoch,
      settled,
      expected: this.#expected,
      delivered,
      deliveryRatio: this.#expected ? delivered / this.#expected : 1,
      latency: {
        mean: delivered ? sorted.reduce((a, b) => a + b, 0) / delivered : 0,
        p50: pct(0.5),
        p95: pct(0.95),
        max: sorted.length ? sorted[sorted.length - 1] : 0,
      },
      ...this.#stats,
      bytesPerDelivered: delivered ? this.#stats.bytesSent / delivered : Infinity,
      finalRecords: this.#records,
      peakNode: { ...this.#peak },
    };
  }

  #hasAcks(): boolean {
    return this.#nodes.some((n) => [...n.acks.values()].some((a) => a.size > 0));
  }

  #isOnline(i: number, epoch: number): boolean {
    for (const w of this.#cfg.offlineWindows ?? []) {
      if (w.node === i && epoch >= w.from && epoch < w.to) return false;
    }
    return !(this.#cfg.offline && this.#rng.chance(this.#cfg.offline));
  }

  /** Writes a node's record for a peer, keeping the running counts. */
  #putRecord(node: SimNode, records: Map<string, SyncRecord>, r: SyncRecord): void {
    const k = idKey(r.id);
    if (!records.has(k)) {
      node.recordCount++;
      this.#records++;
      node.perMessage.set(k, (node.perMessage.get(k) ?? 0) + 1);
    }
    records.set(k, r);
  }

  /** Removes a node's record for a peer, keeping the running counts. */
  #deleteRecord(node: SimNode, records: Map<string, SyncRecord>, id: Uint8Array): void {
    const k = idKey(id);
    if (!records.delete(k)) return;
    node.recordCount--;
    this.#records--;
    const left = node.perMessage.get(k)! - 1;
    if (left) node.perMessage.set(k, left);
    else node.perMessage.delete(k);
  }

  #send(s: SimSend, epoch: number): void {
    const node = this.#nodes[s.from];
    const body = new Uint8Array(s.bodyBytes ?? 32);
    for (let i = 0; i < body.length; i++) body[i] = this.#rng.int(256);
    const message: Message = { groupId: this.#groupIds[s.group], timestamp: BigInt(epoch), body };
    const peers = this.#members[s.group].filter((p) => p !== s.from);
    const { id, records } = send(message, peers.map(String), node.mode, epoch);
    const k = idKey(id);
    if (node.messages.has(k)) return; // the same message twice: nothing new
    node.messages.set(k, message);
    for (const { peer, record } of records) {
      this.#putRecord(node, this.#peerRecords(node, Number(peer)), record);
    }
    this.#pending.set(k, { epoch, from: s.from, to: new Set(peers) });
    this.#expected += peers.length;
  }

  #peerRecords(node: SimNode, peer: number): Map<string, SyncRecord> {
    let m = node.records.get(peer);
    if (!m) node.records.set(peer, m = new Map());
    return m;
  }

  /** Hands over this epoch's arrivals, in random order, to online nodes. */
  #deliver(epoch: number): void {
    const now = this.#flight.filter((f) => f.at <= epoch);
    this.#flight = this.#flight.filter((f) => f.at > epoch);
    for (let i = now.length - 1; i > 0; i--) {
      const j = this.#rng.int(i + 1);
      [now[i], now[j]] = [now[j], now[i]];
    }
    for (const f of now) {
      if (this.#online[f.to]) this.#receive(f, epoch);
    }
  }

  #receive(f: InFlight, epoch: number): void {
    const node = this.#nodes[f.to];
    const payload = decodePayload(f.bytes);
    const records = this.#peerRecords(node, f.from);
    // receive() only reads the view; a copy is made only for an observer to compare with.
    const before = this.#cfg.observer?.receive ? new Map(records) : records;
    const view = {
      held: node.messages,
      records: before,
      groups: node.shared.get(f.from) ?? new Set<string>(),
    };
    const changes = receive(view, String(f.from), payload, epoch);
    for (const r of changes.put) this.#putRecord(node, records, r);
    for (const id of changes.delete) this.#deleteRecord(node, records, id);
    for (const s of changes.store) {
      node.messages.set(idKey(s.id), s.message);
      const p = this.#pending.get(idKey(s.id));
      if (p?.to.delete(f.to)) {
        this.#latencies.push(epoch - p.epoch);
        this.#cfg.observer?.delivered?.({ node: f.to, from: p.from, epoch, sentEpoch: p.epoch });
      }
    }
    let acks = node.acks.get(f.from);
    if (!acks) node.acks.set(f.from, acks = new Map());
    for (const id of changes.acks) acks.set(idKey(id), id);
    this.#cfg.observer?.receive?.({ node: f.to, from: f.from, epoch, payload, before, changes });

    if (peerReturned(node.lastHeard.get(f.from), epoch, node.settings)) {
      const put = peerHeard(records.values(), epoch, node.settings);
      for (const r of put) this.#putRecord(node, records, r);
      this.#cfg.observer?.heard?.({ node: f.to, peer: f.from, epoch, put });
    }
    node.lastHeard.set(f.from, epoch);
  }

  /** One node's epoch: one payload per peer. */
  #tick(i: number, epoch: number): void {
    const node = this.#nodes[i];
    for (const peer of node.shared.keys()) {
      const records = this.#peerRecords(node, peer);
      const acks = node.acks.get(peer);
      if (!records.size && !acks?.size) continue;
      // due() only reads the records; a copy is made only for an observer to compare with.
      const before = this.#cfg.observer?.due ? new Map(records) : records;
      const result = due(
        {
          peer: String(peer),
          records: before.values(),
          acks: [...(acks?.values() ?? [])],
          messages: node.messages,
        },
        epoch,
        node.settings,
        this.#cfg.limits,
      );
      for (const r of result.put) this.#putRecord(node, records, r);
      for (const id of result.delete) this.#deleteRecord(node, records, id);
      for (const id of result.acksSent) acks?.delete(idKey(id));
      this.#stats.failed += result.events.filter((e) => e.type === "failed").length;
      this.#cfg.observer?.due?.({ node: i, peer, epoch, before, result });
      if (result.payload) this.#transmit(i, peer, encodePayload(result.payload), epoch);
    }
  }

  #transmit(from: number, to: number, bytes: Uint8Array, epoch: number): void {
    const cfg = this.#cfg;
    this.#stats.payloadsSent++;
    this.#stats.bytesSent += bytes.length;
    if (cfg.loss && this.#rng.chance(cfg.loss)) {
      this.#stats.payloadsLost++;
      return;
    }
    const copies = cfg.duplicate && this.#rng.chance(cfg.duplicate) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      this.#flight.push({
        at: epoch + 1 + this.#rng.int((cfg.maxDelay ?? 0) + 1),
        from,
        to,
        bytes,
      });
    }
  }
}

/** Random traffic: `messages` sends from random `senders` (default all) over `epochs`. */
export function randomTraffic(
  rng: Prng,
  opts: {
    nodes: number;
    messages: number;
    epochs: number;
    senders?: readonly number[];
    groups?: readonly (readonly number[])[];
    bodyBytes?: number;
  },
): SimSend[] {
  const senders = opts.senders ?? [...Array(opts.nodes).keys()];
  const groups = opts.groups ?? [[...Array(opts.nodes).keys()]];
  const out: SimSend[] = [];
  for (let i = 0; i < opts.messages; i++) {
    const from = senders[rng.int(senders.length)];
    const mine = groups.map((g, gi) => g.includes(from) ? gi : -1).filter((g) => g >= 0);
    if (!mine.length) continue;
    out.push({
      epoch: rng.int(Math.max(opts.epochs, 1)),
      from,
      group: mine[rng.int(mine.length)],
      bodyBytes: opts.bodyBytes,
    });
  }
  return out;
}
