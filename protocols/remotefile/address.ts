/**
 * The RemoteFile address space and the address header that starts every
 * write message: 2 bytes (low form, 14-bit address 0–16383) or 4 bytes
 * (high form, 30-bit address), big-endian, with HIGH_BIT and MORE_BIT in the
 * first byte.
 *
 * @example
 * ```ts
 * encodeAddressHeader(0x10);                    // [0x00, 0x10]
 * encodeAddressHeader(0x3FFFFC00);              // [0xBF, 0xFF, 0xFC, 0x00]
 * encodeAddressHeader(0x4000, true);            // [0xC0, 0x00, 0x40, 0x00]
 * decodeAddressHeader(new Uint8Array([0x40, 0x10])); // { address: 0x10, more: true, size: 2 }
 * ```
 */

/** Size of each side's address space: 1 GB. */
export const ADDRESS_SPACE_SIZE = 0x40000000;
/** Highest address. */
export const ADDRESS_MAX = 0x3fffffff;
/** Highest address the low (2-byte) form can hold. */
export const LOW_ADDRESS_MAX = 0x3fff;
/** First address of the control area, where commands are written. */
export const CONTROL_AREA_START = 0x3ffffc00;
/** Size of the control area, and so the longest command. */
export const CONTROL_AREA_SIZE = 1024;
/** First-byte flag: the 4-byte high form. */
export const HIGH_BIT = 0x80;
/** First-byte flag: more fragments of this write follow. */
export const MORE_BIT = 0x40;
/** Bytes of the low and the high form. */
export const LOW_ADDRESS_SIZE = 2;
export const HIGH_ADDRESS_SIZE = 4;

/** A decoded address header. */
export interface AddressHeader {
  address: number;
  /** MORE_BIT: this message is a fragment and more of the same write follow. */
  more: boolean;
  /** Bytes the header took: 2 or 4. */
  size: 2 | 4;
}

/** Bytes the header for `address` takes: the low form when it fits, as the reference does. */
export function addressHeaderSize(address: number): 2 | 4 {
  checkAddress(address);
  return address <= LOW_ADDRESS_MAX ? LOW_ADDRESS_SIZE : HIGH_ADDRESS_SIZE;
}

/** Encodes an address header; RangeError for an address outside 0–0x3FFFFFFF. */
export function encodeAddressHeader(address: number, more = false): Uint8Array {
  const out = new Uint8Array(addressHeaderSize(address));
  writeAddressHeader(out, 0, address, more);
  return out;
}

/** Writes an address header into `out` at `offset`; returns its size. */
export function writeAddressHeader(
  out: Uint8Array,
  offset: number,
  address: number,
  more: boolean,
): 2 | 4 {
  const size = addressHeaderSize(address);
  const flags = (size === HIGH_ADDRESS_SIZE ? HIGH_BIT : 0) | (more ? MORE_BIT : 0);
  if (size === LOW_ADDRESS_SIZE) {
    out[offset] = flags | (address >> 8);
    out[offset + 1] = address & 0xff;
  } else {
    out[offset] = flags | (address >>> 24);
    out[offset + 1] = (address >>> 16) & 0xff;
    out[offset + 2] = (address >>> 8) & 0xff;
    out[offset + 3] = address & 0xff;
  }
  return size;
}

/**
 * Decodes the address header at `offset`; null when the bytes end before it
 * does. Every bit pattern is a valid header (a high form holding a low
 * address is accepted, as the reference does).
 */
export function decodeAddressHeader(bytes: Uint8Array, offset = 0): AddressHeader | null {
  if (offset >= bytes.length) return null;
  const b0 = bytes[offset];
  const more = (b0 & MORE_BIT) !== 0;
  if ((b0 & HIGH_BIT) === 0) {
    if (bytes.length - offset < LOW_ADDRESS_SIZE) return null;
    return { address: ((b0 & 0x3f) << 8) | bytes[offset + 1], more, size: LOW_ADDRESS_SIZE };
  }
  if (bytes.length - offset < HIGH_ADDRESS_SIZE) return null;
  const address = (b0 & 0x3f) * 0x1000000 + (bytes[offset + 1] << 16) +
    (bytes[offset + 2] << 8) + bytes[offset + 3];
  return { address, more, size: HIGH_ADDRESS_SIZE };
}

/** Whether `address` is in the control area. */
export function isControlAddress(address: number): boolean {
  return address >= CONTROL_AREA_START && address <= ADDRESS_MAX;
}

/** Formats an address as `0x`-hex for messages. */
export function hexAddress(address: number): string {
  return "0x" + address.toString(16).toUpperCase().padStart(8, "0");
}

function checkAddress(address: number): void {
  if (!Number.isInteger(address) || address < 0 || address > ADDRESS_MAX) {
    throw new RangeError(`Address ${address} is outside the 1 GB address space (0–0x3FFFFFFF)`);
  }
}
