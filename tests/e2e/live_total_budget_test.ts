/**
 * The total live buffer: when what all subscribers have waiting would pass
 * SYNCGATE_LIVE_BUFFER_TOTAL_BYTES, the subscribers furthest behind are
 * closed (WebSocket 4008, SSE `event: error`), while one that keeps up is
 * served throughout, and every count returns to zero once they are gone.
 */
import assert from "node:assert/strict";
import { b64, postJson, topicPath, withGateway } from "../helpers.ts";
import {
  readUntilClose,
  readUntilStreamError,
  stalledEventStream,
  stalledWebSocket,
} from "./raw_live.ts";

const PS = "/waku/2/rs/0/0";
const TOTAL = 4 * 1024 * 1024;
const env = {
  // Far above what any one subscriber reaches here: only the total can close them.
  SYNCGATE_LIVE_BUFFER_BYTES: String(256 * 1024 * 1024),
  SYNCGATE_LIVE_BUFFER_TOTAL_BYTES: String(TOTAL),
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for a condition that other parties make true; fails after `ms`. */
async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await sleep(10);
  }
}

for (const front of ["worker", "off"]) {
  Deno.test(`e2e: past the total live buffer, the stalled subscribers are closed and the rest served (front ${front})`, async () => {
    await withGateway({ ...env, SYNCGATE_FRONT: front }, async (gw) => {
      const { hub, metrics } = gw.deps;
      const port = Number(new URL(gw.url).port);
      const path = `/relay/v1/ws?contentTopics=/flood`;
      const stalledWs = await Promise.all(
        Array.from({ length: 6 }, () => stalledWebSocket(port, path)),
      );
      const stalledSse = await Promise.all(
        Array.from(
          { length: 2 },
          () => stalledEventStream(port, `/relay/v1/events?contentTopics=/flood`),
        ),
      );
      // One subscriber that reads everything.
      const reader = new WebSocket(gw.url.replace("http", "ws") + path);
      const received: string[] = [];
      reader.onmessage = (e) => received.push(JSON.parse(e.data).message.meta);
      await new Promise((r) => reader.onopen = r);
      await until(
        "every subscriber is counted",
        () => metrics.liveSubscribers.get({ channel: "waku" }) === 9,
      );

      // Floods of 64 messages of 16 KiB until all eight stalled subscribers are closed.
      const payload = b64("x".repeat(16 * 1024));
      const totals: number[] = [];
      const gauges: number[] = [];
      let sent = 0;
      for (let round = 0; metrics.liveShed.get({ channel: "waku" }) < 8; round++) {
        assert.ok(
          round < 400,
          `still ${metrics.liveShed.get({ channel: "waku" })} shed after ${round} rounds`,
        );
        const items = Array.from({ length: 64 }, () => ({
          payload,
          contentTopic: "/flood",
          meta: b64(String(sent++)),
        }));
        const res = await postJson(`${gw.url}/relay/v1/bulk?pubsubTopic=${topicPath(PS)}`, items);
        assert.equal(res.status, 200);
        totals.push(hub.heldBytes);
        gauges.push(metrics.openWebSockets.get());
        // The reader keeps up: it has everything before the next flood.
        await until(`the reader has ${sent} messages`, () => received.length === sent);
      }
      assert.ok(totals.every((t) => t <= TOTAL), `never past the total: ${totals}`);
      assert.equal(
        metrics.liveDropped.get({ channel: "waku" }),
        8,
        "all by the total, none by their own",
      );

      for (const sub of stalledWs) {
        const close = await readUntilClose(sub);
        assert.equal(close.code, 4008);
        assert.match(close.reason, /fell behind the most/);
      }
      for (const sub of stalledSse) {
        const error = await readUntilStreamError(sub);
        assert.match((error as { reason: string }).reason, /fell behind the most/);
      }

      // The reader is still served, in order, and so is everyone else.
      assert.equal(reader.readyState, WebSocket.OPEN);
      assert.deepEqual(received, Array.from({ length: sent }, (_, i) => b64(String(i))));
      const last = await postJson(`${gw.url}/relay/v1/messages/${topicPath(PS)}`, {
        payload: b64("after"),
        contentTopic: "/flood",
        meta: b64("after"),
      });
      assert.equal(last.status, 200);
      await until(
        "the reader gets a message published after",
        () => received.at(-1) === b64("after"),
      );
      assert.equal((await fetch(`${gw.url}/health`)).status, 200);

      // Everyone leaves: the counts return to zero, and the gauge never went below.
      for (const sub of [...stalledWs, ...stalledSse]) sub.conn.close();
      reader.close();
      await until("no WebSocket is counted open", () => {
        gauges.push(metrics.openWebSockets.get());
        return metrics.openWebSockets.get() === 0;
      });
      await until(
        "no subscriber is counted",
        () => metrics.liveSubscribers.get({ channel: "waku" }) === 0,
      );
      assert.ok(gauges.every((g) => g >= 0), `the open-WebSockets gauge went negative: ${gauges}`);
      assert.equal(hub.heldBytes, 0);
      assert.equal(metrics.liveHeldBytes.get(), 0);
    });
  });
}
