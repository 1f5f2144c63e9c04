/**
 * One connection to a peer, whatever carries it: TCP, a unix socket, or TLS
 * over either (through node:tls, so the peer's certificate is known). It
 * reads bounded frames, writes whole messages in order, closes itself after
 * an idle period, and is closed with a reason that every pending and later
 * read or write reports. PeerListener hands these to its handler;
 * `PeerConnection.connect` opens one.
 *
 * @example
 * ```ts
 * using conn = await PeerConnection.connect({
 *   address: { transport: "tcp", hostname: "127.0.0.1", port: 22000 },
 *   tls: { cert, key, alpnProtocols: ["bep/1.0"] },
 *   frameHeader: lengthPrefix({ size: 4, at: 4 }),
 *   maxFrameBytes: 16 << 20,
 *   connectTimeoutMs: 10_000,
 *   idleTimeoutMs: 90_000,
 * });
 * const deviceId = conn.peerCertificate!.sha256;
 * await conn.write(header, body);
 * const frame = await conn.readFrame();
 * ```
 */
import { toHex0x } from "../lib/bytes.ts";
import { abortable, deadline } from "../lib/delay.ts";
import { UnavailableError } from "../lib/errors.ts";
import type { FrameHeader } from "../lib/frame_header.ts";
import { describeError } from "../lib/log.ts";
import { type Frame, FrameReader, type ReadOptions } from "./frame_reader.ts";
import { readableOf } from "./node_stream.ts";
import {
  type PeerCertificate,
  tlsAccept,
  type TlsClientOptions,
  tlsConnect,
  type TlsServer,
  type TlsSession,
} from "./tls_socket.ts";

/** Where a peer is reached or a listener binds (port 0: any free port). */
export type PeerAddress =
  | { transport: "tcp"; hostname: string; port: number }
  | { transport: "unix"; path: string };

/** Framing and timeouts of a connection. */
export interface PeerConnectionOptions {
  /** How readFrame finds frame boundaries. */
  frameHeader: FrameHeader;
  /** Largest frame body; a peer announcing more gets TooLargeError, before any allocation. */
  maxFrameBytes: number;
  /** Close the connection after this long with nothing read or written. Unset: never. */
  idleTimeoutMs?: number;
  /** A frame, once its first byte arrived, must arrive whole within this. Unset: no limit. */
  readTimeoutMs?: number;
  /** Read ahead of the current frame (FrameReaderOptions.buffered): for many small frames. */
  bufferedReads?: boolean;
}

export interface ConnectOptions extends PeerConnectionOptions {
  address: PeerAddress;
  /** Run TLS over the connection. */
  tls?: TlsClientOptions;
  /** For the connection and the TLS handshake together; past it, UnavailableError. */
  connectTimeoutMs: number;
  /** Aborting gives up connecting, rejecting with the signal's reason. */
  signal?: AbortSignal;
}

/** A connection as status pages show it. */
export interface PeerConnectionStatus {
  remote: string;
  tls: boolean;
  /** 0x-hex SHA-256 of the peer's certificate. */
  peerCertificateSha256?: string;
  alpnProtocol?: string;
  /** Unix ms. */
  openedAt: number;
  bytesRead: number;
  bytesWritten: number;
  closeReason?: string;
}

/** A byte stream and how to write to and close it. */
interface Transport {
  readable: ReadableStream<Uint8Array>;
  write(chunk: Uint8Array): Promise<void>;
  closeWrite(): Promise<void>;
  close(): void;
}

function denoTransport(conn: Deno.Conn): Transport {
  return {
    readable: conn.readable,
    async write(chunk) {
      for (let done = 0; done < chunk.length;) done += await conn.write(chunk.subarray(done));
    },
    closeWrite: () => conn.closeWrite(),
    close: () => conn.close(),
  };
}

function tlsTransport({ socket }: TlsSession, conn: Deno.Conn): Transport {
  return {
    readable: readableOf(socket),
    write: (chunk) =>
      new Promise((resolve, reject) => {
        socket.write(chunk, (e?: Error | null) => e ? reject(e) : resolve());
      }),
    closeWrite: () => new Promise((resolve) => socket.end(resolve)),
    close: () => {
      socket.destroy();
      closeQuietly(conn); // destroying the TLS socket leaves the socket under it open
    },
  };
}

