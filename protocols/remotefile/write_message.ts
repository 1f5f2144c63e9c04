/**
 * Write messages: the only binary message of RemoteFile, an address header
 * followed by the bytes written there. A large write may be split into
 * fragments: every fragment but the last has MORE_BIT set, and each carries
 * the address of its own first byte (start + bytes sent so far), as the
 * reference receiver expects. WriteAssembler joins fragments and delivers a
 * write only once its last fragment (MORE_BIT = 0) arrived.
 *
 * @example
 * ```ts
 * encodeWriteMessage({ address: 0x10, data: new Uint8Array([5, 6]) }); // [0x00, 0x10, 5, 6]
 * fragmentWrite(0, new Uint8Array(300), 128).length;                  // 3 messages
 * const asm = new WriteAssembler({ maxBytes: 1024 });
 * asm.push(decodeWriteMessage(bytes)); // a complete write, or null while fragments are pending
 * ```
 */
import { concat } from "../../lib/bytes.ts";
import {
  ADDRESS_SPACE_SIZE,
  addressHeaderSize,
  CONTROL_AREA_SIZE,
  decodeAddressHeader,
  hexAddress,
  isControlAddress,
  writeAddressHeader,
} from "./address.ts";

/** One write message (one fragment, when `more` is set). */
export interface WriteMessage {
  address: number;
  data: Uint8Array;
  /** MORE_BIT: more fragments of this write follow. */
  more?: boolean;
}

/** A whole write operation, after reassembly. */
export interface Write {
  address: number;
  data: Uint8Array;
}

/** Encodes a write message body (no NumHeader). RangeError if it would pass the 1 GB end. */
export function encodeWriteMessage(msg: WriteMessage): Uint8Array {
  checkSpan(msg.address, msg.data.length);
  const out = new Uint8Array(addressHeaderSize(msg.address) + msg.data.length);
  const size = writeAddressHeader(out, 0, msg.address, msg.more ?? false);
  out.set(msg.data, size);
  return out;
}

/**
 * Decodes a write message body. `data` is a view into `body`. SyntaxError when
 * the body is shorter than its address header, RangeError when the write runs
 * past the end of the address space.
 */
export function decodeWriteMessage(body: Uint8Array): Required<WriteMessage> {
  const header = decodeAddressHeader(body);
  if (header === null) {
    throw new SyntaxError(
      `Message of ${body.length} bytes is shorter than its address header`,
    );
  }
  const data = body.subarray(header.size);
  checkSpan(header.address, data.length);
  return { address: header.address, data, more: header.more };
}

/**
 * Splits a write into messages of at most `maxDataBytes` data bytes each
 * (every fragment but the last has MORE_BIT). An empty write is one message.
 */
export function fragmentWrite(
  address: number,
  data: Uint8Array,
  maxDataBytes: number,
): Required<WriteMessage>[] {
  if (!Number.isSafeInteger(maxDataBytes) || maxDataBytes < 1) {
    throw new RangeError(`Fragment size ${maxDataBytes} is not a positive integer`);
  }
  checkSpan(address, data.length);
  if (data.length <= maxDataBytes) return [{ address, data, more: false }];
  const out: Required<WriteMessage>[] = [];
  for (let at = 0; at < data.length; at += maxDataBytes) {
    const end = Math.min(at + maxDataBytes, data.length);
    out.push({ address: address + at, data: data.subarray(at, end), more: end < data.length });
  }
  return out;
}

/** Options of a WriteAssembler. */
export interface WriteAssemblerOptions {
  /** Largest write held while its fragments arrive; more throws RangeError. */
  maxBytes: number;
}

/**
 * Joins fragmented writes. Fragments of one write must come back to back,
 * each at the address where the previous one ended (SyntaxError otherwise).
 */
export class WriteAssembler {
  readonly maxBytes: number;
  #start = -1;
  #parts: Uint8Array[] = [];
  #size = 0;

  constructor(opts: WriteAssemblerOptions) {
    this.maxBytes = opts.maxBytes;
  }

  /** Start address of the write being assembled, or undefined when none is. */
  get pendingAddress(): number | undefined {
    return this.#start < 0 ? undefined : this.#start;
  }

  /** Bytes held of the write being assembled. */
  get pendingBytes(): number {
    return this.#size;
  }

  /** Where the next fragment must start, or undefined when no write is pending. */
  get expectedAddress(): number | undefined {
    return this.#start < 0 ? undefined : this.#start + this.#size;
  }

  /**
   * Takes one message: returns the whole write when this was its last
   * fragment (its data copied out of the messages), else null. A write
   * sent in one message comes back with `data` as a view of the message.
   */
  push(msg: WriteMessage): Write | null {
    const expected = this.expectedAddress;
    if (expected !== undefined && msg.address !== expected) {
      this.reset();
      throw new SyntaxError(
        `Fragment at ${hexAddress(msg.address)} does not continue the write pending at ${
          hexAddress(expected)
        }`,
      );
    }
    if (this.#size + msg.data.length > this.maxBytes) {
      const total = this.#size + msg.data.length;
      this.reset();
      throw new RangeError(`Write of ${total} bytes exceeds the limit of ${this.maxBytes}`);
    }
    if (expected === undefined && !msg.more) return { address: msg.address, data: msg.data };
    if (expected === undefined) this.#start = msg.address;
    // Copied: the caller may reuse the message buffer before the last fragment comes.
    this.#parts.push(msg.data.slice());
    this.#size += msg.data.length;
    if (msg.more) return null;
    const write = { address: this.#start, data: concat(this.#parts) };
    this.reset();
    return write;
  }

  /** Drops a pending write. */
  reset(): void {
    this.#start = -1;
    this.#parts = [];
    this.#size = 0;
  }
}

function checkSpan(address: number, length: number): void {
  if (address + length > ADDRESS_SPACE_SIZE) {
    if (isControlAddress(address)) {
      throw new RangeError(
        `Write of ${length} bytes at ${
          hexAddress(address)
        } runs past the end of the control area (a command is at most ${CONTROL_AREA_SIZE} bytes)`,
      );
    }
    throw new RangeError(
      `Write of ${length} bytes at ${hexAddress(address)} runs past the end of the address space`,
    );
  }
}
