/**
 * Waiting that a signal can cut short, and that leaves nothing behind: the
 * abort listener is removed when the wait ends either way, so a loop that
 * waits on one long-lived signal does not add a listener per turn.
 *
 * @example
 * ```ts
 * await delay(500, { signal }); // rejects with signal.reason if aborted first
 * ```
 */

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function delay(ms: number, opts: { signal?: AbortSignal } = {}): Promise<void> {
  const { signal } = opts;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Settles as `promise` does, or rejects with the signal's reason when it
 * aborts first; a value that arrives after that is handed to `late` (to
 * close a connection nobody will use). The abort listener is removed either way.
 */
export function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  late: (value: T) => void = () => {},
): Promise<T> {
  if (signal.aborted) {
    promise.then(late, () => {});
    return Promise.reject(signal.reason);
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      settled = true;
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        if (settled) late(v);
        else resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        if (!settled) reject(e);
      },
    );
  });
}

/** A signal for one bounded step; dispose it when the step ends. */
export interface Deadline extends Disposable {
  readonly signal: AbortSignal;
}

/**
 * A signal that aborts after `ms` with `timeoutReason()` (never, for
 * Infinity), or with the parent's reason when `parent` aborts first.
 * Disposing clears the timer and the listener on `parent`, so a long-lived
 * parent gains nothing per step.
 *
 * @example
 * ```ts
 * using step = deadline(5000, stopSignal, () => new UnavailableError("Timed out after 5000 ms"));
 * await connect({ signal: step.signal });
 * ```
 */
export function deadline(
  ms: number,
  parent: AbortSignal | undefined,
  timeoutReason: () => unknown,
): Deadline {
  const controller = new AbortController();
  const timer = Number.isFinite(ms)
    ? setTimeout(() => controller.abort(timeoutReason()), ms)
    : undefined;
  const onAbort = () => controller.abort(parent!.reason);
  if (parent?.aborted) onAbort();
  else parent?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    [Symbol.dispose]() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onAbort);
    },
  };
}
