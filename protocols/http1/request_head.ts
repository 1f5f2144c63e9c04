/**
 * An HTTP/1.1 request head (RFC 9112 §3, §6): request line, fields, and what
 * they say about the message's body and the connection. The framing rules
 * are the strict ones: a head that two parsers could frame differently
 * (Content-Length with Transfer-Encoding, two lengths, an unknown coding) is
 * refused, since the front and the server behind it must agree on where
 * each request ends.
 */
import { walkFields } from "./fields.ts";
import {
  CR,
  equalsIgnoreCase,
  latin1,
  LF,
  parseLength,
  SP,
  TARGET_CHAR,
  TCHAR,
  tokens,
} from "./syntax.ts";

/** How a message's body is delimited. */
export type BodyFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" };

/** Limits on a request head; beyond them the head is refused with 414 or 431. */
export interface HeadLimits {
  /** Longest request-target, in bytes (414 beyond). */
  maxUrlBytes: number;
  /** Largest field section (all header lines and the final CRLF), in bytes (431 beyond). */
  maxHeaderBytes: number;
  /** Most header fields (431 beyond). */
  maxHeaderCount: number;
}

/** A parsed request head. */
export interface RequestHead {
  method: string;
  target: string;
  /** The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: 0 | 1;
  body: BodyFraming;
  /** Whether the client lets the connection persist after this exchange. */
  keepAlive: boolean;
  /** An Upgrade field or a CONNECT: what follows a 101 (or 2xx to CONNECT) is a tunnel. */
  upgrade: boolean;
  /** Offsets [start, end) of field lines named by the parse's `strip`, pairwise. */
  stripped: number[];
  /** Bytes in the head, final CRLF CRLF included. */
  length: number;
}

/** A head refused: the status to answer and a sentence saying why. */
export interface HeadError {
  status: 400 | 414 | 431 | 501 | 505;
  detail: string;
}

/** Longest method token accepted (the registered ones are ≤ 17 bytes). */
export const MAX_METHOD_BYTES = 32;

/**
 * Parses the complete head `b[0, end)` (`end` just past CRLF CRLF). Field
 * lines named `strip` (lower-case) are reported in `stripped`, for a proxy
 * that sets that field itself.
 *
 * @example
 * ```ts
 * const b = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * const head = parseRequestHead(b, b.length, { maxUrlBytes: 8192, maxHeaderBytes: 16384, maxHeaderCount: 100 });
 * // { method: "GET", target: "/", minor: 1, body: { kind: "none" }, keepAlive: true, … }
 * ```
 */
export function parseRequestHead(
  b: Uint8Array,
  end: number,
  limits: HeadLimits,
  strip?: string,
): RequestHead | HeadError {
  const line = parseRequestLine(b, end, limits);
  if ("status" in line) return line;
  const { method, target, minor, lineEnd } = line;
  if (end - lineEnd > limits.maxHeaderBytes) {
    return { status: 431, detail: `Request header section exceeds ${limits.maxHeaderBytes} bytes` };
  }
  let length = -1, lengths = 0, te: string | undefined, tes = 0;
  let close = false, keepAliveToken = false, upgrade = method === "CONNECT";
  const stripped: number[] = [];
  const res = walkFields(b, lineEnd, end, limits.maxHeaderCount, (ns, ne, vs, ve, le) => {
    switch (ne - ns) {
      case 14:
        if (equalsIgnoreCase(b, ns, ne, "content-length")) {
          lengths++;
          length = parseLength(b, vs, ve);
          if (length < 0) return `Invalid Content-Length "${latin1(b, vs, Math.min(ve, vs + 40))}"`;
        }
        break;
      case 17:
        if (equalsIgnoreCase(b, ns, ne, "transfer-encoding")) {
          tes++;
          te = latin1(b, vs, ve).toLowerCase();
        }
        break;
      case 10:
        if (equalsIgnoreCase(b, ns, ne, "connection")) {
          for (const t of tokens(latin1(b, vs, ve))) {
            if (t === "close") close = true;
            else if (t === "keep-alive") keepAliveToken = true;
          }
        }
        break;
      case 7:
        if (equalsIgnoreCase(b, ns, ne, "upgrade")) upgrade = true;
        break;
    }
    if (strip !== undefined && equalsIgnoreCase(b, ns, ne, strip)) stripped.push(ns, le);
    return undefined;
  });
  if (typeof res === "string") {
    return { status: res.startsWith("More than") ? 431 : 400, detail: res };
  }
  if (lengths > 1) return { status: 400, detail: "More than one Content-Length field" };
  let body: BodyFraming = { kind: "none" };
  if (tes > 0) {
    if (lengths > 0) {
      return { status: 400, detail: "Both Transfer-Encoding and Content-Length are present" };
    }
    if (minor === 0) return { status: 400, detail: "Transfer-Encoding in an HTTP/1.0 request" };
    if (tes > 1 || te !== "chunked") {
      return { status: 501, detail: `Transfer-Encoding "${te}" is not supported; use chunked` };
    }
    body = { kind: "chunked" };
  } else if (lengths === 1 && length > 0) {
    body = { kind: "length", length };
  }
  const keepAlive = minor === 1 ? !close : keepAliveToken && !close;
  return { method, target, minor, body, keepAlive, upgrade, stripped, length: end };
}

