/**
 * The CAS's HTTP API: `POST /cas` adds a raw body (streamed into KV, never
 * held whole), `GET /cas/{cid}` serves the bytes as plain
 * `application/octet-stream`; the IPFS trustless gateway (cas_gateway.ts)
 * and the spec's Twirp service (cas_twirp.ts) serve the same content.
 */
import { etagOf } from "../protocols/cas/trustless.ts";
import type { CasService } from "../services/cas_service.ts";
import { contentResponse } from "./cas_content.ts";
import { casGatewayRoutes } from "./cas_gateway.ts";
import { BINARY, CasAddedJson, CidParams } from "./cas_schemas.ts";
import { casTwirpRoutes } from "./cas_twirp.ts";
import { requestBody, type Routes } from "./define.ts";

/** What the CAS routes need. */
export interface CasRoutesDeps {
  cas: CasService;
  /** Largest content added. */
  maxBytes: number;
}

/** An upload of the largest content may be slow; its request may take this long. */
export const UPLOAD_TIMEOUT_MS = 600_000;

/** Media types `POST /cas` takes as a raw body. */
const RAW_BODY = ["application/octet-stream", "application/vnd.ipld.raw"];

/** Declares every CAS route. */
export function casRoutes(routes: Routes, deps: CasRoutesDeps): void {
  const { cas, maxBytes } = deps;
  routes.define({
    method: "post",
    path: "/cas",
    tags: ["cas"],
    summary: "Add content",
    description: "The raw body is the content, streamed into the store as it arrives. " +
      `Answers its CID (CIDv1, raw, sha2-256): 201 when new, 200 when it was stored already. ` +
      `Over ${maxBytes} bytes is 413 (as soon as the body passes the limit), and nothing ` +
      "of it is kept.",
    body: { raw: RAW_BODY, description: "The content" },
    bodyLimit: maxBytes,
    timeoutMs: UPLOAD_TIMEOUT_MS,
    responses: {
      201: { description: "Added", content: { "application/json": { schema: CasAddedJson } } },
      200: {
        description: "Stored already",
        content: { "application/json": { schema: CasAddedJson } },
      },
    },
  }, async (c) => {
    const body = requestBody(c);
    // A client that goes away errors the body, which stops the add (nothing is kept).
    const added = await cas.add(body, { maxBytes });
    return c.json(
      { cid: added.cid.text, size: added.size },
      added.created ? 201 : 200,
      { location: `/ipfs/${added.cid.text}` },
    );
  });

  routes.define({
    method: "get",
    path: "/cas/{cid}",
    tags: ["cas"],
    summary: "Content by CID, as plain bytes",
    description: "The same bytes as `/ipfs/{cid}?format=raw`, as `application/octet-stream`, " +
      'with ETag `"<cid>"`, If-None-Match (304) and Range (206/416). HEAD answers the headers.',
    params: CidParams,
    responses: {
      200: { description: "The content", content: { "application/octet-stream": BINARY } },
      206: { description: "A byte range of it", content: { "application/octet-stream": BINARY } },
      304: { description: "Not modified (If-None-Match)" },
    },
  }, async (c, { params }) => {
    const stat = await cas.require(cas.address(params.cid, "path.cid"));
    return contentResponse(c, cas, stat, {
      contentType: "application/octet-stream",
      etag: etagOf(stat.cid.text, "bytes"),
    });
  });

  casGatewayRoutes(routes, { cas });
  casTwirpRoutes(routes, { cas, maxBytes, timeoutMs: UPLOAD_TIMEOUT_MS });
}
