/**
 * Reads length-delimited frames from any byte stream, bounded: the length a
 * header announces is checked against the maximum before anything is
 * allocated, and a frame's body is read into one buffer of exactly its size.
 * On a byte stream (a Deno socket's `readable`) reads go through a BYOB
 * reader, so the bytes land straight in the frame and nothing past the
 * current frame is taken from the socket; other streams (a node socket
 * adapted with `readableOf`), and any stream with `buffered`, are copied
 * once from their chunks, which may hold many frames: a protocol of small
 * frames (RemoteFile's deltas are 7 bytes) then pays one socket read for a
 * whole burst instead of two for each frame.
 *
 * Any error ends the reader: later reads throw it again. A read timeout or an
 * aborted read also cancels the source (which closes a socket), since the
 * read in flight can be stopped no other way; after a frame error
 * (TooLargeError, a header the FrameHeader rejects) the source is left to its
 * owner, who may still write a close reason to the peer.
 *
 * @example
 * ```ts
 * const reader = new FrameReader(conn.readable, {
 *   header: lengthPrefix({ size: 4 }),
 *   maxFrameBytes: 1 << 20,
 *   readTimeoutMs: 30_000,
 * });
 * for await (const { body } of reader) handle(body);
 * ```
 */
import { TooLargeError, UnavailableError } from "../lib/errors.ts";
import type { FrameHeader } from "../lib/frame_header.ts";

/** One frame: its header bytes (a copy) and its body (a buffer of exactly its length). */
export interface Frame {
  header: Uint8Array;
  body: Uint8Array;
}

export interface FrameReaderOptions {
  /** The framing; one read may use another (e.g. a handshake framed differently). */
  header: FrameHeader;
  /** Largest body accepted; a header announcing more throws TooLargeError. */
  maxFrameBytes: number;
  /**
   * Once a frame's first byte has arrived, the whole frame must arrive within
   * this many ms, or the read throws UnavailableError: a peer cannot hold a
   * reader by trickling bytes. Unset: no limit.
   */
  readTimeoutMs?: number;
  /**
   * Read ahead: take whatever the source has, not only the current frame's
   * bytes. For connections whose stream is never handed on mid-way (no
   * STARTTLS, no protocol switch). Default false.
   */
  buffered?: boolean;
  /** Told the size of every read from the source (activity for idle timers, byte counts). */
  onBytes?: (n: number) => void;
  /** Told when the reader cancels the source itself (a read timeout, an aborted read). */
  onCancel?: (reason: unknown) => void;
}

/** Options of one read. */
export interface ReadOptions {
  /** Framing for this read only. */
  header?: FrameHeader;
  /**
   * A lower limit for this read's body (a handshake's, say), checked like
   * the reader's own before anything is allocated; `what` names the frame in
   * the TooLargeError (default "frame").
   */
  maxFrameBytes?: number;
  what?: string;
  /** Aborting ends the reader (and cancels the source); the read throws the signal's reason. */
  signal?: AbortSignal;
}

/** A source of bytes: fills `view[at..]` with at least one byte, or reports the end (n = 0). */
interface Source {
  readInto(view: Uint8Array, at: number): Promise<{ view: Uint8Array; n: number }>;
  cancel(reason: unknown): Promise<void>;
}

/** A byte stream read with a BYOB reader: the stream writes into our buffers. */
function byobSource(reader: ReadableStreamBYOBReader): Source {
  return {
    async readInto(view, at) {
      // The read transfers the buffer (detaching `view`): view it again where it went.
      const { byteOffset, length } = view;
      const { value } = await reader.read(
        new Uint8Array(view.buffer, byteOffset + at, length - at),
      );
      if (value === undefined) return { view, n: 0 }; // cancelled
      return { view: new Uint8Array(value.buffer, byteOffset, length), n: value.length };
    },
    cancel: (reason) => reader.cancel(reason),
  };
}

/** Any other stream: chunks arrive as they come and are copied out once. */
function chunkSource(reader: ReadableStreamDefaultReader<Uint8Array>): Source {
  let rest: Uint8Array = new Uint8Array(0);
  return {
    async readInto(view, at) {
      while (rest.length === 0) {
        const { value, done } = await reader.read();
        if (done) return { view, n: 0 };
        rest = value;
      }
      const n = Math.min(rest.length, view.length - at);
      view.set(rest.subarray(0, n), at);
      rest = rest.subarray(n);
      return { view, n };
    },
    cancel: (reason) => reader.cancel(reason),
  };
}

export class FrameReader {
  readonly #source: Source;
  readonly #opts: FrameReaderOptions;
  #head: Uint8Array = new Uint8Array(0);
  #failure?: unknown;
  #ended = false;
  #busy = false;
  // Read timeout: one timer at a time, re-armed lazily rather than set per frame.
  #deadline = Infinity;
  #timer?: ReturnType<typeof setTimeout>;

  /** Locks `stream`; the reader owns it from now on. */
  constructor(stream: ReadableStream<Uint8Array>, opts: FrameReaderOptions) {
    if (!Number.isSafeInteger(opts.maxFrameBytes) || opts.maxFrameBytes < 0) {
      throw new RangeError(`maxFrameBytes ${opts.maxFrameBytes} is not a non-negative integer`);
    }
    this.#opts = opts;
    let byob: ReadableStreamBYOBReader | undefined;
    try {
      if (!opts.buffered) byob = stream.getReader({ mode: "byob" });
    } catch { /* not a byte stream */ }
    this.#source = byob ? byobSource(byob) : chunkSource(stream.getReader());
  }

