/**
 * MVDS peers connected by WebSocket (a browser or an app): binary frames
 * are Payloads both ways. The process holding the socket serves the peer:
 * it takes its payloads (MvdsService.receivePayload) and, at each of the
 * node's epochs, sends it the epoch's payload (MvdsService.tickPeer),
 * unless the peer has a url (then the leased HTTP ticker sends to it, and
 * the socket only takes payloads). Sockets are per process: the registry
 * of open sessions (services/session_registry.ts) lives and dies with it.
 * Nothing of MVDS state is kept here: a peer that reconnects elsewhere
 * carries on from KV.
 *
 * A frame that is not a Payload closes the socket with 1007 and the
 * reason; a frame over the size limit with 1009; a text frame other than
 * `{"type":"auth","token"}` with 1003. Frames are handled one at a time in
 * order; past MAX_QUEUED waiting, a frame is dropped (a lost payload, which
 * MVDS repairs). A store failure while handling one also just loses it.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { concat, toHex0x, utf8Length } from "../lib/bytes.ts";
import { delay } from "../lib/delay.ts";
import { ForbiddenError, InvalidInputError, NotFoundError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { MvdsService } from "./mvds_service.ts";
import type { Service } from "./service.ts";
import { SessionRegistry } from "./session_registry.ts";

/** Frames waiting to be handled, at most; more are dropped. */
export const MAX_QUEUED = 16;
/** A socket that came without the key has this long to send its auth frame. */
export const AUTH_TIMEOUT_MS = 10_000;
/** Bytes the socket may hold unsent before the session skips an epoch's payload. */
export const MAX_BUFFERED = 4 * 1024 * 1024;

/** Close codes (RFC 6455 and the private range). */
export const CLOSE = Object.freeze({
  goingAway: 1001,
  unsupported: 1003,
  invalid: 1007,
  tooBig: 1009,
  unauthorized: 4001,
  replaced: 4009,
});

export interface MvdsSessionsOptions {
  /** Largest frame taken. */
  maxFrameBytes: number;
  log: Logger;
}

/** How a socket was let in: authorized at the upgrade, or by an auth frame it must send. */
export interface SessionAuth {
  authorized: boolean;
  /** Checks an auth frame's token (only asked when not authorized). */
  check(token: string): boolean;
}

/** One WebSocket peer, as the registry lists it. */
export class MvdsSession {
  readonly since = new Date().toISOString();
  received = 0;
  sent = 0;
  #closed = false;
  #queue: Promise<void> = Promise.resolve();
  #queued = 0;
  #ticking = false;
  #authTimer?: ReturnType<typeof setTimeout>;
  /** Called once the socket may act as the peer (authorized); the registry takes it then. */
  onAuthorized?: () => void;

  constructor(
    readonly node: Uint8Array,
    readonly peer: Uint8Array,
    private readonly socket: WebSocket,
    private readonly mvds: MvdsService,
    private readonly auth: SessionAuth,
    private readonly opts: MvdsSessionsOptions,
  ) {}

