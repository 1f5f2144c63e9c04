/**
 * A Notifier that carries live events between processes sharing one KV
 * (two local processes on one KV file, isolates on Deno Deploy, gateways on
 * one self-hosted denokv), through the feed of storage/live_feed.ts.
 * Deno KV's `watch` and queues do not notify across processes, so readers poll.
 *
 * - Sending: events go to this process's listeners at once (as with
 *   LocalNotifier), then into the feed in a commit of their own, after the
 *   data commit that produced them. Appends run one at a time; events sent
 *   meanwhile wait and go in the next append together, in send order. Events
 *   waiting beyond `maxPendingChars` (KV slow or failing) are dropped and logged.
 * - Receiving: after the first listen(), a poll every `pollIntervalMs` lists
 *   the entries after the last one seen (one KV `list` when nothing is new),
 *   up to `maxBatch` entries; a full batch is followed by another poll at
 *   once. Polls never overlap. Entries of this notifier's own origin (a
 *   random id per instance) are stepped over: their events went to the local
 *   listeners when they were sent.
 * - Falling behind: the feed keeps its newest entries only. A reader that
 *   finds a hole in the sequence (entries trimmed before it got to them)
 *   reports how many entries it missed through `onGap`, and goes on with the
 *   oldest entry still there. The hub can close its subscribers then, so
 *   that they resume from the store.
 * - Delivery is exactly once and in feed order while the process runs; an
 *   event sent just before a crash (committed data, feed append not yet
 *   done) never reaches other processes' subscribers; it stays in the store.
 *
 * Cost on a remote KV: each process makes 1000 / pollIntervalMs `list` calls
 * a second when idle (20/s at the default), plus one read and one commit per
 * append. Give a remote KV a longer interval (e.g. 250–1000 ms).
 */
import { createLogger, failureLogger, type Logger } from "../lib/log.ts";
import { LiveFeed, type LiveFeedOptions } from "../storage/live_feed.ts";
import type { Store } from "../storage/kv.ts";
import { type LiveEvent, LocalNotifier } from "./live_hub.ts";

/** Tuning of a KvNotifier; the defaults suit a local KV file. */
export interface KvNotifierOptions extends LiveFeedOptions {
  /** Time between polls of the feed when nothing is new (ms). */
  pollIntervalMs?: number;
  /** Most feed entries one poll reads (an entry holds up to 60 KiB of events). */
  maxBatch?: number;
  /** Characters of events that may wait for an append before new ones are dropped. */
  maxPendingChars?: number;
  /** Called with the number of feed entries this reader missed (trimmed before it read them). */
  onGap?: (missedEntries: number) => void;
  /** Where failures of polls and appends are reported. */
  log?: Logger;
}

/**
 * Delivers live events to this process's listeners and, through a feed in
 * KV, to every other process's KvNotifier on the same KV.
 *
 * @example
 * ```ts
 * const store = await openStore("./data/syncgate.kv", metrics);
 * const notifier = await KvNotifier.open(store, { pollIntervalMs: 50 });
 * const hub = new LiveHub(notifier, metrics); // listens: polling starts
 * hub.publish([{ channel: "waku", attrs: {}, json: "{}" }]); // every process's hub gets it
 * await notifier.close(); // stops polling, finishes pending appends; then close KV
 * ```
 */
export class KvNotifier extends LocalNotifier {
  /** This instance's id in the feed, to step over its own entries. */
  readonly origin: string = crypto.randomUUID();
  readonly #feed: LiveFeed;
  readonly #interval: number;
  readonly #maxBatch: number;
  readonly #maxPending: number;
  readonly #onGap: (missed: number) => void;
  readonly #log: Logger;
  readonly #pollFailed: (e: unknown) => void;
  readonly #appendFailed: (e: unknown) => void;
  #last: bigint;
  #listening = false;
  #closed = false;
  #timer?: ReturnType<typeof setTimeout>;
  #polling?: Promise<void>;
  #pending: string[] = [];
  #pendingBytes = 0;
  #appending?: Promise<void>;
  #trimming?: Promise<void>;
  #trimAgain = false;

