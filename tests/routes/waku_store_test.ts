/**
 * What GET /store/v3/messages hands WakuService.storeQuery, for nwaku's
 * query strings: every filter goes through, `hashes` with all the others
 * (the service combines them), and an unknown cursor from the service is
 * answered with nwaku's words. The service is a stand-in that records.
 */
import assert from "node:assert/strict";
import { OpenAPIHono } from "@hono/zod-openapi";
import { toHttpError } from "../../error.ts";
import { InvalidInputError } from "../../lib/errors.ts";
import { Routes } from "../../routes/define.ts";
import { wakuStoreRoutes } from "../../routes/waku_store.ts";
import type { StoreQuery, WakuService } from "../../services/waku_service.ts";
import { nwakuStoreQuery } from "../e2e/nwaku_client.ts";

function app(storeQuery: (q: StoreQuery) => Promise<{ records: Uint8Array[] }>) {
  const a = new OpenAPIHono();
  a.onError((e, c) => toHttpError(e).getResponse(c.req.path));
  const routes = new Routes(a, { bodyLimit: 10_000, timeoutMs: 5000 });
  wakuStoreRoutes(routes, { waku: { storeQuery } as unknown as WakuService });
  routes.finish();
  return a;
}

/** The StoreQuery a query string becomes. */
async function queried(qs: string): Promise<StoreQuery> {
  let seen: StoreQuery | undefined;
  const res = await app((q) => {
    seen = q;
    return Promise.resolve({ records: [] });
  }).request(`/store/v3/messages${qs}`);
  assert.equal(res.status, 200, await res.text());
  return seen!;
}

const H1 = new Uint8Array(32).fill(1);
const H2 = new Uint8Array(32).fill(2);

Deno.test("nwaku's default query is no filter, ascending, 20 a page", async () => {
  assert.deepEqual(await queried(nwakuStoreQuery()), {
    pubsubTopic: undefined,
    contentTopics: [],
    startTime: undefined,
    endTime: undefined,
    hashes: [],
    cursor: undefined,
    pageSize: 20,
    ascending: true,
  });
});

Deno.test("hashes go through with every other filter", async () => {
  const q = await queried(nwakuStoreQuery({
    pubsubTopic: "/waku/2/rs/0/0",
    contentTopics: "/a,/b,/a",
    startTime: "5",
    endTime: "9",
    hashes: `0x${H1.toHex()},${H2.toHex()}`,
    cursor: `0x${H2.toHex()}`,
    ascending: "false",
    pageSize: "7",
  }, true));
  assert.deepEqual(q, {
    pubsubTopic: "/waku/2/rs/0/0",
    contentTopics: ["/a", "/b"],
    startTime: 5n,
    endTime: 9n,
    hashes: [H1, H2],
    cursor: H2,
    pageSize: 7,
    ascending: false,
  });
});

Deno.test("an unknown cursor the service reports is a 400 with nwaku's `cursor not found`", async () => {
  const res = await app(() => {
    throw new InvalidInputError("cursor", "is no stored message's hash");
  }).request(`/store/v3/messages?cursor=${H1.toHex()}`);
  const body = await res.json();
  assert.equal(res.status, 400);
  assert.equal(body.title, "Unknown cursor");
  assert.equal(body.type, "tag:syncgate,2026:invalid-cursor");
  assert.equal(
    body.detail,
    `archive error: DRIVER_ERROR: cursor not found: 0x${H1.toHex()} is the hash of no stored message`,
  );
});
