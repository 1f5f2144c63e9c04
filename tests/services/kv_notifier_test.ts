import assert from "node:assert/strict";
import { KvNotifier, type KvNotifierOptions } from "../../services/kv_notifier.ts";
import type { LiveEvent } from "../../services/live_hub.ts";
import type { Store } from "../../storage/kv.ts";
import { withTwoStores } from "../storage/two_stores.ts";

/** A notifier with a listener that keeps each event's JSON. */
async function listening(store: Store, opts: KvNotifierOptions = {}) {
  const notifier = await KvNotifier.open(store, { pollIntervalMs: 10, ...opts });
  const got: string[] = [];
  notifier.listen((events) => got.push(...events.map((e) => e.json)));
  return { notifier, got };
}

const ev = (json: string, channel = "waku"): LiveEvent => ({
  channel,
  attrs: { pubsubTopic: "/waku/2/rs/0/0", contentTopic: '/app/1/x\n"odd"/proto' },
  json,
});

/** Waits until `cond` holds; fails after a generous deadline (never a timing assertion). */
async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("KvNotifier: events sent on one handle arrive on the other in order, once, not echoed", async () => {
  await withTwoStores(async (sa, sb) => {
    const a = await listening(sa);
    const b = await listening(sb);
    const sent = Array.from({ length: 300 }, (_, i) => `{"n":${i}}`);
    for (let i = 0; i < sent.length; i += 7) {
      a.notifier.send(sent.slice(i, i + 7).map((j) => ev(j)));
    }
    await until(() => b.got.length >= sent.length, "b to get a's events");
    assert.deepEqual(b.got, sent);
    assert.deepEqual(a.got, sent, "a's own listener got them once, locally");
    // When a has seen b's marker, its polls have stepped over its own entries.
    b.notifier.send([ev('"marker"')]);
    await until(() => a.got.length > sent.length, "a to get b's marker");
    assert.deepEqual(a.got, [...sent, '"marker"']);
    assert.deepEqual(b.got, [...sent, '"marker"']);
    await a.notifier.close();
    await b.notifier.close();
  });
});

Deno.test("KvNotifier: channel and attributes arrive as sent", async () => {
  await withTwoStores(async (sa, sb) => {
    const a = await KvNotifier.open(sa);
    const b = await KvNotifier.open(sb, { pollIntervalMs: 10 });
    const got: LiveEvent[] = [];
    b.listen((events) => got.push(...events));
    const sent = [ev('{"a":1}', "waku"), ev('{\n  "pretty": true\n}', "mvds")];
    a.send(sent);
    await until(() => got.length === 2, "both events");
    assert.deepEqual(got, sent);
    await a.close();
    await b.close();
  });
});

Deno.test("KvNotifier: an event larger than a KV value arrives whole", async () => {
  await withTwoStores(async (sa, sb) => {
    const a = await KvNotifier.open(sa);
    const b = await listening(sb);
    // A store entry of a message near the 150 KiB limit: ~200 KB of base64 in JSON.
    const payload = Uint8Array.from({ length: 150 * 1024 }, (_, i) => i * 7919).toBase64();
    const big = JSON.stringify({ messageHash: "0x01", message: { payload } });
    a.send([ev('"before"'), ev(big), ev('"after"')]);
    await until(() => b.got.length === 3, "the three events");
    assert.deepEqual(b.got, ['"before"', big, '"after"']);
    await a.close();
    await b.notifier.close();
  });
});

Deno.test("KvNotifier: a reader that starts late sees only events sent after it opened", async () => {
  await withTwoStores(async (sa, sb) => {
    const a = await KvNotifier.open(sa);
    a.send([ev('"old"')]);
    await a.flush();
    const b = await listening(sb);
    a.send([ev('"new"')]);
    await until(() => b.got.length > 0, "the new event");
    assert.deepEqual(b.got, ['"new"']);
    await a.close();
    await b.notifier.close();
  });
});

Deno.test("KvNotifier: close() stops polling and delivery", async () => {
  await withTwoStores(async (sa, sb) => {
    const a = await KvNotifier.open(sa);
    const b = await listening(sb);
    const c = await listening(sb);
    a.send([ev("1")]);
    await until(() => b.got.length === 1 && c.got.length === 1, "the first event");
    await b.notifier.close();
    a.send([ev("2")]);
    // c polls as b did; once c has the event, a running b would have had it too.
    await until(() => c.got.length === 2, "c to get the second event");
    assert.deepEqual(b.got, ["1"]);
    await a.close();
    await c.notifier.close();
    // The test sanitizers fail this test if a timer or KV call were left running.
  });
});

Deno.test("KvNotifier: a reader whose entries were trimmed reports the gap and goes on", async () => {
  await withTwoStores(async (sa, sb) => {
    const opts = { keepEntries: 4, trimEvery: 2 };
    const b = await KvNotifier.open(sb, {
      pollIntervalMs: 10,
      ...opts,
      onGap: (n) => gaps.push(n),
    });
    const gaps: number[] = [];
    const a = await KvNotifier.open(sa, opts);
    for (let i = 1; i <= 12; i++) {
      a.send([ev(String(i))]);
      await a.flush(); // one entry per send
    }
    await a.close(); // waits for its trims too
    const got: string[] = [];
    b.listen((events) => got.push(...events.map((e) => e.json)));
    await until(() => got.length === 4, "the entries still there");
    assert.deepEqual(got, ["9", "10", "11", "12"]);
    assert.deepEqual(gaps, [8]);
    await b.close();
  });
});

Deno.test("KvNotifier: events published by a separate process arrive in order, once", async () => {
  await withTwoStores(async (_sa, sb, path) => {
    const b = await listening(sb);
    const count = 500;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        new URL("./kv_notifier_publisher.ts", import.meta.url).pathname,
        path,
        String(count),
        "5",
        "1",
      ],
      cwd: new URL("../..", import.meta.url).pathname, // deno.json there enables KV
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const status = await child.status;
    assert.equal(status.code, 0, "the publisher exits cleanly");
    await until(() => b.got.length >= count, "the child's events");
    assert.deepEqual(b.got.map((j) => JSON.parse(j).i), Array.from({ length: count }, (_, i) => i));
    await b.notifier.close();
  });
});
