import assert from "node:assert/strict";
import { createMetrics } from "../../lib/metrics.ts";
import {
  BroadcastNotifier,
  FELL_BEHIND,
  FELL_BEHIND_MOST,
  type LiveEvent,
  LiveHub,
  LocalNotifier,
  type Sink,
} from "../../services/live_hub.ts";
import { SLOT_BYTES } from "../../services/live_subscriber.ts";

/** A transport whose peer takes every event at once. */
function reader(match: (e: LiveEvent) => boolean = () => true) {
  const got: string[] = [];
  const closed: string[] = [];
  const sink: Sink = {
    matches: match,
    buffered: () => 0,
    send: (e) => got.push(e.json),
    close: (reason) => closed.push(reason),
  };
  return { sink, got, closed };
}

/** A transport that holds what it is sent until its peer reads (`read()`), as a socket does. */
function stalled(match: (e: LiveEvent) => boolean = () => true) {
  let held: string[] = [];
  const got: string[] = [];
  const closed: string[] = [];
  const sink: Sink = {
    matches: match,
    buffered: () => held.reduce((n, json) => n + json.length, 0),
    send: (e) => held.push(e.json),
    close: (reason) => closed.push(reason),
  };
  return {
    sink,
    got,
    closed,
    /** What the transport holds now. */
    held: () => [...held],
    /** The peer reads everything the transport holds. */
    read() {
      got.push(...held);
      held = [];
    },
  };
}

/** An event whose JSON is 12 bytes. */
const ev = (n: number, topic = "a"): LiveEvent => ({
  channel: "waku",
  attrs: { contentTopic: topic },
  json: `{"n":"${String(n).padStart(4, "0")}"}`,
});
const json = (n: number) => ev(n).json;

Deno.test("LiveHub delivers by channel and filter", () => {
  const metrics = createMetrics();
  const hub = new LiveHub(new LocalNotifier(), metrics);
  const all = reader();
  const onlyB = reader((e) => e.attrs.contentTopic === "b");
  const other = reader();
  hub.subscribe("waku", all.sink, { maxBytes: 1024 });
  hub.subscribe("waku", onlyB.sink, { maxBytes: 1024 });
  hub.subscribe("mvds", other.sink, { maxBytes: 1024 });
  hub.publish([ev(1, "a"), ev(2, "b")]);
  assert.deepEqual(all.got, [json(1), json(2)]);
  assert.deepEqual(onlyB.got, [json(2)]);
  assert.deepEqual(other.got, []);
  assert.equal(metrics.liveSubscribers.get({ channel: "waku" }), 2);
  assert.equal(hub.heldBytes, 0);
});

Deno.test("LiveHub gives a transport one window at a time and the rest in order as it drains", () => {
  const hub = new LiveHub(new LocalNotifier(), createMetrics());
  const t = stalled();
  const sub = hub.subscribe("waku", t.sink, { maxBytes: 1024, windowBytes: 24 });
  hub.publish([1, 2, 3, 4, 5].map((n) => ev(n)));
  assert.deepEqual(t.held(), [json(1), json(2)], "two events fill the window");
  assert.equal(hub.heldBytes, 2 * 12 + 3 * (12 + SLOT_BYTES), "the transport's and the queue's");
  t.read();
  sub.flush();
  assert.deepEqual(t.held(), [json(3), json(4)]);
  t.read();
  sub.flush();
  t.read();
  sub.flush();
  assert.deepEqual(t.got, [1, 2, 3, 4, 5].map(json));
  assert.equal(hub.heldBytes, 0);
  hub.closeAll("done");
});

Deno.test("LiveHub closes a subscriber past its own limit, and keeps serving the others", () => {
  const metrics = createMetrics();
  const hub = new LiveHub(new LocalNotifier(), metrics);
  const slow = stalled();
  const fast = reader();
  hub.subscribe("waku", slow.sink, { maxBytes: 30 });
  hub.subscribe("waku", fast.sink, { maxBytes: 30 });
  hub.publish([1, 2, 3, 4].map((n) => ev(n)));
  assert.deepEqual(slow.held(), [json(1), json(2)], "a third would pass its 30 bytes");
  assert.deepEqual(slow.closed, [FELL_BEHIND]);
  assert.equal(fast.got.length, 4);
  hub.publish([ev(5)]);
  assert.equal(slow.held().length, 2, "a closed subscriber gets nothing more");
  assert.equal(fast.got.length, 5);
  assert.equal(metrics.liveDropped.get({ channel: "waku" }), 1);
  assert.equal(metrics.liveShed.get({ channel: "waku" }), 0);
  assert.equal(metrics.liveSubscribers.get({ channel: "waku" }), 1);
  assert.equal(hub.heldBytes, 0, "what the closed one held is no longer counted");
});

Deno.test("LiveHub: a subscriber holding nothing takes one event larger than its limit", () => {
  const hub = new LiveHub(new LocalNotifier(), createMetrics());
  const t = stalled();
  hub.subscribe("waku", t.sink, { maxBytes: 1024 });
  const big: LiveEvent = { channel: "waku", attrs: {}, json: JSON.stringify("x".repeat(4096)) };
  hub.publish([big]);
  assert.equal(t.held().length, 1);
  assert.deepEqual(t.closed, []);
  hub.publish([ev(1)]);
  assert.deepEqual(t.closed, [FELL_BEHIND], "but nothing more while it holds it");
});

