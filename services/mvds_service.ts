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
 * MvdsService is the facade; the work is in one file a concept:
 * - services/mvds_core.ts: what the others share: MVDS_LIMITS, a node's
 *   config (cached), its epoch, its lock, the head-checked attempt, events
 *   published to the live hub;
 * - services/mvds_nodes.ts: creating and reading nodes, adding peers,
 *   making a peer share a group;
 * - services/mvds_messages.ts: listing a group's messages, a message with
 *   its delivery to each peer;
 * - services/mvds_send.ts: sending (the node's send queue, sends committed
 *   in groups, the message-sent listeners);
 * - services/mvds_receive.ts: an inbound payload (cut into parts), messages
 *   stored as received, a peer heard from (its records woken);
 * - services/mvds_tick.ts: the tick (a peer's due payload, built and
 *   committed).
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
import type { Message } from "../protocols/mvds/proto.ts";
import type { MvdsRepo, NodeConfig, PeerInfo, StoredMessage } from "../storage/mvds_repo.ts";
import type { LiveHub } from "./live_hub.ts";
import { MvdsCore, type MvdsServiceOptions } from "./mvds_core.ts";
import { type DeliveryState, MvdsMessages } from "./mvds_messages.ts";
import { MvdsNodes, type NodeInfo, type NodeInput } from "./mvds_nodes.ts";
import { MvdsReceive, type ReceiveSummary } from "./mvds_receive.ts";
import { MvdsSend, type SentListener } from "./mvds_send.ts";
import { MvdsTick } from "./mvds_tick.ts";

export { MVDS_LIMITS, type MvdsServiceOptions } from "./mvds_core.ts";
export type { DeliveryState } from "./mvds_messages.ts";
export type { NodeInfo, NodeInput } from "./mvds_nodes.ts";
export type { ReceiveSummary } from "./mvds_receive.ts";
export type { SentListener } from "./mvds_send.ts";

export class MvdsService {
  readonly #core: MvdsCore;
  readonly #nodes: MvdsNodes;
  readonly #messages: MvdsMessages;
  readonly #send: MvdsSend;
  readonly #receive: MvdsReceive;
  readonly #tick: MvdsTick;

  constructor(readonly repo: MvdsRepo, hub: LiveHub, opts: MvdsServiceOptions) {
    this.#core = new MvdsCore(repo, hub, opts);
    this.#nodes = new MvdsNodes(this.#core);
    this.#messages = new MvdsMessages(this.#core);
    this.#send = new MvdsSend(this.#core);
    this.#receive = new MvdsReceive(this.#core);
    this.#tick = new MvdsTick(this.#core);
  }

  // ---- epochs: services/mvds_core.ts ----

  epoch(config: { epochMs: number }): number {
    return this.#core.epoch(config);
  }

  msToNextEpoch(config: { epochMs: number }): number {
    return this.#core.msToNextEpoch(config);
  }

  // ---- nodes, peers, groups: services/mvds_nodes.ts ----

  createNode(input: NodeInput): Promise<{ id: Uint8Array; config: NodeConfig }> {
    return this.#nodes.createNode(input);
  }

  config(node: Uint8Array): Promise<NodeConfig> {
    return this.#nodes.config(node);
  }

  nodeInfo(node: Uint8Array): Promise<NodeInfo> {
    return this.#nodes.nodeInfo(node);
  }

  addPeer(node: Uint8Array, peer: Uint8Array, url?: string): Promise<boolean> {
    return this.#nodes.addPeer(node, peer, url);
  }

  addGroupPeer(
    node: Uint8Array,
    group: Uint8Array,
    peer: Uint8Array,
  ): Promise<{ added: boolean; shared: number }> {
    return this.#nodes.addGroupPeer(node, group, peer);
  }

  // ---- messages: services/mvds_messages.ts ----

  listMessages(
    node: Uint8Array,
    group: Uint8Array,
    after: Uint8Array | undefined,
    limit: number,
  ): Promise<{ id: Uint8Array; message: StoredMessage }[]> {
    return this.#messages.listMessages(node, group, after, limit);
  }

  getMessage(
    node: Uint8Array,
    id: Uint8Array,
  ): Promise<{ message: StoredMessage; delivery: Map<string, DeliveryState> }> {
    return this.#messages.getMessage(node, id);
  }

  // ---- sending: services/mvds_send.ts ----

  onMessageSent(listener: SentListener): void {
    this.#send.onMessageSent(listener);
  }

  sendMessage(
    node: Uint8Array,
    group: Uint8Array,
    body: Uint8Array,
    timestamp?: bigint,
  ): Promise<{ id: Uint8Array; timestamp: bigint; created: boolean }> {
    return this.#send.sendMessage(node, group, body, timestamp);
  }

  // ---- receiving: services/mvds_receive.ts ----

  assertPeer(node: Uint8Array, peer: Uint8Array): Promise<PeerInfo> {
    return this.#receive.assertPeer(node, peer);
  }

  receivePayload(node: Uint8Array, peer: Uint8Array, bytes: Uint8Array): Promise<ReceiveSummary> {
    return this.#receive.receivePayload(node, peer, bytes);
  }

  storeAsReceived(
    node: Uint8Array,
    peer: Uint8Array,
    messages: readonly Message[],
  ): Promise<ReceiveSummary> {
    return this.#receive.storeAsReceived(node, peer, messages);
  }

  peerSeen(node: Uint8Array, peer: Uint8Array, since?: number): Promise<void> {
    return this.#receive.peerSeen(node, peer, since);
  }

  // ---- the tick: services/mvds_tick.ts ----

  tickPeer(node: Uint8Array, peer: Uint8Array, epoch?: number): Promise<Uint8Array | undefined> {
    return this.#tick.tickPeer(node, peer, epoch);
  }
}
