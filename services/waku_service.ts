/**
 * The Waku store node: takes published messages (one by one through a group
 * commit, or in bulk), answers store queries in both protocol versions,
 * pushes live messages to subscribers, and applies retention in the background.
 */
import { InvalidInputError, TooLargeError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { utf8Length } from "../lib/bytes.ts";
import {
  encodedSize,
  isInt64,
  MAX_META_BYTES,
  MAX_PROOF_BYTES,
  messageHash,
  type WakuMessage,
} from "../protocols/waku/message.ts";
import { storeEntryToJson } from "../protocols/waku/rest_json.ts";
import { retentionFor, type RetentionPolicy } from "../protocols/waku/retention_policy.ts";
import {
  type HistoryQuery,
  type HistoryResponse,
  MAX_TOPIC_BYTES,
  planQuery,
  receivedTimeSeconds,
} from "../protocols/waku/store_rpc.ts";
import { decodeRecord, type StoredMessage } from "../storage/waku_record.ts";
import { comparePos, type Position } from "../storage/index_scan.ts";
import { migrateWakuStore } from "../storage/waku_migrate.ts";
import type { WakuRepo } from "../storage/waku_repo.ts";
import { GroupCommitter } from "./group_commit.ts";
import type { LiveEvent, LiveHub } from "./live_hub.ts";
import { type ExclusiveJob, runUnderLease } from "./exclusive_job.ts";
import type { Service } from "./service.ts";

/** The live channel Waku messages are published on. */
export const WAKU_CHANNEL = "waku";

export interface WakuServiceOptions {
  maxMessageBytes: number;
  /** How far (s) a message's timestamp may be ahead of this gateway's clock. */
  maxClockSkewSeconds: number;
  retention: RetentionPolicy;
  retentionIntervalMs: number;
  /** Where background failures are reported. */
  log: Logger;
  /** Unix time in ns; injectable for tests. */
  now?: () => bigint;
}

/** A message to publish on a pubsub topic. */
export interface Publication {
  pubsubTopic: string;
  message: WakuMessage;
}

/** What publishing did: the message hash, and whether it was newly stored (or what failed). */
export interface PublishResult {
  hash: Uint8Array;
  stored: boolean;
  /** Set when the message's commit failed: it is not stored (bulk publishes only). */
  error?: unknown;
}

/** Single publishes waiting for the group commit; more are refused as busy. */
export const MAX_PENDING_PUBLISHES = 20_000;

/** A store v3 query as nwaku's REST API takes it, after validation. */
export interface StoreQuery {
  pubsubTopic?: string;
  contentTopics: string[];
  startTime?: bigint;
  endTime?: bigint;
  hashes: Uint8Array[];
  cursor?: Uint8Array;
  pageSize: number;
  ascending: boolean;
}

/** A page of stored records (see storage/waku_record.ts), oldest→newest. */
export interface StorePage {
  records: Uint8Array[];
  cursor?: Uint8Array;
}

const systemNow = () =>
  BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e3)) * 1000n;

export class WakuService implements Service {
  readonly #now: () => bigint;
  #lastReceived = 0n;
  #committer: GroupCommitter<StoredMessage, boolean>;
  #jobs: ExclusiveJob[] = [];
  #retaining?: Promise<number>;

