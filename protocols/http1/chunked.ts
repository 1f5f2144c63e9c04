/**
 * Finds where a chunked body ends (RFC 9112 §7.1) without decoding it: a
 * proxy passes the bytes on as they are and needs only to know which of them
 * belong to the message. Strict (CRLF only, bounded size and extension
 * lines, bounded trailers), so that it never frames a body differently from
 * the server it passes it to: what it accepts, that server reads the same.
 */
import { CR, HTAB, LF, SP, VALUE_CHAR } from "./syntax.ts";

const enum S {
  SizeStart,
  Size,
  SizeSpace,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  Trailer,
  TrailerLf,
  EndLf,
  Done,
  Failed,
}

/** Hex digit values, -1 for other bytes. */
const HEX = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let c = 0; c < 10; c++) t[0x30 + c] = c;
  for (let c = 0; c < 6; c++) t[0x41 + c] = t[0x61 + c] = 10 + c;
  return t;
})();

/** Chunk sizes beyond 2^52 − 1 (13 hex digits) are refused: no real body is that large. */
const MAX_SIZE_DIGITS = 13;

/** Limits of a chunked body's framing. */
export interface ChunkedLimits {
  /** Longest chunk extension part of a size line, in bytes. */
  maxExtensionBytes: number;
  /** Largest trailer section, in bytes. */
  maxTrailerBytes: number;
}

/** Defaults: 4 KiB of extensions per chunk, 16 KiB of trailers. */
export const CHUNKED_LIMITS: ChunkedLimits = { maxExtensionBytes: 4096, maxTrailerBytes: 16384 };

/**
 * Tracks one chunked body across the pieces it arrives in.
 *
 * @example
 * ```ts
 * const f = new ChunkedFramer();
 * const b = new TextEncoder().encode("3\r\nabc\r\n0\r\n\r\nGET /next");
 * f.push(b); // 15: the body's bytes; f.done is true and "GET /next" is not the body's
 * ```
 */
export class ChunkedFramer {
  #state = S.SizeStart;
  #digits = 0;
  #remaining = 0;
  #lineBytes = 0;
  #trailerBytes = 0;
  /** Why the body is malformed, once it is. */
  error: string | undefined;

  constructor(readonly limits: ChunkedLimits = CHUNKED_LIMITS) {}

  /** Whether the body's last byte has been pushed. */
  get done(): boolean {
    return this.#state === S.Done;
  }

  /**
   * Takes bytes b[start, end) and returns how many of them belong to the body:
   * fewer than given once it is done, or when it fails (then `error` says why).
   */
  push(b: Uint8Array, start = 0, end: number = b.length): number {
    let pos = start;
    while (pos < end) {
      const c = b[pos];
      switch (this.#state) {
        case S.Data: {
          const take = Math.min(this.#remaining, end - pos);
          this.#remaining -= take;
          pos += take;
          if (this.#remaining === 0) this.#state = S.DataCr;
          continue;
        }
        case S.SizeStart:
        case S.Size: {
          const d = HEX[c];
          if (d >= 0) {
            if (++this.#digits > MAX_SIZE_DIGITS) {
              return this.#fail(pos - start, "Chunk size too large");
            }
            this.#remaining = this.#remaining * 16 + d;
            this.#state = S.Size;
            break;
          }
          if (this.#state === S.SizeStart) return this.#fail(pos - start, "Chunk size expected");
          if (c === SP || c === HTAB) this.#state = S.SizeSpace;
          else if (c === 0x3b) this.#startExt();
          else if (c === CR) this.#state = S.SizeLf;
          else return this.#fail(pos - start, "Invalid character in chunk size");
          break;
        }
        case S.SizeSpace:
          if (c === 0x3b) this.#startExt();
          else if (c === CR) this.#state = S.SizeLf;
          else if (c !== SP && c !== HTAB) {
            return this.#fail(pos - start, "Invalid chunk size line");
          }
          break;
        case S.Ext:
          if (c === CR) this.#state = S.SizeLf;
          else if (VALUE_CHAR[c] !== 1) return this.#fail(pos - start, "Invalid chunk extension");
          else if (++this.#lineBytes > this.limits.maxExtensionBytes) {
            return this.#fail(pos - start, "Chunk extension too long");
          }
          break;
        case S.SizeLf:
          if (c !== LF) return this.#fail(pos - start, "Chunk size line must end with CRLF");
          this.#digits = 0;
          this.#state = this.#remaining === 0 ? S.TrailerStart : S.Data;
          break;
        case S.DataCr:
          if (c !== CR) return this.#fail(pos - start, "Chunk data must end with CRLF");
          this.#state = S.DataLf;
          break;
        case S.DataLf:
          if (c !== LF) return this.#fail(pos - start, "Chunk data must end with CRLF");
          this.#state = S.SizeStart;
          break;
        case S.TrailerStart:
          if (!this.#countTrailer()) return this.#fail(pos - start, "Trailer section too large");
          if (c === CR) this.#state = S.EndLf;
          else if (c === SP || c === HTAB || VALUE_CHAR[c] !== 1) {
            return this.#fail(pos - start, "Invalid trailer line");
          } else this.#state = S.Trailer;
          break;
        case S.Trailer:
          if (!this.#countTrailer()) return this.#fail(pos - start, "Trailer section too large");
          if (c === CR) this.#state = S.TrailerLf;
          else if (VALUE_CHAR[c] !== 1) return this.#fail(pos - start, "Invalid trailer line");
          break;
        case S.TrailerLf:
          if (c !== LF) return this.#fail(pos - start, "Trailer lines must end with CRLF");
          this.#state = S.TrailerStart;
          break;
        case S.EndLf:
          if (c !== LF) return this.#fail(pos - start, "Chunked body must end with CRLF");
          this.#state = S.Done;
          return pos + 1 - start;
        case S.Done:
        case S.Failed:
          return pos - start;
      }
      pos++;
    }
    return pos - start;
  }

  #startExt(): void {
    this.#state = S.Ext;
    this.#lineBytes = 0;
  }

  #countTrailer(): boolean {
    return ++this.#trailerBytes <= this.limits.maxTrailerBytes;
  }

  #fail(consumed: number, error: string): number {
    this.#state = S.Failed;
    this.error = error;
    return consumed;
  }
}
