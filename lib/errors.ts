/**
 * Errors by meaning, thrown below the HTTP edge (storage, services) so that
 * HTTP routes and, later, TCP and TLS sessions can each answer them in their
 * own terms. error.ts maps them to problem+json.
 */

/** The store cannot take more data: a write was refused for lack of space. Nothing of it was committed. */
export class StorageFullError extends Error {
  override name = "StorageFullError";
}

/**
 * A dependency failed or is busy (the store's lock held too long, an I/O
 * error, a remote KV unreachable): not the caller's fault, and worth a retry.
 */
export class UnavailableError extends Error {
  override name = "UnavailableError";
  constructor(message: string, options?: ErrorOptions & { retryAfterSeconds?: number }) {
    super(message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
  readonly retryAfterSeconds?: number;
}