  constructor(
    private readonly repo: WakuRepo,
    private readonly hub: LiveHub,
    private readonly opts: WakuServiceOptions,
  ) {
    this.#now = opts.now ?? systemNow;
    // Two batches in flight: one is prepared while KV writes the other (measured ~+20%).
    this.#committer = new GroupCommitter((recs) => this.repo.insert(recs), {
      maxBatch: 1000,
      maxInFlight: 2,
      maxQueue: MAX_PENDING_PUBLISHES,
    });
  }

  /** A receive time in ns that never repeats or goes back within this process. */
  #receivedTime(): bigint {
    const now = this.#now();
    this.#lastReceived = now > this.#lastReceived ? now : this.#lastReceived + 1n;
    return this.#lastReceived;
  }

  /** Checks a publication against the store's rules and fills in a missing timestamp. */
  validate(p: Publication, where = ""): Publication {
    const at = (f: string) => where ? `${where}.${f}` : f;
    if (p.pubsubTopic.length === 0) throw fieldError(at("pubsubTopic"), "must not be empty");
    for (
      const [field, topic] of [["pubsubTopic", p.pubsubTopic], [
        "contentTopic",
        p.message.contentTopic,
      ]]
    ) {
      if (!topic.isWellFormed()) {
        throw fieldError(at(field), "must be valid Unicode (it has a lone surrogate)");
      }
    }
    if (utf8Length(p.pubsubTopic) > MAX_TOPIC_BYTES) {
      throw fieldError(at("pubsubTopic"), `is longer than ${MAX_TOPIC_BYTES} bytes`);
    }
    const m = p.message;
    if (m.contentTopic.length === 0) throw fieldError(at("contentTopic"), "must not be empty");
    if (utf8Length(m.contentTopic) > MAX_TOPIC_BYTES) {
      throw fieldError(at("contentTopic"), `is longer than ${MAX_TOPIC_BYTES} bytes`);
    }
    if (!isInt64(m.timestamp)) {
      throw fieldError(at("timestamp"), "does not fit a signed 64-bit integer");
    }
    if ((m.meta?.length ?? 0) > MAX_META_BYTES) {
      throw fieldError(
        at("meta"),
        `is ${m.meta!.length} bytes; at most ${MAX_META_BYTES} are allowed`,
      );
    }
    if ((m.rateLimitProof?.length ?? 0) > MAX_PROOF_BYTES) {
      throw fieldError(
        at("rateLimitProof"),
        `is ${m.rateLimitProof!.length} bytes; at most ${MAX_PROOF_BYTES} are stored`,
      );
    }
    const now = this.#now();
    // A message from the future would outlive time retention by as much: refuse it.
    if (m.timestamp > now + BigInt(this.opts.maxClockSkewSeconds) * 1_000_000_000n) {
      throw fieldError(
        at("timestamp"),
        `is more than ${this.opts.maxClockSkewSeconds} s ahead of this gateway's clock`,
      );
    }
    const message = m.timestamp === 0n ? { ...m, timestamp: now } : m;
    const size = encodedSize(message);
    if (size > this.opts.maxMessageBytes) {
      throw new TooLargeError(at("message"), size, this.opts.maxMessageBytes);
    }
    return { pubsubTopic: p.pubsubTopic, message };
  }

  #record(p: Publication): StoredMessage {
    return {
      hash: messageHash(p.pubsubTopic, p.message),
      pubsubTopic: p.pubsubTopic,
      receivedTime: this.#receivedTime(),
      message: p.message,
    };
  }

  /** Publishes one validated message: stored (unless ephemeral) before it is answered. */
  async publish(p: Publication): Promise<PublishResult> {
    const rec = this.#record(p);
    if (p.message.ephemeral) {
      this.#emit([rec]);
      return { hash: rec.hash, stored: false };
    }
    const stored = await this.#committer.submit(rec);
    if (stored) this.#emit([rec]);
    return { hash: rec.hash, stored };
  }

  /**
   * Publishes validated messages in bulk; each result says whether its
   * message was stored, or the error its commit met (the messages stored
   * before a failure stay stored, and go out live).
   */
  async publishMany(ps: readonly Publication[]): Promise<PublishResult[]> {
    const recs = ps.map((p) => this.#record(p));
    const durable = recs.filter((r) => !r.message.ephemeral);
    const outcomes = await this.repo.insert(durable);
    const byRec = new Map(durable.map((r, i) => [r, outcomes[i]]));
    const results = recs.map((rec): PublishResult => {
      const o = byRec.get(rec);
      if (!o) return { hash: rec.hash, stored: false };
      return o.status === "fulfilled"
        ? { hash: rec.hash, stored: o.value }
        : { hash: rec.hash, stored: false, error: o.reason };
    });
    this.#emit(recs.filter((r, i) => r.message.ephemeral || results[i].stored));
    return results;
  }

  /** Sends messages to live subscribers, as store entries in nwaku's JSON. */
  #emit(recs: StoredMessage[]): void {
    const events: LiveEvent[] = recs.map((r) => ({
      channel: WAKU_CHANNEL,
      attrs: { pubsubTopic: r.pubsubTopic, contentTopic: r.message.contentTopic },
      json: storeEntryToJson(r.hash, r.pubsubTopic, r.message, true),
    }));
    this.hub.publish(events);
  }

  /**
   * Store v3 (nwaku REST) query: order (timestamp, hash); pages oldest→newest.
   * Every filter applies, `hashes` too (as nwaku's archive ANDs them).
   */
  async storeQuery(q: StoreQuery): Promise<StorePage> {
    let cursor;
    if (q.cursor) {
      const at = await this.repo.locate(q.cursor);
      if (!at) throw unknownCursor(q.cursor);
      cursor = { time: at.timestamp, hash: q.cursor };
    }
    if (q.hashes.length > 0) return await this.#byHashes(q, cursor);
    const page = await this.repo.page({
      order: "timestamp",
      contentTopics: q.contentTopics,
      pubsubTopic: q.pubsubTopic,
      startTime: q.startTime,
      endTime: q.endTime,
      cursor,
      forward: q.ascending,
      pageSize: q.pageSize,
    });
    return { records: page.records, cursor: page.next?.hash };
  }

  /** A page of the named messages that pass the other filters, paged as any query. */
  async #byHashes(q: StoreQuery, cursor?: Position): Promise<StorePage> {
    const topics = new Set(q.contentTopics);
    const from = (r: Uint8Array) => {
      const m = decodeRecord(r);
      return { r, pos: { time: m.message.timestamp, hash: m.hash }, m };
    };
    let found = (await this.repo.getByHashes(q.hashes)).map(from).filter(({ pos, m }) =>
      (q.pubsubTopic === undefined || m.pubsubTopic === q.pubsubTopic) &&
      (topics.size === 0 || topics.has(m.message.contentTopic)) &&
      (q.startTime === undefined || pos.time >= q.startTime) &&
      (q.endTime === undefined || pos.time <= q.endTime) &&
      (!cursor || comparePos(pos, cursor, q.ascending) > 0)
    );
    // Oldest→newest; a backward page is the newest ones before the cursor.
    if (!q.ascending) found = found.reverse();
    const more = found.length > q.pageSize;
    const page = found.slice(0, q.pageSize);
    const last = page.at(-1);
    if (!q.ascending) page.reverse();
    return {
      records: page.map((f) => f.r),
      cursor: more && last ? last.pos.hash : undefined,
    };
  }

  /**
   * Store 2.0.0-beta2 query: order (receivedTime, digest). The float
   * receivedTime of a cursor cannot locate a message, so the cursor is
   * resumed by its digest; an unknown digest is an error.
   */
  async historyQuery(query: HistoryQuery): Promise<HistoryResponse> {
    let plan;
    try {
      plan = planQuery(query);
    } catch (e) {
      throw new InvalidInputError(undefined, (e as Error).message, { cause: e });
    }
    let cursor;
    if (plan.cursor) {
      const at = await this.repo.locate(plan.cursor);
      if (!at) throw unknownCursor(plan.cursor);
      cursor = { time: at.receivedTime, hash: plan.cursor };
    }
    const forward = plan.direction === "forward";
    const page = await this.repo.page({
      order: "received",
      contentTopics: plan.topics,
      cursor,
      forward,
      pageSize: plan.pageSize,
    });
    const msgs = page.records.map(decodeRecord);
    const edge = msgs.length ? (forward ? msgs[msgs.length - 1] : msgs[0]) : undefined;
    return {
      messages: msgs.map((r) => r.message),
      pagingInfo: {
        pageSize: msgs.length,
        direction: plan.direction,
        cursor: edge
          ? { digest: edge.hash, receivedTime: receivedTimeSeconds(edge.receivedTime) }
          : query.pagingInfo?.cursor,
      },
    };
  }

  /** One retention pass over every pubsub topic; returns how many messages it deleted. */
  applyRetention(signal?: AbortSignal): Promise<number> {
    this.#retaining ??= this.#retain(signal).finally(() => this.#retaining = undefined);
    return this.#retaining;
  }

  async #retain(signal?: AbortSignal): Promise<number> {
    let total = 0;
    for (const topic of (await this.repo.topics()).keys()) {
      const limits = retentionFor(this.opts.retention, topic);
      if (!limits) continue;
      const before = limits.maxAgeSeconds !== undefined
        ? this.#now() - BigInt(limits.maxAgeSeconds) * 1_000_000_000n
        : undefined;
      for (;;) {
        if (signal?.aborted) return total;
        const n = await this.repo.deleteOldest(topic, {
          before,
          keep: limits.maxCount,
          maxDelete: 1000,
        });
        total += n;
        if (n < 1000) break;
      }
    }
    return total;
  }

  /**
   * Brings a store of an earlier layout to the current one (before serving),
   * then starts retention (if any topic has limits), in one process at a
   * time, under a lease.
   */
  async start(): Promise<void> {
    const { log } = this.opts;
    await migrateWakuStore(this.repo.store, log);
    const r = this.opts.retention;
    if (r.topics.size || r.fallback) {
      this.#jobs.push(runUnderLease(this.repo.store, {
        name: "waku-retention",
        intervalMs: this.opts.retentionIntervalMs,
        job: (signal) => this.applyRetention(signal),
        log,
      }));
    }
    for (const job of this.#jobs) await job.start();
  }

  /** Stops the background work and waits for running passes. */
  async stop(): Promise<void> {
    for (const job of this.#jobs.splice(0)) await job.stop();
    await this.#retaining;
  }
}

function fieldError(field: string, problem: string): InvalidInputError {
  return new InvalidInputError(field, problem);
}

function unknownCursor(hash: Uint8Array): InvalidInputError {
  return new InvalidInputError(
    "cursor",
    `is 0x${hash.toHex()}, which is no stored message's hash; a cursor must be the hash of a stored message`,
    { code: "invalid-cursor", title: "Unknown cursor" },
  );
}
