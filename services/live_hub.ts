/**
 * Live fan-out. Services publish events on named channels; WebSocket and SSE
 * subscribers receive the ones that match their filter. Events travel through
 * a Notifier, so with the BroadcastChannel notifier every isolate on Deno
 * Deploy sees them. Each subscriber has a bounded buffer: one that falls
 * behind is closed with a reason, never buffered without limit.
 */
import type { Metrics } from "../lib/metrics.ts";

/** One event: a channel, the attributes filters look at, and its JSON frame. */
export interface LiveEvent {
  channel: string;
  attrs: Record<string, string>;
  json: string;
}

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

/** A subscriber's end: says which events it wants and takes them. */
export interface Sink {
  matches(event: LiveEvent): boolean;
  /** Returns false when the subscriber's buffer is full. */
  deliver(event: LiveEvent): boolean;
  /** Ends the subscription with a reason a person can read. */
  close(reason: string): void;
}

/** Routes events from the notifier to the sinks subscribed on each channel. */
export class LiveHub {
  #sinks = new Map<string, Set<Sink>>();

  constructor(private readonly notifier: Notifier, private readonly metrics: Metrics) {
    notifier.listen((events) => this.#dispatch(events));
  }

  /** Publishes events to every instance's subscribers. */
  publish(events: LiveEvent[]): void {
    if (events.length) this.notifier.send(events);
  }

  /** Adds a sink; returns the function that removes it. */
  subscribe(channel: string, sink: Sink): () => void {
    let set = this.#sinks.get(channel);
    if (!set) this.#sinks.set(channel, set = new Set());
    set.add(sink);
    this.metrics.liveSubscribers.add(1, { channel });
    return () => {
      if (set.delete(sink)) this.metrics.liveSubscribers.add(-1, { channel });
    };
  }

  /** Closes every sink, e.g. on shutdown. */
  closeAll(reason: string): void {
    for (const set of this.#sinks.values()) for (const s of [...set]) s.close(reason);
  }

  #dispatch(events: LiveEvent[]): void {
    for (const event of events) {
      const set = this.#sinks.get(event.channel);
      if (!set) continue;
      for (const sink of set) {
        if (!sink.matches(event)) continue;
        if (!sink.deliver(event)) {
          this.metrics.liveDropped.inc({ channel: event.channel });
          set.delete(sink);
          this.metrics.liveSubscribers.add(-1, { channel: event.channel });
          sink.close("Subscriber fell behind: live buffer is full");
        }
      }
    }
  }
}
