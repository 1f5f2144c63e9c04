/**
 * Live fan-out. Services publish events on named channels; WebSocket and SSE
 * subscribers receive the ones that match their filter. Events travel through
 * a Notifier, so with the BroadcastChannel notifier every isolate on Deno
 * Deploy sees them. What subscribers have waiting is bounded per subscriber
 * and for all of them together: one that falls behind is closed with a
 * reason, never buffered without limit.
 */
import { clearImmediate, setImmediate } from "node:timers";
import { utf8Length } from "../lib/bytes.ts";
import type { Metrics } from "../lib/metrics.ts";
import {
  type Entry,
  LiveSubscriber,
  SLOT_BYTES,
  type SubscribeOptions,
} from "./live_subscriber.ts";
import type { LiveEvent, Sink } from "./live_event.ts";

export type { LiveEvent, Sink };

export type { SubscribeOptions };

/** Carries events between instances. */
export interface Notifier {
  send(events: LiveEvent[]): void;
  listen(fn: (events: LiveEvent[]) => void): void;
  /** Stops delivery; a notifier with work in flight (a KV feed) resolves once it is done. */
  close(): void | Promise<void>;
}

/** Delivers within this process only: the embedded default. */
export class LocalNotifier implements Notifier {
  #listeners: ((events: LiveEvent[]) => void)[] = [];
  send(events: LiveEvent[]): void {
    for (const fn of this.#listeners) fn(events);
  }
  listen(fn: (events: LiveEvent[]) => void): void {
    this.#listeners.push(fn);
  }
  close(): void {
    this.#listeners = [];
  }
}

/** Delivers locally and to every other isolate through a BroadcastChannel (Deno Deploy). */
export class BroadcastNotifier extends LocalNotifier {
  #channel = new BroadcastChannel("syncgate-live");
  constructor() {
    super();
    this.#channel.onmessage = (e: MessageEvent<LiveEvent[]>) => super.send(e.data);
  }
  override send(events: LiveEvent[]): void {
    super.send(events);
    this.#channel.postMessage(events);
  }
  override close(): void {
    this.#channel.close();
    super.close();
  }
}

/** A subscription, as its transport holds it. */
export interface Subscription {
  /** The peer went away: forget the subscriber and what it had waiting. */
  unsubscribe(): void;
  /** The transport has room again: hand it what waits. */
  flush(): void;
}

/** Options of a hub. */
export interface LiveHubOptions {
  /** Bytes all subscribers together may have waiting; past it, the ones furthest behind go. */
  totalBytes?: number;
}

/** Why a subscriber past its own limit is closed. */
export const FELL_BEHIND = "Subscriber fell behind: live buffer is full";
/** Why a subscriber is closed when all of them together are past the total. */
export const FELL_BEHIND_MOST =
  "Subscriber fell behind the most while the live buffers of all subscribers were full";

/** How often subscribers holding anything are looked at: a WebSocket tells no one it drained. */
const PUMP_INTERVAL_MS = 10;
/** Turns of the event loop a transport that kept up may stay busy before it waits for the tick. */
const FAST_TURNS = 3;

/**
 * Routes events from the notifier to the subscribers of each channel. Each
 * subscriber's backlog waits here (services/live_subscriber.ts), its
 * transport gets a small window at a time, and two budgets bound what waits:
 * one per subscriber, and one for what the process holds for all of them
 * (an event waiting in many queues counts once; what transports hold counts
 * for each). A subscriber past its own is closed; when the total would be
 * passed, the subscribers furthest behind (the oldest event waiting) are
 * closed until the new event fits: they are the ones keeping old events.
 */
export class LiveHub {
  readonly totalBytes: number;
  #channels = new Map<string, Set<LiveSubscriber>>();
  /** Subscribers holding anything: looked at every tick until they hold nothing. */
  #active = new Set<LiveSubscriber>();
  /**
   * Subscribers with a backlog whose transport keeps up: looked at again as
   * soon as the event loop has turned, with how many such looks in a row
   * found the transport still busy.
   */
  #fast = new Map<LiveSubscriber, number>();
  #held = 0;
  #seq = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #immediate: ReturnType<typeof setImmediate> | undefined;

