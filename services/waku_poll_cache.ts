/**
 * One of nwaku's polling caches (the relay one, or the filter one): its
 * subscriptions and the messages received on them since the last poll.
 *
 * - Subscriptions live in KV (storage/waku_subscriptions.ts): a restart
 *   keeps them, and every process on the same KV has the same ones. Each
 *   process holds a view of them to match messages against; a change is
 *   announced on the hub's SUBSCRIPTIONS_CHANNEL, and the other processes
 *   read them again from KV.
 * - Messages come from the live hub (channel "waku"), so those published
 *   through any route, and by another process (the hub's notifier), arrive.
 *   They wait in a bounded cache in this process, as nwaku's wait in its
 *   node: a poll takes them, and a restart loses them (they stay in the
 *   store). The cache listens on the hub only while it has subscriptions.
 */
import { toHex0x } from "../lib/bytes.ts";
import { failureLogger, type Logger } from "../lib/log.ts";
import { parseStoreEntry } from "../protocols/waku/entry_json.ts";
import { type Cached, MessageCache } from "../protocols/waku/message_cache.ts";
import type { WakuMessage } from "../protocols/waku/message.ts";
import type {
  SubscriptionKind,
  Topics,
  WakuSubscriptionRepo,
} from "../storage/waku_subscriptions.ts";
import type { LiveEvent, LiveHub, Subscription } from "./live_hub.ts";
import type { Service } from "./service.ts";
import { WAKU_CHANNEL } from "./waku_service.ts";

/** The hub channel that tells other processes the subscriptions changed. */
const SUBSCRIPTIONS_CHANNEL = "waku-subscriptions";

/** A message waiting for a poll. */
export interface PolledMessage extends Cached {
  message: WakuMessage;
}

export interface PollCacheOptions {
  /** The kinds of subscription this cache serves. */
  kinds: readonly SubscriptionKind[];
  /** Messages held at most, over all its topics. */
  capacity: number;
  /** Subscriptions of each kind at most. */
  maxSubscriptions: number;
  log: Logger;
}

/** The topics of a message that subscriptions are matched on. */
interface MessageTopics {
  pubsubTopic?: string;
  contentTopic?: string;
}

/** What a subscription's key is for a message: its pubsub topic (relay), else content and pubsub topic. */
const keyFor = (kind: SubscriptionKind, a: MessageTopics): string =>
  JSON.stringify(
    kind === "relay" ? [a.pubsubTopic] : [a.contentTopic, a.pubsubTopic],
  );

/** Subscriptions and a message cache, fed from the live hub. */
export class WakuPollCache implements Service {
  readonly #id = crypto.randomUUID();
  readonly #cache: MessageCache<PolledMessage>;
  readonly #view = new Map<SubscriptionKind, Set<string>>();
  readonly #logFailure: (e: unknown) => void;
  #messages?: Subscription;
  #announcements?: Subscription;
  #running?: Promise<void>;
  #queued?: Promise<void>;

  constructor(
    private readonly repo: WakuSubscriptionRepo,
    private readonly hub: LiveHub,
    private readonly opts: PollCacheOptions,
  ) {
    this.#cache = new MessageCache(opts.capacity);
    this.#logFailure = failureLogger(opts.log, "Reading the polling subscriptions failed");
    for (const kind of opts.kinds) this.#view.set(kind, new Set());
  }

