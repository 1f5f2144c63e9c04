import assert from "node:assert/strict";
import {
  decodeRemoteLog,
  encodeRemoteLog,
  MAX_HASH_BYTES,
} from "../../../protocols/remotelog/remote_log.ts";
import { fuzzSeed, hex, mutate, Rng } from "../waku/fuzz_util.ts";

const bytes = (...b: number[]) => new Uint8Array(b);

Deno.test("RemoteLog: bytes written by hand from the spec's field numbers", () => {
  // Pair {remoteHash = 0x0102, localHash = 0x03}: 0a 02 01 02 12 01 03.
  // Body {pair}: 0a 07 <pair>. RemoteLog {body, tail = 0xaa}: 0a 09 <body> 12 01 aa.
  const wire = bytes(0x0a, 0x09, 0x0a, 0x07, 0x0a, 0x02, 1, 2, 0x12, 0x01, 3, 0x12, 0x01, 0xaa);
  const log = { pairs: [{ remoteHash: bytes(1, 2), localHash: bytes(3) }], tail: bytes(0xaa) };
  assert.equal(hex(encodeRemoteLog(log)), hex(wire));
  assert.deepEqual(decodeRemoteLog(wire), log);
});

Deno.test("RemoteLog: a first page has no tail on the wire; pairs keep their order (newest first)", () => {
  const one = {
    pairs: [{ remoteHash: bytes(1, 2), localHash: bytes(3) }],
    tail: new Uint8Array(0),
  };
  const wire = bytes(0x0a, 0x09, 0x0a, 0x07, 0x0a, 0x02, 1, 2, 0x12, 0x01, 3);
  assert.equal(hex(encodeRemoteLog(one)), hex(wire));
  const pairs = [3, 2, 1].map((i) => ({ remoteHash: bytes(i, i), localHash: bytes(i) }));
  assert.deepEqual(decodeRemoteLog(encodeRemoteLog({ pairs, tail: new Uint8Array(0) })), {
    pairs,
    tail: new Uint8Array(0),
  });
});

Deno.test("RemoteLog: pairs without a hash, or with one too long, are refused", () => {
  const noLocal = bytes(0x0a, 0x06, 0x0a, 0x04, 0x0a, 0x02, 1, 2);
  assert.throws(() => decodeRemoteLog(noLocal), /pair 0 has no localHash/);
  const long = encodeRemoteLog({
    pairs: [{ remoteHash: new Uint8Array(MAX_HASH_BYTES + 1), localHash: bytes(1) }],
    tail: new Uint8Array(0),
  });
  assert.throws(() => decodeRemoteLog(long), /longer than/);
});

Deno.test("fuzz: decodeRemoteLog returns or throws a SyntaxError on random and mutated bytes", () => {
  const rng = new Rng(fuzzSeed(0x5eed_0a11));
  const valid = encodeRemoteLog({
    pairs: Array.from(
      { length: 5 },
      (_, i) => ({
        remoteHash: new Uint8Array(36).fill(i),
        localHash: new Uint8Array(32).fill(i + 9),
      }),
    ),
    tail: new Uint8Array(36).fill(7),
  });
  for (let i = 0; i < 5000; i++) {
    const input = i % 2 ? rng.bytes(rng.int(300)) : mutate(rng, valid);
    try {
      decodeRemoteLog(input);
    } catch (e) {
      assert.ok(e instanceof SyntaxError, `${(e as Error).name}: ${(e as Error).message}`);
    }
  }
});
