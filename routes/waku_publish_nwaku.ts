/**
 * Publishing a message that came in nwaku's JSON, answered as nwaku
 * answers: a message the store's rules refuse is a problem whose detail is
 * nwaku's prefix for the route (`Failed to publish: `, …) and nwaku's words
 * (`Message size exceeded maximum of 153600 bytes`); a client that asks for
 * text/plain gets nwaku's `OK`, any other `{"messageHash"}`.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { accepts } from "hono/accepts";
import { HttpError } from "../error.ts";
import { toHex0x } from "../lib/bytes.ts";
import { InvalidInputError, TooLargeError } from "../lib/errors.ts";
import type { Publication, WakuService } from "../services/waku_service.ts";

/** How a route words and answers a refused message. */
export interface NwakuRefusal {
  /** nwaku's prefix for this route's publish errors. */
  prefix: string;
  /** Status of a message over the size limit (400 as nwaku's relay; lightpush v3 says 413). */
  tooLargeStatus?: number;
  /** Members the route's clients read in an error body, from nwaku's text (lightpush v3: statusDesc). */
  members?: (text: string) => Record<string, unknown>;
}

/**
 * Checks a publication by the store's rules (filling in a missing
 * timestamp); a refusal is an HttpError in nwaku's words.
 */
export function validateAsNwaku(
  waku: WakuService,
  p: Publication,
  how: NwakuRefusal,
): Publication {
  try {
    return waku.validate(p);
  } catch (e) {
    const refusal = e instanceof TooLargeError
      ? {
        status: how.tooLargeStatus ?? 400,
        text: `Message size exceeded maximum of ${e.limit} bytes`,
        field: "body",
        problem: e.message,
      }
      : e instanceof InvalidInputError
      ? { status: 400, text: e.message, field: `body.${e.field ?? ""}`, problem: e.problem }
      : undefined;
    if (!refusal) throw e;
    throw new HttpError(refusal.status, undefined, {
      detail: how.prefix + refusal.text,
      errors: [{ field: refusal.field, message: refusal.problem }],
      extensions: how.members?.(refusal.text),
    });
  }
}

/** Whether the client asked for text/plain (nwaku's `OK`) rather than JSON. */
function wantsText(c: Context): boolean {
  return accepts(c, {
    header: "Accept",
    supports: ["application/json", "text/plain"],
    default: "application/json",
  }) === "text/plain";
}

/** The documented answers of a publish (publishedAnswer). */
export const PUBLISHED = {
  200: {
    description: "Published",
    content: {
      "application/json": {
        schema: z.object({ messageHash: z.string() }).openapi("PublishResult"),
      },
      "text/plain": { schema: z.string().openapi({ example: "OK" }) },
    },
  },
};

/** A publish's answer: nwaku's `OK` to a client that asks for text/plain, else `{"messageHash"}`. */
export function publishedAnswer(c: Context, hash: Uint8Array): Response {
  return wantsText(c) ? c.text("OK") : c.json({ messageHash: toHex0x(hash) });
}
