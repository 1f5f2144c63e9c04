import assert from "node:assert/strict";
import { ChunkedFramer } from "../../../protocols/http1/chunked.ts";
import { fuzzMutated, fuzzRandom, fuzzSeed, Rng, utf8 } from "../waku/fuzz_util.ts";

/** Pushes `bytes` in one piece; returns consumed, done and whether it failed. */
function frame(bytes: Uint8Array | string): { consumed: number; done: boolean; failed: boolean } {
  const f = new ChunkedFramer();
  const b = typeof bytes === "string" ? utf8(bytes) : bytes;
  const consumed = f.push(b);
  return { consumed, done: f.done, failed: f.error !== undefined };
}

Deno.test("chunked: finds the end of the body, trailers and extensions included", () => {
  assert.deepEqual(frame("5\r\nhello\r\n0\r\n\r\nGET /"), {
    consumed: 15,
    done: true,
    failed: false,
  });
  assert.deepEqual(frame("0\r\n\r\n"), { consumed: 5, done: true, failed: false });
  const ext = '3;name=value;q="a b"\r\nabc\r\nA \t;x\r\n0123456789\r\n0\r\nT: 1\r\nU: 2\r\n\r\nX';
  assert.deepEqual(frame(ext), { consumed: ext.length - 1, done: true, failed: false });
  assert.deepEqual(frame("5\r\nhel"), { consumed: 6, done: false, failed: false });
});

Deno.test("chunked: refuses what another parser could read otherwise", () => {
  for (
    const bad of [
      "5\nhello\r\n0\r\n\r\n", // bare LF after size
      "5\r\nhello\n0\r\n\r\n", // bare LF after data
      "5\r\nhelloX\r\n0\r\n\r\n", // data longer than its size
      "g\r\n", // not hex
      "\r\n", // no size
      "-1\r\n",
      "+1\r\n",
      "0x5\r\n",
      "12345678901234\r\n", // beyond 13 hex digits
      "1;a\nb\r\n",
      "0\r\n folded: trailer\r\n\r\n",
      "0\r\nT: 1\n\r\n",
      "0\r\n\rX",
    ]
  ) {
    assert.equal(frame(bad).failed, true, JSON.stringify(bad));
  }
  const f = new ChunkedFramer({ maxExtensionBytes: 4, maxTrailerBytes: 8 });
  f.push(utf8("1;abcde\r\n"));
  assert.equal(f.error, "Chunk extension too long");
  const g = new ChunkedFramer({ maxExtensionBytes: 4, maxTrailerBytes: 8 });
  g.push(utf8("0\r\nTrailer: 123\r\n\r\n"));
  assert.equal(g.error, "Trailer section too large");
});

/** A straightforward reference: where the body ends, by regular expressions over the whole input. */
function reference(b: Uint8Array): { consumed: number; done: boolean; failed: boolean } {
  const s = Array.from(b, (c) => String.fromCharCode(c)).join("");
  let pos = 0;
  for (;;) {
    const line = /^([0-9a-fA-F]{1,13})([ \t]*(;[\t\x20-\x7e\x80-\xff]*)?)?\r\n/.exec(s.slice(pos));
    if (!line) {
      const partial = /^([0-9a-fA-F]{1,13}([ \t]*(;[\t\x20-\x7e\x80-\xff]*)?)?\r?)?$/.test(
        s.slice(pos),
      );
      return { consumed: s.length, done: false, failed: !partial || s.length - pos > 4200 };
    }
    if ((line[3]?.length ?? 1) - 1 > 4096) return { consumed: 0, done: false, failed: true };
    const size = parseInt(line[1], 16);
    pos += line[0].length;
    if (size === 0) break;
    if (s.length < pos + size + 2) {
      const tail = s.slice(pos + size);
      const ok = s.length <= pos + size || tail === "\r";
      return { consumed: s.length, done: false, failed: !ok };
    }
    if (s.slice(pos + size, pos + size + 2) !== "\r\n") {
      return { consumed: 0, done: false, failed: true };
    }
    pos += size + 2;
  }
  const start = pos;
  for (;;) {
    if (s.startsWith("\r\n", pos)) {
      return { consumed: pos + 2, done: true, failed: pos + 2 - start > 16384 };
    }
    const t = /^[\x21-\x7e\x80-\xff][\t\x20-\x7e\x80-\xff]*\r\n/.exec(s.slice(pos));
    if (!t) {
      const partial = /^([\x21-\x7e\x80-\xff][\t\x20-\x7e\x80-\xff]*\r?)?$/.test(s.slice(pos)) ||
        s.slice(pos) === "\r";
      return { consumed: s.length, done: false, failed: !partial };
    }
    pos += t[0].length;
  }
}

function validBody(rng: Rng): Uint8Array {
  let text = "";
  for (let i = rng.int(4); i >= 0; i--) {
    const n = i === 0 ? 0 : 1 + rng.int(20);
    text += n.toString(rng.chance(0.5) ? 16 : 16).toUpperCase();
    if (rng.chance(0.2)) text += rng.pick([";a=b", ' ;x="y z"', "\t;q"]);
    text += "\r\n";
    if (n > 0) text += "x".repeat(n) + "\r\n";
  }
  if (rng.chance(0.3)) text += "Trailer-A: v\r\n";
  return utf8(text + "\r\n" + rng.pick(["", "GET / HTTP/1.1\r\n\r\n", "\r\n"]));
}

Deno.test("fuzz: chunked framer agrees with the reference and reads the same in any pieces", () => {
  const seed = fuzzSeed(0xc4c4);
  const rng = new Rng(seed);
  const check = (bytes: Uint8Array, s: number, i: number) => {
    const msg = `seed ${s} iteration ${i}: ${JSON.stringify(new TextDecoder().decode(bytes))}`;
    const whole = frame(bytes);
    const ref = reference(bytes);
    assert.equal(whole.failed, ref.failed, msg);
    if (!whole.failed) assert.deepEqual(whole, ref, msg);
    // In pieces: the same end, the same verdict.
    const f = new ChunkedFramer();
    let consumed = 0;
    for (let pos = 0; pos < bytes.length && !f.done && !f.error;) {
      const n = 1 + rng.int(Math.min(16, bytes.length - pos));
      const took = f.push(bytes, pos, pos + n);
      assert.ok(took <= n, msg);
      consumed += took;
      pos += n;
    }
    assert.equal(f.error !== undefined, whole.failed, msg);
    if (!whole.failed) assert.equal(consumed, whole.consumed, msg);
  };
  fuzzRandom(seed, 3000, 64, (bytes, s, i) => {
    // Random bytes rarely start like a size: give half of them a plausible one.
    check(i % 2 ? bytes : new Uint8Array([...utf8("3\r\n"), ...bytes]), s, i);
  });
  fuzzMutated(seed, 8000, validBody, check);
});
