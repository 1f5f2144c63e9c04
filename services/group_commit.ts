/**
 * Group commit: concurrent callers each submit one item; items that arrive
 * while a commit is in flight are committed together in the next one (with
 * `maxInFlight` > 1, up to that many batches commit at once, so one can be
 * prepared while another is written). No caller is answered before the
 * commit that holds its item has finished, so an acknowledgement always
 * means durable. Each item gets its own outcome: a batch written in several
 * commits may store some items and fail others. The queue is bounded: past
 * `maxQueue` waiting items, submit refuses with BusyError.
 *
 * @example
 * ```ts
 * const gc = new GroupCommitter((items) => repo.insert(items), { maxBatch: 1000 });
 * const stored = await gc.submit(record);
 * ```
 */
import { BusyError } from "../lib/errors.ts";

/** Each item's outcome, in the order the items were given. */
export type Outcomes<R> = PromiseSettledResult<R>[];

export interface GroupCommitOptions {
  /** Most items one flush takes. */
  maxBatch: number;
  /** Flushes running at once. */
  maxInFlight?: number;
  /** Most items waiting; past it submit() throws BusyError. */
  maxQueue?: number;
}

export class GroupCommitter<T, R> {
  #queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  #active = 0;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  readonly #maxQueue: number;

  constructor(
    private readonly flush: (items: T[]) => Promise<Outcomes<R>>,
    opts: GroupCommitOptions,
  ) {
    this.#maxBatch = opts.maxBatch;
    this.#maxInFlight = opts.maxInFlight ?? 1;
    this.#maxQueue = opts.maxQueue ?? Infinity;
  }

  /** Items waiting for the next commit. */
  get pending(): number {
    return this.#queue.length;
  }

  /** True when nothing waits and no flush runs. */
  get idle(): boolean {
    return this.#queue.length === 0 && this.#active === 0;
  }

  /** Queues an item; resolves with its result once its batch is committed. */
  submit(item: T): Promise<R> {
    if (this.#queue.length >= this.#maxQueue) {
      return Promise.reject(new BusyError(`${this.#queue.length} writes are waiting to commit`));
    }
    const { promise, resolve, reject } = Promise.withResolvers<R>();
    this.#queue.push({ item, resolve, reject });
    if (this.#active < this.#maxInFlight) {
      this.#active++;
      // Let callers that arrive in the same tick join the first batch.
      queueMicrotask(() => this.#drain());
    }
    return promise;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      try {
        const outcomes = await this.flush(batch.map((b) => b.item));
        batch.forEach((b, i) => {
          const o = outcomes[i];
          if (o?.status === "fulfilled") b.resolve(o.value);
          else b.reject(o ? o.reason : new Error("The commit gave no outcome for this item"));
        });
      } catch (e) {
        for (const b of batch) b.reject(e);
      }
    }
    this.#active--;
  }
}
