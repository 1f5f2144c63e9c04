/**
 * How a stream protocol's frame header announces the length of the body that
 * follows. The frame reader asks a FrameHeader two questions, so one reader
 * serves every framing: a plain length prefix (1, 2 or 4 bytes, either byte
 * order), a prefix behind other header bytes (BEP v1's 8-byte header), a
 * variable-length header (RemoteFile's NumHeader32, new BEP's
 * `u16 length ‖ header ‖ u32 length`). Pure: protocols may define their own.
 *
 * @example
 * ```ts
 * // RemoteFile NumHeader32: 1 byte for 0–127, else 4 bytes with bit 31 set.
 * const numHeader32: FrameHeader = {
 *   maxHeaderBytes: 4,
 *   headerLength: (head) => head.length === 0 ? 1 : head[0] & 0x80 ? 4 : 1,
 *   bodyLength: (h) =>
 *     h.length === 1 ? h[0] : new DataView(h.buffer, h.byteOffset).getUint32(0) & 0x7fffffff,
 * };
 * ```
 */
export interface FrameHeader {
  /** The longest header this format has; bounds what a reader buffers for it. */
  readonly maxHeaderBytes: number;
  /**
   * The length of the whole header, judged from `head`, the header bytes read
   * so far (empty on the first call). Returning `head.length` says the header
   * is complete; a larger value asks for more bytes, after which it is asked
   * again. Throw InvalidInputError for a header that cannot be valid.
   */
  headerLength(head: Uint8Array): number;
  /** The body length a complete header announces: a non-negative safe integer. */
  bodyLength(header: Uint8Array): number;
}

/** Where a length field sits in a fixed-size header. */
export interface LengthPrefixOptions {
  /** Width of the length field. */
  size: 1 | 2 | 4;
  /** Byte order of the length field; default big-endian (network order). */
  endian?: "big" | "little";
  /** Offset of the length field in the header; default 0. */
  at?: number;
  /** Total header size; default `at + size`. */
  headerBytes?: number;
}

/** A FrameHeader that can also write its header (zeros outside the length field). */
export interface LengthPrefix extends FrameHeader {
  /** The header for a body of `bodyLength` bytes; RangeError if the field cannot hold it. */
  encode(bodyLength: number): Uint8Array;
}

/**
 * A fixed-size header with an unsigned length field.
 *
 * @example
 * ```ts
 * const u32 = lengthPrefix({ size: 4 });                     // 4-byte big-endian prefix
 * const le16 = lengthPrefix({ size: 2, endian: "little" });
 * const bepV1 = lengthPrefix({ size: 4, at: 4 });            // header word, then u32 length
 * u32.encode(5); // Uint8Array [0, 0, 0, 5]
 * ```
 */
export function lengthPrefix(opts: LengthPrefixOptions): LengthPrefix {
  const { size } = opts;
  const little = opts.endian === "little";
  const at = opts.at ?? 0;
  const headerBytes = opts.headerBytes ?? at + size;
  if (![1, 2, 4].includes(size)) throw new RangeError(`Length field size ${size} is not 1, 2 or 4`);
  if (!Number.isInteger(at) || at < 0 || headerBytes < at + size) {
    throw new RangeError(
      `Length field at ${at} of ${size} bytes does not fit a ${headerBytes}-byte header`,
    );
  }
  const max = 2 ** (8 * size) - 1;
  const read = (h: Uint8Array) => {
    const v = new DataView(h.buffer, h.byteOffset + at, size);
    return size === 1
      ? v.getUint8(0)
      : size === 2
      ? v.getUint16(0, little)
      : v.getUint32(0, little);
  };
  return {
    maxHeaderBytes: headerBytes,
    headerLength: () => headerBytes,
    bodyLength: read,
    encode(bodyLength) {
      if (!Number.isInteger(bodyLength) || bodyLength < 0 || bodyLength > max) {
        throw new RangeError(`Body length ${bodyLength} does not fit a ${size}-byte length field`);
      }
      const h = new Uint8Array(headerBytes);
      const v = new DataView(h.buffer, at, size);
      if (size === 1) v.setUint8(0, bodyLength);
      else if (size === 2) v.setUint16(0, bodyLength, little);
      else v.setUint32(0, bodyLength, little);
      return h;
    },
  };
}
