/**
 * Group commit: concurrent callers each submit one item; items that arrive
 * while a commit is in flight are committed together in the next one (with
 * `maxInFlight` > 1, up to that many batches commit at once, so one can be
 * prepared while another is written). No caller is answered before the
 * commit that holds its item has finished, so an acknowledgement always
 * means durable.
 *
 * @example
 * ```ts
 * const gc = new GroupCommitter((items) => repo.insert(items), 1000);
 * const stored = await gc.submit(record);
 * ```
 */
export class GroupCommitter<T, R> {
  #queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  #active = 0;

  constructor(
    private readonly flush: (items: T[]) => Promise<R[]>,
    private readonly maxBatch: number,
    private readonly maxInFlight = 1,
  ) {}

  /** Items waiting for the next commit. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Queues an item; resolves with its result once its batch is committed. */
  submit(item: T): Promise<R> {
    const { promise, resolve, reject } = Promise.withResolvers<R>();
    this.#queue.push({ item, resolve, reject });
    if (this.#active < this.maxInFlight) {
      this.#active++;
      // Let callers that arrive in the same tick join the first batch.
      queueMicrotask(() => this.#drain());
    }
    return promise;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.maxBatch);
      try {
        const results = await this.flush(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(results[i]));
      } catch (e) {
        for (const b of batch) b.reject(e);
      }
    }
    this.#active--;
  }
}
