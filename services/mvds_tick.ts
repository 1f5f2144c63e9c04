/**
 * The MVDS tick (a part of services/mvds_service.ts): a peer's payload of
 * the epoch, built from its due records and pending ACKs (`due`), and
 * handed back to be transmitted only once what building it changed is
 * committed.
 */
import { toHex0x } from "../lib/bytes.ts";
import { due } from "../protocols/mvds/due.ts";
import { idKey } from "../protocols/mvds/message_id.ts";
import { encodePayload } from "../protocols/mvds/proto.ts";
import { dueChanges, isEmptyChanges } from "./mvds_changes.ts";
import { MVDS_LIMITS, type MvdsCore } from "./mvds_core.ts";

export class MvdsTick {
  constructor(private readonly core: MvdsCore) {}

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
    const { core } = this;
    const { repo } = core;
    const { config, settings } = await core.node(node);
    const at = epoch ?? core.epoch(config);
    const n = MVDS_LIMITS.duePerTick;
    return await core.locked(node, async () => {
      for (let attempt = 0;; attempt++) {
        const head = await core.head(node);
        const [records, acks] = await Promise.all([
          repo.dueRecords(node, peer, at, n),
          repo.acks(node, peer, n),
        ]);
        const wanted = records.filter((r) => r.type === "MESSAGE").map((r) => r.id);
        const held = await repo.messages(node, wanted);
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
        const [first, ...rest] = repo.split(node, changes);
        let h = await repo.commit(node, head, first);
        if (!h) {
          await core.conflicted(node, attempt);
          continue;
        }
        for (const run of rest) {
          h = await repo.commit(node, h, run);
          if (!h) {
            core.opts.log.debug("MVDS payload given up: the node changed meanwhile", {
              node: toHex0x(node),
              peer: toHex0x(peer),
            });
            return undefined;
          }
        }
        core.publish(node, result.events);
        return result.payload && encodePayload(result.payload);
      }
    });
  }
}
