/**
 * Slow readers: a client that takes none of the bytes the front has for it
 * (it never reads, or its TCP window stays full) is closed after the write
 * stall timeout, with its connection to the server, so the app lets go of
 * what it holds for it; meanwhile the front holds back the app rather than
 * buffering, and other clients are served. A response that is merely slow
 * to come is no stall. Each test runs with the front in a worker and on the
 * main thread.
 */
import assert from "node:assert/strict";
import { flood, frontTest, RawClient, settled, sleep, withFront, within } from "./front_harness.ts";

const MiB = 1024 * 1024;

frontTest(
  "a client that never reads a streaming response is closed after the write stall timeout",
  async (thread) => {
    await withFront(thread, { writeStallTimeoutMs: 500 }, async (front, port, metrics) => {
      const id = crypto.randomUUID();
      const stuck = await RawClient.open(port);
      const other = await RawClient.open(port);
      try {
        await stuck.send(`GET /flood?id=${id} HTTP/1.1\r\nHost: a\r\n\r\n`);
        for (let i = 0; i < 500 && flood(id).produced === 0; i++) await sleep(10);
        // While the stuck client's bytes wait, another client is served.
        for (let i = 0; i < 3; i++) {
          await other.send(`GET /other${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
          assert.equal((await other.response()).body, `hello GET /other${i}`);
        }
        // The app sees its stream cancelled: the front closed the server connection too.
        await within(flood(id).closed.promise, 10_000, "The app's stream was never cancelled");
        // Backpressure: the app made no more than the socket buffers on the way hold.
        assert.ok(flood(id).produced < 32 * MiB, `the app made ${flood(id).produced} bytes`);
        // The stuck client's connection is closed: what it can still read ends.
        assert.equal(await stuck.readsToEnd(64 * MiB), true, "the stuck connection was closed");
        await settled(() => metrics.frontTimeouts.get({ phase: "write" }), 1, "write timeouts");
        await settled(() => front.connections, 1, "open connections");
        // The other client's connection is still there.
        await other.send("GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
        assert.equal((await other.response()).body, "hello GET /after");
      } finally {
        stuck.close();
        other.close();
      }
    });
  },
);

frontTest(
  "a WebSocket subscriber whose window stays full is closed, and so is the app's socket",
  async (thread) => {
    await withFront(thread, { writeStallTimeoutMs: 500 }, async (_front, port, metrics) => {
      const id = crypto.randomUUID();
      const stuck = await RawClient.open(port);
      try {
        await stuck.send(
          `GET /ws-flood?id=${id} HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n` +
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
            "Sec-WebSocket-Version: 13\r\n\r\n",
        );
        assert.equal((await stuck.response()).status, 101);
        // From here on the client reads nothing.
        await within(flood(id).closed.promise, 10_000, "The app's WebSocket was never closed");
        assert.equal(await stuck.readsToEnd(256 * MiB), true, "the stuck connection was closed");
        await settled(() => metrics.frontTimeouts.get({ phase: "write" }), 1, "write timeouts");
      } finally {
        stuck.close();
      }
    });
  },
);

frontTest("a response slow to come is not a write stall", async (thread) => {
  await withFront(thread, { writeStallTimeoutMs: 100 }, async (_front, port, metrics) => {
    const res = await fetch(`http://127.0.0.1:${port}/sse?n=4&every=250`);
    assert.equal(await res.text(), [0, 1, 2, 3].map((i) => `data: ${i}\n\n`).join(""));
    assert.equal(metrics.frontTimeouts.get({ phase: "write" }), 0);
  });
});
