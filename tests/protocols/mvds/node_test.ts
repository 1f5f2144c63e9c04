/**
 * The node state machine epoch by epoch: the spec's two figures, the
 * reactions to each record type, retransmission, maxSendCount, a peer
 * heard from again, and payload limits.
 */
import assert from "node:assert/strict";
import { idKey, messageId } from "../../../protocols/mvds/message_id.ts";
import { due, peerHeard, peerReturned } from "../../../protocols/mvds/due.ts";
import { payloadIds, receive, send } from "../../../protocols/mvds/node.ts";
import { emptyPayload, type Payload } from "../../../protocols/mvds/proto.ts";
import { mvdsSettings, type SyncRecord } from "../../../protocols/mvds/record.ts";
import { GROUP, message, show, TestNode } from "./harness.ts";

const pair = (modeA: "batch" | "interactive", modeB = modeA, settings = {}) => ({
  a: new TestNode(modeA, settings).share("B"),
  b: new TestNode(modeB, settings).share("A"),
});
const p = (fields: Partial<Payload>): Payload => ({ ...emptyPayload(), ...fields });

Deno.test("figure 1: interactive delivery without retransmission (offer, request, message, ack)", () => {
  const { a, b } = pair("interactive");
  const m = message("hello");
  const id = a.send(m, 0);
  const k = idKey(id);
  assert.deepEqual(a.record("B", id), ["OFFER", 0, 0]);

  const e0 = a.tick("B", 0);
  assert.deepEqual(show(e0), { offers: [k] });
  assert.deepEqual(a.record("B", id), ["OFFER", 1, 2]);
  assert.equal(b.tick("A", 0), undefined);

  const c1 = b.receive("A", e0!, 1);
  assert.deepEqual(c1.events.map((e) => e.type), ["offered"]);
  assert.deepEqual(b.record("A", id), ["REQUEST", 0, 1]);
  const e1 = b.tick("A", 1);
  assert.deepEqual(show(e1), { requests: [k] });
  assert.equal(a.tick("B", 1), undefined); // the OFFER waits for its send epoch

  const c2 = a.receive("B", e1!, 2);
  assert.deepEqual(c2.events.map((e) => e.type), ["requested"]);
  assert.deepEqual(a.record("B", id), ["MESSAGE", 0, 2]); // the OFFER is gone
  const e2 = a.tick("B", 2);
  assert.deepEqual(show(e2), { messages: ["hello"] });
  assert.equal(b.tick("A", 2), undefined); // the REQUEST's send epoch is 3

  const c3 = b.receive("A", e2!, 3);
  assert.deepEqual(c3.events.map((e) => e.type), ["received"]);
  assert.equal(c3.store[0].from, "A");
  assert.equal(idKey(c3.store[0].id), k);
  assert.equal(b.record("A", id), undefined); // the REQUEST is gone
  const e3 = b.tick("A", 3);
  assert.deepEqual(show(e3), { acks: [k] });

  const c4 = a.receive("B", e3!, 4);
  assert.deepEqual(c4.events.map((e) => [e.type, "record" in e && e.record]), [[
    "acked",
    "MESSAGE",
  ]]);
  for (let e = 4; e < 200; e++) {
    assert.equal(a.tick("B", e), undefined);
    assert.equal(b.tick("A", e), undefined);
  }
  assert.equal(a.stateSize() + b.stateSize(), 0);
  assert.ok(b.messages.has(k));
});

Deno.test("figure 2: batch delivery without retransmission (message, ack)", () => {
  const { a, b } = pair("batch");
  const id = a.send(message("hi"), 0);
  const e0 = a.tick("B", 0);
  assert.deepEqual(show(e0), { messages: ["hi"] });
  assert.deepEqual(a.record("B", id), ["MESSAGE", 1, 2]);

  assert.deepEqual(b.receive("A", e0!, 1).events.map((e) => e.type), ["received"]);
  assert.equal(b.stateSize(), 0); // ACKs are never state
  const e1 = b.tick("A", 1);
  assert.deepEqual(show(e1), { acks: [idKey(id)] });
  assert.equal(b.tick("A", 2), undefined); // an ACK is sent once

  a.receive("B", e1!, 2);
  assert.equal(a.stateSize(), 0);
  assert.equal(a.tick("B", 2), undefined);
});