/** "tcp 127.0.0.1:22000", "unix /run/x.sock": for messages. */
export function describeAddress(addr: Deno.Addr | PeerAddress): string {
  if (addr.transport === "unix" || addr.transport === "unixpacket") {
    return `unix ${(addr as Deno.UnixAddr).path}`;
  }
  const { hostname, port } = addr as Deno.NetAddr;
  return `${addr.transport} ${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

const reasonOf = (e: unknown) => e instanceof Error ? describeError(e) : String(e);

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

export class PeerConnection {
  readonly remoteAddr: Deno.Addr;
  readonly localAddr: Deno.Addr;
  /** The peer's certificate, on TLS when it sent one. */
  readonly peerCertificate?: PeerCertificate;
  /** The ALPN protocol agreed, on TLS. */
  readonly alpnProtocol?: string;
  readonly tls: boolean;
  /** Unix ms. */
  readonly openedAt = Date.now();
  /** Aborts when the connection closes; its reason is the error reads and writes then throw. */
  readonly signal: AbortSignal;
  bytesRead = 0;
  bytesWritten = 0;

  readonly #transport: Transport;
  readonly #reader: FrameReader;
  readonly #closing = new AbortController();
  #closeReason?: string;
  #writing: Promise<void> = Promise.resolve();
  #lastActive = performance.now();
  #idleTimer?: ReturnType<typeof setTimeout>;
  readonly #idleMs?: number;

  /** Connects to a peer: TCP or unix, then TLS if asked, all within connectTimeoutMs. */
  static async connect(opts: ConnectOptions): Promise<PeerConnection> {
    const where = describeAddress(opts.address);
    using step = deadline(
      opts.connectTimeoutMs,
      opts.signal,
      () =>
        new UnavailableError(`Connecting to ${where} timed out after ${opts.connectTimeoutMs} ms`),
    );
    const a = opts.address;
    const dialing: Promise<Deno.Conn> = a.transport === "tcp"
      ? Deno.connect({ hostname: a.hostname, port: a.port, signal: step.signal })
      : Deno.connect({ transport: "unix", path: a.path });
    const conn = await abortable(
      dialing.catch((e) => {
        throw new UnavailableError(`Cannot connect to ${where}: ${reasonOf(e)}`, { cause: e });
      }),
      step.signal,
      closeQuietly,
    );
    if (!opts.tls) return new PeerConnection(conn, opts);
    const session = await abortable(tlsConnect(conn, opts.tls), step.signal, (s) => {
      s.socket.destroy();
    }).catch((e) => {
      closeQuietly(conn);
      throw e;
    });
    return new PeerConnection(conn, opts, session);
  }

  /**
   * Takes an accepted connection, running the server side of TLS when `tls`
   * is given; `signal` (a handshake timeout, the listener stopping) aborts it.
   */
  static async accept(
    conn: Deno.Conn,
    opts: PeerConnectionOptions & { tls?: TlsServer; signal?: AbortSignal },
  ): Promise<PeerConnection> {
    if (!opts.tls) return new PeerConnection(conn, opts);
    if (!opts.signal) throw new TypeError("A TLS handshake needs a signal to bound it");
    const session = await abortable(tlsAccept(conn, opts.tls), opts.signal, (s) => {
      s.socket.destroy();
    }).catch((e) => {
      closeQuietly(conn);
      throw e;
    });
    return new PeerConnection(conn, opts, session);
  }

  private constructor(conn: Deno.Conn, opts: PeerConnectionOptions, session?: TlsSession) {
    this.remoteAddr = conn.remoteAddr;
    this.localAddr = conn.localAddr;
    this.tls = session !== undefined;
    this.peerCertificate = session?.peerCertificate;
    this.alpnProtocol = session?.alpnProtocol;
    this.signal = this.#closing.signal;
    this.#transport = session ? tlsTransport(session, conn) : denoTransport(conn);
    this.#reader = new FrameReader(this.#transport.readable, {
      header: opts.frameHeader,
      maxFrameBytes: opts.maxFrameBytes,
      readTimeoutMs: opts.readTimeoutMs,
      buffered: opts.bufferedReads,
      onBytes: (n) => {
        this.bytesRead += n;
        this.#lastActive = performance.now();
      },
      // A read cut short leaves the stream mid-frame: the connection cannot go on.
      onCancel: (reason) => this.close(reason instanceof Error ? reason.message : String(reason)),
    });
    this.#idleMs = opts.idleTimeoutMs;
    if (this.#idleMs !== undefined) this.#armIdle(this.#idleMs);
  }

  /** Why the connection closed, once it has. */
  get closeReason(): string | undefined {
    return this.#closeReason;
  }

  get closed(): boolean {
    return this.#closeReason !== undefined;
  }

  /**
   * The next frame, or null when the peer ended the connection between
   * frames. Throws TooLargeError for a frame over maxFrameBytes (the
   * connection stays open for a reason to be written), UnavailableError when
   * the peer goes away mid-frame, a frame times out or the connection is
   * closed. A read timeout or an aborted read closes the connection.
   */
  async readFrame(opts?: ReadOptions): Promise<Frame | null> {
    return await this.#reader.read(opts);
  }

  /** Frames until the peer ends the connection; throws as readFrame. */
  async *frames(opts?: ReadOptions): AsyncGenerator<Frame, void, undefined> {
    for (let f = await this.readFrame(opts); f !== null; f = await this.readFrame(opts)) yield f;
  }

  /** Exactly `n` bytes (at most maxFrameBytes), or null at the end; as readFrame otherwise. */
  async readExactly(n: number, opts?: Omit<ReadOptions, "header">): Promise<Uint8Array | null> {
    return await this.#reader.readExactly(n, opts);
  }

  /**
   * Writes `chunks` in order, as one unit: writes never interleave. Resolves
   * once the transport took them; rejects with UnavailableError when the
   * connection is or becomes closed (a failed write closes it).
   */
  write(...chunks: Uint8Array[]): Promise<void> {
    const write = async () => {
      if (this.signal.aborted) throw this.signal.reason;
      try {
        for (const chunk of chunks) {
          if (chunk.length === 0) continue; // node:tls fails an empty write with EPERM
          await this.#transport.write(chunk);
          this.bytesWritten += chunk.length;
          this.#lastActive = performance.now();
        }
      } catch (e) {
        if (!this.signal.aborted) this.close(`writing failed: ${reasonOf(e)}`);
        throw this.signal.reason;
      }
    };
    const done = this.#writing.then(write);
    this.#writing = done.catch(() => {});
    // A write the transport never answers still ends when the connection closes.
    return abortable(done, this.signal);
  }

  /** Ends our side after pending writes (TCP FIN, TLS close_notify); reading goes on. */
  async closeWrite(): Promise<void> {
    await this.#writing;
    if (this.signal.aborted) throw this.signal.reason;
    await this.#transport.closeWrite().catch(() => {});
  }

  /**
   * Closes the connection now; the first reason given is kept. Pending and
   * later reads and writes throw UnavailableError("Connection closed: <reason>").
   */
  close(reason = "closed"): void {
    if (this.#closeReason !== undefined) return;
    this.#closeReason = reason;
    clearTimeout(this.#idleTimer);
    const error = new UnavailableError(`Connection closed: ${reason}`);
    this.#closing.abort(error);
    void this.#reader.cancel(error);
    try {
      this.#transport.close();
    } catch { /* cancelling the reader closed it */ }
  }

  [Symbol.dispose](): void {
    this.close("disposed");
  }

  get status(): PeerConnectionStatus {
    return {
      remote: describeAddress(this.remoteAddr),
      tls: this.tls,
      peerCertificateSha256: this.peerCertificate && toHex0x(this.peerCertificate.sha256),
      alpnProtocol: this.alpnProtocol,
      openedAt: this.openedAt,
      bytesRead: this.bytesRead,
      bytesWritten: this.bytesWritten,
      closeReason: this.#closeReason,
    };
  }

  #armIdle(ms: number): void {
    this.#idleTimer = setTimeout(() => {
      const left = this.#lastActive + this.#idleMs! - performance.now();
      if (left > 0) return this.#armIdle(left);
      this.close(`idle for ${this.#idleMs} ms`);
    }, ms);
  }
}
