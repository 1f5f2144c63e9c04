/**
 * Errors by meaning, thrown below the HTTP edge (storage, services) so that
 * HTTP routes and TCP or TLS sessions can each answer them in their own
 * terms: error.ts maps them to problem+json, a peer session to a NACK or a
 * close reason. Each takes a `cause` where there is one.
 *
 * @example
 * ```ts
 * throw new InvalidInputError("contentTopic", "must not be empty");
 * throw new TooLargeError("body", 70_000_000, 67_108_864);
 * ```
 */

/** Input that breaks a rule, naming the field (a dotted path such as `body[3].payload`). */
export class InvalidInputError extends Error {
  override name = "InvalidInputError";
  /** A stable machine-readable name for this kind of problem, e.g. "invalid-cursor". */
  readonly code?: string;
  /** A short human title for that kind, e.g. "Unknown cursor". */
  readonly title?: string;
  constructor(
    readonly field: string | undefined,
    readonly problem: string,
    options?: ErrorOptions & { code?: string; title?: string },
  ) {
    super(field ? `${field} ${problem}` : problem, options);
    this.code = options?.code;
    this.title = options?.title;
  }
}

/** What was asked for does not exist (a blob, a session, a cursor's message). */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}

/** The caller did not prove it may do this (a missing or wrong token). */
export class UnauthorizedError extends Error {
  override name = "UnauthorizedError";
}

/** The caller is known but may not do this (a sender that is not a peer of the node). */
export class ForbiddenError extends Error {
  override name = "ForbiddenError";
}

/** The request conflicts with what is stored (a lower sequence, a changed version). */
export class ConflictError extends Error {
  override name = "ConflictError";
}

/** Input over a size limit; `size` is what came (or, for a stream, what was read before stopping). */
export class TooLargeError extends Error {
  override name = "TooLargeError";
  constructor(
    readonly what: string,
    readonly size: number,
    readonly limit: number,
    options?: ErrorOptions,
  ) {
    super(`${what} is ${size} bytes; the limit is ${limit}`, options);
  }
}

/** The gateway is at a limit of its own (a full queue, too many at once): retry later. */
export class BusyError extends Error {
  override name = "BusyError";
  constructor(message: string, readonly retryAfterSeconds = 1, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The store cannot take more data: a write was refused for lack of space. Nothing of it was committed. */
export class StorageFullError extends Error {
  override name = "StorageFullError";
}

/**
 * A dependency failed (an I/O error, the store's lock held too long, a
 * remote KV unreachable, a peer gone): not the caller's fault, worth a retry.
 */
export class UnavailableError extends Error {
  override name = "UnavailableError";
  readonly retryAfterSeconds?: number;
  constructor(message: string, options?: ErrorOptions & { retryAfterSeconds?: number }) {
    super(message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/**
 * A write done in part: `cause` stopped it, and `done` says what was
 * completed (e.g. the hashes stored before a full disk), so the caller can
 * retry the rest. It is answered as its cause is, with `done` added.
 */
export class IncompleteError extends Error {
  override name = "IncompleteError";
  constructor(message: string, readonly done: Record<string, unknown>, options: ErrorOptions) {
    super(message, options);
  }
}
