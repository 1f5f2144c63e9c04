/**
 * Every WebSocket route upgrades through routes/live.ts: a request asking
 * for none is 426 where the route is WebSocket only, and a malformed
 * upgrade (no Sec-WebSocket-Key) is a 400 problem, not a 500.
 */
import assert from "node:assert/strict";
import { postJson, withGateway } from "../helpers.ts";
import { addPeer, createNode } from "./mvds_client.ts";

Deno.test("e2e: a malformed WebSocket upgrade is a 400 on every WebSocket route", async () => {
  await withGateway({}, async (gw) => {
    const node = await createNode(gw.url, { mode: "batch" });
    const peer = "0x" + "aa".repeat(32);
    await addPeer(gw.url, node, peer);
    const log = (await postJson(`${gw.url}/logs`, { mode: "paged", pageSize: 4 })).body
      .name as string;
    const paths = [
      "/relay/v1/ws",
      `/mvds/nodes/${node}/ws?peer=${peer}`,
      `/mvds/nodes/${node}/events`,
      `/logs/${log}/live`,
    ];
    for (const path of paths) {
      const res = await fetch(`${gw.url}${path}`, {
        headers: { upgrade: "websocket", connection: "upgrade" },
      });
      assert.equal(res.status, 400, path);
      assert.match(await res.text(), /WebSocket upgrade/, path);
    }
    for (const path of ["/relay/v1/ws", `/mvds/nodes/${node}/ws?peer=${peer}`]) {
      const res = await fetch(`${gw.url}${path}`);
      assert.equal(res.status, 426, path);
      await res.body?.cancel();
    }
  });
});