  /**
   * The next frame, or null when the stream ends cleanly between frames.
   * Throws TooLargeError for a frame over the maximum, UnavailableError when
   * the stream ends or fails inside a frame or a frame times out.
   */
  read(opts: ReadOptions = {}): Promise<Frame | null> {
    return this.#guard(opts.signal, async () => {
      const header = opts.header ?? this.#opts.header;
      const head = await this.#readHeader(header);
      if (head === null) return null;
      const length = header.bodyLength(head);
      if (!Number.isSafeInteger(length) || length < 0) {
        throw new RangeError(`Frame header gave body length ${length}`);
      }
      const max = Math.min(opts.maxFrameBytes ?? Infinity, this.#opts.maxFrameBytes);
      if (length > max) throw new TooLargeError(opts.what ?? "frame", length, max);
      const body = await this.#fill(new Uint8Array(length), 0, "body", false);
      return { header: head, body };
    });
  }

  /** Exactly `n` bytes (at most maxFrameBytes), or null when the stream ends before any. */
  readExactly(n: number, opts: Omit<ReadOptions, "header"> = {}): Promise<Uint8Array | null> {
    return this.#guard(opts.signal, async () => {
      if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`Byte count ${n} is invalid`);
      if (n > this.#opts.maxFrameBytes) {
        throw new TooLargeError("read", n, this.#opts.maxFrameBytes);
      }
      const out = await this.#fill(new Uint8Array(n), 0, "data", true);
      return n > 0 && out.length === 0 ? null : out;
    });
  }

  /** Frames until the stream ends. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Frame, void, undefined> {
    for (let f = await this.read(); f !== null; f = await this.read()) yield f;
  }

  /** Ends the reader: a read in flight and every later one throw `reason`; cancels the source. */
  async cancel(reason: unknown): Promise<void> {
    this.#failure ??= reason;
    this.#stopTimer();
    await this.#source.cancel(reason).catch(() => {});
  }

  #cancelOwn(reason: unknown): void {
    if (this.#failure !== undefined) return;
    void this.cancel(reason);
    this.#opts.onCancel?.(reason);
  }

  /** Runs one read: one at a time, under its signal; any failure ends the reader. */
  async #guard<T>(signal: AbortSignal | undefined, read: () => Promise<T>): Promise<T | null> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#busy) throw new TypeError("A read is already in progress on this frame reader");
    if (this.#ended) return null;
    signal?.throwIfAborted();
    this.#busy = true;
    const onAbort = () => this.#cancelOwn(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await read();
    } catch (e) {
      this.#failure ??= e;
      this.#stopTimer();
      throw this.#failure;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.#busy = false;
      this.#deadline = Infinity;
    }
  }

  /** Reads a header, asking `header` how long it is; null at a clean end. */
  async #readHeader(header: FrameHeader): Promise<Uint8Array | null> {
    let have = 0;
    let need = header.headerLength(this.#head.subarray(0, 0));
    while (need !== have) {
      if (!Number.isSafeInteger(need) || need < have) {
        throw new RangeError(`Frame header asked for ${need} bytes after ${have}`);
      }
      if (need > header.maxHeaderBytes) {
        throw new TooLargeError("frame header", need, header.maxHeaderBytes);
      }
      if (need > this.#head.length) {
        const grown = new Uint8Array(Math.min(header.maxHeaderBytes, Math.max(need, 16)));
        grown.set(this.#head.subarray(0, have));
        this.#head = grown;
      }
      const filled = await this.#fill(this.#head.subarray(0, need), have, "header", have === 0);
      this.#head = new Uint8Array(filled.buffer); // where the bytes went (a BYOB read moves them)
      if (filled.length === 0) return null;
      have = need;
      need = header.headerLength(this.#head.subarray(0, have));
    }
    return this.#head.slice(0, have);
  }

  /**
   * Fills `view[at..]` from the source. When the stream ends before any byte
   * and `endOk`: an empty view and the reader is at its end; else UnavailableError.
   */
  async #fill(view: Uint8Array, at: number, part: string, endOk: boolean): Promise<Uint8Array> {
    while (at < view.length) {
      let r;
      try {
        r = await this.#source.readInto(view, at);
      } catch (e) {
        throw this.#failure ?? new UnavailableError("Reading the stream failed", { cause: e });
      }
      if (this.#failure !== undefined) throw this.#failure;
      view = r.view;
      if (r.n === 0) {
        if (endOk && at === 0) {
          this.#ended = true;
          this.#stopTimer();
          return view.subarray(0, 0);
        }
        throw new UnavailableError(
          `Stream ended inside a frame: ${at} of ${view.length} ${part} bytes read`,
        );
      }
      at += r.n;
      if (this.#deadline === Infinity) this.#frameStarted();
      this.#opts.onBytes?.(r.n);
    }
    return view;
  }

  #frameStarted(): void {
    const ms = this.#opts.readTimeoutMs;
    if (ms === undefined) return;
    this.#deadline = performance.now() + ms;
    if (this.#timer === undefined) this.#arm(ms);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#deadline === Infinity || this.#failure !== undefined) return;
      const left = this.#deadline - performance.now();
      if (left > 0) return this.#arm(left);
      this.#cancelOwn(
        new UnavailableError(`Frame not complete ${this.#opts.readTimeoutMs} ms after it began`),
      );
    }, ms);
  }

  #stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
