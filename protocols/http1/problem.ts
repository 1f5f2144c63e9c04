/**
 * The bytes of an HTTP/1.1 `application/problem+json` response (RFC 9457)
 * that closes the connection: what a front answers by itself when it
 * refuses a request before any application sees it.
 */

/** Reason phrases of the statuses a front answers by itself. */
export const REASONS: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  414: "URI Too Long",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

/** A problem to answer. */
export interface Problem {
  status: number;
  detail: string;
  /** Defaults to the status's reason phrase. */
  title?: string;
  /** Defaults to `about:blank`. */
  type?: string;
  /** Extra header lines, e.g. `{"retry-after": "1"}`. */
  headers?: Record<string, string>;
}

const encoder = new TextEncoder();

/**
 * A complete response with `Connection: close`.
 *
 * @example
 * ```ts
 * problemResponse({ status: 431, detail: "Request header section exceeds 16384 bytes" });
 * // HTTP/1.1 431 Request Header Fields Too Large, content-type: application/problem+json, …
 * ```
 */
export function problemResponse(p: Problem): Uint8Array {
  const reason = REASONS[p.status] ?? "Error";
  const body = JSON.stringify({
    type: p.type ?? "about:blank",
    title: p.title ?? reason,
    status: p.status,
    detail: p.detail,
  });
  let head = `HTTP/1.1 ${p.status} ${reason}\r\n` +
    "content-type: application/problem+json\r\n" +
    `content-length: ${encoder.encode(body).length}\r\n` +
    "connection: close\r\n" +
    "cache-control: no-store\r\n" +
    "x-content-type-options: nosniff\r\n";
  for (const [k, v] of Object.entries(p.headers ?? {})) head += `${k}: ${v}\r\n`;
  return encoder.encode(`${head}\r\n${body}`);
}