/** A parsed request line. */
export interface RequestLine {
  method: string;
  target: string;
  minor: 0 | 1;
  /** Offset just past the request line's CRLF. */
  lineEnd: number;
}

/** Parses the request line `b[0, end)`, `end` just past its CRLF (or any later offset). */
export function parseRequestLine(
  b: Uint8Array,
  end: number,
  limits: HeadLimits,
): RequestLine | HeadError {
  let pos = 0;
  while (pos < end && TCHAR[b[pos]] === 1) pos++;
  if (pos === 0 || b[pos] !== SP) return { status: 400, detail: "Malformed request line" };
  if (pos > MAX_METHOD_BYTES) {
    return { status: 400, detail: `Method longer than ${MAX_METHOD_BYTES} bytes` };
  }
  const method = latin1(b, 0, pos);
  const targetStart = ++pos;
  while (pos < end && TARGET_CHAR[b[pos]] === 1) pos++;
  const targetEnd = pos;
  if (targetEnd - targetStart > limits.maxUrlBytes) {
    return { status: 414, detail: `Request target longer than ${limits.maxUrlBytes} bytes` };
  }
  if (targetEnd === targetStart || b[pos] !== SP) {
    return { status: 400, detail: "Malformed request line" };
  }
  pos++;
  // "HTTP/" DIGIT "." DIGIT CRLF
  if (
    end - pos < 10 || b[pos] !== 0x48 || b[pos + 1] !== 0x54 || b[pos + 2] !== 0x54 ||
    b[pos + 3] !== 0x50 || b[pos + 4] !== 0x2f || b[pos + 6] !== 0x2e ||
    b[pos + 8] !== CR || b[pos + 9] !== LF
  ) {
    return { status: 400, detail: "Malformed HTTP version in request line" };
  }
  const major = b[pos + 5] - 0x30, minor = b[pos + 7] - 0x30;
  if (major < 0 || major > 9 || minor < 0 || minor > 9) {
    return { status: 400, detail: "Malformed HTTP version in request line" };
  }
  if (major !== 1 || minor > 1) {
    return { status: 505, detail: `HTTP/${major}.${minor} is not supported; use HTTP/1.1` };
  }
  return {
    method,
    target: latin1(b, targetStart, targetEnd),
    minor: minor as 0 | 1,
    lineEnd: pos + 10,
  };
}

/**
 * Checks the start of an incomplete head `b[0, len)` whose request line is not
 * yet complete: a method that is not a token (garbage such as TLS shows here
 * at once), or a target already longer than the limit. Undefined when it may
 * still become a valid head.
 */
export function checkPartialRequestLine(
  b: Uint8Array,
  len: number,
  limits: HeadLimits,
): HeadError | undefined {
  const m = Math.min(len, MAX_METHOD_BYTES + 1);
  let i = 0;
  while (i < m && TCHAR[b[i]] === 1) i++;
  if (i === m) {
    return m > MAX_METHOD_BYTES
      ? { status: 400, detail: `Method longer than ${MAX_METHOD_BYTES} bytes` }
      : undefined;
  }
  if (b[i] !== SP || i === 0) return { status: 400, detail: "Malformed request line" };
  // What follows the method is the target, SP, "HTTP/1.1" and CRLF.
  if (len - (i + 1) > limits.maxUrlBytes + 10) {
    return { status: 414, detail: `Request target longer than ${limits.maxUrlBytes} bytes` };
  }
  return undefined;
}
