/**
 * nwaku's relay REST through a real gateway: subscriptions and polling by
 * pubsub topic and (autosharding) by content topic, publish validation and
 * answers as nwaku's, the bounded cache, and subscriptions kept across a
 * restart and shared with another process on the same KV.
 */
import assert from "node:assert/strict";
import { encodeWakuMessage } from "../../protocols/waku/message.ts";
import { b64, postJson, spawnGateway, tempDir, topicPath, withGateway } from "../helpers.ts";
import { problem, sendJson } from "./nwaku_client.ts";
import { openWs } from "./waku_client.ts";

const A = "/waku/2/rs/0/0";
const B = "/waku/2/rs/0/1";
const CT = "/app/1/chat/proto";
const T0 = 1_732_000_000_000_000_000n;
const KEY = "test-key-0123456789abcdef";

const publish = (url: string, topic: string, msg: Record<string, unknown>, headers = {}) =>
  sendJson(`${url}/relay/v1/messages/${topicPath(topic)}`, "POST", msg, headers);
const poll = (url: string, topic: string) => fetch(`${url}/relay/v1/messages/${topicPath(topic)}`);

async function okText(res: Response) {
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
  assert.equal(await res.text(), "OK");
}

async function polled(res: Response): Promise<Record<string, unknown>[]> {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.equal(res.headers.get("content-type"), "application/json");
  return JSON.parse(text.replace(/"timestamp":(\d+)/g, '"timestamp":"$1"'));
}

Deno.test("e2e nwaku relay: subscribe, poll what came since, unsubscribe", async () => {
  await withGateway({}, async (gw) => {
    const notYet = await problem(await poll(gw.url, A), 404);
    assert.match(notYet.detail as string, /not subscribed to this pubsub topic/);

    await okText(await sendJson(`${gw.url}/relay/v1/subscriptions`, "POST", [A, A]));
    assert.deepEqual(await polled(await poll(gw.url, A)), []);

    await publish(gw.url, A, { payload: b64("one"), contentTopic: CT, timestamp: String(T0 + 1n) });
    await publish(gw.url, B, { payload: b64("elsewhere"), contentTopic: CT });
    await publish(gw.url, A, {
      payload: b64("two"),
      contentTopic: CT,
      timestamp: String(T0 + 2n),
      meta: b64("m"),
      proof: b64("p"),
      ephemeral: true,
    });
    // A protobuf publish, and one over the WebSocket, arrive too.
    await fetch(`${gw.url}/relay/v1/messages/${topicPath(A)}`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf" },
      body: encodeWakuMessage({
        payload: new Uint8Array([3]),
        contentTopic: CT,
        version: 2,
        timestamp: T0 + 3n,
      }) as Uint8Array<ArrayBuffer>,
    });
    const ws = await openWs(`${gw.url.replace("http", "ws")}/relay/v1/ws?contentTopics=/none`);
    const acked = new Promise((r) => ws.onmessage = r);
    ws.send(JSON.stringify({
      type: "publish",
      pubsubTopic: A,
      message: { payload: b64("ws"), contentTopic: CT, timestamp: String(T0 + 4n) },
    }));
    await acked;
    ws.close();

    const head = await fetch(`${gw.url}/relay/v1/messages/${topicPath(A)}`, { method: "HEAD" });
    assert.equal(head.status, 200);
    await head.body?.cancel();
    const got = await polled(await poll(gw.url, A));
    assert.deepEqual(got, [
      {
        payload: b64("one"),
        contentTopic: CT,
        version: 0,
        timestamp: String(T0 + 1n),
        ephemeral: false,
        proof: "",
      },
      {
        payload: b64("two"),
        contentTopic: CT,
        version: 0,
        timestamp: String(T0 + 2n),
        meta: b64("m"),
        ephemeral: true,
        proof: b64("p"),
      },
      {
        payload: "Aw==",
        contentTopic: CT,
        version: 2,
        timestamp: String(T0 + 3n),
        ephemeral: false,
        proof: "",
      },
      {
        payload: b64("ws"),
        contentTopic: CT,
        version: 0,
        timestamp: String(T0 + 4n),
        ephemeral: false,
        proof: "",
      },
    ]);
    assert.deepEqual(await polled(await poll(gw.url, A)), [], "a poll takes what it returns");

    await okText(await sendJson(`${gw.url}/relay/v1/subscriptions`, "DELETE", [A, B]));
    await problem(await poll(gw.url, A), 404);
  });
});