  get status() {
    return {
      node: toHex0x(this.node),
      peer: toHex0x(this.peer),
      since: this.since,
      received: this.received,
      sent: this.sent,
    };
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(code: number, reason: string): void {
    this.#closed = true;
    try {
      this.socket.close(code, closeReason(reason));
    } catch { /* closed already */ }
  }

  /** The socket opened: start serving if it may, else wait a while for its auth frame. */
  opened(): void {
    if (this.auth.authorized) return this.#start();
    this.#authTimer = setTimeout(() => {
      if (!this.auth.authorized) {
        this.close(CLOSE.unauthorized, `Unauthorized: no auth frame within ${AUTH_TIMEOUT_MS} ms`);
      }
    }, AUTH_TIMEOUT_MS);
  }

  ended(): void {
    this.#closed = true;
    clearTimeout(this.#authTimer);
  }

  /** A frame arrived. */
  frame(data: unknown): void {
    if (this.#closed) return;
    if (typeof data === "string") return this.#text(data);
    if (!this.auth.authorized) {
      return this.close(
        CLOSE.unauthorized,
        'Unauthorized: send {"type":"auth","token":"<key>"} first',
      );
    }
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : undefined;
    if (!bytes) return this.close(CLOSE.unsupported, "Unsupported frame");
    if (bytes.length > this.opts.maxFrameBytes) {
      return this.close(CLOSE.tooBig, `Frame larger than ${this.opts.maxFrameBytes} bytes`);
    }
    if (this.#queued >= MAX_QUEUED) {
      this.opts.log.debug("MVDS WebSocket frame dropped: too many waiting", this.status);
      return;
    }
    this.#queued++;
    this.#queue = this.#queue.then(() => this.#receive(bytes)).finally(() => this.#queued--);
  }

  #text(text: string): void {
    let token: unknown;
    try {
      const frame = JSON.parse(text);
      if (frame?.type === "auth") token = frame.token;
    } catch { /* not JSON */ }
    if (typeof token !== "string") {
      return this.close(
        CLOSE.unsupported,
        'Binary MVDS payloads only (and {"type":"auth","token"})',
      );
    }
    if (!this.auth.authorized) {
      if (!this.auth.check(token)) {
        return this.close(CLOSE.unauthorized, "Unauthorized: wrong token");
      }
      this.auth.authorized = true;
      this.#start();
    }
    if (this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "auth", ok: true }));
    }
  }

  async #receive(bytes: Uint8Array): Promise<void> {
    if (this.#closed) return;
    try {
      await this.mvds.receivePayload(this.node, this.peer, bytes);
      this.received++;
    } catch (e) {
      if (e instanceof InvalidInputError) return this.close(CLOSE.invalid, e.message);
      if (e instanceof ForbiddenError || e instanceof NotFoundError) {
        return this.close(CLOSE.unauthorized, e.message);
      }
      // The store failed or is busy: this payload is lost; the peer resends.
      this.opts.log.warn("MVDS WebSocket payload not handled", { ...this.status, error: e });
    }
  }

  /** Marks the peer heard, then sends each epoch's payload while the socket is open. */
  #start(): void {
    if (this.#ticking) return;
    this.#ticking = true;
    clearTimeout(this.#authTimer);
    this.onAuthorized?.();
    this.#loop().catch((e) => {
      this.opts.log.warn("MVDS WebSocket session failed", { ...this.status, error: e });
      this.close(CLOSE.goingAway, "Session failed; reconnect");
    });
  }

  async #loop(): Promise<void> {
    await this.mvds.peerSeen(this.node, this.peer);
    const info = await this.mvds.assertPeer(this.node, this.peer);
    if (info.url) return; // the HTTP ticker sends to peers with a url
    const config = await this.mvds.config(this.node);
    while (!this.#closed) {
      if (this.socket.readyState === WebSocket.OPEN && this.socket.bufferedAmount < MAX_BUFFERED) {
        const epoch = this.mvds.epoch(config);
        try {
          const bytes = await this.mvds.tickPeer(this.node, this.peer, epoch);
          if (bytes && !this.#closed && this.socket.readyState === WebSocket.OPEN) {
            this.socket.send(bytes);
            this.sent++;
          }
        } catch (e) {
          this.opts.log.warn("MVDS WebSocket tick failed", { ...this.status, error: e });
        }
      }
      await delay(Math.max(1, this.mvds.msToNextEpoch(config)));
    }
  }
}

/** The WebSocket peers of this process. */
export class MvdsSessions implements Service {
  readonly registry = new SessionRegistry<MvdsSession>();

  constructor(private readonly mvds: MvdsService, private readonly opts: MvdsSessionsOptions) {}

  start(): void {}

  /** Closes every session (1001). */
  stop(): Promise<void> {
    for (const { id } of this.registry.list()) {
      this.registry.find(id)?.close(CLOSE.goingAway, "Gateway is shutting down");
      this.registry.unregister(id);
    }
    return Promise.resolve();
  }

  /**
   * Serves `peer` of `node` on an upgraded socket; a newer socket for the
   * same pair replaces the older (closed with 4009), but only once it is
   * authorized: a socket without the key cannot push the peer's out.
   */
  accept(socket: WebSocket, node: Uint8Array, peer: Uint8Array, auth: SessionAuth): MvdsSession {
    socket.binaryType = "arraybuffer";
    const session = new MvdsSession(node, peer, socket, this.mvds, auth, this.opts);
    const id = sessionId(node, peer);
    session.onAuthorized = () => {
      const old = this.registry.find(id);
      if (old) {
        old.close(CLOSE.replaced, "Replaced by a newer connection of the same peer");
        this.registry.unregister(id);
      }
      this.registry.register(session, { id });
    };
    socket.onopen = () => session.opened();
    socket.onmessage = (ev) => session.frame(ev.data);
    socket.onerror = () => {};
    socket.onclose = () => {
      session.ended();
      if (this.registry.find(id) === session) this.registry.unregister(id);
    };
    return session;
  }
}

/** A registry id for a (node, peer) pair: both ids together may exceed the registry's 128 characters. */
function sessionId(node: Uint8Array, peer: Uint8Array): string {
  return "mvds-" +
    sha256(concat([new Uint8Array([node.length]), node, peer])).subarray(0, 16).toHex();
}

/** A close reason within the 123 bytes a close frame allows. */
function closeReason(text: string): string {
  let out = text;
  while (utf8Length(out) > 123) out = out.slice(0, -1);
  return out;
}
