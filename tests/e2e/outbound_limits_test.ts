/**
 * Where the gateway may connect, and what it refuses to take as input there:
 * an MVDS peer's url is the only place its payloads go (a redirect is not
 * followed), a url carrying a user and password is refused (GET would show
 * it), base64 the decoder rejects is a 400, not a 500, and so is a
 * RemoteFile offset that is not digits.
 */
import assert from "node:assert/strict";
import { postJson, withGateway } from "../helpers.ts";
import { addPeer, createNode, newGroup, sendText, share, waitFor } from "./mvds_client.ts";

Deno.test("e2e: MVDS payloads go only to the peer's url; a redirect is not followed", async () => {
  let elsewhere = 0, redirects = 0;
  const target = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    elsewhere++;
    return new Response(null, { status: 202 });
  });
  const redirector = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    redirects++;
    return new Response(null, {
      status: 307,
      headers: { location: `http://127.0.0.1:${target.addr.port}/elsewhere` },
    });
  });
  try {
    await withGateway({}, async (gw) => {
      const node = await createNode(gw.url, { mode: "batch" });
      const peer = "0x" + "ef".repeat(32);
      await addPeer(gw.url, node, peer, `http://127.0.0.1:${redirector.addr.port}/payloads`);
      const group = newGroup();
      await share(gw.url, node, group, peer);
      await sendText(gw.url, node, group, "to the configured url only");
      await waitFor("two payloads to reach the peer's url", () => Promise.resolve(redirects >= 2));
      assert.equal(elsewhere, 0, "nothing reached the redirect's target");
    });
  } finally {
    await target.shutdown();
    await redirector.shutdown();
  }
});

Deno.test("e2e: an MVDS peer url with a user or password is refused", async () => {
  await withGateway({}, async (gw) => {
    const node = await createNode(gw.url, { mode: "batch" });
    const r = await postJson(`${gw.url}/mvds/nodes/${node}/peers`, {
      id: "0x" + "01".repeat(32),
      url: "http://admin:hunter2@127.0.0.1:9/mvds/nodes/x/payloads",
    });
    assert.equal(r.status, 400);
    assert.match(JSON.stringify(r.body), /user or password/);
    assert.doesNotMatch(JSON.stringify(r.body), /hunter2/);
  });
});

Deno.test("e2e: base64 the decoder rejects is a 400 naming the field", async () => {
  await withGateway({}, async (gw) => {
    for (const data of ["A", "AB=", "A===", "AAAA AAAA"]) {
      const r = await postJson(`${gw.url}/remotefile/connections/none/files`, {
        name: "x.bin",
        size: 1,
        data,
      });
      assert.equal(r.status, 400, data);
      assert.match(JSON.stringify(r.body), /base64/);
    }
  });
});

Deno.test("e2e: a RemoteFile delta's offset must be digits: an empty one is a 400, not 0", async () => {
  await withGateway({}, async (gw) => {
    for (const offset of ["", "%20", "-1", "1e3"]) {
      const r = await fetch(`${gw.url}/remotefile/connections/none/files/x.bin?offset=${offset}`, {
        method: "PUT",
        headers: { "content-type": "application/octet-stream" },
        body: new Uint8Array([1]),
      });
      assert.equal(r.status, 400, offset);
      assert.match(await r.text(), /offset/);
    }
  });
});

Deno.test("e2e: a RemoteFile digest and its type come together, or it is a 400", async () => {
  await withGateway({}, async (gw) => {
    const url = `${gw.url}/remotefile/connections/none/files`;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ digestType: 2 }, /digest/],
      [{ digest: "0x" + "00".repeat(32) }, /digestType/],
      [{ digestType: 0, digest: "0x00" }, /digestType/],
    ];
    for (const [extra, field] of cases) {
      const r = await postJson(url, { name: "x.bin", size: 1, ...extra });
      assert.equal(r.status, 400, JSON.stringify(extra));
      assert.match(JSON.stringify(r.body), field);
    }
  });
});
