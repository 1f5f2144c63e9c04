/**
 * One RemoteFile connection as the gateway keeps it: an id, the peer, its
 * files (ours and the mirrors of the peer's, which outlive any one TCP
 * connection), and, while connected, a RemoteFileSession over a
 * PeerConnection. The listener makes one per accepted connection; a client
 * connection keeps one for its whole life and serves each reconnect with
 * it (services/remotefile_client.ts), each time with a new session that
 * publishes our files again.
 *
 * `serve` runs one connection: it reads whole messages (their length
 * checked against the session's current limit before anything is
 * allocated), gives them to the session, writes what the session answers,
 * and turns the session's events into file changes, saves and live events.
 * Whatever a peer does wrong ends at most its own connection, with the
 * reason logged.
 *
 * User calls (publish, write, revoke, open, close, set a port) go through
 * the session too, so they are checked as the protocol says, and resolve
 * once stored.
 */
import { TooLargeError } from "../lib/errors.ts";
import { describeError, type Logger } from "../lib/log.ts";
import type { DefinitionLimits } from "../protocols/apx/definition.ts";
import {
  type PublishFileOptions,
  RemoteFileSession,
  type SessionEvent,
  type SessionOutput,
} from "../protocols/remotefile/session.ts";
import type { RemoteFileRepo, StoredConnection } from "../storage/remotefile_repo.ts";
import type { LiveHub } from "./live_hub.ts";
import type { PeerAddress, PeerConnection } from "./peer_connection.ts";
import { ApxView, type PortWrite } from "./remotefile_apx.ts";
import { LinkEvents } from "./remotefile_events.ts";
import { FileCopies, type FileSide, type StoredFile } from "./remotefile_files.ts";
import { FileSaver } from "./remotefile_saver.ts";

/** `client`: created by a user, reconnects; `accepted`: came to the listener. */
export type LinkKind = "client" | "accepted";

/**
 * `connecting`, `backing-off` (client, between tries), `greeting` (connected,
 * handshake not done), `connected`, `closed` (accepted, gone), `stopped`.
 */
export type LinkState =
  | "connecting"
  | "backing-off"
  | "greeting"
  | "connected"
  | "closed"
  | "stopped";

/** Writes into a peer's `.apx` parse it again at most this often (see #definitionWritten). */
const DEFINITION_REPARSE_MS = 1000;

/** Sizes a connection may reach; see the bridge's settings. */
export interface LinkLimits {
  maxMessageBytes: number;
  maxFileBytes: number;
  maxTotalBytes: number;
  /** A server's peer must send its greeting within this. */
  greetingTimeoutMs: number;
  /** Bounds for the `.apx` definitions read. */
  definition?: DefinitionLimits;
  /** Files the peer may announce on one connection. */
  maxFiles?: number;
}

export interface LinkOptions {
  id: string;
  kind: LinkKind;
  peer: string;
  /** Client: where it connects. */
  address?: PeerAddress;
  createdAt?: number;
  limits: LinkLimits;
  /** How often mirrored changes are saved. */
  saveIntervalMs: number;
  repo: RemoteFileRepo;
  hub: LiveHub;
  log: Logger;
}

/** A connection as lists show it. */
export interface LinkStatus {
  id: string;
  kind: LinkKind;
  peer: string;
  state: LinkState;
  /** Unix ms of the last state change. */
  since: number;
  lastError?: string;
  /** While connected. */
  bytesRead?: number;
  bytesWritten?: number;
}

/** Rejected commands logged per connection before the rest are only counted. */
const LOGGED_REJECTIONS = 10;

export class RemoteFileLink {
  readonly id: string;
  readonly kind: LinkKind;
  readonly peer: string;
  readonly address?: PeerAddress;
  readonly createdAt: number;
  readonly files: FileCopies;
  readonly apx: ApxView;
  #state: LinkState;
  #since = Date.now();
  #lastError?: string;
  /** The session of the current connection, or the next one's (holding our files) between. */
  #session: RemoteFileSession;
  #conn: PeerConnection | null = null;
  /** A pending parse of a peer's definition, and when the last one ran (performance.now). */
  #reparse?: ReturnType<typeof setTimeout>;
  #parsedAt = -Infinity;
  #rejected = 0;
  /** Record writes, one after another; `null` once stopped (a deleted connection stays deleted). */
  #recordWrites: Promise<void> | null = Promise.resolve();
  readonly #saver: FileSaver;
  readonly #events: LinkEvents;

