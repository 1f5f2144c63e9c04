/**
 * The IPFS trustless gateway's rules for `/ipfs/{cid}` (specs.ipfs.tech
 * http-gateways/trustless-gateway), pure: which response format a request
 * asks for (`?format=` wins over `Accept`), the ETag of each, whether
 * If-None-Match matches, and the immutable caching every answer carries.
 *
 * A request that asks for neither format asks for the "deserialized"
 * response of a path gateway. A trustless gateway does not give those:
 * boxo's gateway with deserialized responses off (as trustless-gateway.link
 * runs) answers 406 Not Acceptable; so does this one (the route says how to
 * ask instead).
 */
import { acceptList } from "../http1/accept.ts";

/** The raw block media type. */
export const RAW_MEDIA = "application/vnd.ipld.raw";
/** The CAR media type, and the version given. */
export const CAR_MEDIA = "application/vnd.ipld.car";
export const CAR_CONTENT_TYPE = `${CAR_MEDIA}; version=1`;
/** What a response under an immutable CID may be cached for: a year, as gateways send. */
export const IMMUTABLE_CACHE = "public, max-age=29030400, immutable";

/** What a request to `/ipfs/{cid}` asks for. */
export type GatewayFormat = "raw" | "car" | "deserialized";

/**
 * The format asked for: `format` (the query parameter) if given, else the
 * first trustless media type in Accept by preference (q, then order).
 * Throws RangeError for a `format` this gateway does not serve.
 */
export function requestedFormat(format: string | undefined, accept: string | null): GatewayFormat {
  if (format !== undefined && format !== "") {
    if (format === "raw" || format === "car") return format;
    throw new RangeError(
      `format "${format}" is not served here; a trustless gateway serves "raw" and "car"`,
    );
  }
  for (const { type, params } of acceptList(accept ?? "")) {
    if (type === RAW_MEDIA) return "raw";
    // CARv2 and other versions are not served; version 1 is the default.
    if (type === CAR_MEDIA && (params.version ?? "1") === "1") return "car";
  }
  return "deserialized";
}

/** The ETag of a format's response for a CID, as boxo and verified-fetch write them. */
export function etagOf(cidText: string, format: "raw" | "car" | "bytes"): string {
  return format === "bytes" ? `"${cidText}"` : `"${cidText}.${format}"`;
}

/**
 * Whether If-None-Match matches `etag` (RFC 9110 §13.1.2: `*`, or any
 * listed tag by weak comparison).
 */
export function noneMatchHits(ifNoneMatch: string | null, etag: string): boolean {
  if (ifNoneMatch === null) return false;
  if (ifNoneMatch.trim() === "*") return true;
  const bare = (t: string) => t.trim().replace(/^W\//, "");
  return ifNoneMatch.split(",").some((t) => bare(t) === bare(etag));
}
