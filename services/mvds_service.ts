/**
 * MVDS nodes: the service that drives the sans-I/O state machine
 * (protocols/mvds/) over the node state in KV (storage/mvds_repo.ts).
 *
 * Each state change of a node is read → compute → one atomic commit,
 * checked against the node's head, so that processes sharing the KV take
 * turns (a stale commit is rebuilt from a fresh read). Within a process a
 * node's changes run one at a time (KeyedLock), so they do not conflict
 * with each other. An inbound payload's effects are committed before it is
 * answered; an outbound payload is built from committed state: `tickPeer`
 * commits what `due` changed, then hands the bytes back to be transmitted
 * (a payload lost after that is just a loss, which retransmission repairs).
 * Epochs are wall-clock (`floor(now / epochMs)`), so they survive restarts.
 *
 * Transports call `receivePayload` (HTTP and WebSocket alike) and
 * `tickPeer`; services/mvds_ticker.ts sends to HTTP peers, and
 * services/mvds_session.ts serves WebSocket peers.
 *
 * Seams for the remote-log backing and catch-up: `onMessageSent` (called
 * after a message this node sends is committed; in a group backed by a
 * remote log that commit also writes the message's "to append" marker) and
 * `storeAsReceived` (messages obtained elsewhere, stored as received from a
 * peer, which is then ACKed). services/mvds_remote_log.ts uses both.
 *
 * @example
 * ```ts
 * const mvds = new MvdsService(new MvdsRepo(store), hub, { maxMessageBytes: 61_440, log });
 * const { id } = await mvds.createNode({ mode: "batch" });
 * await mvds.addPeer(id, bob, "http://bob:8000/mvds/nodes/0x…/payloads");
 * await mvds.addGroupPeer(id, group, bob);
 * await mvds.sendMessage(id, group, body);
 * const bytes = await mvds.tickPeer(id, bob); // POST them to bob
 * ```
 */
import { backoffDelay } from "../lib/backoff.ts";
import { compareBytes, toHex0x } from "../lib/bytes.ts";
import {
  BusyError,
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  TooLargeError,
} from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { due, peerHeard, peerReturned } from "../protocols/mvds/due.ts";
import { idKey, messageId } from "../protocols/mvds/message_id.ts";
import {
  type Changes,
  type Mode,
  type MvdsEvent,
  payloadIds,
  receive,
  send,
} from "../protocols/mvds/node.ts";
import {
  decodePayload,
  encodePayload,
  type Message,
  type Payload,
} from "../protocols/mvds/proto.ts";
import { type MvdsSettings, mvdsSettings, type SyncRecord } from "../protocols/mvds/record.ts";
import type {
  Delivery,
  Head,
  MvdsRepo,
  NodeChanges,
  NodeConfig,
  NodeCounts,
  PeerInfo,
  StoredMessage,
} from "../storage/mvds_repo.ts";
import { addCosts, fits, NO_COST } from "../storage/kv.ts";
import type { LiveHub } from "./live_hub.ts";
import {
  dueChanges,
  halvePart,
  heldIdsNeeded,
  isEmptyChanges,
  type PartBudget,
  payloadParts,
  receiveChanges,
} from "./mvds_changes.ts";
import { liveEvent } from "./mvds_events.ts";
import { KeyedLock } from "./mvds_lock.ts";
import { GroupCommitter, type Outcomes } from "./group_commit.ts";

/** Bounds that keep every state change within one KV commit and every list short. */
export const MVDS_LIMITS = Object.freeze({
  /** Peers of one node. */
  peersPerNode: 1024,
  /** Peers sharing one group: a send writes a record for each in its commit. */
  peersPerGroup: 128,
  /** Groups one peer shares (a payload's view loads them all). */
  groupsPerPeer: 1024,
  /** Longest group id (it is part of keys), as the payload decoder's bound. */
  groupIdBytes: 256,
  /** Records (and ACKs) one tick reads for a peer; what is left goes next epoch. */
  duePerTick: 1024,
  /** Records per commit when making a returning peer's records due, or sharing old messages. */
  recordsPerCommit: 128,
});

/** Delivery of a message to one peer, as GET …/messages/{id} shows it. */
export interface DeliveryState {
  state: "offered" | "requested" | "sent" | "acked" | "failed";
  sendCount: number;
  sendEpoch: number;
}

