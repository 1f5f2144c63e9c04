/**
 * Text as nwaku (written in Nim) reads it in its REST API: `uri.decodeUrl`,
 * `strutils.parseInt`, `strutils.parseBool`, `isEmptyOrWhitespace` and
 * stew's `hexToSeqByte`. Errors carry Nim's own messages, so answers built
 * on them read as nwaku's do.
 *
 * @example
 * ```ts
 * decodeUrl("%252Fwaku"); // "%2Fwaku": one decode per call, as nwaku does per step
 * parseInt64("1_000"); // 1000n
 * parseBool("Yes"); // true
 * ```
 */
import { utf8Encode, utf8Length } from "../../lib/bytes.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const hexValue = (c: number): number =>
  c >= 0x30 && c <= 0x39
    ? c - 0x30
    : c >= 0x61 && c <= 0x66
    ? c - 87
    : c >= 0x41 && c <= 0x46
    ? c - 55
    : -1;

/**
 * Nim's decodeUrl: each `%XX` becomes its byte (a `%` not followed by two
 * hex digits stays as it is), and `+` a space when `decodePlus`. Nim keeps
 * raw bytes; here they must be UTF-8, else SyntaxError.
 */
export function decodeUrl(text: string, decodePlus = true): string {
  if (!text.includes("%") && !(decodePlus && text.includes("+"))) return text;
  const input = utf8Encode(text);
  const out = new Uint8Array(input.length);
  let j = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    const hi = c === 0x25 && i + 2 < input.length ? hexValue(input[i + 1]) : -1;
    const lo = hi >= 0 ? hexValue(input[i + 2]) : -1;
    if (lo >= 0) {
      out[j++] = (hi << 4) | lo;
      i += 2;
    } else out[j++] = c === 0x2b && decodePlus ? 0x20 : c;
  }
  try {
    return utf8.decode(out.subarray(0, j));
  } catch {
    throw new SyntaxError(`"${text.slice(0, 80)}" decodes to bytes that are not UTF-8`);
  }
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/**
 * Nim's parseInt on a 64-bit int: an optional sign, a digit, then digits and
 * underscores (ignored), and nothing else. Overflow is found while reading
 * the digits, so it wins over trailing garbage, as in Nim.
 */
export function parseInt64(text: string): bigint {
  const number = /^[+-]?\d[\d_]*/.exec(text)?.[0];
  if (number !== undefined) {
    const value = BigInt(number.replaceAll("_", ""));
    if (value < INT64_MIN || value > INT64_MAX) {
      throw new RangeError("Parsed integer outside of valid range");
    }
    if (number.length === text.length) return value;
  }
  throw new SyntaxError(`invalid integer: ${text}`);
}

/** Nim's parseBool: after lower-casing (ASCII) and dropping `_`, y/yes/true/1/on or n/no/false/0/off. */
export function parseBool(text: string): boolean {
  const word = text.replace(/[A-Z]/g, (c) => c.toLowerCase()).replaceAll("_", "");
  if (["y", "yes", "true", "1", "on"].includes(word)) return true;
  if (["n", "no", "false", "0", "off"].includes(word)) return false;
  throw new SyntaxError(`cannot interpret as a bool: ${text}`);
}

/** Nim's isEmptyOrWhitespace: only space, tab, vertical tab, CR, LF and form feed (or nothing). */
export function isEmptyOrWhitespace(text: string): boolean {
  return /^[ \t\v\r\n\f]*$/.test(text);
}

/**
 * stew's hexToSeqByte: the whole text (a `0x`/`0X` prefix included) must
 * have an even length in bytes; then each character must be a hex digit.
 */
export function hexToBytes(text: string): Uint8Array {
  if (utf8Length(text) % 2 === 1) throw new SyntaxError("hex string must have even length");
  const hex = /^0[xX]/.test(text) ? text.slice(2) : text;
  const bad = /[^0-9a-fA-F]/u.exec(hex);
  if (bad) throw new SyntaxError(`${bad[0]} is not a hexadecimal character`);
  return Uint8Array.fromHex(hex);
}