Deno.test("mixed modes: a batch node answers an interactive one and vice versa", () => {
  const { a, b } = pair("interactive", "batch");
  const ia = a.send(message("from a"), 0);
  const ib = b.send(message("from b"), 0);
  for (let e = 0; e < 10; e++) {
    const pa = a.tick("B", e);
    const pb = b.tick("A", e);
    if (pa) b.receive("A", pa, e + 1);
    if (pb) a.receive("B", pb, e + 1);
  }
  assert.ok(b.messages.has(idKey(ia)) && a.messages.has(idKey(ib)));
  assert.equal(a.stateSize() + b.stateSize(), 0);
});

Deno.test("retransmission: a lost MESSAGE is resent on the backoff schedule until ACKed", () => {
  const { a, b } = pair("batch");
  const id = a.send(message("again"), 0);
  const sent: number[] = [];
  for (let e = 0; e < 140; e++) {
    const out = a.tick("B", e);
    if (out) {
      sent.push(e);
      assert.deepEqual(show(out), { messages: ["again"] });
    }
  }
  assert.deepEqual(sent, [0, 2, 6, 14, 30, 62, 126, 128, 132]);
  assert.deepEqual(a.record("B", id), ["MESSAGE", 9, 140]);
  // a retransmission that gets through is ACKed, even the second time
  const msg = p({ messages: [message("again")] });
  b.receive("A", msg, 141);
  assert.deepEqual(show(b.tick("A", 141)), { acks: [idKey(id)] });
  const again = b.receive("A", msg, 142);
  assert.deepEqual(again.store, []);
  assert.deepEqual(again.events, []);
  assert.deepEqual(show(b.tick("A", 142)), { acks: [idKey(id)] });
  a.receive("B", p({ acks: [id] }), 143);
  assert.equal(a.stateSize(), 0);
});

Deno.test("maxSendCount: after that many sends the record is dropped and reported failed", () => {
  for (const mode of ["batch", "interactive"] as const) {
    const a = new TestNode(mode, { maxSendCount: 3 }).share("B");
    const id = a.send(message("lost"), 0);
    const sent: number[] = [];
    const failed: unknown[] = [];
    for (let e = 0; e <= 300; e++) {
      if (a.tick("B", e)) sent.push(e);
      for (const ev of a.lastDue!.events) {
        failed.push([e, ev.type, ev.peer, idKey(ev.id), "record" in ev && ev.record]);
      }
    }
    assert.deepEqual(sent, [0, 2, 6]);
    assert.deepEqual(failed, [[
      14,
      "failed",
      "B",
      idKey(id),
      mode === "batch" ? "MESSAGE" : "OFFER",
    ]]);
    assert.equal(a.stateSize(), 0);
  }
});

Deno.test("maxSendCount also ends a REQUEST that is never answered", () => {
  const b = new TestNode("batch", { maxSendCount: 2 }).share("A");
  const id = messageId(message("x"));
  b.receive("A", p({ offers: [id] }), 0);
  const sent = [];
  for (let e = 0; e < 20; e++) if (b.tick("A", e)) sent.push(e);
  assert.deepEqual(sent, [0, 2]);
  assert.equal(b.stateSize(), 0);
});

Deno.test("receive: a MESSAGE of a group the peer does not share is ignored, not ACKed", () => {
  const b = new TestNode("batch").share("A");
  const other = message("secret", new Uint8Array([9, 9]));
  const id = messageId(other);
  b.receive("A", p({ offers: [id] }), 0); // an offer cannot be checked: requested
  assert.deepEqual(b.record("A", id), ["REQUEST", 0, 0]);
  const c = b.receive("A", p({ messages: [other] }), 1);
  assert.deepEqual(c.events.map((e) => [e.type, "reason" in e && e.reason]), [[
    "ignored",
    "group not shared",
  ]]);
  assert.deepEqual(c.store, []);
  assert.deepEqual(c.acks, []);
  assert.equal(b.record("A", id), undefined); // and the REQUEST for it ends
  assert.equal(b.messages.size, 0);
});

Deno.test("receive: REQUESTs for unknown or unshared messages are ignored", () => {
  const a = new TestNode("interactive").share("B").share("C", new Uint8Array([5]));
  const mine = message("for C only", new Uint8Array([5]));
  const id = a.send(mine, 0);
  const c = a.receive("B", p({ requests: [id, messageId(message("unknown"))] }), 1);
  assert.deepEqual(c, { put: [], delete: [], store: [], acks: [], events: [] });
});

