/**
 * Turns within one process: the MVDS service runs one state change of a
 * node at a time here, so its own commits never conflict with each other
 * (the head check in storage/mvds_repo.ts still serializes them with
 * other processes).
 *
 * @example
 * ```ts
 * const lock = new KeyedLock();
 * await lock.run(nodeHex, async () => { … read, compute, commit … });
 * ```
 */
export class KeyedLock {
  #tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` once every earlier `run` of the same key has settled. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.#tails.set(key, tail);
    // Forget a key nobody waits on, so the map holds only busy keys.
    tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return next;
  }
}
