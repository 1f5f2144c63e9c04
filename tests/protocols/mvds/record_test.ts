/** Settings and the retransmission schedule. */
import assert from "node:assert/strict";
import {
  backoffInterval,
  DEFAULT_SETTINGS,
  lastSentEpoch,
  mvdsSettings,
  nextSendEpoch,
} from "../../../protocols/mvds/record.ts";

Deno.test("settings: defaults and validation", () => {
  assert.deepEqual(mvdsSettings(), {
    epochMs: 1000,
    backoffCapEpochs: 64,
    maxSendCount: undefined,
  });
  assert.deepEqual(DEFAULT_SETTINGS, mvdsSettings({}));
  assert.equal(mvdsSettings({ maxSendCount: 14, epochMs: undefined }).maxSendCount, 14);
  assert.equal(mvdsSettings({ epochMs: undefined }).epochMs, 1000);
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(() => mvdsSettings({ backoffCapEpochs: bad }), RangeError);
    assert.throws(
      () => mvdsSettings({ maxSendCount: bad }),
      /maxSendCount must be a positive integer/,
    );
    assert.throws(() => mvdsSettings({ epochMs: bad }), RangeError);
  }
});

Deno.test("backoff: gaps double up to the cap, then start over", () => {
  const s = mvdsSettings();
  const gaps = Array.from({ length: 14 }, (_, i) => backoffInterval(i + 1, s));
  assert.deepEqual(gaps, [2, 4, 8, 16, 32, 64, 2, 4, 8, 16, 32, 64, 2, 4]);
  // a cap that is not a power of two: gaps stay below it
  const s100 = mvdsSettings({ backoffCapEpochs: 100 });
  assert.deepEqual(Array.from({ length: 8 }, (_, i) => backoffInterval(i + 1, s100)), [
    2,
    4,
    8,
    16,
    32,
    64,
    2,
    4,
  ]);
  assert.deepEqual(
    [1, 2, 3].map((n) => backoffInterval(n, mvdsSettings({ backoffCapEpochs: 1 }))),
    [1, 1, 1],
  );
  assert.deepEqual(
    [1, 2, 3].map((n) => backoffInterval(n, mvdsSettings({ backoffCapEpochs: 3 }))),
    [2, 2, 2],
  );
});

Deno.test("backoff: the send epochs of a record never sent successfully", () => {
  const s = mvdsSettings({ backoffCapEpochs: 8 });
  let epoch = 100;
  const sends = [epoch];
  for (let n = 1; n <= 7; n++) sends.push(epoch = nextSendEpoch(epoch, n, s));
  assert.deepEqual(sends, [100, 102, 106, 114, 116, 120, 128, 130]);
  // each gap is bounded by the cap, and send epochs only grow
  for (let n = 1; n < 1000; n++) {
    const g = nextSendEpoch(0, n, s);
    assert.ok(g >= 1 && g <= 8);
  }
});

Deno.test("lastSentEpoch inverts the schedule", () => {
  const s = mvdsSettings();
  for (let n = 1; n < 20; n++) {
    const r = {
      id: new Uint8Array(32),
      type: "MESSAGE" as const,
      sendCount: n,
      sendEpoch: nextSendEpoch(500, n, s),
    };
    assert.equal(lastSentEpoch(r, s), 500);
  }
  assert.equal(
    lastSentEpoch({ id: new Uint8Array(32), type: "OFFER", sendCount: 0, sendEpoch: 3 }, s),
    undefined,
  );
});
