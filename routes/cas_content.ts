/**
 * Answers for CAS content read over HTTP: the bytes of a CID with its
 * ETag and immutable caching, If-None-Match (304) and one byte Range
 * (206, 416), streamed from KV as the client takes them. HEAD gets the
 * same headers: Hono answers it with the GET handler's headers, and the
 * content stream, never pulled, reads nothing.
 */
import type { Context } from "hono";
import { HttpError } from "../error.ts";
import { byteRange, contentRange, unsatisfiedRange } from "../protocols/cas/byte_range.ts";
import { IMMUTABLE_CACHE, noneMatchHits } from "../protocols/cas/trustless.ts";
import type { CasService, CasStat } from "../services/cas_service.ts";

/** How a route presents content. */
export interface ContentHeaders {
  contentType: string;
  etag: string;
  /** More headers for every answer (the gateway's X-Ipfs-Path, say). */
  extra?: Record<string, string>;
}

/** The answer to a GET or HEAD of content that `cas.stat` found. */
export function contentResponse(
  c: Context,
  cas: CasService,
  stat: CasStat,
  how: ContentHeaders,
): Response {
  const headers = validatorHeaders(how.etag, how.extra);
  const unchanged = notModified(c, headers);
  if (unchanged) return unchanged;
  headers["accept-ranges"] = "bytes";
  // If-Range with another validator asks for the whole content (RFC 9110 §13.1.5).
  const ifRange = c.req.header("if-range");
  const range = ifRange === undefined || ifRange.trim() === how.etag
    ? byteRange(c.req.header("range") ?? null, stat.size)
    : undefined;
  if (range === "unsatisfiable") {
    throw new HttpError(416, "Range Not Satisfiable", {
      detail: `Range "${c.req.header("range")}" selects none of the ${stat.size} bytes of ` +
        stat.cid.text,
      headers: { "content-range": unsatisfiedRange(stat.size) },
    });
  }
  headers["content-type"] = how.contentType;
  if (!range) {
    headers["content-length"] = String(stat.size);
    return new Response(cas.read(stat), { status: 200, headers });
  }
  headers["content-range"] = contentRange(range, stat.size);
  headers["content-length"] = String(range.end - range.start + 1);
  return new Response(cas.read(stat, range), { status: 206, headers });
}

/** The headers every answer about immutable content carries: its ETag and caching. */
export function validatorHeaders(
  etag: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return { etag, "cache-control": IMMUTABLE_CACHE, ...extra };
}

/** A 304 when the request's If-None-Match matches the ETag in `headers`. */
export function notModified(c: Context, headers: Record<string, string>): Response | undefined {
  if (!noneMatchHits(c.req.header("if-none-match") ?? null, headers.etag)) return undefined;
  return new Response(null, { status: 304, headers });
}
