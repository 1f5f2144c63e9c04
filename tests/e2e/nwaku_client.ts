/**
 * What the nwaku compatibility tests send, as nwaku's own REST client sends
 * it (presto: every parameter, URL-encoded with Nim's encodeUrl), and what
 * they check of every error: a problem with the status.
 */
import assert from "node:assert/strict";

/** Nim's encodeUrl: unreserved characters stay, a space is `+`, the rest `%XX`. */
export function nimEncodeUrl(text: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(text)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c)
      ? c
      : c === " "
      ? "+"
      : "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** The store v3 parameters in the order nwaku's client declares (and sends) them. */
const STORE_PARAMS = [
  "peerAddr",
  "includeData",
  "pubsubTopic",
  "contentTopics",
  "startTime",
  "endTime",
  "hashes",
  "cursor",
  "ascending",
  "pageSize",
] as const;
export type StoreParams = Partial<Record<(typeof STORE_PARAMS)[number], string>>;

/**
 * The query string of nwaku's getStoreMessagesV3: every parameter, empty
 * when not given, pageSize "20". nwaku's tests hand it values already
 * encodeUrl'd (so they travel encoded twice): `twice` does that.
 */
export function nwakuStoreQuery(params: StoreParams = {}, twice = false): string {
  const values: StoreParams = { pageSize: "20", ...params };
  return "?" + STORE_PARAMS.map((name) => {
    const v = values[name] ?? "";
    return `${name}=${nimEncodeUrl(twice ? nimEncodeUrl(v) : v)}`;
  }).join("&");
}

/** Asserts a problem+json answer of this status; returns its body. */
export async function problem(res: Response, status: number): Promise<Record<string, unknown>> {
  const body = await res.json();
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.equal(body.status, status);
  return body;
}

/** A request with a JSON body (any method). */
export function sendJson(
  url: string,
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}
