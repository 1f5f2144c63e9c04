/**
 * The spec's NS service over Twirp, the transport of its proof of concept:
 * `POST /twirp/vac.cas.NS/Update` (NameUpdate{name, content = a marshalled
 * IPNS record} → Response) publishes as `PUT /routing/v1/ipns/{name}` does,
 * and `/Fetch` (Query{name} → Content) answers the bytes the name resolves
 * to: the CAS content of the `/ipfs/<cid>` in its record. Protobuf or Twirp
 * JSON; every failure is Twirp error JSON (routes/twirp.ts).
 */
import { z } from "@hono/zod-openapi";
import { MAX_NAME_TEXT } from "../protocols/ns/name.ts";
import {
  decodeNameUpdate,
  decodeQuery,
  encodeResponse,
  type NameUpdate,
  NS_SERVICE,
} from "../protocols/ns/proto.ts";
import type { NsService } from "../services/ns_service.ts";
import { BINARY, ContentJson } from "./cas_schemas.ts";
import type { Routes } from "./define.ts";
import {
  base64Length,
  contentMessage,
  malformedAsTwirp,
  protoBytes,
  readTwirpJson,
  TWIRP_PROTOBUF,
  twirpErrors,
} from "./twirp.ts";

/** Room in a body for a message's name and framing (and JSON's punctuation). */
const MESSAGE_OVERHEAD = 4096;

const NameText = z.string().max(MAX_NAME_TEXT);

/** `vac.cas.NameUpdate` in Twirp JSON; absent fields are empty, unknown ones ignored. */
export const NameUpdateJson = z.object({
  name: NameText.optional(),
  content: protoBytes("content").optional(),
}).openapi("VacCasNameUpdate");

/** `vac.cas.Query` in Twirp JSON. */
export const QueryJson = z.object({ name: NameText.optional() }).openapi("VacCasQuery");

/** `vac.cas.Response` in Twirp JSON: Update answers it with empty data. */
export const ResponseJson = z.object({ data: z.string() }).openapi("VacCasResponse");

/** What the NS Twirp routes need. */
export interface NsTwirpDeps {
  ns: NsService;
  maxRecordBytes: number;
}

/** The Twirp routes of the spec's NS service. */
export function nsTwirpRoutes(routes: Routes, deps: NsTwirpDeps): void {
  const { ns, maxRecordBytes } = deps;
  const base = `/twirp/${NS_SERVICE}`;
  routes.app.use(`${base}/*`, twirpErrors());
  const answers = (schema: z.ZodType) => ({
    "application/protobuf": BINARY,
    "application/json": { schema },
  });

  routes.define({
    method: "post",
    path: `${base}/Update`,
    tags: ["ns twirp"],
    summary: "Publish a name's record (Twirp vac.cas.NS/Update)",
    description: "NameUpdate{name, content = a marshalled IPNS record} → Response{} (empty " +
      "data). Verified and selected as `PUT /routing/v1/ipns/{name}` does: an invalid record " +
      "is invalid_argument, one that does not win over the current record aborted.",
    body: { json: NameUpdateJson, raw: TWIRP_PROTOBUF, stream: true },
    bodyLimit: base64Length(maxRecordBytes) + MESSAGE_OVERHEAD,
    responses: { 200: { description: "Response", content: answers(ResponseJson) } },
  }, async (c, { contentType }) => {
    const json = contentType === "application/json";
    let update: NameUpdate;
    if (json) {
      const body = await readTwirpJson(c, NameUpdateJson);
      update = { name: body.name ?? "", content: body.content ?? new Uint8Array() };
    } else {
      update = await malformedAsTwirp(async () => decodeNameUpdate(await c.req.bytes()));
    }
    await ns.put(update.name, update.content);
    return json
      ? c.json({ data: "" })
      : c.body(encodeResponse(new Uint8Array()) as Uint8Array<ArrayBuffer>, 200, {
        "content-type": contentType!,
      });
  });

  routes.define({
    method: "post",
    path: `${base}/Fetch`,
    tags: ["ns twirp"],
    summary: "What a name resolves to (Twirp vac.cas.NS/Fetch)",
    description: "Query{name} → Content{data}: the content of the `/ipfs/<cid>` the name's " +
      "record points at, from the CAS, streamed. not_found when the name has no valid record " +
      "or its content is not in the CAS.",
    access: "read",
    body: { json: QueryJson, raw: TWIRP_PROTOBUF, stream: true },
    bodyLimit: MESSAGE_OVERHEAD,
    responses: { 200: { description: "Content", content: answers(ContentJson) } },
  }, async (c, { contentType }) => {
    const name = contentType === "application/json"
      ? (await readTwirpJson(c, QueryJson)).name ?? ""
      : await malformedAsTwirp(async () => decodeQuery(await c.req.bytes()));
    const { stat } = await ns.content(name);
    return contentMessage(ns.cas, stat, contentType!);
  });
}
