import assert from "node:assert/strict";
import { b64, postJson, topicPath, withGateway } from "../helpers.ts";

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