Deno.test("receive: a REQUEST without an OFFER is answered; a repeated one does not reset the MESSAGE", () => {
  const a = new TestNode("batch").share("B");
  const m = message("asked");
  const id = messageId(m);
  a.messages.set(idKey(id), m); // held (e.g. received from someone else), never offered to B
  a.receive("B", p({ requests: [id] }), 3);
  assert.deepEqual(a.record("B", id), ["MESSAGE", 0, 3]);
  a.tick("B", 3);
  const again = a.receive("B", p({ requests: [id] }), 4);
  assert.deepEqual(again.put, []);
  assert.deepEqual(a.record("B", id), ["MESSAGE", 1, 5]);
});

Deno.test("receive: an OFFER of a message already held is ACKed and ends our own OFFER", () => {
  const { a, b } = pair("interactive");
  const m = message("both have it");
  const id = a.send(m, 0);
  b.send(m, 0); // B holds it too and offers it to A
  const c = a.receive("B", p({ offers: [id] }), 1);
  assert.deepEqual(c.acks.map(idKey), [idKey(id)]);
  assert.deepEqual(c.events.map((e) => [e.type, "record" in e && e.record]), [["acked", "OFFER"]]);
  assert.equal(a.record("B", id), undefined);
  b.receive("A", a.tick("B", 1)!, 2);
  assert.equal(b.stateSize(), 0);
});

Deno.test("receive: ACKs end MESSAGE and OFFER records, never REQUESTs; unknown ACKs are ignored", () => {
  const a = new TestNode("interactive").share("B");
  const offered = a.send(message("o"), 0);
  const wanted = messageId(message("w"));
  a.receive("B", p({ offers: [wanted] }), 0);
  const c = a.receive("B", p({ acks: [offered, wanted, messageId(message("?"))] }), 1);
  assert.deepEqual(c.delete.map(idKey), [idKey(offered)]);
  assert.deepEqual(a.record("B", wanted), ["REQUEST", 0, 0]);
});

Deno.test("receive: ids are recomputed from the message; duplicates in one payload count once", () => {
  const b = new TestNode("batch").share("A");
  const m = message("dup");
  const c = b.receive("A", p({ messages: [m, { ...m, body: new Uint8Array(m.body) }] }), 0);
  assert.equal(c.store.length, 1);
  assert.equal(idKey(c.store[0].id), idKey(messageId(m)));
  assert.equal(c.acks.length, 1);
});

Deno.test("receive: a message without optional fields is handled when its (empty) group is shared", () => {
  const empty = new Uint8Array(0);
  const b = new TestNode("interactive").share("A", empty);
  const bare = { groupId: empty, timestamp: 0n, body: empty };
  const c = b.receive("A", p({ messages: [bare] }), 0);
  assert.equal(c.store.length, 1);
  assert.deepEqual(c.acks.map(idKey), [idKey(messageId(bare))]);
  // and ignored when it is not
  const other = new TestNode("interactive").share("A");
  assert.equal(other.receive("A", p({ messages: [bare] }), 0).events[0].type, "ignored");
});

Deno.test("receive: a peer sharing no group cannot make us request anything", () => {
  const b = new TestNode("batch");
  const c = b.receive("X", p({ offers: [messageId(message("spam"))] }), 0);
  assert.deepEqual(c.put, []);
});

Deno.test("receive: a payload with a MESSAGE and its OFFER in any order leaves no REQUEST", () => {
  const b = new TestNode("interactive").share("A");
  const m = message("both");
  const id = messageId(m);
  const c = b.receive("A", p({ offers: [id], messages: [m] }), 0);
  assert.deepEqual(c.put, []);
  assert.deepEqual(c.acks.map(idKey), [idKey(id)]);
});

Deno.test("payloadIds: the deduplicated ids to preload, messages' ids recomputed", () => {
  const m = message("m");
  const id1 = new Uint8Array(32).fill(1);
  const ids = payloadIds(
    p({ acks: [id1], offers: [id1], requests: [messageId(m)], messages: [m] }),
  );
  assert.deepEqual(ids.map(idKey).sort(), [idKey(id1), idKey(messageId(m))].sort());
});

Deno.test("send: one record per peer, MESSAGE in batch and OFFER in interactive mode", () => {
  const m = message("s");
  const batch = send(m, ["B", "C", "B"], "batch", 7);
  assert.equal(idKey(batch.id), idKey(messageId(m)));
  assert.deepEqual(
    batch.records.map((r) => [r.peer, r.record.type, r.record.sendCount, r.record.sendEpoch]),
    [
      ["B", "MESSAGE", 0, 7],
      ["C", "MESSAGE", 0, 7],
    ],
  );
  assert.deepEqual(send(m, ["B"], "interactive", 7).records.map((r) => r.record.type), ["OFFER"]);
  assert.deepEqual(send(m, [], "batch", 7).records, []);
});

