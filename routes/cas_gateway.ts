/**
 * `GET`/`HEAD /ipfs/{cid}` as an IPFS trustless gateway
 * (specs.ipfs.tech/http-gateways/trustless-gateway): the raw block
 * (`?format=raw`, `Accept: application/vnd.ipld.raw`) or a CARv1 holding it
 * (`?format=car`, `Accept: application/vnd.ipld.car`), both verifiable
 * against the CID by the client. The rules are protocols/cas/trustless.ts.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HttpError } from "../error.ts";
import { InvalidInputError } from "../lib/errors.ts";
import { carHead } from "../protocols/cas/car.ts";
import { prefixed } from "../protocols/cas/prefixed.ts";
import {
  CAR_CONTENT_TYPE,
  CAR_MEDIA,
  etagOf,
  RAW_MEDIA,
  requestedFormat,
} from "../protocols/cas/trustless.ts";
import type { CasService, CasStat } from "../services/cas_service.ts";
import { contentResponse, notModified, validatorHeaders } from "./cas_content.ts";
import { BINARY, CidParams } from "./cas_schemas.ts";
import type { Routes } from "./define.ts";

/** The trustless gateway route. */
export function casGatewayRoutes(routes: Routes, deps: { cas: CasService }): void {
  const { cas } = deps;
  routes.define({
    method: "get",
    path: "/ipfs/{cid}",
    tags: ["cas"],
    summary: "Content by CID (IPFS trustless gateway)",
    description: "`?format=raw` or `Accept: application/vnd.ipld.raw`: the raw block, with " +
      'Range (206/416), If-None-Match (304) and ETag `"<cid>.raw"`. `?format=car` or ' +
      "`Accept: application/vnd.ipld.car`: a CARv1 whose root and only block is the CID. " +
      "Immutable: `Cache-Control: public, max-age=29030400, immutable`. A request for neither " +
      "asks for a deserialized response, which a trustless gateway does not give: 406 " +
      "(`GET /cas/{cid}` serves the plain bytes). HEAD answers the same headers.",
    params: CidParams,
    query: z.object({
      format: z.string().max(64).optional().openapi({ description: "`raw` or `car`" }),
    }),
    responses: {
      200: {
        description: "The block, or a CAR of it",
        content: { [RAW_MEDIA]: BINARY, [CAR_MEDIA]: BINARY },
      },
      206: { description: "A byte range of the block", content: { [RAW_MEDIA]: BINARY } },
      304: { description: "Not modified (If-None-Match)" },
    },
  }, async (c, { params, query }) => {
    const cid = cas.address(params.cid, "path.cid");
    let format;
    try {
      format = requestedFormat(query.format, c.req.header("accept") ?? null);
    } catch (e) {
      throw new InvalidInputError("query.format", (e as Error).message);
    }
    if (format === "deserialized") {
      throw new HttpError(406, "Not Acceptable", {
        detail: "This is a trustless gateway: ask for ?format=raw (Accept: " +
          `${RAW_MEDIA}) or ?format=car (Accept: ${CAR_MEDIA}); GET /cas/${cid.text} ` +
          "serves the plain bytes",
        headers: { vary: "Accept" },
      });
    }
    const stat = await cas.require(cid);
    // Attachments, as gateways send blocks and CARs, so browsers do not render them.
    const file = `${cid.text}.${format === "raw" ? "bin" : "car"}`;
    const extra = {
      vary: "Accept",
      "x-ipfs-path": `/ipfs/${params.cid}`,
      "x-ipfs-roots": cid.text,
      "content-disposition": `attachment; filename="${file}"`,
    };
    if (format === "car") return carResponse(c, cas, stat, extra);
    return contentResponse(c, cas, stat, {
      contentType: RAW_MEDIA,
      etag: etagOf(cid.text, "raw"),
      extra,
    });
  });
}

/** A CARv1 of the block: its whole (a CAR is not served by range), streamed. */
function carResponse(
  c: Context,
  cas: CasService,
  stat: CasStat,
  extra: Record<string, string>,
): Response {
  const headers = validatorHeaders(etagOf(stat.cid.text, "car"), extra);
  const unchanged = notModified(c, headers);
  if (unchanged) return unchanged;
  const head = carHead(stat.cid.cid, stat.size);
  headers["content-type"] = CAR_CONTENT_TYPE;
  headers["content-length"] = String(head.length + stat.size);
  headers["accept-ranges"] = "none";
  return new Response(prefixed(head, cas.read(stat)), { headers });
}