/** What one inbound payload did. */
export interface ReceiveSummary {
  /** New messages stored. */
  stored: number;
  /** Messages refused for their size (not stored, not ACKed). */
  tooLarge: number;
  events: MvdsEvent[];
}

/** Called after a message this node sends is committed (the remote-log backing's seam). */
export type SentListener = (e: {
  node: Uint8Array;
  id: Uint8Array;
  message: Message;
  /** Whether the send's commit wrote a remote-log "to append" marker (its group is backed). */
  marked: boolean;
}) => unknown;

export interface MvdsServiceOptions {
  /** Largest message body stored (bytes); larger is TooLargeError, or dropped when received. */
  maxMessageBytes: number;
  /** The wall clock in ms (tests move it). */
  now?: () => number;
  log: Logger;
}

/** What createNode takes. */
export interface NodeInput {
  id?: Uint8Array;
  mode: Mode;
  epochMs?: number;
  backoffCapEpochs?: number;
  maxSendCount?: number;
}

/** A node as GET /mvds/nodes/{node} shows it. */
export interface NodeInfo {
  id: Uint8Array;
  config: NodeConfig;
  epoch: number;
  counts: NodeCounts;
  peers: { peer: Uint8Array; info: PeerInfo }[];
}

const RETRY = { baseMs: 2, maxMs: 100 };
/** Most sends one group commit takes (fewer when they do not fit one KV commit). */
const SEND_BATCH = 256;
/** Most sends waiting for a node's commit; past it a send is BusyError. */
const SEND_QUEUE = 8192;

/** A part committed (what `receive` returned), or to be halved first. */
type PartOutcome = { ch: Changes } | { halves: [Payload, Payload] };

/** A send's outcome: stored by this call? with a remote-log marker? */
interface SendOutcome {
  created: boolean;
  marked: boolean;
}

interface SendItem {
  id: Uint8Array;
  message: Message;
}
const MAX_ATTEMPTS = 32;

export class MvdsService {
  readonly #now: () => number;
  /** Node configs never change once created, so a process may keep them. */
  readonly #configs = new Map<string, { config: NodeConfig; settings: MvdsSettings }>();
  readonly #lock = new KeyedLock();
  readonly #sent: SentListener[] = [];
  readonly #senders = new Map<string, GroupCommitter<SendItem, SendOutcome>>();

  constructor(
    readonly repo: MvdsRepo,
    private readonly hub: LiveHub,
    private readonly opts: MvdsServiceOptions,
  ) {
    this.#now = opts.now ?? Date.now;
  }

