/**
 * Request body limits (413 problem+json). A declared Content-Length is checked
 * from the header alone: touching `Request.body` makes Deno build a stream for
 * a body it could otherwise read in one piece, which costs every request.
 * Bodies without a length (chunked) are counted as they stream, by Hono's
 * bodyLimit.
 */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HttpError } from "../error.ts";

/** Limits request bodies to `maxSize` bytes. */
export function limitBody(maxSize: number): MiddlewareHandler {
  const streamed = bodyLimit({ maxSize, onError: tooLarge(maxSize) });
  return (c, next) => {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD") return next();
    const headers = c.req.raw.headers;
    const length = headers.get("content-length");
    if (length !== null && !headers.has("transfer-encoding")) {
      return Number(length) > maxSize ? tooLarge(maxSize)(c) : next();
    }
    return streamed(c, next);
  };
}

/** The 413 a body limit answers. */
function tooLarge(limit: number) {
  return (_c: Context): never => {
    throw new HttpError(413, "Content Too Large", {
      detail: `Request body exceeds ${limit} bytes`,
    });
  };
}
