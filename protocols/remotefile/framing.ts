/**
 * Message framing on a byte stream: every RemoteFile message (the greeting
 * too, in practice) is a NumHeader length followed by that many bytes.
 * MessageReader is sans-I/O: push bytes as they arrive, in any pieces, and
 * take complete message bodies out. The announced length is checked against
 * `maxMessageBytes` before a body buffer is allocated, so a peer announcing
 * 2 GB costs nothing.
 *
 * @example
 * ```ts
 * const reader = new MessageReader({ maxMessageBytes: 65536 });
 * reader.push(new Uint8Array([3, 0x00]));       // []: need more bytes
 * reader.push(new Uint8Array([0x10, 0x2a]));    // [Uint8Array [0x00, 0x10, 0x2a]]
 * encodeMessage(new Uint8Array([0x00, 0x10, 0x2a]), 32); // [3, 0x00, 0x10, 0x2a]
 * ```
 */
import { decodeNumHeader, encodeNumHeader, type NumHeaderFormat } from "./num_header.ts";

/**
 * Default largest message body: a 1 MiB write plus its address header. Files
 * larger than that arrive fragmented (MORE_BIT) or not at all.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = (1 << 20) + 4;

/** Options of a MessageReader. */
export interface MessageReaderOptions {
  /** NumHeader format; default 32. May be changed between messages (after the greeting). */
  format?: NumHeaderFormat;
  /** Largest body accepted; default DEFAULT_MAX_MESSAGE_BYTES. May be changed between messages. */
  maxMessageBytes?: number;
}

/** Frames a message body with its NumHeader; RangeError if the format cannot carry its length. */
export function encodeMessage(body: Uint8Array, format: NumHeaderFormat = 32): Uint8Array {
  const header = encodeNumHeader(body.length, format);
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
}

const EMPTY = new Uint8Array(0);

/**
 * An incremental NumHeader message reader. After it throws (a message over
 * the limit), it is broken: every later call throws the same error.
 */
export class MessageReader {
  /** NumHeader format of the next header read. */
  format: NumHeaderFormat;
  /** Largest body accepted for the next header read. */
  maxMessageBytes: number;
  #chunks: Uint8Array[] = [];
  #chunkPos = 0;
  #available = 0;
  // A header split across pushes is collected here (at most 4 bytes).
  #head = new Uint8Array(4);
  #headLen = 0;
  #body: Uint8Array | null = null;
  #bodyLen = 0;
  #failure: RangeError | null = null;

  constructor(opts: MessageReaderOptions = {}) {
    this.format = opts.format ?? 32;
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** Bytes held that are not yet part of a returned message. */
  get buffered(): number {
    return this.#available + this.#headLen + this.#bodyLen;
  }

  /** Whether the reader holds part of a message (a stream ending now ends inside one). */
  get inMessage(): boolean {
    return this.buffered > 0;
  }

  /**
   * Adds bytes and returns every message they complete. Throws RangeError
   * when a header announces more than `maxMessageBytes`.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    this.feed(chunk);
    const out: Uint8Array[] = [];
    for (let m = this.next(); m !== null; m = this.next()) out.push(m);
    return out;
  }

  /**
   * Adds bytes without reading messages; call next() until it returns null.
   * The reader keeps a view of `chunk` until then: do not reuse its buffer before.
   */
  feed(chunk: Uint8Array): void {
    if (this.#failure) throw this.#failure;
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#available += chunk.length;
  }

  /**
   * The next complete message body (a buffer of its own), or null when more
   * bytes are needed. Throws RangeError for a message over the limit.
   */
  next(): Uint8Array | null {
    if (this.#failure) throw this.#failure;
    if (this.#body === null) {
      const length = this.#readHeader();
      if (length === null) return null;
      if (length > this.maxMessageBytes) {
        this.#failure = new RangeError(
          `Message length ${length} exceeds the limit of ${this.maxMessageBytes} bytes`,
        );
        this.#chunks = [];
        this.#available = 0;
        throw this.#failure;
      }
      this.#body = length === 0 ? EMPTY : new Uint8Array(length);
      this.#bodyLen = 0;
    }
    const body = this.#body;
    this.#bodyLen += this.#take(body.subarray(this.#bodyLen));
    if (this.#bodyLen < body.length) return null;
    this.#body = null;
    this.#bodyLen = 0;
    return body.length === 0 ? new Uint8Array(0) : body;
  }

  /** Collects header bytes; the body length once the header is whole, else null. */
  #readHeader(): number | null {
    while (true) {
      const decoded = decodeNumHeader(this.#head.subarray(0, this.#headLen), this.format);
      if (decoded !== null) {
        this.#headLen = 0;
        return decoded.value;
      }
      const need = this.#headLen === 0
        ? 1
        : (this.#head[0] & 0x80 ? (this.format === 16 ? 2 : 4) : 1);
      const got = this.#take(this.#head.subarray(this.#headLen, need));
      if (got === 0) return null;
      this.#headLen += got;
    }
  }

  /** Copies queued bytes into `dest`; returns how many. */
  #take(dest: Uint8Array): number {
    let n = 0;
    while (n < dest.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0];
      const k = Math.min(dest.length - n, chunk.length - this.#chunkPos);
      dest.set(chunk.subarray(this.#chunkPos, this.#chunkPos + k), n);
      n += k;
      this.#chunkPos += k;
      if (this.#chunkPos === chunk.length) {
        this.#chunks.shift();
        this.#chunkPos = 0;
      }
    }
    this.#available -= n;
    return n;
  }
}
