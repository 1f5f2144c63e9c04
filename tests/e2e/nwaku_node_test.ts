/**
 * nwaku's node-level REST through a real gateway: /health with nwaku's
 * health report beside the gateway's own fields, /info and /version (and
 * their /debug/v1 aliases), the admin routes answering 501, and every new
 * route in /openapi.json.
 */
import assert from "node:assert/strict";
import { withGateway } from "../helpers.ts";
import { problem } from "./nwaku_client.ts";

Deno.test("e2e nwaku node: /health has nodeHealth and nwaku's 15 protocols, besides its own fields", async () => {
  await withGateway({}, async (gw) => {
    const res = await fetch(`${gw.url}/health`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.status, "ok");
    assert.equal(body.kv, "ok");
    assert.equal(typeof body.version, "string");
    assert.equal(typeof body.uptimeSeconds, "number");
    assert.equal(body.nodeHealth, "READY");
    assert.deepEqual(body.protocolsHealth, [
      { Relay: "READY" },
      { "Rln Relay": "NOT_MOUNTED" },
      { Lightpush: "READY" },
      { "Legacy Lightpush": "READY" },
      { Filter: "READY" },
      { Store: "READY" },
      { "Legacy Store": "NOT_MOUNTED" },
      { "Peer Exchange": "NOT_MOUNTED" },
      { Rendezvous: "NOT_MOUNTED" },
      { Mix: "NOT_MOUNTED" },
      { "Lightpush Client": "NOT_MOUNTED" },
      { "Legacy Lightpush Client": "NOT_MOUNTED" },
      { "Store Client": "NOT_MOUNTED" },
      { "Legacy Store Client": "NOT_MOUNTED" },
      { "Filter Client": "NOT_MOUNTED" },
    ]);
  });
});

Deno.test("e2e nwaku node: while KV fails, nodeHealth and the served protocols are NOT_READY, saying why", async () => {
  let checked = false;
  await withGateway({}, async (gw) => {
    gw.deps.store.kv.close(); // the store is gone: every probe fails
    const res = await fetch(`${gw.url}/health`);
    assert.equal(res.status, 503);
    const body = await res.json();
    assert.equal(body.kv, "error");
    assert.equal(body.nodeHealth, "NOT_READY");
    assert.equal(body.protocolsHealth[0].Relay, "NOT_READY");
    assert.match(body.protocolsHealth[0].desc, /^the store \(KV\) fails: /);
    assert.deepEqual(body.protocolsHealth[1], { "Rln Relay": "NOT_MOUNTED" });
    checked = true;
  }).catch((e) => {
    // The gateway's own close then meets the closed KV; what this test checks came before.
    if (!checked) throw e;
  });
});

Deno.test("e2e nwaku node: /info and /version, and their /debug/v1 aliases", async () => {
  await withGateway({}, async (gw) => {
    for (const path of ["/info", "/debug/v1/info"]) {
      const res = await fetch(`${gw.url}${path}`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { listenAddresses: [] });
    }
    for (const path of ["/version", "/debug/v1/version"]) {
      const res = await fetch(`${gw.url}${path}`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
      // nwaku's shape, v<semver>, with our suffix (not the route's own constant, which
      // would pass whatever it said).
      assert.match(await res.text(), /^v\d+\.\d+\.\d+\S*-syncgate$/);
    }
  });
});

Deno.test("e2e nwaku node: every admin route of nwaku answers 501 with a problem saying why", async () => {
  await withGateway({}, async (gw) => {
    const routes: [string, string][] = [
      ["GET", "/admin/v1/peers"],
      ["POST", "/admin/v1/peers"],
      ["GET", "/admin/v1/peer/16Uiu2HAmVFXtAfSj4EiR7mL2KvL4EE2wztuQgUSBoj2Jx2KeXFLN"],
      ["GET", "/admin/v1/peers/service"],
      ["GET", "/admin/v1/peers/connected"],
      ["GET", "/admin/v1/peers/connected/on/0"],
      ["GET", "/admin/v1/peers/relay"],
      ["GET", "/admin/v1/peers/relay/on/0"],
      ["GET", "/admin/v1/peers/mesh"],
      ["GET", "/admin/v1/peers/mesh/on/0"],
      ["GET", "/admin/v1/peers/stats"],
      ["GET", "/admin/v1/filter/subscriptions"],
      ["POST", "/admin/v1/log-level/DEBUG"],
    ];
    for (const [method, path] of routes) {
      const body = await problem(await fetch(`${gw.url}${path}`, { method }), 501);
      assert.equal(body.title, "Not Implemented", path);
      assert.match(body.detail as string, /not a libp2p node|without being a libp2p node/, path);
    }
    const wrong = await fetch(`${gw.url}/admin/v1/peers`, { method: "DELETE" });
    await problem(wrong, 405);
  });
});

Deno.test("e2e nwaku node: /openapi.json lists every nwaku route", async () => {
  await withGateway({}, async (gw) => {
    const doc = await (await fetch(`${gw.url}/openapi.json`)).json();
    const expected: [string, string][] = [
      ["/relay/v1/subscriptions", "post"],
      ["/relay/v1/subscriptions", "delete"],
      ["/relay/v1/messages/{pubsubTopic}", "get"],
      ["/relay/v1/messages/{pubsubTopic}", "post"],
      ["/relay/v1/auto/subscriptions", "post"],
      ["/relay/v1/auto/subscriptions", "delete"],
      ["/relay/v1/auto/messages/{contentTopic}", "get"],
      ["/relay/v1/auto/messages", "post"],
      ["/lightpush/v1/message", "post"],
      ["/lightpush/v3/message", "post"],
      ["/filter/v2/subscriptions", "post"],
      ["/filter/v2/subscriptions", "put"],
      ["/filter/v2/subscriptions", "delete"],
      ["/filter/v2/subscriptions/all", "delete"],
      ["/filter/v2/subscriptions/{requestId}", "get"],
      ["/filter/v2/messages/{contentTopic}", "get"],
      ["/store/v3/messages", "get"],
      ["/health", "get"],
      ["/info", "get"],
      ["/debug/v1/info", "get"],
      ["/version", "get"],
      ["/debug/v1/version", "get"],
      ["/admin/v1/peers", "get"],
      ["/admin/v1/peers", "post"],
      ["/admin/v1/log-level/{logLevel}", "post"],
    ];
    for (const [path, method] of expected) {
      assert.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} is documented`);
    }
    const store = doc.paths["/store/v3/messages"].get.parameters.map((p: { name: string }) =>
      p.name
    );
    assert.deepEqual(store.sort(), [
      "ascending",
      "contentTopics",
      "cursor",
      "endTime",
      "hashes",
      "includeData",
      "pageSize",
      "peerAddr",
      "pubsubTopic",
      "startTime",
    ]);
  });
});
