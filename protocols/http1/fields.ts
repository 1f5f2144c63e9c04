/**
 * The field section of an HTTP/1.1 head (RFC 9112 §5): `name ":" OWS value
 * OWS CRLF` lines up to an empty line. Strict where being lenient could make
 * two parsers disagree on a message: no obs-fold, no bare CR or LF, no
 * whitespace before the colon.
 */
import { CR, HTAB, LF, SP, TCHAR, VALUE_CHAR } from "./syntax.ts";

/**
 * Called per field line with byte offsets into the head (the line starts at
 * `nameStart`); returns an error detail to stop.
 */
export type OnField = (
  nameStart: number,
  nameEnd: number,
  valueStart: number,
  valueEnd: number,
  lineEnd: number,
) => string | undefined;

/**
 * Walks the field lines of `b` from `start` (just after the start line's CRLF)
 * to `end` (just after the final CRLF CRLF). Returns the number of fields, or
 * an error detail naming what is malformed.
 *
 * @example
 * ```ts
 * const head = new TextEncoder().encode("X\r\nHost: a\r\n\r\n");
 * walkFields(head, 3, head.length, 100, () => undefined); // 1
 * ```
 */
export function walkFields(
  b: Uint8Array,
  start: number,
  end: number,
  maxCount: number,
  onField: OnField,
): number | string {
  let pos = start;
  let count = 0;
  while (pos < end) {
    if (b[pos] === CR) {
      if (pos + 2 === end && b[pos + 1] === LF) return count;
      return "Malformed header section: stray CR";
    }
    if (++count > maxCount) return `More than ${maxCount} header fields`;
    const lineStart = pos;
    if (b[pos] === SP || b[pos] === HTAB) return "Folded header lines (obs-fold) are not accepted";
    while (pos < end && TCHAR[b[pos]] === 1) pos++;
    const nameEnd = pos;
    if (nameEnd === lineStart) return `Invalid header field name at byte ${lineStart}`;
    if (b[pos] !== 0x3a) return `Invalid character in header field name at byte ${pos}`;
    pos++;
    while (b[pos] === SP || b[pos] === HTAB) pos++;
    const valueStart = pos;
    while (pos < end && VALUE_CHAR[b[pos]] === 1) pos++;
    if (b[pos] !== CR || b[pos + 1] !== LF) {
      return `Invalid character in header field value at byte ${pos}`;
    }
    let valueEnd = pos;
    while (valueEnd > valueStart && (b[valueEnd - 1] === SP || b[valueEnd - 1] === HTAB)) {
      valueEnd--;
    }
    pos += 2;
    const err = onField(lineStart, nameEnd, valueStart, valueEnd, pos);
    if (err !== undefined) return err;
  }
  return "Header section does not end with an empty line";
}
