/**
 * MVDS groups backed by a remote log (remote-log spec 0.0.6, "Interaction
 * with MVDS"): every message a node sends in a backed group is appended to
 * a log this gateway writes, with `localHash` = the MVDS message id and the
 * encoded MVDS `Message` as content, so a peer that was away can catch up
 * from the log (services/mvds_remote_log_catch_up.ts) instead of waiting
 * for retransmissions.
 *
 * Durability: the commit that stores a sent message in a backed group also
 * writes a "to append" marker (storage/mvds_remote_log_repo.ts). After the
 * commit, `onSent` appends and deletes the marker; an append that fails, or
 * a crash before it, leaves the marker, and `drain` (a periodic job under a
 * lease) appends it later. The log refuses a localHash it has (409), which
 * here means "appended already": an append done twice (the drain racing the
 * inline append, a crash after the append but before the delete) is kept once.
 *
 * Messages sent before the backing was set up are not appended: the log
 * starts with the first message sent after it (`since` in the backing).
 *
 * @example
 * ```ts
 * const backing = new MvdsRemoteLogBacking(mvds, logs, new MvdsRemoteLogRepo(store), { log });
 * backing.attach(); // appends each message sent from now on
 * await backing.back(node, group, { mode: "paged", pageSize: 100 });
 * await backing.drain({ minAgeMs: 10_000 }); // the periodic retry
 * ```
 */
