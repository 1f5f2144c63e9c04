/**
 * Collects a request head from the bytes of a connection as they arrive, in
 * whatever pieces, and refuses it as soon as it can tell it is bad: a method
 * that is not a token on the first bytes, a target or field section past its
 * limit before the head is complete. Work per piece is linear in its size,
 * so a head trickled byte by byte costs no more than one sent whole.
 */
import {
  checkPartialRequestLine,
  type HeadError,
  type HeadLimits,
  parseRequestHead,
  parseRequestLine,
  type RequestHead,
} from "./request_head.ts";
import { CR, findHeadEnd, LF } from "./syntax.ts";

/** What a piece of bytes gave: need more, a refusal, or a complete head and the bytes after it. */
export type HeadReadResult =
  | { kind: "more" }
  | { kind: "error"; error: HeadError }
  | {
    kind: "head";
    head: RequestHead;
    /** The head's bytes. */
    raw: Uint8Array;
    /** Bytes after the head (body, or the next request). */
    rest: Uint8Array;
  };

const EMPTY = new Uint8Array(0);

/**
 * An incremental request head reader. `raw` and `rest` of a result may be
 * views of the pushed piece: use them before reusing its buffer.
 *
 * @example
 * ```ts
 * const r = new RequestHeadReader({ maxUrlBytes: 8192, maxHeaderBytes: 16384, maxHeaderCount: 100 });
 * r.push(new TextEncoder().encode("GET / HT"));          // { kind: "more" }
 * r.push(new TextEncoder().encode("TP/1.1\r\n\r\nnext")); // { kind: "head", head, raw, rest: "next" }
 * ```
 */
export class RequestHeadReader {
  #buf: Uint8Array = EMPTY;
  #len = 0;
  #lineEnd = -1;

  /** `strip`: a lower-case field name whose lines the head reports in `stripped`. */
  constructor(readonly limits: HeadLimits, readonly strip?: string) {}

  /** Bytes held of a head not yet complete. */
  get buffered(): number {
    return this.#len;
  }

  /** Adds the next bytes of the connection. After a result other than "more" the reader is empty. */
  push(chunk: Uint8Array): HeadReadResult {
    const scanned = this.#len;
    let data = chunk, len = chunk.length;
    if (scanned > 0) {
      this.#append(chunk);
      data = this.#buf;
      len = this.#len;
    }
    if (this.#lineEnd < 0) {
      for (let i = Math.max(1, scanned); i < len; i++) {
        if (data[i] === LF && data[i - 1] === CR) {
          this.#lineEnd = i + 1;
          break;
        }
      }
      const error = this.#lineEnd < 0
        ? checkPartialRequestLine(data, len, this.limits)
        : lineError(parseRequestLine(data, this.#lineEnd, this.limits));
      if (error) return this.#fail(error);
    }
    const lineEnd = this.#lineEnd;
    const end = lineEnd < 0 ? -1 : findHeadEnd(data, Math.max(lineEnd + 1, scanned), len);
    if (end < 0) {
      if (lineEnd >= 0 && len - lineEnd > this.limits.maxHeaderBytes) {
        return this.#fail({
          status: 431,
          detail: `Request header section exceeds ${this.limits.maxHeaderBytes} bytes`,
        });
      }
      if (scanned === 0) this.#append(chunk);
      return { kind: "more" };
    }
    const head = parseRequestHead(data, end, this.limits, this.strip);
    this.#reset();
    if ("status" in head) return { kind: "error", error: head };
    return { kind: "head", head, raw: data.subarray(0, end), rest: data.subarray(end, len) };
  }

  /** Drops what is held. */
  #reset(): void {
    // A fresh buffer next time: the result's views may point into this one.
    this.#buf = EMPTY;
    this.#len = 0;
    this.#lineEnd = -1;
  }

  #fail(error: HeadError): HeadReadResult {
    this.#reset();
    return { kind: "error", error };
  }

  #append(chunk: Uint8Array): void {
    const need = this.#len + chunk.length;
    if (need > this.#buf.length) {
      const grown = new Uint8Array(Math.max(need, this.#buf.length * 2, 1024));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(chunk, this.#len);
    this.#len = need;
  }
}

function lineError(line: ReturnType<typeof parseRequestLine>): HeadError | undefined {
  return "status" in line ? line : undefined;
}
