/**
 * nwaku's filter v2 REST through a real gateway: subscribe (POST and PUT),
 * ping, poll by content topic, unsubscribe one or all, with nwaku's
 * `{requestId, statusDesc}` answers and statuses.
 */
import assert from "node:assert/strict";
import { b64, topicPath, withGateway } from "../helpers.ts";
import { problem, sendJson } from "./nwaku_client.ts";

const A = "/waku/2/rs/0/0";
const B = "/waku/2/rs/0/1";
const CT = "/app/1/chat/proto";

const subscriptions = (url: string, method: string, body: unknown) =>
  sendJson(`${url}/filter/v2/subscriptions`, method, body);
const publish = (url: string, topic: string, payload: string, contentTopic = CT) =>
  sendJson(`${url}/relay/v1/messages/${topicPath(topic)}`, "POST", {
    payload: b64(payload),
    contentTopic,
  });
const messages = async (url: string, ct = CT) => {
  const res = await fetch(`${url}/filter/v2/messages/${topicPath(ct)}`);
  assert.equal(res.status, 200);
  return await res.json();
};

async function answer(res: Response, requestId: string) {
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.deepEqual(await res.json(), { requestId, statusDesc: "OK" });
}

Deno.test("e2e nwaku filter: subscribe, ping, poll, unsubscribe, with nwaku's answers", async () => {
  await withGateway({}, async (gw) => {
    const ping = (id: string) => fetch(`${gw.url}/filter/v2/subscriptions/${id}`);
    const none = await problem(await ping("p0"), 404);
    assert.equal(none.requestId, "p0");
    assert.equal(none.statusDesc, "NOT_FOUND: peer has no subscriptions");
    const notSub = await problem(await fetch(`${gw.url}/filter/v2/messages/${topicPath(CT)}`), 400);
    assert.equal(notSub.detail, `Not subscribed to topic: ${CT}`);

    await answer(
      await subscriptions(gw.url, "POST", {
        requestId: "r1",
        contentFilters: [CT],
        pubsubTopic: A,
      }),
      "r1",
    );
    await answer(
      await subscriptions(gw.url, "PUT", {
        requestId: "r2",
        contentFilters: ["/app/1/other/proto"],
        pubsubTopic: A,
      }),
      "r2",
    );
    await answer(await ping("p1"), "p1");

    await publish(gw.url, A, "wanted");
    await publish(gw.url, B, "other pubsub topic");
    await publish(gw.url, A, "other content topic", "/app/1/unwanted/proto");
    const got = await messages(gw.url);
    assert.equal(got.length, 1);
    assert.equal(got[0].payload, b64("wanted"));
    assert.equal("proof" in got[0], false, "filter messages have no proof");
    assert.deepEqual(Object.keys(got[0]), [
      "payload",
      "contentTopic",
      "version",
      "timestamp",
      "ephemeral",
    ]);
    assert.deepEqual(await messages(gw.url), [], "taken");

    await answer(
      await subscriptions(gw.url, "DELETE", {
        requestId: "r3",
        contentFilters: [CT],
        pubsubTopic: A,
      }),
      "r3",
    );
    const again = await problem(
      await subscriptions(gw.url, "DELETE", {
        requestId: "r4",
        contentFilters: [CT],
        pubsubTopic: A,
      }),
      404,
    );
    assert.deepEqual([again.requestId, again.statusDesc], [
      "r4",
      "NOT_FOUND: peer has no subscriptions",
    ]);
    await problem(await fetch(`${gw.url}/filter/v2/messages/${topicPath(CT)}`), 400);
    await answer(await ping("p2"), "p2");

    await answer(
      await sendJson(`${gw.url}/filter/v2/subscriptions/all`, "DELETE", { requestId: "r5" }),
      "r5",
    );
    await problem(await ping("p3"), 404);
    const empty = await problem(
      await sendJson(`${gw.url}/filter/v2/subscriptions/all`, "DELETE", { requestId: "r6" }),
      404,
    );
    assert.equal(empty.statusDesc, "NOT_FOUND: peer has no subscriptions");
  });
});