  constructor(private readonly opts: LinkOptions, files = new FileCopies()) {
    this.id = opts.id;
    this.kind = opts.kind;
    this.peer = opts.peer;
    this.address = opts.address;
    this.createdAt = opts.createdAt ?? Date.now();
    this.files = files;
    this.files.closeAll();
    this.apx = new ApxView(files, opts.limits.definition);
    this.#state = opts.kind === "client" ? "connecting" : "greeting";
    this.#saver = new FileSaver(opts.id, files, opts.repo, opts.saveIntervalMs, opts.log);
    this.#events = new LinkEvents(opts.hub, opts.id);
    this.#session = this.#freshSession();
  }

  get state(): LinkState {
    return this.#state;
  }

  get status(): LinkStatus {
    const conn = this.#conn;
    return {
      id: this.id,
      kind: this.kind,
      peer: this.peer,
      state: this.#state,
      since: this.#since,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
      ...(conn ? { bytesRead: conn.bytesRead, bytesWritten: conn.bytesWritten } : {}),
    };
  }

  /** The connection's record for the store. */
  record(): StoredConnection {
    return {
      id: this.id,
      kind: this.kind,
      ...(this.address ? { address: this.address } : {}),
      peer: this.peer,
      state: this.#state,
      createdAt: this.createdAt,
      updatedAt: this.#since,
      ...(this.#state === "closed" ? { closedAt: this.#since } : {}),
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
    };
  }

  /** Moves to `state`, stores the record and tells subscribers. */
  setState(state: LinkState, reason?: string): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#since = Date.now();
    if (reason) this.#lastError = reason;
    this.#events.state(state, reason);
    if (this.#recordWrites === null) return;
    const rec = this.record();
    this.#recordWrites = this.#recordWrites.then(() => this.opts.repo.putConnection(rec)).catch(
      (e) => {
        this.opts.log.warn("saving a RemoteFile connection's state failed", {
          id: this.id,
          error: e,
        });
      },
    );
  }

  /**
   * Serves one connection until it ends (the peer goes, a protocol error,
   * `conn` closed by the caller). Never throws for what the peer does.
   */
  async serve(conn: PeerConnection, _signal?: AbortSignal): Promise<void> {
    const session = this.#session;
    this.#conn = conn;
    this.setState("greeting");
    const { greetingTimeoutMs } = this.opts.limits;
    let reason = "the peer closed the connection";
    let peerFault = false;
    const timer = setTimeout(() => {
      if (session.state !== "greeting") return;
      peerFault = true;
      conn.close(`greeting not done within ${greetingTimeoutMs} ms`);
    }, greetingTimeoutMs);
    try {
      await this.#deliver(session.start());
      while (session.state !== "closed") {
        const frame = await conn.readFrame({
          header: session.frameHeader,
          maxFrameBytes: session.maxMessageBytes,
          what: session.role === "server" && session.state === "greeting" ? "greeting" : "message",
        });
        if (frame === null) break;
        await this.#deliver(session.receiveMessage(frame.body));
      }
      if (session.closeReason) [reason, peerFault] = [session.closeReason, true];
    } catch (e) {
      reason = conn.closeReason ?? (e instanceof Error ? describeError(e) : String(e));
      peerFault ||= e instanceof TooLargeError;
    } finally {
      clearTimeout(timer);
      clearTimeout(this.#reparse);
      this.#reparse = undefined;
      session.close(reason);
      conn.close(reason);
      this.#conn = null;
      this.#session = this.#freshSession();
      this.files.closeAll();
      const fields = { id: this.id, peer: this.peer, reason };
      if (peerFault) this.opts.log.warn("RemoteFile connection closed: peer misbehaved", fields);
      else this.opts.log.info("RemoteFile connection ended", fields);
      this.#lastError = reason;
      this.setState(this.kind === "client" ? "backing-off" : "closed", reason);
      await this.#saver.close();
    }
  }

  /** From now on, state changes are no longer stored (the connection is being deleted). */
  stopSaving(): void {
    this.#recordWrites = null;
  }

  /** Stops for good: a client connection deleted, the gateway shutting down. */
  async stop(): Promise<void> {
    this.#conn?.close("stopping");
    await this.#recordWrites;
    await this.#saver.close();
  }

  // ---- user calls ----

  /** Publishes a local file (announced when connected, else on the next connection). */
  async publish(opts: PublishFileOptions): Promise<StoredFile> {
    const out = this.#session.publishFile(opts);
    const copy = this.files.put("local", out.file, this.#session.localData(out.file.name)!);
    await this.#deliver(out);
    await this.#saver.flush();
    return copy.file;
  }

  /** Writes into a local file; sent at once when the peer has it open. */
  async write(name: string, offset: number, data: Uint8Array): Promise<void> {
    const out = this.#session.writeFile(name, offset, data);
    this.files.write("local", name, offset, data);
    this.#wrote("local", name, offset, data);
    await this.#deliver(out);
    await this.#saver.flush();
  }

  /** Revokes a local file. */
  async revoke(name: string): Promise<void> {
    await this.#deliver(this.#session.revokeFile(name));
    await this.#saver.flush();
  }

  /** Opens (or closes) one of the peer's files. */
  async setRemoteOpen(name: string, open: boolean): Promise<void> {
    const out = open ? this.#session.openRemote(name) : this.#session.closeRemote(name);
    await this.#deliver(out);
    await this.#saver.flush();
  }

  /** Sets an APX port in the file we write for it (see remotefile_apx.ts). */
  async setPort(port: string, value: unknown, node?: string): Promise<PortWrite> {
    const w = this.apx.planWrite(port, value, node);
    await this.write(w.file, w.offset, w.data);
    return w;
  }

  // ---- the session's output ----

  #freshSession(): RemoteFileSession {
    const { maxMessageBytes, maxFileBytes, maxTotalBytes, maxFiles } = this.opts.limits;
    const session = new RemoteFileSession({
      role: this.kind === "client" ? "client" : "server",
      maxMessageBytes,
      maxFileBytes,
      maxTotalBytes,
      maxRemoteFiles: maxFiles,
    });
    for (const f of this.files.list("local")) {
      try {
        session.publishFile({ ...f.file, data: f.data ?? undefined });
      } catch (e) {
        this.opts.log.warn("a stored RemoteFile file cannot be published", {
          id: this.id,
          name: f.file.name,
          error: e,
        });
      }
    }
    return session;
  }

  /** Sends what the session produced (in order, at once) and handles its events. */
  #deliver(out: SessionOutput): Promise<void> {
    const conn = this.#conn;
    const sent = conn && out.send.length ? conn.write(...out.send) : Promise.resolve();
    for (const e of out.events) this.#onEvent(e);
    return sent;
  }

