/**
 * Waku store queries: nwaku's REST (`GET /store/v3/messages`) and the seed
 * protocol 2.0.0-beta2 as protobuf over HTTP.
 */
import { z } from "@hono/zod-openapi";
import { HttpError } from "../error.ts";
import { InvalidInputError } from "../lib/errors.ts";
import { toHex0x } from "../lib/bytes.ts";
import { storeEntryToJson } from "../protocols/waku/rest_json.ts";
import { decodeRecord, recordHash } from "../storage/waku_record.ts";
import {
  decodeHistoryRPC,
  encodeHistoryRPC,
  STORE_PROTOCOL_ID,
} from "../protocols/waku/store_rpc.ts";
import type { StorePage, StoreQuery, WakuService } from "../services/waku_service.ts";
import type { Routes } from "./define.ts";
import { StoreQueryParams, StoreResponse } from "./waku_schemas.ts";

const PROTOBUF = "application/x-protobuf";

/** Mounts the store routes. */
export function wakuStoreRoutes(routes: Routes, deps: { waku: WakuService }): void {
  const { waku } = deps;

  routes.define({
    method: "get",
    path: "/store/v3/messages",
    tags: ["waku store"],
    summary: "Query stored messages (nwaku store v3 REST)",
    description: "Parameters as nwaku reads them: an empty value is absent; names in any case; " +
      "topics, hashes and cursor may be percent-encoded twice. Ordered by (timestamp, " +
      "messageHash); every page is oldest→newest, also when ascending is not `true`. " +
      "paginationCursor is present only when more messages may follow. All filters combine, " +
      "`hashes` included. startTime after endTime is an empty page. A valid `peerAddr` is " +
      "answered from this gateway's store. An unknown cursor is a 400 problem (`cursor not " +
      "found`), not an empty page; errors carry nwaku's wording in `detail`.",
    query: StoreQueryParams,
    caseInsensitiveQuery: true,
    responses: {
      200: { description: "A page", content: { "application/json": { schema: StoreResponse } } },
    },
  }, async (c, { query }) => {
    const page = await queryStore(waku, {
      pubsubTopic: query.pubsubTopic,
      // Each topic once: the union is the same, and no message comes twice.
      contentTopics: [...new Set(query.contentTopics)],
      startTime: query.startTime,
      endTime: query.endTime,
      hashes: query.hashes,
      cursor: query.cursor,
      pageSize: query.pageSize,
      ascending: query.ascending,
    });
    // Rendered by hand: JSON.stringify cannot write the int64 timestamps exactly.
    const requestId = crypto.getRandomValues(new Uint8Array(10)).toHex();
    const entries = page.records.map((r) => {
      if (!query.includeData) return `{"messageHash":"${toHex0x(recordHash(r))}"}`;
      const m = decodeRecord(r);
      return storeEntryToJson(m.hash, m.pubsubTopic, m.message, true);
    });
    const tail = page.cursor ? `,"paginationCursor":"${toHex0x(page.cursor)}"` : "";
    return c.body(
      `{"requestId":"${requestId}","statusCode":200,"statusDesc":"OK","messages":[${
        entries.join(",")
      }]${tail}}`,
      200,
      { "content-type": "application/json" },
    );
  });

  routes.define({
    method: "post",
    path: STORE_PROTOCOL_ID,
    tags: ["waku store"],
    summary: "Store 2.0.0-beta2 HistoryRPC over HTTP",
    description: "Body: a HistoryRPC with a query (protobuf). Answer: a HistoryRPC with the same " +
      "request_id and a response. Order (receivedTime, digest); forward = after the cursor, backward " +
      "= before it; every page oldest→newest; the cursor is the page's last (forward) or first " +
      "(backward) message. pageSize above 100 is clamped to 100, and 0 is read as 100 with a cursor. " +
      "The cursor is resumed by its digest (the float receivedTime cannot locate a message); an " +
      "unknown digest is a 400.",
    body: { raw: [PROTOBUF] },
    access: "read",
    responses: {
      200: {
        description: "HistoryRPC with a response",
        content: { [PROTOBUF]: { schema: z.string() } },
      },
    },
  }, async (c) => {
    let rpc;
    try {
      rpc = decodeHistoryRPC(new Uint8Array(await c.req.arrayBuffer()));
    } catch (e) {
      throw new InvalidInputError("body", (e as Error).message, { cause: e });
    }
    if (!rpc.query) {
      throw new InvalidInputError("body", "is a HistoryRPC without a query (field 2)");
    }
    const response = await waku.historyQuery(rpc.query);
    const bytes = encodeHistoryRPC({ requestId: rpc.requestId, response });
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { "content-type": PROTOBUF });
  });
}

/**
 * Runs a store query; an unknown cursor is a 400 whose detail has nwaku's
 * words for it (`cursor not found`), which its clients look for.
 */
async function queryStore(waku: WakuService, q: StoreQuery): Promise<StorePage> {
  try {
    return await waku.storeQuery(q);
  } catch (e) {
    if (!(e instanceof InvalidInputError) || e.field !== "cursor" || !q.cursor) throw e;
    throw new HttpError(400, "Unknown cursor", {
      type: "tag:syncgate,2026:invalid-cursor",
      detail: `archive error: DRIVER_ERROR: cursor not found: ${
        toHex0x(q.cursor)
      } is the hash of no stored message`,
      errors: [{ field: "query.cursor", message: "cursor not found" }],
    });
  }
}
