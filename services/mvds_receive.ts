/**
 * Receiving MVDS payloads (a part of services/mvds_service.ts): a peer's
 * payload is cut into parts that each fit one KV commit and reacted to
 * part by part (services/mvds_changes.ts); messages obtained elsewhere
 * are stored the same way; and a peer heard from (a payload, a WebSocket
 * opened, an answer to our POST) that had been silent is returning: its
 * pending records become due at once.
 */
import { toHex0x } from "../lib/bytes.ts";
import { ForbiddenError, InvalidInputError } from "../lib/errors.ts";
import { peerHeard, peerReturned } from "../protocols/mvds/due.ts";
import { idKey } from "../protocols/mvds/message_id.ts";
import { type Changes, type MvdsEvent, payloadIds, receive } from "../protocols/mvds/node.ts";
import { decodePayload, type Message, type Payload } from "../protocols/mvds/proto.ts";
import type { MvdsSettings, SyncRecord } from "../protocols/mvds/record.ts";
import type { Delivery, NodeChanges, PeerInfo } from "../storage/mvds_repo.ts";
import {
  halvePart,
  heldIdsNeeded,
  type PartBudget,
  payloadParts,
  receiveChanges,
} from "./mvds_changes.ts";
import { MVDS_LIMITS, type MvdsCore } from "./mvds_core.ts";

/** What one inbound payload did. */
export interface ReceiveSummary {
  /** New messages stored. */
  stored: number;
  /** Messages refused for their size (not stored, not ACKed). */
  tooLarge: number;
  events: MvdsEvent[];
}

/** A part committed (what `receive` returned), or to be halved first. */
type PartOutcome = { ch: Changes } | { halves: [Payload, Payload] };

export class MvdsReceive {
  constructor(private readonly core: MvdsCore) {}

  /** The peer's info; NotFoundError for an unknown node, ForbiddenError for a stranger. */
  async assertPeer(node: Uint8Array, peer: Uint8Array): Promise<PeerInfo> {
    await this.core.node(node);
    const info = await this.core.repo.peer(node, peer);
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
    const { core } = this;
    await this.assertPeer(node, peer);
    const { config, settings } = await core.node(node);
    await core.locked(node, async () => {
      const epoch = core.epoch(config);
      await this.#wakeRecords(node, peer, settings, Math.min(since ?? epoch, epoch), epoch);
      await core.attempt(node, async () => {
        const info = await core.repo.peer(node, peer);
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
    const { core } = this;
    const { repo } = core;
    const { config, settings } = await core.node(node);
    const arrived = core.epoch(config);
    const max = core.opts.maxMessageBytes;
    const fitting = payload.messages.filter((m) => m.body.length <= max);
    const tooLarge = payload.messages.length - fitting.length;
    if (tooLarge > 0) {
      core.opts.log.warn("MVDS messages over the size limit dropped", {
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
      await core.locked(node, () => this.#wakeRecords(node, peer, settings, arrived, arrived));
    }
    // Each part takes the node's turn on its own, so that sends and ticks queued meanwhile go
    // in between (each part is read afresh and committed atomically, as in another process).
    const parts = payloadParts({ ...payload, messages: fitting }, budget);
    while (parts.length > 0) {
      const part = parts.shift()!;
      const out = await core.locked(node, () =>
        core.attempt<PartOutcome>(node, async () => {
          const ids = payloadIds(part);
          const wanted = heldIdsNeeded(part); // ACKs alone need no message read
          const [held, records, groups, info] = await Promise.all([
            repo.messages(node, wanted),
            repo.records(node, peer, ids),
            repo.peerGroups(node, peer, MVDS_LIMITS.groupsPerPeer),
            heard ? repo.peer(node, peer) : undefined,
          ]);
          const view = {
            held: new Map(wanted.flatMap((id, i) => held[i] ? [[idKey(id), held[i]]] : [])),
            records: new Map(records.flatMap((r) => r ? [[idKey(r.id), r]] : [])),
            groups: new Set(groups.map(idKey)),
          };
          // The epoch of this commit, not of the arrival: the peer is silent only from when
          // its payload has been handled (it waits for our answer before sending again).
          const now = core.epoch(config);
          const ch = receive(view, peerId, part, now);
          const changes = receiveChanges(peer, view.records, ch);
          if (info) changes.peers = [{ peer, info: { ...info, lastHeardEpoch: now } }];
          if (!repo.fits(node, changes)) {
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
      core.publish(node, out.ch.events);
    }
    return summary;
  }

  /** What an inbound item is expected to write (a new message: it, its order and its ACK). */
  #partBudget(node: Uint8Array, peer: Uint8Array, heard: boolean): PartBudget {
    const { repo } = this.core;
    const id = new Uint8Array(32);
    const r: SyncRecord = { id, type: "MESSAGE", sendCount: 1, sendEpoch: 0 };
    const delivery: Delivery = { state: "acked", sendCount: 1, sendEpoch: 0 };
    const base: NodeChanges = heard
      ? { peers: [{ peer, info: { url: "x".repeat(2048), lastHeardEpoch: 0 } }] }
      : {};
    const limits = repo.limitsBeside(node, base);
    const ids = {
      acks: repo.costOf(node, {
        records: [{ peer, before: r }],
        deliveries: [{ peer, id, delivery }],
      }),
      offers: repo.costOf(node, { records: [{ peer, after: r }] }),
      requests: repo.costOf(node, { records: [{ peer, before: r, after: r }] }),
    };
    return {
      limits,
      cost: (item) =>
        "message" in item
          ? repo.costOf(node, {
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
    const { core } = this;
    const info = await core.repo.peer(node, peer);
    if (!info || !peerReturned(info.lastHeardEpoch, since, settings)) return;
    let after: Uint8Array | undefined;
    for (;;) {
      const last = await core.attempt(node, async () => {
        const page = await core.repo.recordPage(node, peer, after, MVDS_LIMITS.recordsPerCommit);
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
}
