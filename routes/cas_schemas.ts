/**
 * zod schemas of the CAS routes (the IPFS gateway's vocabulary, and the
 * Twirp JSON of the spec's `vac.cas` messages). They validate requests and
 * document them in /openapi.json.
 */
import { z } from "@hono/zod-openapi";
import { MAX_CID_TEXT } from "../protocols/cas/cid.ts";
import { protoBytes } from "./twirp.ts";

/** A CID path segment; what it must be is checked by the CAS (its errors name the CID). */
export const CidText = z.string().min(1).max(MAX_CID_TEXT).openapi({
  description: "CIDv1, raw codec (0x55), sha2-256; any multibase (base32 `bafkrei…` canonical)",
  example: "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
});

export const CidParams = z.object({ cid: CidText });

/** What `POST /cas` answers. */
export const CasAddedJson = z.object({
  cid: z.string().openapi({
    example: "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
  }),
  size: z.number().int().openapi({ example: 0 }),
}).openapi("CasAdded");

/** `vac.cas.Content` in Twirp JSON; unknown fields are ignored, as Twirp's server does. */
export const ContentJson = z.object({ data: protoBytes("data").optional() }).openapi(
  "VacCasContent",
);

/** `vac.cas.Address` in Twirp JSON. */
export const AddressJson = z.object({ id: protoBytes("id").optional() }).openapi("VacCasAddress");

/** A response body of bytes, for /openapi.json. */
export const BINARY = { schema: z.string().openapi({ format: "binary" }) };