  private constructor(feed: LiveFeed, head: bigint, opts: KvNotifierOptions) {
    super();
    this.#feed = feed;
    this.#last = head;
    this.#interval = opts.pollIntervalMs ?? 50;
    this.#maxBatch = opts.maxBatch ?? 64;
    this.#maxPending = opts.maxPendingChars ?? 16 * 1024 * 1024;
    this.#log = opts.log ?? createLogger("silent");
    this.#onGap = opts.onGap ??
      ((missed) => this.#log.warn("Live feed reader fell behind", { missedEntries: missed }));
    this.#pollFailed = failureLogger(this.#log, "Live feed poll failed");
    this.#appendFailed = failureLogger(this.#log, "Live feed append failed; events dropped");
    if (!(this.#interval >= 1) || !(this.#maxBatch >= 1)) {
      throw new RangeError(
        `pollIntervalMs and maxBatch must be at least 1, got ${this.#interval} and ${this.#maxBatch}`,
      );
    }
  }

  /** Opens a notifier that will receive what other processes send from now on. */
  static async open(store: Store, opts: KvNotifierOptions = {}): Promise<KvNotifier> {
    const feed = new LiveFeed(store, opts);
    return new KvNotifier(feed, await feed.head(), opts);
  }

  /** Delivers to this process's listeners now, and queues the events for the feed. */
  override send(events: LiveEvent[]): void {
    super.send(events);
    if (this.#closed || events.length === 0) return;
    const records = events.map(encodeEvent);
    const bytes = records.reduce((n, r) => n + r.length, 0);
    if (this.#pendingBytes + bytes > this.#maxPending) {
      this.#log.warn("Live feed append queue is full; events dropped", { events: events.length });
      return;
    }
    this.#pending.push(...records);
    this.#pendingBytes += bytes;
    this.#kickAppend();
  }

  /** Adds a listener; the first one starts polling the feed. */
  override listen(fn: (events: LiveEvent[]) => void): void {
    super.listen(fn);
    if (this.#listening || this.#closed) return;
    this.#listening = true;
    this.#schedule(this.#interval);
  }

  /** Resolves once every event sent so far is in the feed (or its append failed). */
  async flush(): Promise<void> {
    while (this.#appending) await this.#appending;
  }

  /**
   * Stops polling and drops the listeners; resolves once the poll in flight
   * and the pending appends are done, so KV may be closed after it.
   */
  override async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    super.close();
    await this.#polling;
    await this.flush();
    while (this.#trimming) await this.#trimming;
  }

  #kickAppend(): void {
    if (this.#appending) return;
    this.#appending = this.#drain().finally(() => {
      this.#appending = undefined;
      // Events sent between the last batch and this callback.
      if (this.#pending.length) this.#kickAppend();
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.length) {
      const batch = this.#pending;
      this.#pending = [];
      this.#pendingBytes = 0;
      try {
        const { trimDue } = await this.#feed.append(this.origin, batch);
        if (trimDue) this.#trim();
      } catch (e) {
        this.#appendFailed(e);
      }
    }
  }

  /** Runs a trim in the background; one due meanwhile runs after it (the head moved on). */
  #trim(): void {
    if (this.#trimming) {
      this.#trimAgain = true;
      return;
    }
    this.#trimming = this.#feed.trim().then(
      () => {},
      (e) => this.#log.warn("Live feed trim failed", { error: e }),
    ).finally(() => {
      this.#trimming = undefined;
      if (this.#trimAgain) {
        this.#trimAgain = false;
        this.#trim();
      }
    });
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#polling = this.#poll().finally(() => this.#polling = undefined);
    }, delayMs);
  }

  async #poll(): Promise<void> {
    let more = false;
    try {
      const got = await this.#feed.read(this.#last, this.#maxBatch, this.origin);
      this.#last = got.last;
      more = got.more;
      if (this.#closed) return;
      if (got.missed > 0) this.#onGap(got.missed);
      const events: LiveEvent[] = [];
      for (const entry of got.entries) {
        for (const r of entry.records) {
          const e = decodeEvent(r);
          if (e) events.push(e);
          else this.#log.warn("Live feed record is not an event; skipped", { seq: entry.seq });
        }
      }
      if (events.length) super.send(events);
    } catch (e) {
      this.#pollFailed(e);
    }
    this.#schedule(more ? 0 : this.#interval);
  }
}

/**
 * An event as one feed record: `[channel, attrs]` as JSON, a newline, then
 * the event's JSON as it is (JSON.stringify never writes a raw newline, and
 * the frame is not escaped a second time).
 */
function encodeEvent(e: LiveEvent): string {
  return `${JSON.stringify([e.channel, e.attrs])}\n${e.json}`;
}

function decodeEvent(record: string): LiveEvent | undefined {
  const nl = record.indexOf("\n");
  if (nl < 0) return undefined;
  try {
    const [channel, attrs] = JSON.parse(record.slice(0, nl));
    if (typeof channel !== "string" || typeof attrs !== "object" || attrs === null) return;
    return { channel, attrs, json: record.slice(nl + 1) };
  } catch {
    return undefined;
  }
}
