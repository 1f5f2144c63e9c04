/**
 * API-key guard: with a key configured, every route that writes needs
 * `Authorization: Bearer <key>` (routes/define.ts applies it); reads stay open. The comparison is
 * constant-time over SHA-256 digests, so neither content nor length leaks.
 */
import type { Context, MiddlewareHandler } from "hono";
import { sha256 } from "@noble/hashes/sha2.js";
import { HttpError } from "../error.ts";
import { equalSecret } from "../lib/bytes.ts";

const encoder = new TextEncoder();

/** Checks a presented token against the configured key in constant time. */
export function tokenMatches(presented: string, key: string): boolean {
  return equalSecret(sha256(encoder.encode(presented)), sha256(encoder.encode(key)));
}

/** The bearer token of a request, if it sent one. */
export function bearerToken(c: Context): string | undefined {
  const h = c.req.header("authorization");
  const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  return m?.[1];
}

/** True when the request may write: no key configured, or the right bearer token. */
export function isAuthorized(c: Context, apiKey: string | undefined): boolean {
  if (apiKey === undefined) return true;
  const token = bearerToken(c);
  return token !== undefined && tokenMatches(token, apiKey);
}

/** The 401 problem every guarded write answers without a valid key. */
export function unauthorized(): HttpError {
  return new HttpError(401, "Unauthorized", {
    detail: "This gateway requires an API key for writes: send Authorization: Bearer <key>",
    headers: { "www-authenticate": 'Bearer realm="syncgate"' },
  });
}

/** Rejects requests that lack the API key (on the routes that write). */
export function requireApiKey(apiKey: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (!isAuthorized(c, apiKey)) throw unauthorized();
    await next();
  };
}
