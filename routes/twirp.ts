/**
 * Twirp on the gateway's routes, for the spec's services (`vac.cas.CAS`,
 * `vac.cas.NS`): bodies in protobuf (`application/protobuf`, also read as
 * `application/x-protobuf`; the answer is in the request's type) or Twirp
 * JSON (protojson: bytes as base64), and every failure under a service's
 * paths as Twirp error JSON, the gateway's own refusals (auth, limits,
 * wrong method or type) included.
 *
 * @example
 * ```ts
 * routes.app.use("/twirp/vac.cas.NS/*", twirpErrors());
 * const query = json ? await readTwirpJson(c, QueryJson) : await malformedAsTwirp(…);
 * ```
 */
import { z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { HttpError } from "../error.ts";
import { contentJsonStream } from "../protocols/cas/content_json.ts";
import { contentPrefix } from "../protocols/cas/content_stream.ts";
import { isTwirpCode, twirpCodeOf, twirpError } from "../protocols/cas/twirp.ts";
import type { CasService, CasStat } from "../services/cas_service.ts";
import { prefixed } from "../protocols/cas/prefixed.ts";
import { base64Bytes, parse } from "./define.ts";

/** The protobuf media types a Twirp route takes. */
export const TWIRP_PROTOBUF = ["application/protobuf", "application/x-protobuf"];

/**
 * Turns every problem answered under the paths it is mounted on into Twirp
 * error JSON: the code a handler named (the problem's `twirpCode`), else
 * the one of its status; a path no route has is bad_route, as Twirp's
 * servers say.
 */
export function twirpErrors(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const type = c.res.headers.get("content-type") ?? "";
    if (c.res.status < 400 || !type.startsWith("application/problem+json")) return;
    const problem = await c.res.json() as Record<string, unknown>;
    const code = isTwirpCode(problem.twirpCode)
      ? problem.twirpCode
      : c.res.status === 404 && !c.error
      ? "bad_route"
      : twirpCodeOf(c.res.status);
    const { status, body } = twirpError(code, String(problem.detail ?? problem.title ?? "Error"));
    c.res = new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json" },
    });
  };
}

/** Runs `fn`; a body that does not decode (SyntaxError) becomes a Twirp `malformed`. */
export async function malformedAsTwirp<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    throw new HttpError(400, "Malformed", {
      detail: `The body could not be decoded: ${e.message}`,
      extensions: { twirpCode: "malformed" },
    });
  }
}

/** A JSON body, parsed (malformed when it is no JSON) and validated (invalid_argument). */
export async function readTwirpJson<T extends z.ZodType>(
  c: Context,
  schema: T,
): Promise<z.infer<T>> {
  const json = await malformedAsTwirp(async () => JSON.parse(await c.req.text()));
  return parse(schema, json, "body");
}

/** A `bytes` field in Twirp JSON: protojson writes standard base64 and reads the URL-safe form too. */
export const protoBytes = (what: string) =>
  base64Bytes(`${what} is not valid base64`, {
    prepare: (s) => s.replaceAll("-", "+").replaceAll("_", "/"),
  }).openapi({ type: "string", format: "byte", description: "base64" });

/**
 * A `vac.cas.Content` answer holding CAS content, streamed from the store
 * in the request's type: protobuf, or JSON with the data in base64.
 */
export function contentMessage(cas: CasService, stat: CasStat, contentType: string): Response {
  if (contentType === "application/json") {
    return new Response(cas.read(stat).pipeThrough(contentJsonStream()), {
      headers: {
        "content-type": "application/json",
        "content-length": String('{"data":""}'.length + base64Length(stat.size)),
      },
    });
  }
  const head = contentPrefix(stat.size);
  return new Response(prefixed(head, cas.read(stat)), {
    headers: { "content-type": contentType, "content-length": String(head.length + stat.size) },
  });
}

/** Characters of the padded base64 of `n` bytes. */
export function base64Length(n: number): number {
  return 4 * Math.ceil(n / 3);
}
