/**
 * What the parts of the MVDS service share (services/mvds_service.ts is
 * the facade): the bounds of every state change, a node's config (cached:
 * it never changes), its epoch, its turn within this process (KeyedLock),
 * the head-checked attempt that takes turns with other processes, and the
 * publishing of the state machine's events to the live hub.
 *
 * @example
 * ```ts
 * const core = new MvdsCore(repo, hub, { maxMessageBytes: 61_440, log });
 * const { config } = await core.node(id);
 * await core.locked(id, () => core.attempt(id, async () => ({ changes, result })));
 * ```
 */
import { backoffDelay } from "../lib/backoff.ts";
import { toHex0x } from "../lib/bytes.ts";
import { BusyError, InvalidInputError, NotFoundError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { idKey } from "../protocols/mvds/message_id.ts";
import type { MvdsEvent } from "../protocols/mvds/node.ts";
import { type MvdsSettings, mvdsSettings } from "../protocols/mvds/record.ts";
import type { Head, MvdsRepo, NodeChanges, NodeConfig } from "../storage/mvds_repo.ts";
import type { LiveHub } from "./live_hub.ts";
import { isEmptyChanges } from "./mvds_changes.ts";
import { liveEvent } from "./mvds_events.ts";
import { KeyedLock } from "./mvds_lock.ts";
import { delay } from "../lib/delay.ts";

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

export interface MvdsServiceOptions {
  /** Largest message body stored (bytes); larger is TooLargeError, or dropped when received. */
  maxMessageBytes: number;
  /** The wall clock in ms (tests move it). */
  now?: () => number;
  log: Logger;
}

const RETRY = { baseMs: 2, maxMs: 100 };
const MAX_ATTEMPTS = 32;

export class MvdsCore {
  /** The wall clock in ms. */
  readonly now: () => number;
  /** Node configs never change once created, so a process may keep them. */
  readonly #configs = new Map<string, { config: NodeConfig; settings: MvdsSettings }>();
  readonly #lock = new KeyedLock();

  constructor(
    readonly repo: MvdsRepo,
    private readonly hub: LiveHub,
    readonly opts: MvdsServiceOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** A node's current epoch. */
  epoch(config: { epochMs: number }): number {
    return Math.floor(this.now() / config.epochMs);
  }

  /** Ms until a node's next epoch begins. */
  msToNextEpoch(config: { epochMs: number }): number {
    return (this.epoch(config) + 1) * config.epochMs - this.now();
  }

  /** A node's config and settings; NotFoundError for an unknown node. */
  async node(node: Uint8Array): Promise<{ config: NodeConfig; settings: MvdsSettings }> {
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

  checkGroup(group: Uint8Array): void {
    checkGroup(group);
  }

  /** Runs `fn` in the node's turn within this process. */
  locked<T>(node: Uint8Array, fn: () => Promise<T>): Promise<T> {
    return this.#lock.run(idKey(node), fn);
  }

  async head(node: Uint8Array): Promise<Head> {
    const head = await this.repo.head(node);
    if (!head) throw new NotFoundError(`No MVDS node ${toHex0x(node)}`);
    return head;
  }

  /**
   * Reads the head, lets `build` read and compute, and commits its changes
   * against that head; when another process committed first, reads and
   * builds again.
   */
  async attempt<T>(
    node: Uint8Array,
    build: (head: Head) => Promise<{ changes?: NodeChanges; result: T }>,
  ): Promise<T> {
    for (let attempt = 0;; attempt++) {
      const head = await this.head(node);
      const out = await build(head);
      if (!out.changes || isEmptyChanges(out.changes)) return out.result;
      if (await this.repo.commit(node, head, out.changes)) return out.result;
      await this.conflicted(node, attempt);
    }
  }

  /**
   * After conflicting commit number `attempt` (from 0): BusyError once
   * MAX_ATTEMPTS have conflicted, else waits (backing off) before the next.
   */
  async conflicted(node: Uint8Array, attempt: number): Promise<void> {
    if (attempt + 1 >= MAX_ATTEMPTS) throw this.#busy(node);
    await delay(backoffDelay(attempt, RETRY));
  }

  #busy(node: Uint8Array): BusyError {
    return new BusyError(
      `MVDS node ${toHex0x(node)} gave up after ${MAX_ATTEMPTS} conflicting commits`,
    );
  }

  publish(node: Uint8Array, events: readonly MvdsEvent[]): void {
    if (events.length) this.hub.publish(events.map((e) => liveEvent(node, e)));
  }
}

/** A group id within the bytes a node takes; InvalidInputError naming `group` otherwise. */
export function checkGroup(group: Uint8Array): void {
  if (group.length < 1 || group.length > MVDS_LIMITS.groupIdBytes) {
    throw new InvalidInputError("group", `must be 1–${MVDS_LIMITS.groupIdBytes} bytes`);
  }
}