  /** A node's current epoch. */
  epoch(config: { epochMs: number }): number {
    return Math.floor(this.#now() / config.epochMs);
  }

  /** Ms until a node's next epoch begins. */
  msToNextEpoch(config: { epochMs: number }): number {
    return (this.epoch(config) + 1) * config.epochMs - this.#now();
  }

  /** Adds a listener called after each message a node sends is committed. */
  onMessageSent(listener: SentListener): void {
    this.#sent.push(listener);
  }

  // ---- nodes, peers, groups ----

  /** Creates a node (32 random id bytes unless given); ConflictError if the id is taken. */
  async createNode(input: NodeInput): Promise<{ id: Uint8Array; config: NodeConfig }> {
    const id = input.id ?? crypto.getRandomValues(new Uint8Array(32));
    let s: MvdsSettings;
    try {
      s = mvdsSettings(input);
    } catch (e) {
      throw new InvalidInputError(undefined, (e as Error).message, { cause: e });
    }
    const config: NodeConfig = {
      mode: input.mode,
      epochMs: s.epochMs,
      backoffCapEpochs: s.backoffCapEpochs,
      ...(s.maxSendCount !== undefined ? { maxSendCount: s.maxSendCount } : {}),
      createdAt: this.#now(),
    };
    if (!(await this.repo.createNode(id, config))) {
      throw new ConflictError(`Node ${toHex0x(id)} exists already`);
    }
    return { id, config };
  }

  /** A node's config; NotFoundError for an unknown node. */
  async config(node: Uint8Array): Promise<NodeConfig> {
    return (await this.#node(node)).config;
  }

  /** A node with its current epoch, counters and peers. */
  async nodeInfo(node: Uint8Array): Promise<NodeInfo> {
    const { config } = await this.#node(node);
    const [counts, peers] = await Promise.all([
      this.repo.counts(node),
      this.repo.peers(node, MVDS_LIMITS.peersPerNode),
    ]);
    return { id: node, config, epoch: this.epoch(config), counts, peers };
  }

  /**
   * Adds a peer, or changes its url (`url` absent: it connects by
   * WebSocket). Returns whether it was new.
   */
  async addPeer(node: Uint8Array, peer: Uint8Array, url?: string): Promise<boolean> {
    await this.#node(node);
    if (compareBytes(node, peer) === 0) {
      throw new InvalidInputError("id", "is this node's own id; a node is not its own peer");
    }
    return await this.#locked(node, () =>
      this.#attempt(node, async () => {
        const info = await this.repo.peer(node, peer);
        if (
          !info &&
          (await this.repo.peers(node, MVDS_LIMITS.peersPerNode)).length >= MVDS_LIMITS.peersPerNode
        ) {
          throw new ConflictError(
            `Node ${toHex0x(node)} has ${MVDS_LIMITS.peersPerNode} peers, the most it may have`,
          );
        }
        const next: PeerInfo = {
          ...(url ? { url } : {}),
          ...(info?.lastHeardEpoch !== undefined ? { lastHeardEpoch: info.lastHeardEpoch } : {}),
        };
        return { changes: { peers: [{ peer, info: next }] }, result: info === null };
      }));
  }

  /**
   * Makes `peer` share `group`. A peer that joins late is given every
   * message the node already holds in the group (except those it sent
   * us): records are written first, the membership last, so a crash in
   * between leaves at most records for a peer not yet in the group
   * (harmless, and calling again completes it). Returns whether the
   * membership is new and how many messages were made pending for the peer.
   */
  async addGroupPeer(
    node: Uint8Array,
    group: Uint8Array,
    peer: Uint8Array,
  ): Promise<{ added: boolean; shared: number }> {
    const { config } = await this.#node(node);
    this.#checkGroup(group);
    return await this.#locked(node, async () => {
      if (!(await this.repo.peer(node, peer))) {
        throw new InvalidInputError(
          "peer",
          `${
            toHex0x(peer)
          } is not a peer of this node; add it with POST /mvds/nodes/{node}/peers first`,
        );
      }
      const members = await this.repo.groupPeers(node, group, MVDS_LIMITS.peersPerGroup + 1);
      if (members.some((p) => compareBytes(p, peer) === 0)) return { added: false, shared: 0 };
      if (members.length >= MVDS_LIMITS.peersPerGroup) {
        throw new ConflictError(
          `Group ${toHex0x(group)} has ${MVDS_LIMITS.peersPerGroup} peers, the most it may have`,
        );
      }
      const groups = await this.repo.peerGroups(node, peer, MVDS_LIMITS.groupsPerPeer);
      if (groups.length >= MVDS_LIMITS.groupsPerPeer) {
        throw new ConflictError(
          `Peer ${toHex0x(peer)} shares ${MVDS_LIMITS.groupsPerPeer} groups, the most it may`,
        );
      }
      let shared = 0;
      let afterSeq = 0;
      for (;;) {
        // One page of the group's messages per commit; the membership once none is left.
        const step = await this.#attempt(node, async () => {
          const page = await this.repo.messagesAfter(
            node,
            group,
            afterSeq,
            MVDS_LIMITS.recordsPerCommit,
          );
          if (page.length === 0) {
            return { changes: { members: [{ group, peer }] }, result: undefined };
          }
          const theirs = (m: StoredMessage) => m.from && compareBytes(m.from, peer) === 0;
          const mine = page.filter((m) => !theirs(m.message));
          const existing = await this.repo.records(node, peer, mine.map((m) => m.id));
          const epoch = this.epoch(config);
          const records = mine.flatMap((m, i) =>
            existing[i] ? [] : send(m.message, [idKey(peer)], config.mode, epoch).records
              .map((r) => ({ peer, after: r.record }))
          );
          return {
            changes: { records },
            result: { n: records.length, seq: page.at(-1)!.message.seq },
          };
        });
        if (!step) return { added: true, shared };
        shared += step.n;
        afterSeq = step.seq;
      }
    });
  }

  // ---- messages ----

  /**
   * Sends a message in `group`: stores it and writes a record (MESSAGE in
   * batch mode, OFFER in interactive mode, due now) for every peer of the
   * group, in one commit. The same message again (same group, timestamp and
   * body) is not stored twice: `created` is false.
   */
  async sendMessage(
    node: Uint8Array,
    group: Uint8Array,
    body: Uint8Array,
    timestamp?: bigint,
  ): Promise<{ id: Uint8Array; timestamp: bigint; created: boolean }> {
    const { config } = await this.#node(node);
    this.#checkGroup(group);
    if (body.length > this.opts.maxMessageBytes) {
      throw new TooLargeError("The message body", body.length, this.opts.maxMessageBytes);
    }
    const message: Message = {
      groupId: group,
      timestamp: timestamp ?? BigInt(Math.floor(this.#now() / 1000)),
      body,
    };
    const id = messageId(message);
    const sender = this.#sender(node, config);
    let created: boolean, marked: boolean;
    try {
      ({ created, marked } = await sender.submit({ id, message }));
    } finally {
      // Forget a node's queue once it is idle (a later send makes a new one).
      const k = idKey(node);
      if (sender.idle && this.#senders.get(k) === sender) this.#senders.delete(k);
    }
    if (created) {
      for (const listener of this.#sent) {
        try {
          await listener({ node, id, message, marked });
        } catch (e) {
          this.opts.log.warn("MVDS message-sent listener failed", {
            node: toHex0x(node),
            error: e,
          });
        }
      }
    }
    return { id, timestamp: message.timestamp, created };
  }

  /**
   * The node's send queue: sends that arrive while one is committing are
   * committed together (services/group_commit.ts), under the node's lock
   * and against its head like every other change.
   */
  #sender(node: Uint8Array, config: NodeConfig): GroupCommitter<SendItem, SendOutcome> {
    const k = idKey(node);
    let gc = this.#senders.get(k);
    if (!gc) {
      const made = new GroupCommitter<SendItem, SendOutcome>(
        (items) => this.#locked(node, () => this.#sendBatch(node, config, items)),
        { maxBatch: SEND_BATCH, maxQueue: SEND_QUEUE },
      );
      this.#senders.set(k, gc = made);
    }
    return gc;
  }

  /**
   * Commits queued sends: reads what they need at once (held? the groups'
   * peers and backings, the peers' records for the ids), then commits as
   * many as fit one KV commit (the rest in the next, each read afresh),
   * each against the head (#attempt). Per item: `created` = stored by this
   * call, false = held already (before, or earlier in the same batch: a
   * duplicate is stored once); `marked` = a remote-log marker went with it.
   */
  async #sendBatch(
    node: Uint8Array,
    config: NodeConfig,
    items: readonly SendItem[],
  ): Promise<Outcomes<SendOutcome>> {
    const out: Outcomes<SendOutcome> = new Array(items.length);
    let from = 0;
    while (from < items.length) {
      const rest = items.slice(from);
      try {
        const { taken, created } = await this.#attempt(
          node,
          () => this.#buildSends(node, config, rest),
        );
        created.forEach((value, i) => out[from + i] = { status: "fulfilled", value });
        from += taken;
      } catch (reason) {
        // This commit failed: its items, and those not tried yet, get its error.
        for (let i = from; i < items.length; i++) out[i] = { status: "rejected", reason };
        break;
      }
    }
    return out;
  }

  async #buildSends(
    node: Uint8Array,
    config: NodeConfig,
    items: readonly SendItem[],
  ): Promise<{ changes?: NodeChanges; result: { taken: number; created: SendOutcome[] } }> {
    const groups = new Map<string, Uint8Array>();
    for (const { message } of items) groups.set(idKey(message.groupId), message.groupId);
    const [held, byGroup] = await Promise.all([
      this.repo.messages(node, items.map((x) => x.id)),
      Promise.all(
        [...groups].map(async ([k, group]) => {
          const [peers, backing] = await Promise.all([
            this.repo.groupPeers(node, group, MVDS_LIMITS.peersPerGroup),
            this.repo.backing(node, group),
          ]);
          return [k, { peers, backing }] as const;
        }),
      ).then((x) => new Map(x)),
    ]);
    const pairs = items.flatMap(({ id, message }, i) =>
      held[i] ? [] : byGroup.get(idKey(message.groupId))!.peers.map((peer) => ({ peer, id }))
    );
    const read = await this.repo.recordsOf(node, pairs);
    const current = new Map(pairs.map((p, i) => [`${idKey(p.peer)}/${idKey(p.id)}`, read[i]]));
    const epoch = this.epoch(config);
    const limits = this.repo.limitsBeside(node);
    const changes: Required<Pick<NodeChanges, "messages" | "records" | "deliveries" | "appends">> =
      { messages: [], records: [], deliveries: [], appends: [] };
    let cost = NO_COST;
    const created: SendOutcome[] = [];
    const stored = new Set<string>();
    for (const [i, { id, message }] of items.entries()) {
      const k = idKey(id);
      if (held[i] || stored.has(k)) {
        created.push({ created: false, marked: false });
        continue;
      }
      const { peers, backing } = byGroup.get(idKey(message.groupId))!;
      const mine: NodeChanges = sendChanges(
        id,
        message,
        peers,
        peers.map((p) => current.get(`${idKey(p)}/${k}`) ?? null),
        config.mode,
        epoch,
        backing ? this.#now() : undefined,
      );
      const next = addCosts(cost, this.repo.costOf(node, mine));
      if (created.length > 0 && !fits(next, limits)) break; // the rest: next commit
      cost = next;
      stored.add(k);
      created.push({ created: true, marked: backing !== null });
      changes.messages.push(...mine.messages!);
      changes.records.push(...mine.records!);
      changes.deliveries.push(...mine.deliveries!);
      changes.appends.push(...(mine.appends ?? []));
    }
    return { changes, result: { taken: created.length, created } };
  }

  /**
   * A group's messages (own and received) in arrival order, after the one
   * with id `after` (NotFoundError if the node holds no such message in the group).
   */
  async listMessages(
    node: Uint8Array,
    group: Uint8Array,
    after: Uint8Array | undefined,
    limit: number,
  ): Promise<{ id: Uint8Array; message: StoredMessage }[]> {
    await this.#node(node);
    let afterSeq = 0;
    if (after) {
      const m = await this.repo.message(node, after);
      if (!m || compareBytes(m.groupId, group) !== 0) {
        throw new NotFoundError(`No message ${toHex0x(after)} in group ${toHex0x(group)}`);
      }
      afterSeq = m.seq;
    }
    return await this.repo.messagesAfter(node, group, afterSeq, limit);
  }

  /** A message and its delivery to each peer that has or had a record for it. */
  async getMessage(
    node: Uint8Array,
    id: Uint8Array,
  ): Promise<{ message: StoredMessage; delivery: Map<string, DeliveryState> }> {
    const { config } = await this.#node(node);
    const message = await this.repo.message(node, id);
    if (!message) throw new NotFoundError(`Node ${toHex0x(node)} holds no message ${toHex0x(id)}`);
    const peers = await this.repo.groupPeers(node, message.groupId, MVDS_LIMITS.peersPerGroup);
    const [records, finals] = await Promise.all([
      this.repo.recordsFor(node, id, peers),
      this.repo.deliveries(node, id),
    ]);
    const delivery = new Map<string, DeliveryState>();
    for (const { peer, delivery: d } of finals) delivery.set(toHex0x(peer), finalState(d));
    peers.forEach((peer, i) => {
      const r = records[i];
      if (r) delivery.set(toHex0x(peer), recordState(r, config.mode));
    });
    return { message, delivery };
  }

  // ---- receiving ----

  /** The peer's info; NotFoundError for an unknown node, ForbiddenError for a stranger. */
  async assertPeer(node: Uint8Array, peer: Uint8Array): Promise<PeerInfo> {
    await this.#node(node);
    const info = await this.repo.peer(node, peer);
    if (!info) {
      throw new ForbiddenError(`${toHex0x(peer)} is not a peer of node ${toHex0x(node)}`);
    }
    return info;
  }

  /**
   * Handles a payload's bytes from `peer`: ForbiddenError if it is not a
   * peer, InvalidInputError (naming the field) if the bytes are not a
   * Payload; nothing is stored in either case. Otherwise the state
   * machine's reactions are committed before this resolves.
   */
  async receivePayload(
    node: Uint8Array,
    peer: Uint8Array,
    bytes: Uint8Array,
  ): Promise<ReceiveSummary> {
    await this.assertPeer(node, peer);
    let payload: Payload;
    try {
      payload = decodePayload(bytes, { maxGroupIdBytes: MVDS_LIMITS.groupIdBytes });
    } catch (e) {
      if (e instanceof SyntaxError) throw new InvalidInputError("body", e.message, { cause: e });
      throw e;
    }
    return await this.#receive(node, peer, payload, true);
  }

  /**
   * Stores messages obtained elsewhere (a remote log's catch-up) as if
   * received from `peer`: through `receive`, so they are ACKed to that peer
   * in its next payload and it stops retransmitting them. Messages of
   * groups the peer does not share are ignored. Not counted as hearing
   * from the peer.
   */
  async storeAsReceived(
    node: Uint8Array,
    peer: Uint8Array,
    messages: readonly Message[],
  ): Promise<ReceiveSummary> {
    await this.assertPeer(node, peer);
    return await this.#receive(node, peer, {
      acks: [],
      offers: [],
      requests: [],
      messages: [...messages],
    }, false);
  }

  /**
   * The peer was heard from without a payload (a WebSocket opened, or it
   * answered a payload we POSTed at epoch `since`: it was in touch from
   * then on, busy with our payload): a peer silent for ≥ 2 epochs before
   * that is returning, and its pending records become due at once. Its
   * lastHeardEpoch becomes now (written only when it changes, so a peer
   * heard every epoch costs a commit an epoch at most).
   */
  async peerSeen(node: Uint8Array, peer: Uint8Array, since?: number): Promise<void> {
    await this.assertPeer(node, peer);
    const { config, settings } = await this.#node(node);
    await this.#locked(node, async () => {
      const epoch = this.epoch(config);
      await this.#wakeRecords(node, peer, settings, Math.min(since ?? epoch, epoch), epoch);
      await this.#attempt(node, async () => {
        const info = await this.repo.peer(node, peer);
        if (!info || (info.lastHeardEpoch ?? -Infinity) >= epoch) return { result: undefined };
        return {
          changes: { peers: [{ peer, info: { ...info, lastHeardEpoch: epoch } }] },
          result: undefined,
        };
      });
    });
  }

  async #receive(
    node: Uint8Array,
    peer: Uint8Array,
    payload: Payload,
    heard: boolean,
  ): Promise<ReceiveSummary> {
    const { config, settings } = await this.#node(node);
    const arrived = this.epoch(config);
    const max = this.opts.maxMessageBytes;
    const fitting = payload.messages.filter((m) => m.body.length <= max);
    const tooLarge = payload.messages.length - fitting.length;
    if (tooLarge > 0) {
      this.opts.log.warn("MVDS messages over the size limit dropped", {
        node: toHex0x(node),
        peer: toHex0x(peer),
        count: tooLarge,
        limit: max,
      });
    }
    const peerId = idKey(peer);
    const summary: ReceiveSummary = { stored: 0, tooLarge, events: [] };
    const budget = this.#partBudget(node, peer, heard);
    if (heard) {
      await this.#locked(node, () => this.#wakeRecords(node, peer, settings, arrived, arrived));
    }
    // Each part takes the node's turn on its own, so that sends and ticks queued meanwhile go
    // in between (each part is read afresh and committed atomically, as in another process).
    const parts = payloadParts({ ...payload, messages: fitting }, budget);
    while (parts.length > 0) {
      const part = parts.shift()!;
      const out = await this.#locked(node, () =>
        this.#attempt<PartOutcome>(node, async () => {
          const ids = payloadIds(part);
          const wanted = heldIdsNeeded(part); // ACKs alone need no message read
          const [held, records, groups, info] = await Promise.all([
            this.repo.messages(node, wanted),
            this.repo.records(node, peer, ids),
            this.repo.peerGroups(node, peer, MVDS_LIMITS.groupsPerPeer),
            heard ? this.repo.peer(node, peer) : undefined,
          ]);
          const view = {
            held: new Map(wanted.flatMap((id, i) => held[i] ? [[idKey(id), held[i]]] : [])),
            records: new Map(records.flatMap((r) => r ? [[idKey(r.id), r]] : [])),
            groups: new Set(groups.map(idKey)),
          };
          // The epoch of this commit, not of the arrival: the peer is silent only from when
          // its payload has been handled (it waits for our answer before sending again).
          const now = this.epoch(config);
          const ch = receive(view, peerId, part, now);
          const changes = receiveChanges(peer, view.records, ch);
          if (info) changes.peers = [{ peer, info: { ...info, lastHeardEpoch: now } }];
          if (!this.repo.fits(node, changes)) {
            const halves = halvePart(part);
            if (halves) return { result: { halves } };
          }
          return { changes, result: { ch } };
        }));
      if ("halves" in out) {
        parts.unshift(...out.halves);
        continue;
      }
      summary.stored += out.ch.store.length;
      summary.events.push(...out.ch.events);
      this.#publish(node, out.ch.events);
    }
    return summary;
  }

  /** What an inbound item is expected to write (a new message: it, its order and its ACK). */
  #partBudget(node: Uint8Array, peer: Uint8Array, heard: boolean): PartBudget {
    const id = new Uint8Array(32);
    const r: SyncRecord = { id, type: "MESSAGE", sendCount: 1, sendEpoch: 0 };
    const delivery: Delivery = { state: "acked", sendCount: 1, sendEpoch: 0 };
    const base: NodeChanges = heard
      ? { peers: [{ peer, info: { url: "x".repeat(2048), lastHeardEpoch: 0 } }] }
      : {};
    const limits = this.repo.limitsBeside(node, base);
    const ids = {
      acks: this.repo.costOf(node, {
        records: [{ peer, before: r }],
        deliveries: [{ peer, id, delivery }],
      }),
      offers: this.repo.costOf(node, { records: [{ peer, after: r }] }),
      requests: this.repo.costOf(node, { records: [{ peer, before: r, after: r }] }),
    };
    return {
      limits,
      cost: (item) =>
        "message" in item
          ? this.repo.costOf(node, {
            messages: [{ id, message: item.message, from: peer }],
            acks: [{ peer, id, pending: true }],
          })
          : ids[item.list],
    };
  }

  /**
   * Makes a returning peer's pending records due now (peerHeard), a page
   * per commit: returning = silent for ≥ 2 epochs before `since`, the epoch
   * the peer was in touch again (its payload arrived, or we sent the payload
   * it answered).
   */
  async #wakeRecords(
    node: Uint8Array,
    peer: Uint8Array,
    settings: MvdsSettings,
    since: number,
    epoch: number,
  ): Promise<void> {
    const info = await this.repo.peer(node, peer);
    if (!info || !peerReturned(info.lastHeardEpoch, since, settings)) return;
    let after: Uint8Array | undefined;
    for (;;) {
      const last = await this.#attempt(node, async () => {
        const page = await this.repo.recordPage(node, peer, after, MVDS_LIMITS.recordsPerCommit);
        const before = new Map(page.map((r) => [idKey(r.id), r]));
        const records = peerHeard(page, epoch, settings).map((r) => ({
          peer,
          before: before.get(idKey(r.id)),
          after: r,
        }));
        return { changes: { records }, result: page.at(-1)?.id };
      });
      if (!last) return;
      after = last;
    }
  }

  // ---- sending ----

  /**
   * Builds the epoch's payload for `peer` from its due records and pending
   * ACKs, commits what that changes (send counts, next send epochs,
   * records dropped after maxSendCount, ACKs sent), and returns the
   * encoded payload to transmit, or undefined when nothing is due. Call it
   * at most once per peer per epoch. When the changes take more than one
   * commit and another process changes the node in between, the payload
   * is given up: the records committed as sent count as lost, and are resent.
   */
  async tickPeer(
    node: Uint8Array,
    peer: Uint8Array,
    epoch?: number,
  ): Promise<Uint8Array | undefined> {
    const { config, settings } = await this.#node(node);
    const at = epoch ?? this.epoch(config);
    const n = MVDS_LIMITS.duePerTick;
    return await this.#locked(node, async () => {
      for (let attempt = 0;; attempt++) {
        const head = await this.#head(node);
        const [records, acks] = await Promise.all([
          this.repo.dueRecords(node, peer, at, n),
          this.repo.acks(node, peer, n),
        ]);
        const wanted = records.filter((r) => r.type === "MESSAGE").map((r) => r.id);
        const held = await this.repo.messages(node, wanted);
        const messages = new Map(wanted.flatMap((id, i) => held[i] ? [[idKey(id), held[i]]] : []));
        const result = due(
          { peer: idKey(peer), records, acks, messages },
          at,
          settings,
          { maxIds: n, maxMessages: n },
        );
        const before = new Map(records.map((r) => [idKey(r.id), r]));
        const changes = dueChanges(peer, before, result);
        if (isEmptyChanges(changes)) return undefined;
        const [first, ...rest] = this.repo.split(node, changes);
        let h = await this.repo.commit(node, head, first);
        if (!h) {
          if (attempt + 1 >= MAX_ATTEMPTS) throw this.#busy(node);
          await delay(backoffDelay(attempt, RETRY));
          continue;
        }
        for (const run of rest) {
          h = await this.repo.commit(node, h, run);
          if (!h) {
            this.opts.log.debug("MVDS payload given up: the node changed meanwhile", {
              node: toHex0x(node),
              peer: toHex0x(peer),
            });
            return undefined;
          }
        }
        this.#publish(node, result.events);
        return result.payload && encodePayload(result.payload);
      }
    });
  }

  // ---- helpers ----

  async #node(node: Uint8Array): Promise<{ config: NodeConfig; settings: MvdsSettings }> {
    const k = idKey(node);
    let got = this.#configs.get(k);
    if (!got) {
      const config = await this.repo.node(node);
      if (!config) throw new NotFoundError(`No MVDS node ${toHex0x(node)}`);
      got = { config, settings: mvdsSettings(config) };
      this.#configs.set(k, got);
    }
    return got;
  }

  #checkGroup(group: Uint8Array): void {
    if (group.length < 1 || group.length > MVDS_LIMITS.groupIdBytes) {
      throw new InvalidInputError("group", `must be 1–${MVDS_LIMITS.groupIdBytes} bytes`);
    }
  }

  #locked<T>(node: Uint8Array, fn: () => Promise<T>): Promise<T> {
    return this.#lock.run(idKey(node), fn);
  }

  async #head(node: Uint8Array): Promise<Head> {
    const head = await this.repo.head(node);
    if (!head) throw new NotFoundError(`No MVDS node ${toHex0x(node)}`);
    return head;
  }

  /**
   * Reads the head, lets `build` read and compute, and commits its changes
   * against that head; when another process committed first, reads and
   * builds again.
   */
  async #attempt<T>(
    node: Uint8Array,
    build: (head: Head) => Promise<{ changes?: NodeChanges; result: T }>,
  ): Promise<T> {
    for (let attempt = 0;; attempt++) {
      const head = await this.#head(node);
      const out = await build(head);
      if (!out.changes || isEmptyChanges(out.changes)) return out.result;
      if (await this.repo.commit(node, head, out.changes)) return out.result;
      if (attempt + 1 >= MAX_ATTEMPTS) throw this.#busy(node);
      await delay(backoffDelay(attempt, RETRY));
    }
  }

  #busy(node: Uint8Array): BusyError {
    return new BusyError(
      `MVDS node ${toHex0x(node)} gave up after ${MAX_ATTEMPTS} conflicting commits`,
    );
  }

  #publish(node: Uint8Array, events: readonly MvdsEvent[]): void {
    if (events.length) this.hub.publish(events.map((e) => liveEvent(node, e)));
  }
}

