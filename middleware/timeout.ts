/**
 * Request timeouts (504 problem+json). A route whose work is bounded by its
 * own, larger limits (a bulk publish of the largest body takes minutes to
 * store) sets its own timeout, so that a write in progress is not answered
 * 504 while it goes on to succeed.
 */
import type { MiddlewareHandler } from "hono";
import type { HTTPException } from "hono/http-exception";
import { timeout } from "hono/timeout";
import { HttpError } from "../error.ts";

/** Answers 504 when the rest of the chain takes longer than `ms`. */
export function requestTimeout(ms: number): MiddlewareHandler {
  return timeout(ms, () =>
    new HttpError(504, "Gateway Timeout", {
      detail: `The request took longer than ${ms} ms`,
    }) as unknown as HTTPException);
}
