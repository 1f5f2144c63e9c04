/**
 * RFC 9110/9112 character classes and the small byte helpers that the head
 * parsers share. Heads are parsed on bytes: a field value may hold obs-text
 * (0x80–0xFF), which no text decoding must alter.
 */

const CR = 0x0d, LF = 0x0a, SP = 0x20, HTAB = 0x09;
export { CR, HTAB, LF, SP };

/** tchar (RFC 9110 §5.6.2): the bytes a token (method, field name) is made of. */
export const TCHAR: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const c of "!#$%&'*+-.^_`|~") t[c.charCodeAt(0)] = 1;
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = t[c + 0x20] = 1;
  return t;
})();

/** field-vchar / obs-text, SP and HTAB: what a field value may hold. */
export const VALUE_CHAR: Uint8Array = (() => {
  const t = new Uint8Array(256);
  t[SP] = t[HTAB] = 1;
  for (let c = 0x21; c <= 0x7e; c++) t[c] = 1;
  for (let c = 0x80; c <= 0xff; c++) t[c] = 1;
  return t;
})();

/**
 * Bytes a request-target may hold: visible ASCII, and (as httparse, which
 * Deno's server uses, accepts them) bytes ≥ 0x80; never CTLs, SP or DEL.
 */
export const TARGET_CHAR: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let c = 0x21; c <= 0x7e; c++) t[c] = 1;
  for (let c = 0x80; c <= 0xff; c++) t[c] = 1;
  return t;
})();

/** Index just past the first CRLF CRLF at or after `from`, or -1. */
export function findHeadEnd(b: Uint8Array, from: number, end: number = b.length): number {
  for (let i = Math.max(from, 3); i < end; i++) {
    if (b[i] === LF && b[i - 1] === CR && b[i - 2] === LF && b[i - 3] === CR) return i + 1;
  }
  return -1;
}

/** The bytes [start, end) as a string, one char per byte (latin1), for short ASCII slices. */
export function latin1(b: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** Whether b[start, end) equals `lower` (lower-case ASCII) ignoring ASCII case. */
export function equalsIgnoreCase(
  b: Uint8Array,
  start: number,
  end: number,
  lower: string,
): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if ((b[start + i] | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The comma-separated tokens of a field value (e.g. Connection), lower-cased,
 * OWS trimmed, empty list members dropped.
 */
export function tokens(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(",")) {
    const t = part.trim().toLowerCase();
    if (t) out.push(t);
  }
  return out;
}

/** A decimal Content-Length value (digits only, at most 15 of them), or -1 if not one. */
export function parseLength(b: Uint8Array, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = b[i] - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
