/**
 * One live subscriber's backlog: the events it has not been handed yet, in
 * order, and what its transport still holds.
 *
 * The backlog stays here, in the JS heap, rather than in the transport:
 * Deno copies every WebSocket frame into its own per-socket queue (native
 * memory that glibc does not give back to the system once freed), keeps it
 * for as long as the peer keeps the connection open, and queues even the
 * close frame behind it. Here, an event is one entry shared by every
 * subscriber that waits for it, and a dropped subscriber's backlog is gone
 * at the next GC. The transport only ever gets a small window at a time.
 *
 * Two measures: `held` is what this subscriber has waiting (its own limit);
 * the deltas that push, pump and clear return are what the process holds
 * (the total): an entry counts once however many queues it is in, the
 * transport's copy once per subscriber, and each queue slot a pointer.
 */
import type { LiveEvent, Sink } from "./live_event.ts";

/** Bytes a transport may hold at once unless the subscription says otherwise. */
export const DEFAULT_WINDOW_BYTES = 16 * 1024;
/** What one queue slot costs besides its entry (a pointer, rounded up). */
export const SLOT_BYTES = 8;

/** Limits of one subscription. */
export interface SubscribeOptions {
  /** Bytes it may have waiting, here and in its transport; past it, it is closed. */
  maxBytes: number;
  /** Bytes its transport may hold at once (default 16 KiB, at most maxBytes). */
  windowBytes?: number;
}

/** An event as the hub holds it, shared by every queue it is in. */
export interface Entry {
  event: LiveEvent;
  /** UTF-8 bytes of its JSON. */
  size: number;
  /** Dispatch order: a smaller one waited longer. */
  seq: number;
  /** Queues it is in. */
  refs: number;
}

/** A subscriber: its sink, its limits and its backlog. */
export class LiveSubscriber {
  readonly maxBytes: number;
  readonly windowBytes: number;
  /** Bytes of events waiting here. */
  queuedBytes = 0;
  /** What the transport held when last asked. */
  transportBytes = 0;
  /** Whether the transport had passed on everything when last pumped: its peer keeps up. */
  keepingUp = false;
  #queue: (Entry | undefined)[] = [];
  #head = 0;
  #pumping = false;
  #again = false;

  constructor(readonly channel: string, readonly sink: Sink, opts: SubscribeOptions) {
    this.maxBytes = opts.maxBytes;
    this.windowBytes = Math.min(opts.windowBytes ?? DEFAULT_WINDOW_BYTES, opts.maxBytes);
  }

  /** Bytes waiting for this subscriber's peer, here and in its transport. */
  get held(): number {
    return this.queuedBytes + this.transportBytes;
  }

  /** The dispatch order of its oldest waiting event; Infinity when none waits here. */
  get oldest(): number {
    return this.#queue[this.#head]?.seq ?? Infinity;
  }

  /** Adds an entry to the backlog; returns what the process holds more. */
  push(entry: Entry): number {
    this.#queue.push(entry);
    this.queuedBytes += entry.size;
    return SLOT_BYTES + (entry.refs++ === 0 ? entry.size : 0);
  }

  /**
   * Hands the transport what fits in its window (one event at least when it
   * is empty, so an event larger than the window still goes), then re-reads
   * what it holds. Returns the change in what the process holds.
   */
  pump(): number {
    if (this.#pumping) {
      // A transport that asks for more while being written to (a stream's pull).
      this.#again = true;
      return 0;
    }
    let delta = -this.transportBytes;
    this.#pumping = true;
    try {
      let inTransport = 0, sent = false;
      do {
        this.#again = false;
        inTransport = this.sink.buffered();
        this.keepingUp = inTransport === 0;
        while (this.#head < this.#queue.length) {
          const entry = this.#queue[this.#head]!;
          if (inTransport > 0 && inTransport + entry.size > this.windowBytes) break;
          this.#queue[this.#head++] = undefined;
          delta -= this.#release(entry);
          inTransport += entry.size;
          sent = true;
          this.sink.send(entry.event);
        }
        this.#compact();
      } while (this.#again);
      // Asked again only if it was given something: a stalled one costs one look.
      this.transportBytes = sent ? this.sink.buffered() : inTransport;
    } finally {
      this.#pumping = false;
    }
    return delta + this.transportBytes;
  }

  /** Forgets the backlog (the subscriber is leaving); returns what the process holds less. */
  clear(): number {
    let freed = this.transportBytes;
    for (let i = this.#head; i < this.#queue.length; i++) freed += this.#release(this.#queue[i]!);
    this.#queue = [];
    this.#head = 0;
    this.transportBytes = 0;
    return freed;
  }

  /** Takes an entry out of this queue; returns what the process holds less. */
  #release(entry: Entry): number {
    this.queuedBytes -= entry.size;
    return SLOT_BYTES + (--entry.refs === 0 ? entry.size : 0);
  }

  /** Drops the slots already sent, once they are most of the queue. */
  #compact(): void {
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
