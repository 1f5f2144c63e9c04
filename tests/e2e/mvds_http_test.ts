/**
 * MVDS between two real gateway processes over HTTP: delivery both ways in
 * batch and interactive mode, through a link that drops 30% of payloads,
 * a peer away past maxSendCount ending `failed`, payloads that are not
 * Payloads or come from strangers refused with nothing stored, the events
 * feed, and the OpenAPI document.
 */
import assert from "node:assert/strict";
import { encodePayload } from "../../protocols/mvds/proto.ts";
import { type GatewayProcess, postJson, spawnGateway, tempDir } from "../helpers.ts";
import {
  addPeer,
  createNode,
  getMessage,
  linkNodes,
  listAll,
  LossyProxy,
  newGroup,
  nodeInfo,
  sendText,
  share,
  texts,
  waitDelivered,
  waitFor,
} from "./mvds_client.ts";

Deno.test("e2e mvds: two gateways over HTTP", async (t) => {
  const { dir, cleanup } = await tempDir();
  const gws: GatewayProcess[] = [];
  const proxies: LossyProxy[] = [];
  try {
    for (const i of [0, 1]) gws.push(await spawnGateway({ SYNCGATE_KV: `${dir}/gw${i}.kv` }));
    const bases: [() => string, () => string] = [() => gws[0].url, () => gws[1].url];

    for (const mode of ["batch", "interactive"] as const) {
      await t.step(`${mode} mode delivers both ways`, async () => {
        const link = await linkNodes(bases, [{ mode }, { mode }]);
        for (let i = 0; i < 10; i++) {
          await sendText(bases[0](), link.a, link.group, `a${i}`);
          await sendText(bases[1](), link.b, link.group, `b${i}`);
        }
        await waitDelivered(bases, link, 20);
        const onB = await listAll(bases[1](), link.b, link.group);
        // MVDS does not order messages (a payload carries its due records by send epoch, then id).
        assert.deepEqual(
          texts(onB.filter((m) => m.from === link.a)).sort(),
          Array.from({ length: 10 }, (_, i) => `a${i}`),
        );
        assert.equal((await nodeInfo(bases[0](), link.a)).records, 0);
      });
    }

    await t.step("a link that drops 30% of payloads still delivers everything", async () => {
      proxies.push(new LossyProxy(0.3, 7), new LossyProxy(0.3, 8));
      proxies[0].target = gws[1].url;
      proxies[1].target = gws[0].url;
      for (const mode of ["batch", "interactive"] as const) {
        const opts = { mode, backoffCapEpochs: 8 };
        const link = await linkNodes(bases, [opts, opts], [proxies[0], proxies[1]]);
        for (let i = 0; i < 15; i++) {
          await sendText(bases[0](), link.a, link.group, `${mode} a${i}`);
          await sendText(bases[1](), link.b, link.group, `${mode} b${i}`);
        }
        await waitDelivered(bases, link, 30, 40_000);
      }
      assert.ok(proxies[0].dropped > 0 && proxies[1].dropped > 0, "payloads were dropped");
    });

    await t.step(
      "a peer away past maxSendCount ends failed, and its records are gone",
      async () => {
        const a = await createNode(bases[0](), {
          mode: "batch",
          maxSendCount: 3,
          backoffCapEpochs: 2,
        });
        const away = "0x" + "ee".repeat(32);
        await addPeer(bases[0](), a, away, `http://127.0.0.1:9/mvds/nodes/${away}/payloads`);
        const group = newGroup();
        await share(bases[0](), a, group, away);
        const sent = await sendText(bases[0](), a, group, "never arrives");
        await waitFor(
          "the delivery to fail",
          async () => (await getMessage(bases[0](), a, sent.id)).delivery[away]?.state === "failed",
        );
        const d = (await getMessage(bases[0](), a, sent.id)).delivery[away];
        assert.equal(d.sendCount, 3);
        const info = await nodeInfo(bases[0](), a);
        assert.equal(info.records, 0, "state stops growing");
        // It stays so: nothing is sent again.
        await new Promise((r) => setTimeout(r, 300));
        assert.equal((await nodeInfo(bases[0](), a)).records, 0);
      },
    );

    await t.step(
      "garbage, truncated and strangers' payloads are refused; nothing is stored",
      async () => {
        const node = await createNode(bases[0](), { mode: "batch" });
        const friend = "0x" + "0f".repeat(32);
        await addPeer(bases[0](), node, friend);
        const group = newGroup();
        await share(bases[0](), node, group, friend);
        const payload = encodePayload({
          acks: [],
          offers: [],
          requests: [],
          messages: [{
            groupId: Uint8Array.fromHex(group.slice(2)),
            timestamp: 1n,
            body: new TextEncoder().encode("hi"),
          }],
        });
        const post = (body: Uint8Array, peer?: string) =>
          fetch(`${bases[0]()}/mvds/nodes/${node}/payloads`, {
            method: "POST",
            headers: {
              "content-type": "application/x-protobuf",
              ...(peer ? { "x-mvds-peer": peer } : {}),
            },
            body: body as Uint8Array<ArrayBuffer>,
          });
        const cases: [Uint8Array, string | undefined, number][] = [
          [new TextEncoder().encode("garbage garbage"), friend, 400],
          [payload.subarray(0, payload.length - 3), friend, 400],
          [new Uint8Array([0xff, 0xff, 0xff]), friend, 400],
          [payload, "0x" + "99".repeat(32), 403],
          [payload, undefined, 400],
          [payload, "not hex", 400],
        ];
        for (const [body, peer, status] of cases) {
          const res = await post(body, peer);
          assert.equal(res.status, status, `${peer}: ${await res.clone().text()}`);
          assert.equal(res.headers.get("content-type"), "application/problem+json");
          await res.body?.cancel();
        }
        assert.deepEqual(await listAll(bases[0](), node, group), []);
        assert.equal((await nodeInfo(bases[0](), node)).messages, 0);
        // The good payload from the friend is taken.
        const ok = await post(payload, friend.toUpperCase().replace("0X", ""));
        assert.equal(ok.status, 202);
        assert.deepEqual(await ok.json(), { stored: 1 });
        const unknown = await post(payload, friend);
        assert.equal(unknown.status, 202);
        assert.deepEqual(await unknown.json(), { stored: 0 }, "the same message is stored once");
        const res = await fetch(`${bases[0]()}/mvds/nodes/0x${"12".repeat(32)}/payloads`, {
          method: "POST",
          headers: { "content-type": "application/x-protobuf", "x-mvds-peer": friend },
          body: payload as Uint8Array<ArrayBuffer>,
        });
        assert.equal(res.status, 404);
        await res.body?.cancel();
      },
    );

    await t.step("bad input is 400, unknown things 404, a taken id 409", async () => {
      const node = await createNode(bases[0](), { mode: "batch" });
      const bad: [string, unknown, number][] = [
        ["/mvds/nodes", { mode: "sometimes" }, 400],
        ["/mvds/nodes", { mode: "batch", epochMs: 0 }, 400],
        ["/mvds/nodes", { mode: "batch", id: node }, 409],
        [`/mvds/nodes/${node}/peers`, { id: "xyz" }, 400],
        [`/mvds/nodes/${node}/peers`, { id: "0x01", url: "ftp://x" }, 400],
        [`/mvds/nodes/${node}/groups/0x01/peers`, { peer: "0x02" }, 400],
        [`/mvds/nodes/${node}/groups/0x01/messages`, { body: "not base64!" }, 400],
        [`/mvds/nodes/0x${"00".repeat(32)}/peers`, { id: "0x01" }, 404],
      ];
      for (const [path, body, status] of bad) {
        const r = await postJson(bases[0]() + path, body);
        assert.equal(
          r.status,
          status,
          `${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`,
        );
      }
      const big = await postJson(`${bases[0]()}/mvds/nodes/${node}/groups/0x01/messages`, {
        body: new Uint8Array(61_441).toBase64(),
      });
      assert.equal(big.status, 413);
      const missing = await fetch(`${bases[0]()}/mvds/nodes/${node}/messages/0x${"00".repeat(32)}`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    });

    await t.step("the events feed (SSE) shows deliveries and ACKs", async () => {
      const link = await linkNodes(bases, [{ mode: "batch" }, { mode: "batch" }]);
      const feed = await fetch(`${bases[0]()}/mvds/nodes/${link.a}/events`);
      assert.equal(feed.headers.get("content-type"), "text/event-stream");
      const reader = feed.body!.pipeThrough(new TextDecoderStream()).getReader();
      await sendText(bases[0](), link.a, link.group, "watched");
      await sendText(bases[1](), link.b, link.group, "incoming");
      let text = "";
      const seen = new Set<string>();
      while (!(seen.has("acked") && seen.has("received"))) {
        const { value, done } = await reader.read();
        if (done) assert.fail(`the feed ended before both events: ${text}`);
        text += value;
        for (const m of text.matchAll(/data: (.*)\n/g)) seen.add(JSON.parse(m[1]).type);
      }
      await reader.cancel();
      const frames = [...text.matchAll(/data: (.*)\n/g)].map((m) => JSON.parse(m[1]));
      const received = frames.find((f) => f.type === "received");
      assert.equal(received.node, link.a);
      assert.equal(received.peer, link.b);
      assert.equal(received.groupId, link.group);
    });

    await t.step("/openapi.json lists every MVDS route", async () => {
      const doc = await (await fetch(`${bases[0]()}/openapi.json`)).json();
      for (
        const [path, method] of [
          ["/mvds/nodes", "post"],
          ["/mvds/nodes/{node}", "get"],
          ["/mvds/nodes/{node}/peers", "post"],
          ["/mvds/nodes/{node}/groups/{group}/peers", "post"],
          ["/mvds/nodes/{node}/groups/{group}/messages", "post"],
          ["/mvds/nodes/{node}/groups/{group}/messages", "get"],
          ["/mvds/nodes/{node}/messages/{id}", "get"],
          ["/mvds/nodes/{node}/payloads", "post"],
          ["/mvds/nodes/{node}/ws", "get"],
          ["/mvds/nodes/{node}/events", "get"],
        ]
      ) assert.ok(doc.paths[path]?.[method], `${method} ${path}`);
      assert.ok(
        doc.paths["/mvds/nodes/{node}/payloads"].post.requestBody.content["application/x-protobuf"],
      );
    });
  } finally {
    for (const p of proxies) await p.close();
    for (const gw of gws) await gw.stop();
    await cleanup();
  }
});
