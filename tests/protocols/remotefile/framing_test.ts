import assert from "node:assert/strict";
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  encodeMessage,
  MessageReader,
} from "../../../protocols/remotefile/framing.ts";
import { buildGreeting } from "../../../protocols/remotefile/greeting.ts";

const stream = (bodies: Uint8Array[], format: 16 | 32 = 32) => {
  const parts = bodies.map((b) => encodeMessage(b, format));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const bodies = [
  buildGreeting(),
  new Uint8Array(0),
  Uint8Array.from({ length: 127 }, (_, i) => i),
  Uint8Array.from({ length: 128 }, (_, i) => 255 - i),
  Uint8Array.from({ length: 40000 }, (_, i) => i % 251),
  new Uint8Array([0xbf, 0xff, 0xfc, 0x00, 0, 0, 0, 0]),
];

Deno.test("MessageReader: whole stream at once, then byte by byte, then random pieces", () => {
  for (const format of [16, 32] as const) {
    const bs = format === 16 ? bodies.map((b) => b.subarray(0, 32895)) : bodies;
    const all = stream(bs, format);
    assert.deepEqual(new MessageReader({ format }).push(all), bs);
    const r = new MessageReader({ format });
    const got: Uint8Array[] = [];
    for (let i = 0; i < all.length; i++) got.push(...r.push(all.subarray(i, i + 1)));
    assert.deepEqual(got, bs);
    assert.equal(r.buffered, 0);
    const r2 = new MessageReader({ format });
    const got2: Uint8Array[] = [];
    for (let i = 0, step = 1; i < all.length; i += step, step = (step * 7 + 3) % 997 + 1) {
      got2.push(...r2.push(all.subarray(i, i + step)));
    }
    assert.deepEqual(got2, bs);
  }
});

Deno.test("MessageReader: a long header split after its first byte waits", () => {
  const r = new MessageReader();
  assert.deepEqual(r.push(new Uint8Array([0x80])), []);
  assert.equal(r.inMessage, true);
  assert.deepEqual(r.push(new Uint8Array([0, 0])), []);
  assert.deepEqual(r.push(new Uint8Array([0x81])), []);
  assert.equal(r.buffered, 0);
  const out = r.push(new Uint8Array(129));
  assert.equal(out.length, 1);
  assert.equal(out[0].length, 129);
});

Deno.test("MessageReader: the length is checked before allocating; then it stays broken", () => {
  assert.equal(DEFAULT_MAX_MESSAGE_BYTES, (1 << 20) + 4);
  const r = new MessageReader({ maxMessageBytes: 1000 });
  assert.deepEqual(r.push(encodeMessage(new Uint8Array(1000))), [new Uint8Array(1000)]);
  // 0x7FFFFFFF announced: refused at once, with no 2 GB buffer.
  assert.throws(() => r.push(new Uint8Array([0xff, 0xff, 0xff, 0xff])), {
    name: "RangeError",
    message: "Message length 2147483647 exceeds the limit of 1000 bytes",
  });
  assert.throws(() => r.push(new Uint8Array([1, 0])), RangeError);
  assert.throws(() => r.next(), RangeError);
});

Deno.test("MessageReader: format and limit can change between messages (after a greeting)", () => {
  const greeting = encodeMessage(buildGreeting({ numHeaderFormat: 16 }), 32);
  const next = encodeMessage(new Uint8Array(300), 16);
  const r = new MessageReader({ maxMessageBytes: 127 });
  r.feed(new Uint8Array([...greeting, ...next]));
  assert.equal(r.next()?.length, 30);
  r.format = 16;
  r.maxMessageBytes = 1000;
  assert.equal(r.next()?.length, 300);
  assert.equal(r.next(), null);
});

Deno.test("encodeMessage: NumHeader16 cannot frame more than 32895 bytes", () => {
  assert.equal(encodeMessage(new Uint8Array(32895), 16).length, 32897);
  assert.throws(() => encodeMessage(new Uint8Array(32896), 16), RangeError);
});
