/**
 * Saves what changed in a connection's files, coalesced: a peer may write
 * thousands of deltas a second, far more than KV takes as single commits,
 * so changes are marked as they come and written together at most every
 * `intervalMs`. `flush()` writes now (and waits for a save in flight), for
 * the user's own writes, which are answered only once stored.
 *
 * Mirrored bytes are a copy of the peer's: what a crash loses of them is
 * the last interval, which the peer writes again after the next open.
 */
import { failureLogger, type Logger } from "../lib/log.ts";
import type { RemoteFileRepo } from "../storage/remotefile_repo.ts";
import type { FileCopies } from "./remotefile_files.ts";

export class FileSaver {
  #timer?: ReturnType<typeof setTimeout>;
  #saving: Promise<void> = Promise.resolve();
  readonly #failed: (e: unknown) => void;

  constructor(
    private readonly id: string,
    private readonly files: FileCopies,
    private readonly repo: RemoteFileRepo,
    private readonly intervalMs: number,
    log: Logger,
  ) {
    this.#failed = failureLogger(log, `Saving RemoteFile connection ${id} failed`);
  }

  /** Saves within `intervalMs` (once for any number of calls meanwhile). */
  schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush().catch(this.#failed);
    }, this.intervalMs);
  }

  /** Saves every change made so far; resolves once stored (throws the store's error). */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    // One save at a time, in order; changes made while one runs go in the next.
    const next = this.#saving.catch(() => {}).then(() => {
      if (!this.files.dirty) return;
      return this.repo.saveFiles(this.id, this.files.takeChanges());
    });
    this.#saving = next;
    return next;
  }

  /** Stops the timer and saves what is left, logging a failure. */
  async close(): Promise<void> {
    await this.flush().catch(this.#failed);
  }
}
