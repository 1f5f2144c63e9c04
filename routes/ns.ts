/**
 * The NS over HTTP as IPFS clients speak it: `GET`/`PUT
 * /routing/v1/ipns/{name}` as the delegated routing v1 API
 * (specs.ipfs.tech/routing/http-routing-v1), and `GET /ipns/{name}`, the
 * content a name resolves to, as a path gateway serves it. The spec's
 * Twirp NS service is in ns_twirp.ts.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { z } from "@hono/zod-openapi";
import { HttpError } from "../error.ts";
import { MAX_NAME_TEXT } from "../protocols/ns/name.ts";
import {
  acceptsIpnsRecord,
  IPNS_RECORD_TYPE,
  ipnsCacheControl,
} from "../protocols/ns/routing_v1.ts";
import { cacheWindow } from "../protocols/ns/ttl.ts";
import { etagOf } from "../protocols/cas/trustless.ts";
import type { NsPut, NsService } from "../services/ns_service.ts";
import { contentResponse, notModified, validatorHeaders } from "./cas_content.ts";
import { BINARY } from "./cas_schemas.ts";
import type { Routes } from "./define.ts";

/** What the NS routes need. */
export interface NsRoutesDeps {
  ns: NsService;
  /** Largest record taken. */
  maxRecordBytes: number;
}

const NAME_EXAMPLE = "k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8";

/** An IPNS name in a path; what it must be is checked by the NS (its errors say why). */
export const IpnsNameText = z.string().min(1).max(MAX_NAME_TEXT).openapi({
  description: "IPNS name: a libp2p-key CIDv1 in any multibase (base36 `k51…` canonical) or a " +
    "base58 peer id (`12D3KooW…`)",
  example: NAME_EXAMPLE,
});

const NameParams = z.object({ name: IpnsNameText });

/** What a PUT answers besides its 200: the record now current. */
export const NsPutJson = z.object({
  name: z.string().openapi({ example: NAME_EXAMPLE }),
  sequence: z.number().int().openapi({ description: "uint64, written exactly", example: 6 }),
  validity: z.string().openapi({ example: "2026-12-03T05:00:00.000000000Z" }),
  value: z.string().openapi({
    example: "/ipfs/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
  }),
  changed: z.boolean().openapi({ description: "false when this record was current already" }),
}).openapi("NsPut");

/** Declares the routing v1 and gateway routes of the NS. */
export function nsRoutes(routes: Routes, deps: NsRoutesDeps): void {
  const { ns, maxRecordBytes } = deps;
  const record = { [IPNS_RECORD_TYPE]: BINARY };

  routes.define({
    method: "get",
    path: "/routing/v1/ipns/{name}",
    tags: ["ns"],
    summary: "A name's IPNS record (delegated routing v1)",
    description: "The record as its key's owner published it, verifiable by the client. " +
      "`Cache-Control: public, max-age=<TTL>, stale-while-revalidate=…, stale-if-error=…` " +
      "never reaching past its validity (`no-store` once expired); `Expires` = its validity; " +
      "ETag from its bytes (If-None-Match → 304). Accept must allow " +
      `\`${IPNS_RECORD_TYPE}\` (absent and \`*/*\` do), else 406. A name with no record is 404.`,
    params: NameParams,
    responses: {
      200: { description: "The IPNS record", content: record },
      304: { description: "Not modified (If-None-Match)" },
    },
  }, async (c, { params }) => {
    if (!acceptsIpnsRecord(c.req.header("accept"))) {
      throw new HttpError(406, "Not Acceptable", {
        detail: `This answers IPNS records alone: retry with Accept: ${IPNS_RECORD_TYPE}`,
        headers: { vary: "Accept" },
      });
    }
    const found = await ns.get(params.name);
    const now = Date.now();
    const etag = `"${sha256(found.bytes).toHex()}"`;
    const headers = validatorHeaders(etag, {
      "cache-control": ipnsCacheControl(cacheWindow(found, now)),
      expires: new Date(Number(found.validUntilNs / 1_000_000n)).toUTCString(),
      "last-modified": new Date(now).toUTCString(),
      vary: "Accept",
    });
    const unchanged = notModified(c, headers);
    if (unchanged) return unchanged;
    return c.body(found.bytes as Uint8Array<ArrayBuffer>, 200, {
      ...headers,
      "content-type": IPNS_RECORD_TYPE,
      "content-disposition": `attachment; filename="${found.name}.ipns-record"`,
    });
  });

  routes.define({
    method: "put",
    path: "/routing/v1/ipns/{name}",
    tags: ["ns"],
    summary: "Publish an IPNS record (delegated routing v1)",
    description: "The body is a marshalled IPNS record (at most " +
      `${maxRecordBytes} bytes; larger is 413 before it is read). It is verified as the IPNS ` +
      "record spec says: signatureV2 by the name's key (or the record's pubKey, which must be " +
      "that key), V1 fields matching the signed data when present, validity not past; a " +
      "failure is 400 whose `type` names the check (`ipns-record-malformed`, " +
      "`ipns-signature-invalid`, `ipns-key-mismatch`, `ipns-v1-mismatch`, " +
      "`ipns-record-expired`). The highest sequence wins (at an equal sequence, the later " +
      "validity): any other record is 409 and the current one stays. The same record again " +
      "is 200 with `changed: false`.",
    params: NameParams,
    body: { raw: [IPNS_RECORD_TYPE], description: "A marshalled IPNS record (IpnsEntry)" },
    bodyLimit: maxRecordBytes,
    responses: {
      200: { description: "Published", content: { "application/json": { schema: NsPutJson } } },
    },
  }, async (c, { params }) => {
    const put = await ns.put(params.name, await c.req.bytes());
    return c.body(putJson(put), 200, { "content-type": "application/json" });
  });

  routes.define({
    method: "get",
    path: "/ipns/{name}",
    tags: ["ns"],
    summary: "The content a name resolves to",
    description: "Resolves the name's current record; its value must be `/ipfs/<cid>` of " +
      "content in this gateway's CAS, served as plain bytes with " +
      "`Cache-Control: public, max-age=<the record's TTL, never past its validity>`, ETag " +
      '`"<cid>"`, If-None-Match (304) and Range (206). 404 when the name has no valid ' +
      "record, or its value is another path or content not in the CAS.",
    params: NameParams,
    responses: {
      200: { description: "The content", content: { "application/octet-stream": BINARY } },
      206: { description: "A byte range of it", content: { "application/octet-stream": BINARY } },
      304: { description: "Not modified (If-None-Match)" },
    },
  }, async (c, { params }) => {
    const { resolved, stat } = await ns.content(params.name);
    return contentResponse(c, ns.cas, stat, {
      contentType: "application/octet-stream",
      etag: etagOf(stat.cid.text, "bytes"),
      extra: {
        "cache-control": `public, max-age=${resolved.ttlSeconds}`,
        "x-ipfs-path": `/ipns/${params.name}`,
        "x-ipfs-roots": stat.cid.text,
      },
    });
  });
}

/** A PUT's answer; the sequence is a uint64, so it is written by hand to stay exact. */
function putJson(put: NsPut): string {
  const rest = JSON.stringify({ validity: put.validity, value: put.value, changed: put.changed });
  return `{"name":${JSON.stringify(put.name)},"sequence":${put.sequence},${rest.slice(1)}`;
}