import { toHex0x } from "../lib/bytes.ts";
import { delay } from "../lib/delay.ts";
import { BusyError, ConflictError, NotFoundError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { encodeMessage } from "../protocols/mvds/message_codec.ts";
import type { Message } from "../protocols/mvds/proto.ts";
import type { LogMode } from "../protocols/remotelog/pages.ts";
import type { AppendMarker, Backing, MvdsRemoteLogRepo } from "../storage/mvds_remote_log_repo.ts";
import { checkGroup } from "./mvds_core.ts";
import type { MvdsService } from "./mvds_service.ts";
import type { LogInfo, RemoteLogService } from "./remote_log_service.ts";

/** Pairs per page of a `paged` log when not given (as `POST /logs`). */
export const DEFAULT_PAGE_SIZE = 100;

/** Markers one drain run handles at most; the rest go next run. */
const DRAIN_BATCH = 1000;
/** Appends a drain runs at once (the log's group commit batches them). */
const DRAIN_PARALLEL = 16;
/** Commits of a backing retried against other changes to the node. */
const MAX_ATTEMPTS = 32;

export interface MvdsRemoteLogOptions {
  log: Logger;
  now?: () => number;
}

/** A group's backing as `GET …/remote-log` shows it. */
export interface BackingView {
  backing: Backing;
  info: LogInfo;
  /** Sent messages not yet appended (at most 1000 counted). */
  pending: number;
}

export class MvdsRemoteLogBacking {
  readonly #now: () => number;

  constructor(
    private readonly mvds: MvdsService,
    private readonly logs: RemoteLogService,
    private readonly repo: MvdsRemoteLogRepo,
    private readonly opts: MvdsRemoteLogOptions,
  ) {
    this.#now = opts.now ?? Date.now;
  }

  /** Appends each message sent from now on (MvdsService.onMessageSent). */
  attach(): void {
    this.mvds.onMessageSent((e) => this.onSent(e));
  }

  /**
   * Backs a node's group by a new remote log, once: the same settings again
   * answer the same log (`created` false), other settings are ConflictError.
   */
  async back(
    node: Uint8Array,
    group: Uint8Array,
    settings: { mode: LogMode; pageSize?: number },
  ): Promise<{ created: boolean; backing: Backing }> {
    await this.mvds.config(node);
    checkGroup(group);
    const pageSize = settings.mode === "paged"
      ? settings.pageSize ?? DEFAULT_PAGE_SIZE
      : settings.mode === "linked"
      ? 1
      : 0;
    const existing = await this.repo.backing(node, group);
    if (existing) return { created: false, backing: same(existing, settings.mode, pageSize) };
    const log = await this.logs.create(settings.mode, pageSize || DEFAULT_PAGE_SIZE);
    const backing: Backing = {
      name: log.name,
      writeToken: log.writeToken,
      mode: settings.mode,
      pageSize,
      since: this.#now(),
    };
    // Committed on the node's head, so a send lands wholly before (no marker) or after it.
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const head = await this.mvds.repo.head(node);
      if (!head) throw new NotFoundError(`No MVDS node ${toHex0x(node)}`);
      if (await this.mvds.repo.commit(node, head, { backings: [{ group, backing }] })) {
        return { created: true, backing };
      }
      const won = await this.repo.backing(node, group);
      // Another request backed the group first: the log made here stays empty and unused.
      if (won) return { created: false, backing: same(won, settings.mode, pageSize) };
      await delay(2 + Math.random() * 10);
    }
    throw new BusyError(`MVDS node ${toHex0x(node)} kept changing; try again`);
  }

  /** A group's backing with its log's info; NotFoundError when the group is not backed. */
  async show(node: Uint8Array, group: Uint8Array): Promise<BackingView> {
    await this.mvds.config(node);
    checkGroup(group);
    const backing = await this.repo.backing(node, group);
    if (!backing) {
      throw new NotFoundError(
        `Group ${toHex0x(group)} of node ${toHex0x(node)} is not backed by a remote log`,
      );
    }
    const [info, markers] = await Promise.all([
      this.logs.info(backing.name),
      this.repo.markers(DRAIN_BATCH, { node, group }),
    ]);
    return { backing, info, pending: markers.length };
  }

  /**
   * After a send's commit: appends the message if its commit left a marker.
   * Never throws: a failure is logged and the marker stays for the drain.
   */
  async onSent(
    e: { node: Uint8Array; id: Uint8Array; message: Message; marked?: boolean },
  ): Promise<void> {
    if (e.marked === false) return; // the group is not backed: no marker to read
    const group = e.message.groupId;
    const at = await this.repo.marker(e.node, group, e.id).catch(() => null);
    if (at === null) return; // the group is not backed (or the drain got there first)
    await this.#append({ node: e.node, group, id: e.id, at }, e.message).catch(() => {});
  }

  /**
   * Appends the messages whose markers are at least `minAgeMs` old (younger
   * ones are most likely being appended by their send), at most 1000 a run.
   */
  async drain(
    opts: { minAgeMs: number; signal?: AbortSignal },
  ): Promise<{ appended: number; failed: number }> {
    const cutoff = this.#now() - opts.minAgeMs;
    const due = (await this.repo.markers(DRAIN_BATCH)).filter((m) => m.at <= cutoff);
    let appended = 0, failed = 0;
    for (let i = 0; i < due.length && !opts.signal?.aborted; i += DRAIN_PARALLEL) {
      const outcomes = await Promise.all(
        due.slice(i, i + DRAIN_PARALLEL).map((m) => this.#append(m).then(() => true, () => false)),
      );
      for (const ok of outcomes) ok ? appended++ : failed++;
    }
    return { appended, failed };
  }

  /** Appends one marked message and deletes its marker; a failure keeps the marker and throws. */
  async #append(m: AppendMarker, message?: Message): Promise<void> {
    try {
      const [backing, stored] = await Promise.all([
        this.repo.backing(m.node, m.group),
        message ? message : this.mvds.repo.message(m.node, m.id),
      ]);
      if (!backing || !stored) {
        // Nothing to append to, or nothing to append: the marker has no use.
        await this.repo.deleteMarker(m.node, m.group, m.id);
        return;
      }
      const bytes = encodeMessage({
        groupId: stored.groupId,
        timestamp: stored.timestamp,
        body: stored.body,
      }) as Uint8Array<ArrayBuffer>;
      try {
        await this.logs.append(backing.name, backing.writeToken, new Blob([bytes]).stream(), m.id);
      } catch (e) {
        if (!(e instanceof ConflictError)) throw e; // 409: the log has this id already
      }
      await this.repo.deleteMarker(m.node, m.group, m.id);
    } catch (e) {
      this.opts.log.warn("MVDS message not appended to its remote log yet; it will be retried", {
        node: toHex0x(m.node),
        id: toHex0x(m.id),
        error: (e as Error).message,
      });
      throw e;
    }
  }
}

/** The backing, if it has these settings; ConflictError otherwise. */
function same(b: Backing, mode: LogMode, pageSize: number): Backing {
  if (b.mode === mode && b.pageSize === pageSize) return b;
  const has = b.mode === "paged" ? `paged, pageSize ${b.pageSize}` : b.mode;
  throw new ConflictError(
    `The group is backed already by the remote log ${b.name} (${has}); its settings do not change`,
  );
}