/** What sending one message writes: it, a record per peer without one, a peer's REQUEST ended. */
function sendChanges(
  id: Uint8Array,
  message: Message,
  peers: readonly Uint8Array[],
  current: readonly (SyncRecord | null)[],
  mode: Mode,
  epoch: number,
  appendAt: number | undefined,
): NodeChanges {
  const fresh = peers.filter((_, i) => !current[i]);
  const records: NonNullable<NodeChanges["records"]> = send(message, fresh.map(idKey), mode, epoch)
    .records.map((r) => ({ peer: fresh.find((p) => idKey(p) === r.peer)!, after: r.record }));
  const deliveries: NonNullable<NodeChanges["deliveries"]> = [];
  peers.forEach((peer, i) => {
    const r = current[i];
    // We asked this peer for the message (it offered it): it holds it, we now do too.
    if (r?.type === "REQUEST") {
      records.push({ peer, before: r });
      deliveries.push({ peer, id, delivery: { state: "acked", sendCount: 0, sendEpoch: epoch } });
    }
  });
  return {
    messages: [{ id, message }],
    records,
    deliveries,
    // A group backed by a remote log: the "to append" marker commits with the message.
    ...(appendAt !== undefined ? { appends: [{ group: message.groupId, id, at: appendAt }] } : {}),
  };
}

/** Delivery state of a record in progress. */
function recordState(r: SyncRecord, mode: Mode): DeliveryState {
  const state: DeliveryState["state"] = r.type === "OFFER"
    ? "offered"
    : r.type === "REQUEST" || (mode === "interactive" && r.sendCount === 0)
    ? "requested" // an interactive node's MESSAGE record exists once the peer requested it
    : "sent";
  return { state, sendCount: r.sendCount, sendEpoch: r.sendEpoch };
}

function finalState(d: Delivery): DeliveryState {
  return { state: d.state, sendCount: d.sendCount, sendEpoch: d.sendEpoch };
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
