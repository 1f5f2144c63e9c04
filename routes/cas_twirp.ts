/**
 * The spec's CAS service over Twirp, the transport of its proof of concept:
 * `POST /twirp/vac.cas.CAS/Add` (Content → Address) and `/Get` (Address →
 * Content), in protobuf or Twirp JSON as routes/twirp.ts serves them.
 * `Address.id` is the binary CID; Get also takes a bare 32-byte sha256.
 *
 * Protobuf Content moves as a stream both ways; a JSON Add is read whole
 * (its base64 text and the bytes it decodes to), so large content is best
 * added in protobuf or by `POST /cas`.
 */
import { contentDataStream } from "../protocols/cas/content_stream.ts";
import { CAS_SERVICE, decodeAddress, encodeAddress } from "../protocols/cas/proto.ts";
import type { CasService } from "../services/cas_service.ts";
import { AddressJson, BINARY, ContentJson } from "./cas_schemas.ts";
import { requestBody, type Routes } from "./define.ts";
import {
  base64Length,
  contentMessage,
  malformedAsTwirp,
  readTwirpJson,
  TWIRP_PROTOBUF,
  twirpErrors,
} from "./twirp.ts";

/** Largest Address body: a CID is under 100 bytes; room for unknown fields and JSON. */
const ADDRESS_BODY_LIMIT = 4096;

/** What the Twirp routes need. */
export interface CasTwirpDeps {
  cas: CasService;
  maxBytes: number;
  timeoutMs: number;
}

/** The Twirp routes of the spec's CAS service. */
export function casTwirpRoutes(routes: Routes, deps: CasTwirpDeps): void {
  const { cas, maxBytes } = deps;
  const base = `/twirp/${CAS_SERVICE}`;
  routes.app.use(`${base}/*`, twirpErrors());
  routes.define({
    method: "post",
    path: `${base}/Add`,
    tags: ["cas twirp"],
    summary: "Add content (Twirp vac.cas.CAS/Add)",
    description: "Content → Address (`id` = the binary CID). Protobuf bodies stream; a JSON " +
      `body is read whole. Content over ${maxBytes} bytes is refused (invalid_argument).`,
    body: { json: ContentJson, raw: TWIRP_PROTOBUF, stream: true },
    bodyLimit: base64Length(maxBytes) + ADDRESS_BODY_LIMIT,
    timeoutMs: deps.timeoutMs,
    responses: {
      200: {
        description: "Address",
        content: { "application/protobuf": BINARY, "application/json": { schema: AddressJson } },
      },
    },
  }, async (c, { contentType }) => {
    const json = contentType === "application/json";
    const data = json
      ? ReadableStream.from([(await readTwirpJson(c, ContentJson)).data ?? new Uint8Array()])
      : requestBody(c).pipeThrough(contentDataStream(maxBytes));
    // A client that goes away errors the body, which stops the add (nothing is kept).
    const added = await malformedAsTwirp(() => cas.add(data, { maxBytes }));
    const id = added.cid.cid.bytes;
    return json
      ? c.json({ id: id.toBase64() })
      : c.body(encodeAddress(id), 200, { "content-type": contentType! });
  });

  routes.define({
    method: "post",
    path: `${base}/Get`,
    tags: ["cas twirp"],
    summary: "Get content (Twirp vac.cas.CAS/Get)",
    description: "Address (`id` = a binary CID, or a bare 32-byte sha256) → Content, streamed.",
    access: "read",
    body: { json: AddressJson, raw: TWIRP_PROTOBUF, stream: true },
    bodyLimit: ADDRESS_BODY_LIMIT,
    responses: {
      200: {
        description: "Content",
        content: { "application/protobuf": BINARY, "application/json": { schema: ContentJson } },
      },
    },
  }, async (c, { contentType }) => {
    const id = contentType === "application/json"
      ? (await readTwirpJson(c, AddressJson)).id ?? new Uint8Array()
      : await malformedAsTwirp(async () => decodeAddress(await c.req.bytes()));
    const stat = await cas.require(cas.address(id, "id", { bareDigest: true }));
    return contentMessage(cas, stat, contentType!);
  });
}
