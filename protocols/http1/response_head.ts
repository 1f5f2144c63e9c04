/**
 * An HTTP/1.1 response head (RFC 9112 §4, §6.3) and how long the response's
 * body is, which depends on the request it answers (HEAD, CONNECT) as well
 * as on its status and fields.
 */
import { walkFields } from "./fields.ts";
import { CR, equalsIgnoreCase, findHeadEnd, latin1, LF, parseLength, tokens } from "./syntax.ts";

/** A parsed response head. */
export interface ResponseHead {
  status: number;
  /** The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: 0 | 1;
  /** Content-Length, or -1 when absent. */
  contentLength: number;
  /** Whether Transfer-Encoding is present, and whether its final coding is chunked. */
  transferEncoding: boolean;
  chunked: boolean;
  /** Whether the server lets the connection persist after this response. */
  keepAlive: boolean;
  /** Bytes in the head, final CRLF CRLF included. */
  length: number;
}

/**
 * How a response's body ends: `none` (at the head), `length` (after that many
 * bytes), `chunked`, `close` (when the server closes), `interim` (a 1xx other
 * than 101: the final response follows), `tunnel` (101, or 2xx to CONNECT:
 * the connection is no longer HTTP).
 */
export type ResponseFraming =
  | { kind: "none" | "chunked" | "close" | "interim" | "tunnel" }
  | { kind: "length"; length: number };

/**
 * Parses a response head from the start of `b[0, len)`: the head, "more" if
 * it is not complete yet, or an error detail. Heads longer than `maxBytes`
 * are an error.
 *
 * @example
 * ```ts
 * const b = new TextEncoder().encode("HTTP/1.1 204 No Content\r\n\r\n");
 * parseResponseHead(b, b.length, 65536); // { status: 204, minor: 1, contentLength: -1, … }
 * ```
 */
export function parseResponseHead(
  b: Uint8Array,
  len: number,
  maxBytes: number,
  from = 0,
): ResponseHead | "more" | string {
  const end = findHeadEnd(b, from, len);
  if (end < 0) return len > maxBytes ? `Response head exceeds ${maxBytes} bytes` : "more";
  if (end > maxBytes) return `Response head exceeds ${maxBytes} bytes`;
  // "HTTP/1." DIGIT SP 3DIGIT SP reason CRLF
  if (
    end < 16 || latin1(b, 0, 7) !== "HTTP/1." || (b[7] !== 0x30 && b[7] !== 0x31) ||
    b[8] !== 0x20 || (end > 12 && b[12] !== 0x20 && b[12] !== CR)
  ) {
    return "Malformed status line";
  }
  const status = parseLength(b, 9, 12);
  if (status < 100 || status > 999) return "Malformed status code";
  let lineEnd = 12;
  while (lineEnd < end && b[lineEnd] !== LF) lineEnd++;
  if (b[lineEnd - 1] !== CR) return "Malformed status line";
  lineEnd++;
  const minor = (b[7] - 0x30) as 0 | 1;
  let contentLength = -1, lengthError = false, te = "", close = false, keepAliveToken = false;
  const res = walkFields(b, lineEnd, end, 1000, (ns, ne, vs, ve) => {
    if (equalsIgnoreCase(b, ns, ne, "content-length")) {
      const n = parseLength(b, vs, ve);
      if (n < 0 || (contentLength >= 0 && n !== contentLength)) lengthError = true;
      contentLength = n;
    } else if (equalsIgnoreCase(b, ns, ne, "transfer-encoding")) {
      te += (te ? "," : "") + latin1(b, vs, ve);
    } else if (equalsIgnoreCase(b, ns, ne, "connection")) {
      for (const t of tokens(latin1(b, vs, ve))) {
        if (t === "close") close = true;
        else if (t === "keep-alive") keepAliveToken = true;
      }
    }
    return undefined;
  });
  if (typeof res === "string") return res;
  if (lengthError) return "Invalid Content-Length in response";
  const codings = tokens(te);
  return {
    status,
    minor,
    contentLength,
    transferEncoding: codings.length > 0,
    chunked: codings.at(-1) === "chunked",
    keepAlive: minor === 1 ? !close : keepAliveToken && !close,
    length: end,
  };
}

/**
 * How the body of `head` is delimited, for a response to a request with
 * `method` (RFC 9112 §6.3, in its order).
 *
 * @example
 * ```ts
 * responseFraming({ status: 200, contentLength: 5, … }, "HEAD"); // { kind: "none" }
 * ```
 */
export function responseFraming(head: ResponseHead, method: string): ResponseFraming {
  const s = head.status;
  if (s === 101) return { kind: "tunnel" };
  if (s < 200) return { kind: "interim" };
  if (method === "HEAD" || s === 204 || s === 304) return { kind: "none" };
  if (method === "CONNECT" && s < 300) return { kind: "tunnel" };
  if (head.transferEncoding) return { kind: head.chunked ? "chunked" : "close" };
  if (head.contentLength >= 0) return { kind: "length", length: head.contentLength };
  return { kind: "close" };
}