  async start(): Promise<void> {
    await this.#load();
    this.#announcements = this.hub.subscribe(SUBSCRIPTIONS_CHANNEL, {
      matches: (e) =>
        e.attrs.origin !== this.#id && this.opts.kinds.includes(e.attrs.kind as SubscriptionKind),
      buffered: () => 0,
      send: () => void this.#refresh().catch(this.#logFailure),
      close: () => this.#announcements = undefined,
    }, { maxBytes: 1 << 20 });
  }

  async stop(): Promise<void> {
    this.#announcements?.unsubscribe();
    this.#messages?.unsubscribe();
    this.#announcements = this.#messages = undefined;
    await this.#queued?.catch(() => {});
    await this.#running?.catch(() => {});
  }

  /** Subscribes; ConflictError past the kind's maximum. */
  async subscribe(kind: SubscriptionKind, subs: readonly Topics[]): Promise<void> {
    if (subs.length === 0) return;
    await this.repo.add(kind, subs, this.opts.maxSubscriptions);
    for (const s of subs) this.#view.get(kind)!.add(JSON.stringify(s));
    this.#changed(kind);
  }

  /** Unsubscribes; returns how many of `subs` were not subscribed. */
  async unsubscribe(kind: SubscriptionKind, subs: readonly Topics[]): Promise<number> {
    const distinct = new Set(subs.map((s) => JSON.stringify(s)));
    const removed = await this.repo.remove(kind, subs);
    for (const id of distinct) this.#view.get(kind)!.delete(id);
    this.#changed(kind);
    return distinct.size - removed;
  }

  /** Removes every subscription of a kind; returns how many there were. */
  async unsubscribeAll(kind: SubscriptionKind): Promise<number> {
    const removed = await this.repo.clear(kind);
    this.#view.get(kind)!.clear();
    this.#changed(kind);
    return removed;
  }

  /**
   * Whether a subscription with these leading topics exists (read from KV,
   * so a subscription made through another process counts at once).
   */
  async isSubscribed(kind: SubscriptionKind, topics: Topics): Promise<boolean> {
    return await this.repo.exists(kind, topics);
  }

  /** Takes the messages waiting on a pubsub topic (`by: "pubsub"`) or a content topic. */
  poll(by: "pubsub" | "content", topic: string): PolledMessage[] {
    return this.#cache.take((m) => (by === "pubsub" ? m.pubsubTopic : m.contentTopic) === topic);
  }

  /** After a change here: match by the new view, tell the other processes, re-read KV behind. */
  #changed(kind: SubscriptionKind): void {
    this.#applyView();
    this.hub.publish([{
      channel: SUBSCRIPTIONS_CHANNEL,
      attrs: { kind, origin: this.#id },
      json: "{}",
    }]);
    // A read of KV begun before this change may end after it: one more read puts it right.
    void this.#refresh().catch(this.#logFailure);
  }

  /** A read of KV that begins after this call (reads run one at a time). */
  #refresh(): Promise<void> {
    this.#queued ??= (async () => {
      await this.#running?.catch(() => {});
      this.#queued = undefined;
      this.#running = this.#load();
      await this.#running;
    })();
    return this.#queued;
  }

  async #load(): Promise<void> {
    for (const kind of this.opts.kinds) {
      const subs = await this.repo.list(kind, this.opts.maxSubscriptions);
      this.#view.set(kind, new Set(subs.map((s) => JSON.stringify(s))));
    }
    this.#applyView();
  }

  #matches(attrs: MessageTopics): boolean {
    for (const [kind, ids] of this.#view) if (ids.has(keyFor(kind, attrs))) return true;
    return false;
  }

  /** Drops what no subscription wants any more; listens on the hub only while any is left. */
  #applyView(): void {
    this.#cache.retain((m) => this.#matches(m));
    const any = [...this.#view.values()].some((ids) => ids.size > 0);
    if (any && !this.#messages) {
      this.#messages = this.hub.subscribe(WAKU_CHANNEL, {
        matches: (e) => this.#matches(e.attrs),
        buffered: () => 0,
        send: (e) => this.#take(e),
        close: () => this.#messages = undefined,
      }, { maxBytes: 1 << 20 });
    } else if (!any && this.#messages) {
      this.#messages.unsubscribe();
      this.#messages = undefined;
    }
  }

  #take(e: LiveEvent): void {
    try {
      const entry = parseStoreEntry(e.json);
      this.#cache.add({
        hash: toHex0x(entry.hash),
        pubsubTopic: entry.pubsubTopic,
        contentTopic: entry.message.contentTopic,
        timestamp: entry.message.timestamp,
        message: entry.message,
      });
    } catch (err) {
      this.opts.log.error("A live Waku event could not be read for polling", { error: err });
    }
  }
}
