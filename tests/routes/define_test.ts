/**
 * routes/define.ts on a small app of its own: it knows no protocol, so these
 * routes are made up.
 */
import assert from "node:assert/strict";
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { toHttpError } from "../../error.ts";
import {
  exactInt64,
  exactInt64Keys,
  listParam,
  MAX_FIELD_PROBLEMS,
  Routes,
} from "../../routes/define.ts";

function app() {
  const a = new OpenAPIHono();
  a.onError((e, c) => toHttpError(e).getResponse(c.req.path));
  const routes = new Routes(a, { bodyLimit: 100_000, timeoutMs: 5000 });
  const Item = z.object({ at: exactInt64(z.string()), n: z.number().int().max(9) });
  routes.define({
    method: "post",
    path: "/items/{id}",
    tags: ["t"],
    summary: "post",
    params: z.object({ id: z.string() }),
    body: { json: z.object({ items: z.array(Item) }) },
    responses: { 200: { description: "ok" } },
  }, (c, { body }) => c.json(body));
  routes.define({
    method: "post",
    path: "/plain",
    tags: ["t"],
    summary: "a JSON body without int64 fields",
    body: { json: z.object({ timestamp: z.unknown() }) },
    bodyLimit: 50,
    responses: { 200: { description: "ok" } },
  }, (c, { body }) => c.json({ type: typeof body!.timestamp }));
  routes.define({
    method: "get",
    path: "/items/{id}",
    tags: ["t"],
    summary: "get",
    params: z.object({ id: z.string() }),
    query: z.object({
      tags: listParam(z.string()).optional(),
      size: z.string().optional(),
    }),
    responses: { 200: { description: "ok" } },
  }, (c, { query }) => c.json(query));
  routes.finish();
  return a;
}

Deno.test("a known path with a wrong method is 405 with Allow; OPTIONS is 204 with Allow", async () => {
  const a = app();
  const res = await a.request("/items/1", { method: "DELETE" });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get("allow"), "POST, GET, HEAD, OPTIONS");
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.equal(
    (await a.request("/plain", { method: "GET" })).headers.get("allow"),
    "POST, OPTIONS",
  );
  const opt = await a.request("/items/1", { method: "OPTIONS" });
  assert.equal(opt.status, 204);
  assert.equal(opt.headers.get("allow"), "POST, GET, HEAD, OPTIONS");
  assert.equal((await a.request("/items/1", { method: "HEAD" })).status, 200);
  assert.equal((await a.request("/nowhere", { method: "DELETE" })).status, 404);
});

Deno.test("JSON integers are exact only where the schema marks them; others parse as JSON", async () => {
  const a = app();
  const res = await a.request("/items/1", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"items":[{"at":1732000000000000001,"n":5}]}',
  });
  assert.deepEqual(await res.json(), { items: [{ at: "1732000000000000001", n: 5 }] });
  const plain = await a.request("/plain", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"timestamp":5}',
  });
  assert.deepEqual(await plain.json(), { type: "number" });
  assert.deepEqual(
    exactInt64Keys(z.object({ a: z.array(z.object({ at: exactInt64(z.string()) })) })),
    ["at"],
  );
});

Deno.test("a repeated query parameter joins a list and is a 400 elsewhere", async () => {
  const a = app();
  assert.deepEqual(await (await a.request("/items/1?tags=a&tags=b,c&size=1")).json(), {
    tags: "a,b,c",
    size: "1",
  });
  const res = await a.request("/items/1?size=1&size=2");
  assert.equal(res.status, 400);
  assert.deepEqual((await res.json()).errors, [{
    field: "query.size",
    message: "is given more than once",
  }]);
});

Deno.test("a route's own body limit applies; a 400 lists at most a bounded number of field problems", async () => {
  const a = app();
  const big = await a.request("/plain", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ timestamp: "x".repeat(60) }),
  });
  assert.equal(big.status, 413);
  const items = Array.from({ length: 500 }, () => ({ at: "1", n: 99 }));
  const res = await a.request("/items/1", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ items }),
  });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.errors.length, MAX_FIELD_PROBLEMS);
  assert.equal(body.errorCount, 500);
  assert.match(body.detail, /and 480 more problems/);
});
