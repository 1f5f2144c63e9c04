/**
 * Reading an MVDS node's messages (a part of services/mvds_service.ts): a
 * group's messages in arrival order, and one message with its delivery to
 * each peer (from the records in progress and the final deliveries).
 */
import { compareBytes, toHex0x } from "../lib/bytes.ts";
import { NotFoundError } from "../lib/errors.ts";
import type { Mode } from "../protocols/mvds/node.ts";
import type { SyncRecord } from "../protocols/mvds/record.ts";
import type { Delivery, StoredMessage } from "../storage/mvds_repo.ts";
import { MVDS_LIMITS, type MvdsCore } from "./mvds_core.ts";

/** Delivery of a message to one peer, as GET …/messages/{id} shows it. */
export interface DeliveryState {
  state: "offered" | "requested" | "sent" | "acked" | "failed";
  sendCount: number;
  sendEpoch: number;
}

export class MvdsMessages {
  constructor(private readonly core: MvdsCore) {}

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
    await this.core.node(node);
    let afterSeq = 0;
    if (after) {
      const m = await this.core.repo.message(node, after);
      if (!m || compareBytes(m.groupId, group) !== 0) {
        throw new NotFoundError(`No message ${toHex0x(after)} in group ${toHex0x(group)}`);
      }
      afterSeq = m.seq;
    }
    return await this.core.repo.messagesAfter(node, group, afterSeq, limit);
  }

  /** A message and its delivery to each peer that has or had a record for it. */
  async getMessage(
    node: Uint8Array,
    id: Uint8Array,
  ): Promise<{ message: StoredMessage; delivery: Map<string, DeliveryState> }> {
    const { repo } = this.core;
    const { config } = await this.core.node(node);
    const message = await repo.message(node, id);
    if (!message) throw new NotFoundError(`Node ${toHex0x(node)} holds no message ${toHex0x(id)}`);
    const peers = await repo.groupPeers(node, message.groupId, MVDS_LIMITS.peersPerGroup);
    const [records, finals] = await Promise.all([
      repo.recordsFor(node, id, peers),
      repo.deliveries(node, id),
    ]);
    const delivery = new Map<string, DeliveryState>();
    for (const { peer, delivery: d } of finals) delivery.set(toHex0x(peer), finalState(d));
    peers.forEach((peer, i) => {
      const r = records[i];
      if (r) delivery.set(toHex0x(peer), recordState(r, config.mode));
    });
    return { message, delivery };
  }
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
