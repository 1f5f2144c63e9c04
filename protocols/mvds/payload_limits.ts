/**
 * The bounds of an MVDS payload, and the walk over its wire bytes that
 * enforces them before anything is decoded: structure (varints, lengths,
 * wire types of the known fields), ids of exactly 32 bytes, list lengths
 * and field sizes. A hostile payload is refused with a SyntaxError naming
 * the field, having cost one pass over its bytes and no allocation.
 *
 * @example
 * ```ts
 * checkPayload(bytes, DEFAULT_PAYLOAD_LIMITS); // throws SyntaxError, or returns
 * ```
 */

/** Length of a message id (a sha256). */
export const MESSAGE_ID_BYTES = 32;

/** Bounds a decoded payload must keep (a sender builds payloads within the same ones). */
export interface PayloadLimits {
  /** Most ids in each of acks, offers and requests. */
  maxIds: number;
  /** Most messages. */
  maxMessages: number;
  /** Longest group_id (it ends up in storage keys). */
  maxGroupIdBytes: number;
  /** Longest body. */
  maxBodyBytes: number;
}

/** Default limits: 16384 ids per list (512 KiB of ids), 16384 messages, 256-byte group ids. */
export const DEFAULT_PAYLOAD_LIMITS: Readonly<PayloadLimits> = Object.freeze({
  maxIds: 16_384,
  maxMessages: 16_384,
  maxGroupIdBytes: 256,
  maxBodyBytes: Number.MAX_SAFE_INTEGER,
});

const FIELDS: Record<number, "acks" | "offers" | "requests"> = {
  5001: "acks",
  5002: "offers",
  5003: "requests",
};
const MESSAGES = 5004;
const GROUP_ID = 6001;
const TIMESTAMP = 6002;
const BODY = 6003;

/** A bounded cursor over wire bytes; every read checks the end. */
class Wire {
  pos: number;
  constructor(readonly bytes: Uint8Array, start: number, readonly end: number) {
    this.pos = start;
  }
  /** Reads a varint of at most 10 bytes, as a number (exact below 2^53, which lengths are). */
  varint(what: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new SyntaxError(`Truncated MVDS payload: ${what} is cut off`);
      const b = this.bytes[this.pos++];
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value;
      scale *= 128;
    }
    throw new SyntaxError(`Malformed MVDS payload: ${what} is a varint longer than 10 bytes`);
  }
  /** Reads a length prefix and returns the end of the bytes it announces. */
  lengthEnd(what: string): number {
    const len = this.varint(`the length of ${what}`);
    if (len > this.end - this.pos) {
      throw new SyntaxError(
        `Truncated MVDS payload: ${what} announces ${len} bytes, ${this.end - this.pos} remain`,
      );
    }
    return this.pos + len;
  }
  /** Skips an unknown field's value (groups, deprecated in proto3, are refused). */
  skip(wireType: number, field: number): void {
    const what = `unknown field ${field}`;
    if (wireType === 0) this.varint(what);
    else if (wireType === 2) this.pos = this.lengthEnd(what);
    else if (wireType === 1 || wireType === 5) {
      const n = wireType === 1 ? 8 : 4;
      if (this.end - this.pos < n) throw new SyntaxError(`Truncated MVDS payload: ${what}`);
      this.pos += n;
    } else {
      throw new SyntaxError(`Malformed MVDS payload: ${what} has wire type ${wireType}`);
    }
  }
  /** Reads a field key; returns [field number, wire type]. */
  key(where: string): [number, number] {
    const k = this.varint(`a field key in ${where}`);
    const field = Math.floor(k / 8);
    if (field === 0 || field > 0x1fffffff) {
      throw new SyntaxError(`Malformed MVDS payload: field number ${field} in ${where}`);
    }
    return [field, k % 8];
  }
}

function expectWireType(actual: number, expected: number, name: string): void {
  if (actual !== expected) {
    throw new SyntaxError(
      `Malformed MVDS payload: ${name} has wire type ${actual}, expected ${expected}`,
    );
  }
}

/** Walks a Payload's wire bytes; throws SyntaxError at the first thing that breaks a rule. */
export function checkPayload(bytes: Uint8Array, limits: PayloadLimits): void {
  const w = new Wire(bytes, 0, bytes.length);
  const counts = { acks: 0, offers: 0, requests: 0, messages: 0 };
  while (w.pos < w.end) {
    const [field, wt] = w.key("Payload");
    const list = FIELDS[field];
    if (list) {
      const name = `${list}[${counts[list]}]`;
      expectWireType(wt, 2, name);
      const end = w.lengthEnd(name);
      const size = end - w.pos;
      if (size !== MESSAGE_ID_BYTES) {
        throw new SyntaxError(
          `Invalid MVDS payload: ${name} is ${size} bytes, a message id is ${MESSAGE_ID_BYTES}`,
        );
      }
      if (++counts[list] > limits.maxIds) {
        throw new SyntaxError(`Invalid MVDS payload: more than ${limits.maxIds} ${list}`);
      }
      w.pos = end;
    } else if (field === MESSAGES) {
      const name = `messages[${counts.messages}]`;
      expectWireType(wt, 2, name);
      const end = w.lengthEnd(name);
      checkMessage(new Wire(bytes, w.pos, end), name, limits);
      if (++counts.messages > limits.maxMessages) {
        throw new SyntaxError(`Invalid MVDS payload: more than ${limits.maxMessages} messages`);
      }
      w.pos = end;
    } else {
      w.skip(wt, field);
    }
  }
}

/** Walks one Message's fields within its length-delimited bytes. */
function checkMessage(w: Wire, name: string, limits: PayloadLimits): void {
  while (w.pos < w.end) {
    const [field, wt] = w.key(name);
    if (field === GROUP_ID || field === BODY) {
      const sub = `${name}.${field === GROUP_ID ? "group_id" : "body"}`;
      expectWireType(wt, 2, sub);
      const end = w.lengthEnd(sub);
      const max = field === GROUP_ID ? limits.maxGroupIdBytes : limits.maxBodyBytes;
      if (end - w.pos > max) {
        throw new SyntaxError(
          `Invalid MVDS payload: ${sub} is ${end - w.pos} bytes, at most ${max} allowed`,
        );
      }
      w.pos = end;
    } else if (field === TIMESTAMP) {
      expectWireType(wt, 0, `${name}.timestamp`);
      w.varint(`${name}.timestamp`);
    } else {
      w.skip(wt, field);
    }
  }
}
