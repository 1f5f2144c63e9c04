import assert from "node:assert/strict";
import { b64, postJson, topicPath, withGateway } from "../helpers.ts";
import { postHistory } from "./waku_client.ts";

const PS = "/waku/2/rs/0/0";
const KEEP = "/waku/2/rs/0/9";

Deno.test("e2e: retention runs in the background and keeps the newest per topic", async () => {
  const env = {
    SYNCGATE_WAKU_RETENTION: `${PS}=capacity:5`,
    SYNCGATE_WAKU_RETENTION_INTERVAL: "1",
  };
  await withGateway(env, async (gw) => {
    const items = Array.from({ length: 12 }, (_, i) => ({
      payload: b64(`m${i}`),
      contentTopic: "/app/1/x/proto",
      timestamp: String(1_732_000_000_000_000_000n + BigInt(i)),
    }));
    await postJson(`${gw.url}/relay/v1/bulk?pubsubTopic=${topicPath(PS)}`, items);
    await postJson(`${gw.url}/relay/v1/bulk?pubsubTopic=${topicPath(KEEP)}`, items);
    const payloads = async (topic: string) => {
      const body = await (await fetch(
        `${gw.url}/store/v3/messages?includeData=true&pubsubTopic=${topicPath(topic)}`,
      ))
        .json();
      return body.messages.map((m: { message: { payload: string } }) => atob(m.message.payload));
    };
    let left: string[] = [];
    for (let i = 0; i < 50; i++) {
      left = await payloads(PS);
      if (left.length <= 5) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(left, ["m7", "m8", "m9", "m10", "m11"]);
    assert.equal((await payloads(KEEP)).length, 12, "a topic without limits keeps everything");
    // Queries and publishes go on while retention runs.
    const r = await postJson(`${gw.url}/relay/v1/messages/${topicPath(PS)}`, {
      payload: b64("new"),
      contentTopic: "/x",
    });
    assert.equal(r.status, 200);
  });
});

Deno.test("e2e: reads of the oldest page never fail while retention deletes large messages", async () => {
  const env = {
    SYNCGATE_WAKU_RETENTION: `${PS}=capacity:50`,
    SYNCGATE_WAKU_RETENTION_INTERVAL: "1",
  };
  await withGateway(env, async (gw) => {
    const statuses = new Map<number, number>();
    const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
    const until = Date.now() + 3000;
    let i = 0;
    const publisher = (async () => {
      while (Date.now() < until) {
        const items = Array.from({ length: 10 }, () => ({
          payload: new Uint8Array(100_000).fill(i++ & 255).toBase64(),
          contentTopic: "/app/1/x/proto",
        }));
        const r = await postJson(`${gw.url}/relay/v1/bulk?pubsubTopic=${topicPath(PS)}`, items);
        count(r.status);
      }
    })();
    const reader = (async () => {
      while (Date.now() < until) {
        const v3 = await fetch(
          `${gw.url}/store/v3/messages?includeData=true&pageSize=5&pubsubTopic=${topicPath(PS)}`,
        );
        count(v3.status);
        await v3.body?.cancel();
        const beta2 = await postHistory(gw.url, {
          requestId: "r",
          query: { topics: [], pagingInfo: { pageSize: 5, direction: "forward" } },
        });
        count(beta2.status);
        await beta2.body?.cancel();
      }
    })();
    await Promise.all([publisher, reader]);
    assert.deepEqual([...statuses.keys()], [200], JSON.stringify([...statuses]));
  });
});
