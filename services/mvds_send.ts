/**
 * Sending MVDS messages (a part of services/mvds_service.ts): a node's
 * sends go through its send queue (services/group_commit.ts), so that
 * sends arriving while one commits are committed together, as many as fit
 * one KV commit; then the message-sent listeners (the remote-log
 * backing's seam) are called.
 */
import { toHex0x } from "../lib/bytes.ts";
import { TooLargeError } from "../lib/errors.ts";
import { idKey, messageId } from "../protocols/mvds/message_id.ts";
import { type Mode, outgoingRecord } from "../protocols/mvds/node.ts";
import type { Message } from "../protocols/mvds/proto.ts";
import type { SyncRecord } from "../protocols/mvds/record.ts";
import type { NodeChanges, NodeConfig } from "../storage/mvds_repo.ts";
import { addCosts, fits, NO_COST } from "../storage/kv.ts";
import { GroupCommitter, type Outcomes } from "./group_commit.ts";
import { MVDS_LIMITS, type MvdsCore } from "./mvds_core.ts";

/** Called after a message this node sends is committed (the remote-log backing's seam). */
export type SentListener = (e: {
  node: Uint8Array;
  id: Uint8Array;
  message: Message;
  /** Whether the send's commit wrote a remote-log "to append" marker (its group is backed). */
  marked: boolean;
}) => unknown;

/** Most sends one group commit takes (fewer when they do not fit one KV commit). */
const SEND_BATCH = 256;
/** Most sends waiting for a node's commit; past it a send is BusyError. */
const SEND_QUEUE = 8192;

/** A send's outcome: stored by this call? with a remote-log marker? */
interface SendOutcome {
  created: boolean;
  marked: boolean;
}

interface SendItem {
  id: Uint8Array;
  message: Message;
}

export class MvdsSend {
  readonly #sent: SentListener[] = [];
  readonly #senders = new Map<string, GroupCommitter<SendItem, SendOutcome>>();

  constructor(private readonly core: MvdsCore) {}

  /** Adds a listener called after each message a node sends is committed. */
  onMessageSent(listener: SentListener): void {
    this.#sent.push(listener);
  }

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
    const { core } = this;
    const { config } = await core.node(node);
    core.checkGroup(group);
    if (body.length > core.opts.maxMessageBytes) {
      throw new TooLargeError("The message body", body.length, core.opts.maxMessageBytes);
    }
    const message: Message = {
      groupId: group,
      timestamp: timestamp ?? BigInt(Math.floor(core.now() / 1000)),
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
          core.opts.log.warn("MVDS message-sent listener failed", {
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
        (items) => this.core.locked(node, () => this.#sendBatch(node, config, items)),
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
   * each against the head (MvdsCore.attempt). Per item: `created` = stored
   * by this call, false = held already (before, or earlier in the same
   * batch: a duplicate is stored once); `marked` = a remote-log marker
   * went with it.
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
        const { taken, created } = await this.core.attempt(
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
    const { core } = this;
    const groups = new Map<string, Uint8Array>();
    for (const { message } of items) groups.set(idKey(message.groupId), message.groupId);
    const [held, byGroup] = await Promise.all([
      core.repo.messages(node, items.map((x) => x.id)),
      Promise.all(
        [...groups].map(async ([k, group]) => {
          const [peers, backing] = await Promise.all([
            core.repo.groupPeers(node, group, MVDS_LIMITS.peersPerGroup),
            core.repo.backing(node, group),
          ]);
          return [k, { peers, backing }] as const;
        }),
      ).then((x) => new Map(x)),
    ]);
    const pairs = items.flatMap(({ id, message }, i) =>
      held[i] ? [] : byGroup.get(idKey(message.groupId))!.peers.map((peer) => ({ peer, id }))
    );
    const read = await core.repo.recordsOf(node, pairs);
    const current = new Map(pairs.map((p, i) => [`${idKey(p.peer)}/${idKey(p.id)}`, read[i]]));
    const epoch = core.epoch(config);
    const limits = core.repo.limitsBeside(node);
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
        backing ? core.now() : undefined,
      );
      const next = addCosts(cost, core.repo.costOf(node, mine));
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
  // The id is known: each fresh peer gets its record without hashing the message again.
  const records: NonNullable<NodeChanges["records"]> = fresh.map((peer) => ({
    peer,
    after: outgoingRecord(id, mode, epoch),
  }));
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