Deno.test("LiveHub: past the total, the subscribers furthest behind are closed first", () => {
  const metrics = createMetrics();
  const hub = new LiveHub(new LocalNotifier(), metrics, { totalBytes: 400 });
  const fast = reader();
  const old = stalled((e) => e.attrs.contentTopic === "a");
  hub.subscribe("waku", fast.sink, { maxBytes: 4096 });
  hub.subscribe("waku", old.sink, { maxBytes: 4096, windowBytes: 12 });
  hub.publish([1, 2, 3].map((n) => ev(n, "a")));
  // `late` comes later and takes everything: it holds more, but `old` waits for older events.
  const late = stalled();
  hub.subscribe("waku", late.sink, { maxBytes: 4096, windowBytes: 12 });
  const totals: number[] = [];
  let n = 4;
  while (old.closed.length === 0 && n < 100) {
    hub.publish([ev(n, n % 2 ? "a" : "b")]);
    totals.push(hub.heldBytes);
    n++;
  }
  assert.deepEqual(old.closed, [FELL_BEHIND_MOST]);
  assert.deepEqual(late.closed, [], "it held more, but newer events");
  while (late.closed.length === 0 && n < 200) {
    hub.publish([ev(n++)]);
    totals.push(hub.heldBytes);
  }
  assert.deepEqual(late.closed, [FELL_BEHIND_MOST], "alone past the total, it goes too");
  assert.ok(totals.every((t) => t <= 400), `never past the total: ${totals}`);
  assert.equal(fast.got.length, n - 1, "a subscriber that keeps up gets everything");
  assert.deepEqual(fast.closed, []);
  assert.equal(metrics.liveShed.get({ channel: "waku" }), 2);
  assert.equal(metrics.liveDropped.get({ channel: "waku" }), 2);
  assert.equal(hub.heldBytes, 0);
  assert.equal(metrics.liveHeldBytes.get(), 0);
});

Deno.test("LiveHub: a burst to many subscribers counts once against the total, not once each", () => {
  const hub = new LiveHub(new LocalNotifier(), createMetrics(), { totalBytes: 100_000 });
  const big = (n: number): LiveEvent => ({
    channel: "waku",
    attrs: {},
    json: `{"n":"${String(n).padStart(4, "0")}","p":"${"x".repeat(981)}"}`,
  });
  const subs = Array.from({ length: 50 }, () => {
    const t = stalled();
    return { t, sub: hub.subscribe("waku", t.sink, { maxBytes: 1 << 20, windowBytes: 1000 }) };
  });
  hub.publish(Array.from({ length: 20 }, (_, i) => big(i))); // 1 MB for all 50 together
  assert.ok(subs.every(({ t }) => t.closed.length === 0));
  const held = hub.heldBytes;
  assert.equal(held, 19 * 1000 + 50 * (1000 + 19 * SLOT_BYTES), "each waiting event once");
  for (let round = 0; round < 20; round++) {
    for (const { t, sub } of subs) {
      t.read();
      sub.flush();
    }
  }
  assert.ok(subs.every(({ t }) => t.got.length === 20));
  assert.equal(hub.heldBytes, 0);
  hub.closeAll("done");
});

Deno.test("LiveHub measures again before closing anyone for the total", () => {
  const hub = new LiveHub(new LocalNotifier(), createMetrics(), { totalBytes: 110 });
  const a = stalled();
  const b = stalled();
  hub.subscribe("waku", a.sink, { maxBytes: 1024 });
  hub.subscribe("waku", b.sink, { maxBytes: 1024 });
  hub.publish([1, 2, 3, 4].map((n) => ev(n))); // 96 bytes in the two transports
  a.read(); // its peer read everything; the hub has not looked yet
  hub.publish([ev(5)]);
  assert.deepEqual(a.closed, [], "measured again, it holds nothing");
  assert.deepEqual(b.closed, [], "and with it measured, all fit");
  assert.equal(hub.heldBytes, 12 + 5 * 12);
  hub.closeAll("done");
});

Deno.test("LiveHub unsubscribe stops delivery and releases the backlog; closeAll closes everyone", () => {
  const hub = new LiveHub(new LocalNotifier(), createMetrics());
  const a = stalled();
  const b = reader();
  const sub = hub.subscribe("waku", a.sink, { maxBytes: 1024 });
  hub.subscribe("waku", b.sink, { maxBytes: 1024 });
  hub.publish([ev(1)]);
  assert.equal(hub.heldBytes, 12);
  sub.unsubscribe();
  sub.unsubscribe();
  assert.equal(hub.heldBytes, 0);
  hub.publish([ev(2)]);
  assert.deepEqual(a.held(), [json(1)]);
  hub.closeAll("bye");
  assert.deepEqual(b.closed, ["bye"]);
  assert.deepEqual(a.closed, [], "an unsubscribed one is not closed again");
});

Deno.test("BroadcastNotifier carries events to another instance's hub", async () => {
  const n1 = new BroadcastNotifier();
  const n2 = new BroadcastNotifier();
  const hub1 = new LiveHub(n1, createMetrics());
  const hub2 = new LiveHub(n2, createMetrics());
  const local = reader();
  const remote = reader();
  hub1.subscribe("waku", local.sink, { maxBytes: 1024 });
  hub2.subscribe("waku", remote.sink, { maxBytes: 1024 });
  hub1.publish([ev(7)]);
  assert.deepEqual(local.got, [json(7)], "delivered locally at once");
  for (let i = 0; i < 50 && remote.got.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.deepEqual(remote.got, [json(7)]);
  n1.close();
  n2.close();
});