Deno.test("peerHeard: pending records become due at once, except those just sent", () => {
  const s = mvdsSettings();
  const rec = (sendCount: number, sendEpoch: number): SyncRecord => ({
    id: new Uint8Array(32).fill(sendCount),
    type: "MESSAGE",
    sendCount,
    sendEpoch,
  });
  const records = [
    rec(4, 110), // sent at 94: reset
    rec(1, 101), // sent at 99, 1 epoch ago: its ACK may still come
    rec(2, 100), // already due: untouched
    rec(3, 106), // sent at 98: reset
  ];
  const put = peerHeard(records, 100, s);
  assert.deepEqual(put.map((r) => [r.sendCount, r.sendEpoch]), [[4, 100], [3, 100]]);
  assert.equal(peerReturned(undefined, 5, s), true);
  assert.equal(peerReturned(4, 5, s), false);
  assert.equal(peerReturned(3, 5, s), true);
});

Deno.test("peerHeard: a returning peer gets its pending message at once, then the backoff goes on", () => {
  const { a } = pair("batch");
  const id = a.send(message("wait"), 0);
  for (let e = 0; e <= 20; e++) a.tick("B", e); // sent at 0, 2, 6, 14; next at 30
  assert.deepEqual(a.record("B", id), ["MESSAGE", 4, 30]);
  for (const r of peerHeard(a.peerRecords("B").values(), 21, a.settings)) {
    a.peerRecords("B").set(idKey(r.id), r);
  }
  assert.deepEqual(show(a.tick("B", 21)), { messages: ["wait"] });
  assert.deepEqual(a.record("B", id), ["MESSAGE", 5, 21 + 32]);
});

Deno.test("due: limits split a large backlog over epochs; what does not fit stays due", () => {
  const a = new TestNode("interactive").share("B");
  for (let i = 0; i < 5; i++) a.send(message(`m${i}`), 0);
  a.acks.set(
    "B",
    new Map([1, 2, 3].map((n) => [idKey(new Uint8Array(32).fill(n)), new Uint8Array(32).fill(n)])),
  );
  const first = a.tick("B", 0, { maxIds: 2 });
  assert.equal(first!.acks.length, 2);
  assert.equal(first!.offers.length, 2);
  assert.equal(a.lastDue!.acksLeft.length, 1);
  const second = a.tick("B", 1, { maxIds: 2 });
  assert.equal(second!.acks.length, 1);
  assert.equal(second!.offers.length, 2);
  assert.equal(a.tick("B", 1, { maxIds: 2 })!.offers.length, 1);
  // a byte budget: one message always goes, others wait
  const b = new TestNode("batch").share("A");
  for (let i = 0; i < 3; i++) b.send({ ...message("x"), body: new Uint8Array(1000).fill(i) }, 0);
  assert.equal(b.tick("A", 0, { maxPayloadBytes: 1500 })!.messages.length, 1);
  assert.equal(b.tick("A", 0, { maxPayloadBytes: 2100 })!.messages.length, 2);
});

Deno.test("due: a MESSAGE record whose message is gone is dropped as failed", () => {
  const id = new Uint8Array(32).fill(3);
  const r = due(
    {
      peer: "B",
      records: [{ id, type: "MESSAGE", sendCount: 0, sendEpoch: 0 }],
      acks: [],
      messages: new Map(),
    },
    0,
    mvdsSettings(),
  );
  assert.equal(r.payload, undefined);
  assert.deepEqual(r.delete.map(idKey), [idKey(id)]);
  assert.deepEqual(r.events.map((e) => [e.type, "reason" in e && e.reason]), [[
    "failed",
    "missing",
  ]]);
});

Deno.test("receive is pure: the view is not modified", () => {
  const records = new Map([[idKey(new Uint8Array(32)), {
    id: new Uint8Array(32),
    type: "MESSAGE" as const,
    sendCount: 1,
    sendEpoch: 2,
  }]]);
  const held = new Map();
  const frozen = JSON.stringify([...records]);
  receive(
    { held, records, groups: new Set([idKey(GROUP)]) },
    "B",
    p({ acks: [new Uint8Array(32)], messages: [message("z")] }),
    0,
  );
  assert.equal(JSON.stringify([...records]), frozen);
  assert.equal(held.size, 0);
});
