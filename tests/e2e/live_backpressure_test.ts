/**
 * Slow consumers are bounded: a subscriber that stops reading is closed with
 * a reason, and the gateway keeps serving everyone else.
 */
import assert from "node:assert/strict";
import { b64, postJson, topicPath, withGateway } from "../helpers.ts";
import { readUntilClose, stalledWebSocket } from "./raw_live.ts";

const PS = "/waku/2/rs/0/0";
const env = { SYNCGATE_LIVE_BUFFER_BYTES: "65536" };

/** Publishes ~`mb` MiB of 16 KiB messages in bulk requests. */
async function flood(url: string, mb: number) {
  const payload = b64("x".repeat(16 * 1024));
  for (let r = 0; r < mb / 4; r++) {
    const items = Array.from(
      { length: 256 },
      (_, i) => ({ payload, contentTopic: "/flood", meta: b64(`${r}-${i}`) }),
    );
    const res = await postJson(`${url}/relay/v1/bulk?pubsubTopic=${topicPath(PS)}`, items);
    assert.equal(res.status, 200);
  }
}

Deno.test("e2e: a WebSocket subscriber that stops reading is closed with 4008", async () => {
  await withGateway(env, async (gw) => {
    const port = Number(new URL(gw.url).port);
    // Read the 101 answer, then stop reading while the flood goes on.
    const sub = await stalledWebSocket(port, "/relay/v1/ws?contentTopics=/flood");
    await new Promise((r) => setTimeout(r, 50));
    await flood(gw.url, 32);
    const close = await readUntilClose(sub);
    assert.equal(close.code, 4008);
    assert.match(close.reason, /fell behind/);
    sub.conn.close();
    // Everyone else is still served.
    assert.equal((await fetch(`${gw.url}/health`)).status, 200);
  });
});

Deno.test("e2e: an SSE subscriber that stops reading gets event: error and the stream ends", async () => {
  await withGateway(env, async (gw) => {
    const res = await fetch(`${gw.url}/relay/v1/events?contentTopics=/flood`);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    await reader.read();
    await flood(gw.url, 32);
    let text = "";
    let frames = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      frames += (value.match(/event: message/g) ?? []).length;
      text = text.slice(-4096);
    }
    assert.match(text, /event: error\ndata: \{"reason":"Subscriber fell behind[^"]*"\}/);
    assert.ok(frames < 2048, `only part of the flood was delivered (${frames})`);
  });
});
