/**
 * The cache behind nwaku's polling REST routes (waku/rest_api/message_cache.nim):
 * messages received since the last poll, bounded over all topics together.
 * When it is full the message with the oldest timestamp makes room; the
 * same message twice is kept once; a poll takes (and removes) the messages
 * it asks for, in the order they came. Which messages are wanted (the
 * subscriptions) is the caller's: it adds only those, and drops the ones
 * an unsubscription leaves unwanted.
 */

/** What the cache needs to know of a message. */
export interface Cached {
  /** Identity: a message with the hash of one already held is not added. */
  hash: string;
  pubsubTopic: string;
  contentTopic: string;
  /** Unix ns; the oldest goes first when the cache is full. */
  timestamp: bigint;
}

/** A bounded cache of messages for polling. */
export class MessageCache<T extends Cached> {
  #items: T[] = [];
  #hashes = new Set<string>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`Cache capacity must be a whole number above 0, not ${capacity}`);
    }
  }

  /** How many messages are held. */
  get size(): number {
    return this.#items.length;
  }

  /** Adds a message, making room by dropping the oldest; false if it is held already. */
  add(item: T): boolean {
    if (this.#hashes.has(item.hash)) return false;
    if (this.#items.length >= this.capacity) {
      let oldest = 0;
      for (let i = 1; i < this.#items.length; i++) {
        if (this.#items[i].timestamp < this.#items[oldest].timestamp) oldest = i;
      }
      this.#hashes.delete(this.#items[oldest].hash);
      this.#items.splice(oldest, 1);
    }
    this.#items.push(item);
    this.#hashes.add(item.hash);
    return true;
  }

  /** Removes and returns the messages a poll asks for, oldest arrival first. */
  take(wanted: (item: T) => boolean): T[] {
    const taken: T[] = [];
    this.#items = this.#items.filter((item) => {
      if (!wanted(item)) return true;
      taken.push(item);
      this.#hashes.delete(item.hash);
      return false;
    });
    return taken;
  }

  /** Drops the messages no longer wanted (after an unsubscription); returns how many. */
  retain(keep: (item: T) => boolean): number {
    return this.take((item) => !keep(item)).length;
  }
}
