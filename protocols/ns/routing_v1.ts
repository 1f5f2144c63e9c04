/**
 * The delegated routing v1 HTTP API's conventions for IPNS records
 * (specs.ipfs.tech/routing/http-routing-v1): their media type, the Accept
 * headers that ask for one (as boxo's server reads them: none, a wildcard
 * or the type itself), and the Cache-Control of an answer, which lets no
 * cache serve a record past its validity (boxo's reading of the spec's
 * `max-age={ttl}, stale-while-revalidate={sig-ttl}`).
 */
import type { CacheWindow } from "./ttl.ts";
import { acceptList } from "../http1/accept.ts";

/** The media type of a marshalled IPNS record. */
export const IPNS_RECORD_TYPE = "application/vnd.ipfs.ipns-record";

/** Whether an Accept header lets the answer be an IPNS record. */
export function acceptsIpnsRecord(accept: string | undefined): boolean {
  if (!accept?.trim()) return true;
  return acceptList(accept).some(({ type }) =>
    ["*/*", "application/*", IPNS_RECORD_TYPE].includes(type)
  );
}

/** The Cache-Control of a record answer: `no-store` once it has expired. */
export function ipnsCacheControl(window: CacheWindow): string {
  if (window.validFor <= 0) return "no-store";
  const stale = window.validFor - window.maxAge;
  return `public, max-age=${window.maxAge}, stale-while-revalidate=${stale}, ` +
    `stale-if-error=${stale}`;
}
