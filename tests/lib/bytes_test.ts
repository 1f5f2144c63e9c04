import assert from "node:assert/strict";
import { equalSecret, utf8Encode, utf8Length } from "../../lib/bytes.ts";
import { fuzzSeed, Rng } from "../protocols/waku/fuzz_util.ts";

const encoder = new TextEncoder();

Deno.test("utf8Length and utf8Encode agree with TextEncoder on every kind of code unit", () => {
  const cases = [
    "",
    "ascii/topic",
    "é",
    "€",
    "𝄞",
    "\u0000",
    "\u007f\u0080\u07ff\u0800\uffff",
    "\ud800", // lone high surrogate → U+FFFD
    "\udc00", // lone low surrogate → U+FFFD
    "\ud800x", // high surrogate followed by a non-surrogate
    "\udc00\ud800", // reversed pair: two lone surrogates
    "a\ud834\udd1eb", // a valid pair inside text
  ];
  for (const s of cases) {
    const want = encoder.encode(s);
    assert.equal(utf8Length(s), want.length, JSON.stringify(s));
    assert.deepEqual(utf8Encode(s), want, JSON.stringify(s));
  }
});

Deno.test("fuzz utf8Length/utf8Encode: random strings of random code units match TextEncoder", () => {
  const seed = fuzzSeed(0x5eed0301);
  const rng = new Rng(seed);
  for (let i = 0; i < 3000; i++) {
    let s = "";
    const n = rng.int(12);
    for (let k = 0; k < n; k++) {
      // Bias towards the boundaries: ASCII, 2- and 3-byte ranges, and surrogates.
      const ranges = [[0, 0x80], [0x80, 0x800], [0x800, 0xd800], [0xd800, 0xe000], [
        0xe000,
        0x10000,
      ]];
      const [lo, hi] = ranges[rng.int(ranges.length)];
      s += String.fromCharCode(lo + rng.int(hi - lo));
    }
    const want = encoder.encode(s);
    const ctx = `seed ${seed} iteration ${i}: ${JSON.stringify(s)}`;
    assert.equal(utf8Length(s), want.length, ctx);
    assert.deepEqual(utf8Encode(s), want, ctx);
  }
});

Deno.test("equalSecret: equal only for the same bytes of the same length", () => {
  const b = (...x: number[]) => new Uint8Array(x);
  assert.equal(equalSecret(b(1, 2, 3), b(1, 2, 3)), true);
  assert.equal(equalSecret(b(1, 2, 3), b(1, 2, 4)), false);
  assert.equal(equalSecret(b(1, 2), b(1, 2, 3)), false);
  assert.equal(equalSecret(b(), b()), true);
});