Deno.test("e2e nwaku relay: topics that are no static shard are nwaku's 400", async () => {
  await withGateway({}, async (gw) => {
    const bad = await problem(
      await sendJson(`${gw.url}/relay/v1/subscriptions`, "POST", [
        A,
        "/waku/2/default-waku/proto",
        "",
      ]),
      400,
    );
    assert.equal(bad.detail, 'Invalid pubsub topic(s): @["/waku/2/default-waku/proto", ""]');
    await problem(await poll(gw.url, A), 404);
    const notJson = await fetch(`${gw.url}/relay/v1/subscriptions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "[",
    });
    await problem(notJson, 400);
  });
});

Deno.test("e2e nwaku relay: the cache keeps its capacity over all topics, dropping the oldest timestamp", async () => {
  await withGateway({ SYNCGATE_WAKU_RELAY_CACHE_CAPACITY: "3" }, async (gw) => {
    await sendJson(`${gw.url}/relay/v1/subscriptions`, "POST", [A, B]);
    const items = [5n, 1n, 4n, 2n, 3n].map((t, i) => ({
      payload: b64(`m${t}`),
      contentTopic: CT,
      timestamp: String(T0 + t),
      pubsubTopic: i % 2 ? B : A,
    }));
    assert.equal((await postJson(`${gw.url}/relay/v1/bulk`, items)).status, 200);
    const all = [...await polled(await poll(gw.url, A)), ...await polled(await poll(gw.url, B))];
    assert.deepEqual(all.map((m) => m.payload).sort(), [b64("m3"), b64("m4"), b64("m5")]);
  });
});

Deno.test("e2e nwaku relay: publish validation and answers as nwaku's", async () => {
  await withGateway({ SYNCGATE_WAKU_MAX_MESSAGE_BYTES: "2048" }, async (gw) => {
    const empty = await problem(await publish(gw.url, A, { payload: "", contentTopic: CT }), 400);
    assert.match(empty.detail as string, /Field `payload` is missing or empty/);
    for (const contentTopic of [undefined, " \t"]) {
      const p = await problem(await publish(gw.url, A, { payload: b64("x"), contentTopic }), 400);
      assert.match(p.detail as string, /Field `contentTopic` is missing or empty/);
    }
    const big = { payload: b64("x".repeat(3000)), contentTopic: CT };
    const tooBig = await problem(await publish(gw.url, A, big), 400);
    assert.equal(tooBig.detail, "Failed to publish: Message size exceeded maximum of 2048 bytes");
    const proto = await fetch(`${gw.url}/relay/v1/messages/${topicPath(A)}`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf" },
      body: encodeWakuMessage({
        payload: new Uint8Array(3000),
        contentTopic: CT,
        version: 0,
        timestamp: T0,
      }) as Uint8Array<ArrayBuffer>,
    });
    await problem(proto, 413);

    const msg = { payload: b64("hi"), contentTopic: CT };
    await okText(await publish(gw.url, A, msg, { accept: "text/plain" }));
    const json = await publish(gw.url, A, { ...msg, payload: b64("ho") });
    assert.match((await json.json()).messageHash, /^0x[0-9a-f]{64}$/);
    const both = await publish(gw.url, A, { ...msg, payload: b64("hu") }, {
      accept: "application/json, text/plain;q=0.5",
    });
    assert.match((await both.json()).messageHash, /^0x/);
    await okText(
      await publish(gw.url, A, { ...msg, payload: b64("hy") }, {
        accept: "text/plain, */*;q=0.1",
      }),
    );
  });
});

Deno.test("e2e nwaku relay: content topics by autosharding (The Waku Network's 1/8)", async () => {
  const env = { SYNCGATE_WAKU_CLUSTER_ID: "1", SYNCGATE_WAKU_SHARDS: "8" };
  await withGateway(env, async (gw) => {
    const ct = "/toychat/2/huilong/proto"; // nwaku's vector: shard 3 of cluster 1
    const auto = (path: string) => `${gw.url}/relay/v1/auto/${path}`;
    const notYet = await problem(await fetch(auto(`messages/${topicPath(ct)}`)), 404);
    assert.match(notYet.detail as string, new RegExp(ct));
    await okText(await sendJson(auto("subscriptions"), "POST", [ct]));

    await okText(
      await sendJson(auto("messages"), "POST", { payload: b64("a"), contentTopic: ct }, {
        accept: "text/plain",
      }),
    );
    // On another pubsub topic, the same content topic is not what the subscription asked for.
    await publish(gw.url, "/waku/2/rs/1/0", { payload: b64("b"), contentTopic: ct });
    const got = await polled(await fetch(auto(`messages/${topicPath(ct)}`)));
    assert.deepEqual(got.map((m) => m.payload), [b64("a")]);
    const stored = await (await fetch(
      `${gw.url}/store/v3/messages?includeData=true&pubsubTopic=${topicPath("/waku/2/rs/1/3")}`,
    )).json();
    assert.equal(stored.messages.length, 1, "published on the autosharded pubsub topic");

    const bad = await problem(await sendJson(auto("subscriptions"), "POST", ["bad"]), 400);
    assert.equal(
      bad.detail,
      "Subscribe failed:Autosharding error: invalid format: content-topic 'bad' must start with slash",
    );
    const gen = await problem(
      await sendJson(auto("messages"), "POST", { payload: b64("x"), contentTopic: "/1/a/1/n/e" }),
      400,
    );
    assert.equal(
      gen.detail,
      "Failed to publish. Autosharding error: Generation > 0 are not supported yet",
    );
    await okText(await sendJson(auto("subscriptions"), "DELETE", [ct]));
    await problem(await fetch(auto(`messages/${topicPath(ct)}`)), 404);
  });
  await withGateway({ SYNCGATE_WAKU_SHARDS: "0" }, async (gw) => {
    const sub = await problem(
      await sendJson(`${gw.url}/relay/v1/auto/subscriptions`, "POST", [CT]),
      400,
    );
    assert.equal(
      sub.detail,
      "Subscribe failed:Static sharding is used, relay subscriptions must specify a pubsub topic",
    );
    const pub = await problem(
      await sendJson(`${gw.url}/relay/v1/auto/messages`, "POST", {
        payload: b64("x"),
        contentTopic: CT,
      }),
      400,
    );
    assert.equal(pub.detail, "Failed to publish. Autosharding is disabled");
  });
});

Deno.test("e2e nwaku relay: with an API key, subscribing needs it and polling does not", async () => {
  await withGateway({ SYNCGATE_API_KEY: KEY }, async (gw) => {
    await problem(await sendJson(`${gw.url}/relay/v1/subscriptions`, "POST", [A]), 401);
    await okText(
      await sendJson(`${gw.url}/relay/v1/subscriptions`, "POST", [A], {
        authorization: `Bearer ${KEY}`,
      }),
    );
    assert.deepEqual(await polled(await poll(gw.url, A)), []);
  });
});

Deno.test("e2e nwaku relay: subscriptions outlive a restart and are shared by processes on one KV", async () => {
  const { dir, cleanup } = await tempDir();
  const env = { SYNCGATE_KV: `${dir}/shared.kv`, SYNCGATE_LIVE_POLL_MS: "50" };
  const a = await spawnGateway(env);
  const b = await spawnGateway(env);
  try {
    await okText(await sendJson(`${a.url}/relay/v1/subscriptions`, "POST", [A]));
    assert.deepEqual(await polled(await poll(b.url, A)), [], "b sees a's subscription at once");
    // b's cache starts keeping messages once the change reaches it through the KV feed.
    await new Promise((r) => setTimeout(r, 500));
    await publish(b.url, A, { payload: b64("from b"), contentTopic: CT });
    for (const gw of [a, b]) {
      let got: Record<string, unknown>[] = [];
      for (let i = 0; i < 50 && got.length === 0; i++) {
        got = await polled(await poll(gw.url, A));
        if (got.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(got.map((m) => m.payload), [b64("from b")], gw.url);
    }
  } finally {
    await a.stop();
    await b.stop();
  }
  const c = await spawnGateway(env);
  try {
    assert.deepEqual(await polled(await poll(c.url, A)), [], "still subscribed after a restart");
  } finally {
    await c.stop();
    await cleanup();
  }
});
