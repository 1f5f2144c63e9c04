/**
 * NumHeader: the message header RemoteFile uses on byte streams. Big-endian;
 * bit 7 of the first byte says which form follows.
 *
 * - NumHeader32: short form, 1 byte, for 0–127; long form, 4 bytes,
 *   value = u32 & 0x7FFFFFFF (0–2147483647).
 * - NumHeader16: short form, 1 byte, for 0–127; long form, 2 bytes, a 15-bit
 *   value where 0–127 stand for 32768–32895 (those are never needed as long
 *   forms otherwise), so the range is 0–32895.
 *
 * Decoders never throw on short input: they return null for "need more bytes".
 *
 * @example
 * ```ts
 * encodeNumHeader32(300);                                   // [0x80, 0x00, 0x01, 0x2c]
 * decodeNumHeader32(new Uint8Array([0x80, 0x00]));          // null: need more bytes
 * decodeNumHeader16(new Uint8Array([0x80, 0x05]));          // { value: 32773, size: 2 }
 * ```
 */
import type { FrameHeader } from "../../lib/frame_header.ts";

/** Which NumHeader a stream uses after the greeting. */
export type NumHeaderFormat = 16 | 32;

/** Largest value of the short form (both formats). */
export const NUMHEADER_SHORT_MAX = 127;
/** Largest value NumHeader16 can carry (32768 + 127). */
export const NUMHEADER16_MAX = 32895;
/** Largest value NumHeader32 can carry (2^31 − 1). */
export const NUMHEADER32_MAX = 0x7fffffff;

/** A decoded header: its value and how many bytes it took. */
export interface NumHeaderValue {
  value: number;
  size: number;
}

/** The largest value a format can carry. */
export function numHeaderMax(format: NumHeaderFormat): number {
  return format === 16 ? NUMHEADER16_MAX : NUMHEADER32_MAX;
}

/** Bytes the header for `value` takes in `format` (1, 2 or 4); RangeError if it cannot be encoded. */
export function numHeaderSize(value: number, format: NumHeaderFormat): number {
  checkValue(value, format);
  return value <= NUMHEADER_SHORT_MAX ? 1 : format === 16 ? 2 : 4;
}

/** Encodes a NumHeader32; RangeError outside 0–2147483647. */
export function encodeNumHeader32(value: number): Uint8Array {
  checkValue(value, 32);
  if (value <= NUMHEADER_SHORT_MAX) return new Uint8Array([value]);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, (value | 0x80000000) >>> 0);
  return out;
}

/** Encodes a NumHeader16; RangeError outside 0–32895. */
export function encodeNumHeader16(value: number): Uint8Array {
  checkValue(value, 16);
  if (value <= NUMHEADER_SHORT_MAX) return new Uint8Array([value]);
  // 32768–32895 do not fit 15 bits: they take the 15-bit codes 0–127, unused otherwise.
  const v = value >= 0x8000 ? value - 0x8000 : value;
  return new Uint8Array([0x80 | (v >> 8), v & 0xff]);
}

/** Encodes a NumHeader of either format. */
export function encodeNumHeader(value: number, format: NumHeaderFormat): Uint8Array {
  return format === 16 ? encodeNumHeader16(value) : encodeNumHeader32(value);
}

/** Decodes a NumHeader32 at `offset`; null when the bytes end before the header does. */
export function decodeNumHeader32(bytes: Uint8Array, offset = 0): NumHeaderValue | null {
  if (offset >= bytes.length) return null;
  const b0 = bytes[offset];
  if ((b0 & 0x80) === 0) return { value: b0, size: 1 };
  if (bytes.length - offset < 4) return null;
  // A long form holding 0–127 is not minimal but unambiguous: accepted as its value.
  const value = ((b0 & 0x7f) * 0x1000000) + (bytes[offset + 1] << 16) +
    (bytes[offset + 2] << 8) + bytes[offset + 3];
  return { value, size: 4 };
}

/** Decodes a NumHeader16 at `offset`; null when the bytes end before the header does. */
export function decodeNumHeader16(bytes: Uint8Array, offset = 0): NumHeaderValue | null {
  if (offset >= bytes.length) return null;
  const b0 = bytes[offset];
  if ((b0 & 0x80) === 0) return { value: b0, size: 1 };
  if (bytes.length - offset < 2) return null;
  const v = ((b0 & 0x7f) << 8) | bytes[offset + 1];
  return { value: v <= NUMHEADER_SHORT_MAX ? 0x8000 + v : v, size: 2 };
}

/** Decodes a NumHeader of either format. */
export function decodeNumHeader(
  bytes: Uint8Array,
  format: NumHeaderFormat,
  offset = 0,
): NumHeaderValue | null {
  return format === 16 ? decodeNumHeader16(bytes, offset) : decodeNumHeader32(bytes, offset);
}

/**
 * NumHeader framing for the house's FrameReader / PeerConnection
 * (`frameHeader: numHeaderFrame(32)`), when a service reads whole messages
 * and passes their bodies to `RemoteFileSession.receiveMessage`.
 */
export function numHeaderFrame(format: NumHeaderFormat): FrameHeader {
  const long = format === 16 ? 2 : 4;
  return {
    maxHeaderBytes: long,
    headerLength: (head) => head.length === 0 ? 1 : head[0] & 0x80 ? long : 1,
    bodyLength: (h) => decodeNumHeader(h, format)!.value,
  };
}

function checkValue(value: number, format: NumHeaderFormat): void {
  const max = numHeaderMax(format);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`NumHeader${format} cannot encode ${value}: the range is 0–${max}`);
  }
}
