/**
 * One MVDS Message on its own (a remote log entry): exact wire bytes
 * written by hand, round trips (absent fields, negative and large
 * timestamps), and SyntaxError for bytes that are not a Message.
 */
import assert from "node:assert/strict";
import { decodeMessage, encodeMessage } from "../../../protocols/mvds/message_codec.ts";
import { MessageType } from "../../../protocols/mvds/proto.ts";

const m = (g: number[], ts: bigint, body: number[]) => ({
  groupId: new Uint8Array(g),
  timestamp: ts,
  body: new Uint8Array(body),
});

Deno.test("mvds message codec: wire bytes by hand", () => {
  // 6001 bytes → key (6001<<3|2) = 48010 = 0x8a 0xf7 0x02; 6002 varint → 48016; 6003 bytes → 48026.
  assert.deepEqual(
    encodeMessage(m([0x67], 5n, [0x68, 0x69])),
    new Uint8Array([
      0x8a,
      0xf7,
      0x02,
      1,
      0x67,
      0x90,
      0xf7,
      0x02,
      5,
      0x9a,
      0xf7,
      0x02,
      2,
      0x68,
      0x69,
    ]),
  );
  assert.deepEqual(encodeMessage(m([], 0n, [])), new Uint8Array(0), "empty fields are left out");
});

Deno.test("mvds message codec: round trips, as protobufjs reads them", () => {
  const body = new Uint8Array(300).map((_, i) => i);
  for (const msg of [m([1, 2], -1n, []), m([9], (1n << 63n) - 1n, [...body]), m([], 0n, [7])]) {
    const bytes = encodeMessage(msg);
    assert.deepEqual(decodeMessage(bytes), msg);
    const decoded = MessageType.decode(bytes) as unknown as { body?: Uint8Array };
    assert.deepEqual(new Uint8Array(decoded.body ?? []), msg.body);
  }
});

Deno.test("mvds message codec: bytes that are not a Message are SyntaxError", () => {
  const good = encodeMessage(m([0x67], 5n, [0x68, 0x69]));
  const bad = [
    good.subarray(0, good.length - 1),
    new TextEncoder().encode("garbage garbage"),
    new Uint8Array([0xff, 0xff, 0xff]),
    new Uint8Array([0x8a, 0xf7, 0x02, 3, 1, 2, 3]).map((b, i) => i === 0 ? 0x88 : b), // wire type 0
  ];
  for (const bytes of bad) assert.throws(() => decodeMessage(bytes), SyntaxError);
  const long = encodeMessage(m(new Array(300).fill(1), 1n, []));
  assert.throws(() => decodeMessage(long, { maxGroupIdBytes: 256 }), SyntaxError);
});
