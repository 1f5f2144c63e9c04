/**
 * The limits of the HTTP front (services/http_front.ts), with their
 * defaults. Plain data: they cross to the front's worker as they are.
 */

/** Limits of the front; each is an option of startFront. */
export interface FrontLimits {
  /** Time to receive a whole request head, from accept or from its first byte (408 after). */
  headerTimeoutMs: number;
  /** Time a connection may sit idle between exchanges before it is closed. */
  idleTimeoutMs: number;
  /**
   * Time the front may hold bytes for a client that takes none of them (it
   * does not read, or its TCP window stays full). Then the client's
   * connection and its connection to the server are closed, so the app lets
   * go of what it holds for that client (a streaming body, a WebSocket's
   * unsent messages).
   */
  writeStallTimeoutMs: number;
  /** Client connections open at once; more are answered 503 and closed. */
  maxConnections: number;
  /** Longest request-target in bytes (414 beyond). */
  maxUrlBytes: number;
  /** Largest header section in bytes (431 beyond). */
  maxHeaderBytes: number;
  /** Most header fields (431 beyond). */
  maxHeaderCount: number;
  /**
   * File descriptors the front may hold: one per client connection and two
   * per connection to the server (its end and the server's). New connections
   * that could pass it are answered 503. Default: the process's limit less
   * 128 when readable (`/proc/self/limits` needs --allow-all), else none
   * until an EMFILE shows where the limit is.
   */
  maxFileDescriptors: number;
  /** Idle connections to the server kept for reuse. */
  maxIdleUpstream: number;
}

/** Defaults, as nginx and hyper use them roughly. */
export const DEFAULT_FRONT_LIMITS: Readonly<FrontLimits> = {
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  writeStallTimeoutMs: 30_000,
  maxConnections: 10_000,
  maxUrlBytes: 8 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 100,
  maxFileDescriptors: Infinity,
  maxIdleUpstream: 256,
};
