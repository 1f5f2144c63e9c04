/**
 * The OpenAPI document is the gateway's route table: every route the app
 * serves is an operation of /openapi.json and every operation is served,
 * whichever bridge brought it; and every known path answers a method it
 * does not serve with 405 and `Allow` (Twirp paths with Twirp's
 * `bad_route` 404, as the Twirp spec requires, and `Allow` too).
 */
import assert from "node:assert/strict";
import { withGateway } from "../helpers.ts";

Deno.test("e2e: /openapi.json documents exactly the routes the app serves", async () => {
  await withGateway({ SYNCGATE_FRONT: "off" }, async (gw) => {
    const served = new Map<string, Set<string>>();
    for (const r of gw.app.routes) {
      if (r.method === "ALL") continue; // middleware and the 405 handlers
      (served.get(r.path) ?? served.set(r.path, new Set()).get(r.path)!).add(r.method);
    }
    const doc = await (await gw.app.request("/openapi.json")).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const m of Object.keys(ops)) {
        documented.add(`${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`);
      }
    }
    const servedOps = new Set(
      [...served].flatMap(([path, methods]) => [...methods].map((m) => `${m} ${path}`)),
    );
    assert.deepEqual([...servedOps].filter((op) => !documented.has(op)), [], "not documented");
    assert.deepEqual([...documented].filter((op) => !servedOps.has(op)), [], "not served");
    assert.ok(servedOps.has("GET /docs/assets/:name"));

    const wrong: string[] = [];
    for (const [path, methods] of served) {
      const url = path.replace(/:(\w+)/g, "x");
      const method = ["PATCH", "DELETE", "PUT", "POST", "GET"].find((m) => !methods.has(m))!;
      const res = await gw.app.request(url, { method });
      const allow = res.headers.get("allow");
      const body = await res.text();
      const twirp = path.startsWith("/twirp/");
      const ok = twirp
        ? res.status === 404 && /bad_route/.test(body)
        : res.status === 405 && /problem\+json/.test(res.headers.get("content-type") ?? "");
      if (!ok || !allow) wrong.push(`${method} ${url} → ${res.status} allow=${allow}`);
      else assert.deepEqual(new Set(allow.split(/,\s*/)).isSupersetOf(methods), true, url);
    }
    assert.deepEqual(wrong, []);
  });
});
