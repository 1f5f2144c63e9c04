/**
 * Request body limits (413 problem+json). A declared Content-Length is
 * checked from the header alone, before anything is read: touching
 * `Request.body` makes Deno build a stream for a body it could otherwise
 * read in one piece, which costs every request. A body without a length
 * (chunked) is counted as it streams and fails with TooLargeError the
 * moment it crosses the limit, whoever reads it (a handler's text(), or a
 * handler parsing the stream item by item).
 */
import type { MiddlewareHandler } from "hono";
import { TooLargeError } from "../lib/errors.ts";

/** Limits request bodies to `maxSize` bytes. */
export function limitBody(maxSize: number): MiddlewareHandler {
  return async (c, next) => {
    const req = c.req.raw;
    if (req.method === "GET" || req.method === "HEAD") return await next();
    const length = req.headers.get("content-length");
    if (length !== null && !req.headers.has("transfer-encoding")) {
      if (Number(length) > maxSize) {
        throw new TooLargeError("Request body", Number(length), maxSize);
      }
      return await next();
    }
    if (req.body) {
      c.req.raw = new Request(req, { body: req.body.pipeThrough(countBytes(maxSize)) });
    }
    await next();
  };
}

/** Passes bytes through until more than `max` have come, then errors with TooLargeError. */
export function countBytes(max: number): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > max) controller.error(new TooLargeError("Request body", seen, max));
      else controller.enqueue(chunk);
    },
  });
}