Deno.test("e2e nwaku filter: without a pubsub topic, each content topic's autosharded shard", async () => {
  await withGateway({ SYNCGATE_WAKU_CLUSTER_ID: "1", SYNCGATE_WAKU_SHARDS: "8" }, async (gw) => {
    const ct = "/toychat/2/huilong/proto";
    await answer(
      await subscriptions(gw.url, "POST", {
        requestId: "a",
        contentFilters: [ct],
        pubsubTopic: "",
      }),
      "a",
    );
    await publish(gw.url, "/waku/2/rs/1/3", "on its shard", ct);
    await publish(gw.url, "/waku/2/rs/1/4", "elsewhere", ct);
    assert.deepEqual((await messages(gw.url, ct)).map((m: { payload: string }) => m.payload), [
      b64("on its shard"),
    ]);
    const bad = await problem(
      await subscriptions(gw.url, "POST", { requestId: "b", contentFilters: ["x"] }),
      400,
    );
    assert.deepEqual([bad.requestId, bad.statusDesc], ["b", "BAD_RESPONSE: can't get shard"]);
  });
  await withGateway({ SYNCGATE_WAKU_SHARDS: "0" }, async (gw) => {
    const p = await problem(
      await subscriptions(gw.url, "POST", { requestId: "c", contentFilters: [CT] }),
      400,
    );
    assert.equal(p.statusDesc, "BAD_REQUEST: pubsubTopic and contentTopics must be specified");
  });
});

Deno.test("e2e nwaku filter: undecodable requests and limits, in nwaku's words", async () => {
  await withGateway({}, async (gw) => {
    const missing = await problem(
      await subscriptions(gw.url, "POST", { contentFilters: [CT] }),
      400,
    );
    assert.equal(missing.requestId, "unknown");
    assert.match(
      missing.statusDesc as string,
      /^BAD_REQUEST: Failed to decode request: .*Field `requestId` is missing/,
    );
    const empty = await problem(
      await subscriptions(gw.url, "POST", { requestId: "e", contentFilters: [] }),
      400,
    );
    assert.match(empty.statusDesc as string, /Field `contentFilters` is empty/);
    const many = Array.from({ length: 101 }, (_, i) => `/t/${i}/x/y`);
    const tooMany = await problem(
      await subscriptions(gw.url, "POST", { requestId: "m", contentFilters: many, pubsubTopic: A }),
      400,
    );
    assert.match(tooMany.statusDesc as string, /exceeds maximum content topics: 100/);
    // 1000 criteria at most, as nwaku's filter service per subscriber.
    for (let i = 0; i < 10; i++) {
      const batch = Array.from({ length: 100 }, (_, j) => `/t/${i * 100 + j}/x/y`);
      await answer(
        await subscriptions(gw.url, "POST", {
          requestId: `f${i}`,
          contentFilters: batch,
          pubsubTopic: A,
        }),
        `f${i}`,
      );
    }
    const full = await problem(
      await subscriptions(gw.url, "POST", {
        requestId: "over",
        contentFilters: ["/one/1/more/x"],
        pubsubTopic: A,
      }),
      503,
    );
    assert.equal(
      full.statusDesc,
      "SERVICE_UNAVAILABLE: peer has reached maximum number of filter criteria",
    );
    const wrongType = await fetch(`${gw.url}/filter/v2/subscriptions`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "{}",
    });
    assert.equal((await problem(wrongType, 415)).requestId, "unknown");
  });
});

Deno.test("e2e nwaku filter: a requestId too long is refused saying so, not as missing", async () => {
  await withGateway({}, async (gw) => {
    const res = await fetch(`${gw.url}/filter/v2/subscriptions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        requestId: "x".repeat(1100),
        contentFilters: ["/a/1/b/proto"],
        pubsubTopic: "/waku/2/rs/0/0",
      }),
    });
    assert.equal(res.status, 400);
    const text = await res.text();
    assert.match(text, /longer than 1024/);
    assert.doesNotMatch(text, /is missing/);
  });
});