  #onEvent(e: SessionEvent): void {
    switch (e.type) {
      case "greetingAccepted":
        return this.setState("connected");
      case "fileInfo":
        this.files.put("remote", e.file);
        this.#events.fileInfo("remote", e.file);
        return this.#saver.schedule();
      case "open":
      case "close":
        this.files.setOpen(e.side, e.name, e.type === "open");
        this.#events.file(e.type, e.side, e.name, e.address);
        return this.#saver.schedule();
      case "revoke":
        this.files.remove(e.side, e.name);
        this.#events.file("revoke", e.side, e.name, e.address);
        return this.#saver.schedule();
      case "write":
        this.files.write("remote", e.name, e.offset, e.data);
        this.#wrote("remote", e.name, e.offset, e.data);
        if (e.name.endsWith(".apx")) this.#definitionWritten();
        return this.#saver.schedule();
      case "rejected":
        if (++this.#rejected <= LOGGED_REJECTIONS) {
          this.opts.log.warn("RemoteFile command rejected (NACK sent)", {
            id: this.id,
            peer: this.peer,
            reason: e.reason,
            ...(this.#rejected === LOGGED_REJECTIONS
              ? { note: "further rejections not logged" }
              : {}),
          });
        }
        return;
      case "protocolError":
        this.#lastError = e.reason;
        return;
      default:
        // ack, nack, heartbeat, pong, ignored: nothing to keep.
        if (this.opts.log.enabled("debug")) {
          this.opts.log.debug("RemoteFile event", { id: this.id, event: e });
        }
    }
  }

  #wrote(side: FileSide, name: string, offset: number, data: Uint8Array): void {
    this.#events.write(side, name, offset, data);
    this.#events.ports(this.apx.changed(side, name, offset, data.length));
  }

  /**
   * A write into a peer's definition: it is parsed again (on this thread)
   * at most once every DEFINITION_REPARSE_MS, the first write at once: a
   * peer writing its `.apx` byte by byte cannot make the gateway parse it
   * for every byte.
   */
  #definitionWritten(): void {
    if (this.#reparse !== undefined) return;
    const wait = this.#parsedAt + DEFINITION_REPARSE_MS - performance.now();
    const run = () => {
      this.#reparse = undefined;
      this.#parsedAt = performance.now();
      if (this.#conn) this.#publishInFiles();
    };
    if (wait <= 0) return run();
    this.#reparse = setTimeout(run, wait);
  }

  /** A peer node's definition arrived: publish the `.in` file of its require ports (APX server role). */
  #publishInFiles(): void {
    for (const f of this.apx.inFilesToPublish()) {
      try {
        const out = this.#session.publishFile({ name: f.name, size: f.data.length, data: f.data });
        this.files.put("local", out.file, f.data);
        void this.#deliver(out).catch(() => {}); // a failed write closes the connection
      } catch (e) {
        this.opts.log.warn("publishing an APX .in file failed", {
          id: this.id,
          name: f.name,
          error: e,
        });
      }
    }
  }
}
