/**
 * Message ids against vectors computed independently: the preimage built by
 * hand with a DataView and hashed with node:crypto.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { idKey, messageId } from "../../../protocols/mvds/message_id.ts";
import type { Message } from "../../../protocols/mvds/proto.ts";

/** sha256("MESSAGE_ID" ‖ group ‖ int64 LE ‖ body), spelled out byte by byte. */
function reference(group: number[], timestamp: bigint, body: number[]): string {
  const prefix = [..."MESSAGE_ID"].map((c) => c.charCodeAt(0));
  const pre = new Uint8Array(prefix.length + group.length + 8 + body.length);
  pre.set(prefix, 0);
  pre.set(group, prefix.length);
  const view = new DataView(pre.buffer);
  // two's complement by hand: the low and high 32-bit words, little-endian
  const u = timestamp < 0n ? (1n << 64n) + timestamp : timestamp;
  view.setUint32(prefix.length + group.length, Number(u & 0xffffffffn), true);
  view.setUint32(prefix.length + group.length + 4, Number(u >> 32n), true);
  pre.set(body, prefix.length + group.length + 8);
  return createHash("sha256").update(pre).digest("hex");
}

const msg = (group: number[], timestamp: bigint, body: number[]): Message => ({
  groupId: new Uint8Array(group),
  timestamp,
  body: new Uint8Array(body),
});

const cases: [string, number[], bigint, number[]][] = [
  ["a typical message", Array(32).fill(0xab), 1_700_000_000n, [
    ...new TextEncoder().encode("hello"),
  ]],
  ["an empty body", [1, 2, 3], 1_700_000_000n, []],
  ["a negative timestamp", [9], -1n, [0x42]],
  ["a large negative timestamp", [], -(1n << 63n), [1, 2]],
  ["the largest timestamp", [7, 7], (1n << 63n) - 1n, [0]],
  ["all fields empty", [], 0n, []],
];

for (const [name, group, ts, body] of cases) {
  Deno.test(`messageId: ${name}`, () => {
    const id = messageId(msg(group, ts, body));
    assert.equal(id.length, 32);
    assert.equal(idKey(id), reference(group, ts, body));
  });
}

Deno.test("messageId: fixed vectors from sha256sum", () => {
  // printf 'MESSAGE_ID\x01\x02\x03\x00\xf1\x53\x65\x00\x00\x00\x00' | sha256sum
  assert.equal(
    idKey(messageId(msg([1, 2, 3], 1_700_000_000n, []))),
    "c2a190df69edd3531020641b63b467f49aa26109dd7ed51c091c649c5c044398",
  );
  // printf 'MESSAGE_ID\x09\xff\xff\xff\xff\xff\xff\xff\xff\x42' | sha256sum
  assert.equal(
    idKey(messageId(msg([9], -1n, [0x42]))),
    "48c84f8be49ea413fc89b2f2be0b9b76b29c485bf5871eab536464cb716894a2",
  );
});

Deno.test("messageId: every field and the field boundaries matter", () => {
  const base = messageId(msg([1, 2], 5n, [3]));
  assert.notEqual(idKey(messageId(msg([1], 5n, [2, 3]))), idKey(base));
  assert.notEqual(idKey(messageId(msg([1, 2], 6n, [3]))), idKey(base));
  assert.notEqual(idKey(messageId(msg([1, 2], 5n, [4]))), idKey(base));
  assert.notEqual(idKey(messageId(msg([1, 2], -5n, [3]))), idKey(base));
});
