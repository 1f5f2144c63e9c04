/**
 * routes/define.ts's per-route options: query names in any case, and
 * members a route adds to its 4xx problems. Made-up routes, as in define_test.ts.
 */
import assert from "node:assert/strict";
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { HttpError, toHttpError } from "../../error.ts";
import { listParam, Routes } from "../../routes/define.ts";

function app() {
  const a = new OpenAPIHono();
  a.onError((e, c) => toHttpError(e).getResponse(c.req.path));
  const routes = new Routes(a, { bodyLimit: 10_000, timeoutMs: 5000 });
  const query = z.object({
    pageSize: z.string().optional(),
    tags: listParam(z.string()).optional(),
  });
  routes.define({
    method: "get",
    path: "/any-case",
    tags: ["t"],
    summary: "names in any case",
    query,
    caseInsensitiveQuery: true,
    responses: { 200: { description: "ok" } },
  }, (c, input) => c.json(input.query));
  routes.define({
    method: "get",
    path: "/exact-case",
    tags: ["t"],
    summary: "names as declared",
    query,
    responses: { 200: { description: "ok" } },
  }, (c, input) => c.json(input.query));
  routes.define({
    method: "post",
    path: "/members/{what}",
    tags: ["t"],
    summary: "problems with members",
    params: z.object({ what: z.string() }),
    body: { json: z.object({ n: z.number() }) },
    problemMembers: (p) => ({ statusDesc: `BAD: ${p.init.detail}`, requestId: "unknown" }),
    responses: { 200: { description: "ok" } },
  }, (c, { params }) => {
    if (params.what === "own") {
      throw new HttpError(404, undefined, { detail: "x", extensions: { requestId: "r1" } });
    }
    if (params.what === "bug") throw new Error("boom");
    return c.json({ ok: true });
  });
  routes.finish();
  return a;
}

Deno.test("caseInsensitiveQuery: a name matches the schema's whatever its case; repeats still count", async () => {
  const a = app();
  const res = await a.request("/any-case?PAGESIZE=5&Tags=a&tags=b&other=1");
  assert.deepEqual(await res.json(), { pageSize: "5", tags: "a,b" });
  const twice = await a.request("/any-case?pageSize=5&pagesize=6");
  assert.equal(twice.status, 400);
  assert.match((await twice.json()).detail, /query\.pageSize: is given more than once/);
  const exact = await a.request("/exact-case?PAGESIZE=5");
  assert.deepEqual(await exact.json(), {}, "without the option, names are exact");
  const proto = await a.request("/exact-case?constructor=1&__proto__=2");
  assert.equal(proto.status, 200, "names of Object.prototype are just unknown names");
});

Deno.test("problemMembers: added to validation problems and thrown 4xx ones; the handler's win; 5xx untouched", async () => {
  const a = app();
  const post = (what: string, body: string) =>
    a.request(`/members/${what}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
  const invalid = await post("ok", '{"n":"x"}');
  assert.equal(invalid.status, 400);
  assert.equal(invalid.headers.get("content-type"), "application/problem+json");
  const p = await invalid.json();
  assert.equal(p.requestId, "unknown");
  assert.equal(p.statusDesc, `BAD: ${p.detail}`);
  assert.match(p.detail, /body\.n/);
  const own = await (await post("own", '{"n":1}')).json();
  assert.equal(own.status, 404);
  assert.equal(own.requestId, "r1", "the handler's member wins");
  assert.equal(own.statusDesc, "BAD: x");
  const bug = await post("bug", '{"n":1}');
  assert.equal(bug.status, 500);
  assert.equal((await bug.json()).statusDesc, undefined);
  assert.equal((await post("ok", '{"n":1}')).status, 200);
});
