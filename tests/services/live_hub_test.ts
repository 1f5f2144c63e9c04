import assert from "node:assert/strict";
import { createMetrics } from "../../lib/metrics.ts";
import {
  BroadcastNotifier,
  type LiveEvent,
  LiveHub,
  LocalNotifier,
  type Sink,
} from "../../services/live_hub.ts";

/** A subscriber end that keeps what it gets, with room for `room` events. */
function collector(room = Infinity, match: (e: LiveEvent) => boolean = () => true) {
  const got: string[] = [];
  const closed: string[] = [];
  const sink: Sink = {
    matches: match,
    deliver: (e) => got.length < room ? (got.push(e.json), true) : false,
    close: (reason) => closed.push(reason),
  };
  return { sink, got, closed };
}

const ev = (n: number, topic = "a"): LiveEvent => ({
  channel: "waku",
  attrs: { contentTopic: topic },
  json: `{"n":${n}}`,
});

Deno.test("LiveHub delivers by channel and filter", () => {
  const metrics = createMetrics();
  const hub = new LiveHub(new LocalNotifier(), metrics);
  const all = collector();
  const onlyB = collector(Infinity, (e) => e.attrs.contentTopic === "b");
  const other = collector();
  hub.subscribe("waku", all.sink);
  hub.subscribe("waku", onlyB.sink);
  hub.subscribe("mvds", other.sink);
  hub.publish([ev(1, "a"), ev(2, "b")]);
  assert.deepEqual(all.got, ['{"n":1}', '{"n":2}']);
  assert.deepEqual(onlyB.got, ['{"n":2}']);
  assert.deepEqual(other.got, []);
  assert.equal(metrics.liveSubscribers.get({ channel: "waku" }), 2);
});

Deno.test("LiveHub closes a subscriber whose buffer is full, and keeps serving the others", () => {
  const metrics = createMetrics();
  const hub = new LiveHub(new LocalNotifier(), metrics);
  const slow = collector(2);
  const fast = collector();
  hub.subscribe("waku", slow.sink);
  hub.subscribe("waku", fast.sink);
  hub.publish([ev(1), ev(2), ev(3), ev(4)]);
  assert.equal(slow.got.length, 2);
  assert.equal(slow.closed.length, 1);
  assert.match(slow.closed[0], /fell behind/);
  assert.equal(fast.got.length, 4);
  hub.publish([ev(5)]);
  assert.equal(slow.got.length, 2, "a closed subscriber gets nothing more");
  assert.equal(metrics.liveDropped.get({ channel: "waku" }), 1);
  assert.equal(metrics.liveSubscribers.get({ channel: "waku" }), 1);
});

Deno.test("LiveHub unsubscribe stops delivery; closeAll closes every subscriber", () => {
  const hub = new LiveHub(new LocalNotifier(), createMetrics());
  const a = collector();
  const b = collector();
  const off = hub.subscribe("waku", a.sink);
  hub.subscribe("waku", b.sink);
  off();
  hub.publish([ev(1)]);
  assert.deepEqual(a.got, []);
  hub.closeAll("bye");
  assert.deepEqual(b.closed, ["bye"]);
});

Deno.test("BroadcastNotifier carries events to another instance's hub", async () => {
  const n1 = new BroadcastNotifier();
  const n2 = new BroadcastNotifier();
  const hub1 = new LiveHub(n1, createMetrics());
  const hub2 = new LiveHub(n2, createMetrics());
  const local = collector();
  const remote = collector();
  hub1.subscribe("waku", local.sink);
  hub2.subscribe("waku", remote.sink);
  hub1.publish([ev(7)]);
  assert.deepEqual(local.got, ['{"n":7}'], "delivered locally at once");
  for (let i = 0; i < 50 && remote.got.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.deepEqual(remote.got, ['{"n":7}']);
  n1.close();
  n2.close();
});