  constructor(
    private readonly notifier: Notifier,
    private readonly metrics: Metrics,
    opts: LiveHubOptions = {},
  ) {
    this.totalBytes = opts.totalBytes ?? Infinity;
    notifier.listen((events) => this.#dispatch(events));
  }

  /** Bytes the process holds for all subscribers (here and in their transports), as last measured. */
  get heldBytes(): number {
    return this.#held;
  }

  /** Publishes events to every instance's subscribers. */
  publish(events: LiveEvent[]): void {
    if (events.length) this.notifier.send(events);
  }

  /** Adds a subscriber with its limits. */
  subscribe(channel: string, sink: Sink, opts: SubscribeOptions): Subscription {
    const sub = new LiveSubscriber(channel, sink, opts);
    let set = this.#channels.get(channel);
    if (!set) this.#channels.set(channel, set = new Set());
    set.add(sub);
    this.metrics.liveSubscribers.add(1, { channel });
    return {
      unsubscribe: () => void this.#remove(sub),
      flush: () => {
        if (this.#channels.get(channel)?.has(sub)) this.#pump(sub);
      },
    };
  }

  /** Closes every subscriber, e.g. on shutdown. */
  closeAll(reason: string): void {
    for (const set of [...this.#channels.values()]) {
      for (const sub of [...set]) if (this.#remove(sub)) sub.sink.close(reason);
    }
    this.#stopTimer();
  }

  #dispatch(events: LiveEvent[]): void {
    for (const event of events) {
      const set = this.#channels.get(event.channel);
      if (!set) continue;
      let entry: Entry | undefined;
      for (const sub of set) {
        if (!sub.sink.matches(event)) continue;
        entry ??= { event, size: utf8Length(event.json), seq: this.#seq++, refs: 0 };
        this.#offer(sub, entry);
      }
    }
  }

  #offer(sub: LiveSubscriber, entry: Entry): void {
    // A subscriber holding nothing takes any one event, however large.
    if (sub.held > 0 && sub.held + entry.size > sub.maxBytes) {
      this.#pump(sub); // its transport may have passed some on since last asked
      if (sub.held > 0 && sub.held + entry.size > sub.maxBytes) {
        return this.#drop(sub, FELL_BEHIND, "subscriber");
      }
    }
    if (this.#held + cost(entry) > this.totalBytes && !this.#shed(sub, entry)) return;
    this.#change(sub.push(entry));
    this.#pump(sub);
  }

  /**
   * Makes room for `entry` under the total by closing the subscribers
   * furthest behind (then those whose transports hold the most); false
   * when `sub` itself was one of them.
   */
  #shed(sub: LiveSubscriber, entry: Entry): boolean {
    for (const s of this.#active) this.#pump(s); // measure before choosing
    while (this.#held + cost(entry) > this.totalBytes) {
      let victim: LiveSubscriber | undefined;
      for (const s of this.#active) if (!victim || behind(s, victim)) victim = s;
      if (!victim) break; // nothing waits anywhere: one event always goes
      this.#drop(victim, FELL_BEHIND_MOST, "total");
      if (victim === sub) return false;
    }
    return true;
  }

  /**
   * Hands a subscriber's transport what fits, and re-measures what it holds.
   * One whose transport had passed everything on is pumped again as soon as
   * the event loop has turned, so a peer that keeps up drains a backlog at
   * its own pace rather than a window per tick; Deno runs the socket writes
   * after the immediates of a turn, so it gets a few turns before it waits
   * for the tick again.
   */
  #pump(sub: LiveSubscriber, fast = false): void {
    this.#change(sub.pump());
    if (sub.held === 0) return this.#deactivate(sub);
    this.#active.add(sub);
    if (this.#timer === undefined) {
      const timer = this.#timer = setInterval(() => this.#tick(), PUMP_INTERVAL_MS);
      Deno.unrefTimer(timer);
    }
    const busy = sub.keepingUp ? 0 : fast ? (this.#fast.get(sub) ?? 0) + 1 : FAST_TURNS;
    if (sub.queuedBytes === 0 || busy >= FAST_TURNS) return void this.#fast.delete(sub);
    this.#fast.set(sub, busy);
    this.#immediate ??= setImmediate(() => this.#pumpFast());
  }

  #tick(): void {
    for (const sub of this.#active) this.#pump(sub);
  }

  #pumpFast(): void {
    this.#immediate = undefined;
    for (const sub of [...this.#fast.keys()]) if (this.#active.has(sub)) this.#pump(sub, true);
  }

  /** Stops looking at a subscriber; the timers run only while someone holds anything. */
  #deactivate(sub: LiveSubscriber): void {
    this.#fast.delete(sub);
    if (this.#active.delete(sub) && this.#active.size === 0) this.#stopTimer();
  }

  #stopTimer(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    this.#fast.clear();
  }

  /** Forgets a subscriber and what it had waiting; false if it was gone already. */
  #remove(sub: LiveSubscriber): boolean {
    const set = this.#channels.get(sub.channel);
    if (!set?.delete(sub)) return false;
    if (set.size === 0) this.#channels.delete(sub.channel);
    this.#deactivate(sub);
    this.#change(-sub.clear());
    this.metrics.liveSubscribers.add(-1, { channel: sub.channel });
    return true;
  }

  #drop(sub: LiveSubscriber, reason: string, limit: "subscriber" | "total"): void {
    if (!this.#remove(sub)) return;
    this.metrics.liveDropped.inc({ channel: sub.channel });
    if (limit === "total") this.metrics.liveShed.inc({ channel: sub.channel });
    sub.sink.close(reason);
  }

  #change(delta: number): void {
    if (delta === 0) return;
    this.#held += delta;
    this.metrics.liveHeldBytes.add(delta);
  }
}

/** What queueing an entry once more adds to what the process holds. */
function cost(entry: Entry): number {
  return SLOT_BYTES + (entry.refs === 0 ? entry.size : 0);
}

/** Whether `a` is further behind than `b`: an older event waiting, else more held. */
function behind(a: LiveSubscriber, b: LiveSubscriber): boolean {
  return a.oldest < b.oldest || (a.oldest === b.oldest && a.held > b.held);
}
