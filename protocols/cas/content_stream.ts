/**
 * `vac.cas.Content {bytes data = 1}` as a stream, so that Twirp's Add and
 * Get move content of any size with flat memory: ContentReader takes the
 * message's bytes as they arrive and hands out the pieces of `data` as they
 * pass; contentPrefix is what goes before `data` when writing one.
 *
 * Reading follows the protobuf wire format: unknown fields are skipped
 * wherever they stand (groups, long deprecated, are refused). One
 * deviation: `data` may appear once. Protobuf says the last of repeated
 * occurrences wins, which a stream could only honour by holding the
 * earlier ones; no encoder writes a field twice, so a second one is
 * refused as malformed.
 *
 * @example
 * ```ts
 * const r = new ContentReader({ maxDataBytes: 1 << 20 });
 * const pieces = [...r.push(part1), ...r.push(part2)];
 * r.end(); // throws SyntaxError if the message was cut short
 * ```
 */
import { TooLargeError } from "../../lib/errors.ts";

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;
const DATA_FIELD = 1;

type State =
  | { at: "key" }
  | { at: "length"; field: number }
  | { at: "data"; left: number }
  | { at: "skip-varint" }
  | { at: "skip"; left: number };

/** A streaming decoder of one vac.cas.Content; see the module comment. */
export class ContentReader {
  readonly #maxDataBytes: number;
  #state: State = { at: "key" };
  /** The varint being read: its value so far and its bytes so far. */
  #varint = 0;
  #varintBytes = 0;
  #seenData = false;
  /** Bytes of the message read so far, for error messages. */
  #offset = 0;

  constructor(options: { maxDataBytes: number }) {
    this.#maxDataBytes = options.maxDataBytes;
  }

  /**
   * Reads the next bytes of the message; returns the pieces of `data` in
   * them (views into `chunk`). Throws SyntaxError for bytes that break the
   * wire format, TooLargeError for a `data` longer than the limit (from its
   * length, before any of it is read).
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let i = 0;
    while (i < chunk.length) {
      const s = this.#state;
      if (s.at === "data" || s.at === "skip") {
        const n = Math.min(s.left, chunk.length - i);
        if (s.at === "data") out.push(chunk.subarray(i, i + n));
        i += n;
        this.#offset += n;
        s.left -= n;
        if (s.left === 0) this.#state = { at: "key" };
        continue;
      }
      const value = this.#readVarint(chunk[i++]);
      if (value !== undefined) this.#afterVarint(value);
    }
    return out;
  }

  /** Ends the message: SyntaxError if it stopped inside a field. */
  end(): void {
    if (this.#state.at !== "key" || this.#varintBytes > 0) {
      throw new SyntaxError(`Content ends inside a field, after ${this.#offset} bytes`);
    }
  }

  /** Adds a byte to the varint being read; its value once complete. */
  #readVarint(byte: number): number | undefined {
    this.#offset++;
    if (this.#varintBytes === 10) {
      throw new SyntaxError(`Content has a varint longer than 10 bytes at byte ${this.#offset}`);
    }
    // Beyond 2^53 a number is inexact; such a length or key is refused below anyway.
    this.#varint += (byte & 0x7f) * 2 ** (7 * this.#varintBytes);
    this.#varintBytes++;
    if (byte & 0x80) return undefined;
    const value = this.#varint;
    this.#varint = 0;
    this.#varintBytes = 0;
    return value;
  }

  #afterVarint(value: number): void {
    const s = this.#state;
    if (s.at === "skip-varint") {
      this.#state = { at: "key" };
    } else if (s.at === "length") {
      this.#startLength(s.field, value);
    } else {
      this.#startField(value);
    }
  }

  #startField(key: number): void {
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field < 1 || field > 0x1fffffff) {
      throw new SyntaxError(`Content has an invalid field number ${field} at byte ${this.#offset}`);
    }
    if (field === DATA_FIELD && wire !== WIRE_LEN) {
      throw new SyntaxError(`Content field 1 (data) has wire type ${wire}; bytes are type 2`);
    }
    if (wire === WIRE_VARINT) this.#state = { at: "skip-varint" };
    else if (wire === WIRE_I64) this.#state = { at: "skip", left: 8 };
    else if (wire === WIRE_I32) this.#state = { at: "skip", left: 4 };
    else if (wire === WIRE_LEN) this.#state = { at: "length", field };
    else {throw new SyntaxError(
        `Content has wire type ${wire} (groups are not read) in field ${field}`,
      );}
  }

  #startLength(field: number, length: number): void {
    if (field !== DATA_FIELD) {
      if (!Number.isSafeInteger(length)) {
        throw new SyntaxError(`Content field ${field} has an impossible length`);
      }
      this.#state = length === 0 ? { at: "key" } : { at: "skip", left: length };
      return;
    }
    if (this.#seenData) {
      throw new SyntaxError("Content has field 1 (data) twice; send it once");
    }
    if (length > this.#maxDataBytes) {
      throw new TooLargeError("Content.data", length, this.#maxDataBytes);
    }
    this.#seenData = true;
    this.#state = length === 0 ? { at: "key" } : { at: "data", left: length };
  }
}

/**
 * The bytes of a Content that come before `data` of `size` bytes: the
 * field's key and its length (none for empty data, which proto3 leaves
 * out). Followed by the data, they are the message.
 */
export function contentPrefix(size: number): Uint8Array {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`Content size must be a non-negative integer, got ${size}`);
  }
  if (size === 0) return new Uint8Array();
  const out = [DATA_FIELD << 3 | WIRE_LEN];
  let v = size;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return new Uint8Array(out);
}

/**
 * A stream of a Content message's `data`, read as the message arrives;
 * errors as ContentReader.push and end do.
 */
export function contentDataStream(maxDataBytes: number): TransformStream<Uint8Array, Uint8Array> {
  const reader = new ContentReader({ maxDataBytes });
  return new TransformStream({
    transform(chunk, controller) {
      for (const piece of reader.push(chunk)) controller.enqueue(piece);
    },
    flush() {
      reader.end();
    },
  });
}
