/**
 * nwaku's lightpush REST through a real gateway: v1 answers `OK` (or the
 * message hash), v3 its status body; both publish (stored, polled, live),
 * take the pubsub topic from the request or from autosharding, and refuse
 * as nwaku words it.
 */
import assert from "node:assert/strict";
import { b64, topicPath, withGateway } from "../helpers.ts";
import { problem, sendJson } from "./nwaku_client.ts";

const A = "/waku/2/rs/0/0";
const CT = "/toychat/2/huilong/proto";
const KEY = "test-key-0123456789abcdef";

const push = (url: string, v: 1 | 3, body: unknown, headers: Record<string, string> = {}) =>
  sendJson(`${url}/lightpush/v${v}/message`, "POST", body, headers);

async function storedOn(url: string, pubsubTopic: string): Promise<string[]> {
  const res = await fetch(
    `${url}/store/v3/messages?includeData=true&pubsubTopic=${topicPath(pubsubTopic)}`,
  );
  return (await res.json()).messages.map((m: { message: { payload: string } }) =>
    m.message.payload
  );
}

Deno.test("e2e nwaku lightpush v1: OK for text/plain, else the hash; topic from the body or autosharding", async () => {
  await withGateway({ SYNCGATE_WAKU_CLUSTER_ID: "1", SYNCGATE_WAKU_SHARDS: "8" }, async (gw) => {
    const ok = await push(gw.url, 1, {
      pubsubTopic: A,
      message: { payload: b64("v1"), contentTopic: CT },
    }, { accept: "text/plain" });
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), "OK");
    const json = await push(gw.url, 1, {
      pubsubTopic: "",
      message: { payload: b64("auto"), contentTopic: CT },
    });
    assert.equal(json.status, 200);
    assert.match((await json.json()).messageHash, /^0x[0-9a-f]{64}$/);
    assert.deepEqual(await storedOn(gw.url, A), [b64("v1")]);
    assert.deepEqual(await storedOn(gw.url, "/waku/2/rs/1/3"), [b64("auto")], "nwaku's shard 3");

    const bad = await problem(
      await push(gw.url, 1, { message: { payload: b64("x"), contentTopic: "nope" } }),
      400,
    );
    assert.equal(
      bad.detail,
      "Failed to request a message push: Cannot parse content topic: invalid format: " +
        "content-topic 'nope' must start with slash",
    );
    const empty = await problem(
      await push(gw.url, 1, { message: { payload: "", contentTopic: CT } }),
      400,
    );
    assert.match(empty.detail as string, /Field `payload` is missing or empty/);
    await problem(await push(gw.url, 1, { pubsubTopic: A }), 400);
  });
});

Deno.test("e2e nwaku lightpush v3: a status body, and refusals carrying nwaku's statusDesc", async () => {
  await withGateway({ SYNCGATE_WAKU_MAX_MESSAGE_BYTES: "2048" }, async (gw) => {
    await sendJson(`${gw.url}/relay/v1/subscriptions`, "POST", [A]);
    const res = await push(gw.url, 3, { message: { payload: b64("v3"), contentTopic: CT } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    const body = await res.json();
    assert.equal(body.relayPeerCount, 1);
    assert.match(body.messageHash, /^0x[0-9a-f]{64}$/);
    assert.equal(body.statusDesc, undefined);
    const polled = await (await fetch(`${gw.url}/relay/v1/messages/${topicPath(A)}`)).json();
    assert.deepEqual(
      polled.map((m: { payload: string }) => m.payload),
      [b64("v3")],
      "relay pollers get pushes",
    );

    const tooBig = await problem(
      await push(gw.url, 3, { message: { payload: b64("x".repeat(3000)), contentTopic: CT } }),
      413,
    );
    assert.equal(tooBig.statusDesc, "Message size exceeded maximum of 2048 bytes");
    const undecodable = await problem(
      await push(gw.url, 3, { message: { payload: "%%", contentTopic: CT } }),
      400,
    );
    assert.match(
      undecodable.statusDesc as string,
      /^Invalid push request! .*Incorrect base64 string/,
    );
    const blank = await problem(
      await push(gw.url, 3, { pubsubTopic: " ", message: { payload: b64("x"), contentTopic: CT } }),
      400,
    );
    assert.equal(blank.statusDesc, "topic must not be empty");
    const badTopic = await problem(
      await push(gw.url, 3, { message: { payload: b64("x"), contentTopic: "/a/b" } }),
      400,
    );
    assert.match(
      badTopic.statusDesc as string,
      /^Invalid content-topic:invalid format: Invalid content topic structure/,
    );
    const gen = await problem(
      await push(gw.url, 3, { message: { payload: b64("x"), contentTopic: "/2/a/1/n/e" } }),
      400,
    );
    assert.equal(gen.statusDesc, "Autosharding error: Generation > 0 are not supported yet");
  });
  await withGateway({ SYNCGATE_WAKU_SHARDS: "0" }, async (gw) => {
    const p = await problem(
      await push(gw.url, 3, { message: { payload: b64("x"), contentTopic: CT } }),
      400,
    );
    assert.equal(p.statusDesc, "Pubsub topic must be specified when static sharding is enabled");
    const v1 = await problem(
      await push(gw.url, 1, { message: { payload: b64("x"), contentTopic: CT } }),
      400,
    );
    assert.equal(
      v1.detail,
      "Failed to request a message push: Pubsub topic must be specified when static sharding is enabled",
    );
  });
});

Deno.test("e2e nwaku lightpush: pushing is a write that needs the API key when one is set", async () => {
  await withGateway({ SYNCGATE_API_KEY: KEY }, async (gw) => {
    const msg = { pubsubTopic: A, message: { payload: b64("k"), contentTopic: CT } };
    for (const v of [1, 3] as const) {
      await problem(await push(gw.url, v, msg), 401);
      assert.equal((await push(gw.url, v, msg, { authorization: `Bearer ${KEY}` })).status, 200);
    }
  });
});
