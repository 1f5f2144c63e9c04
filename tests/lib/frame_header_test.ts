import assert from "node:assert/strict";
import { lengthPrefix } from "../../lib/frame_header.ts";

Deno.test("lengthPrefix reads and writes its length field in either byte order and at an offset", () => {
  const cases = [
    [{ size: 1 }, 200, [200]],
    [{ size: 2 }, 0x1234, [0x12, 0x34]],
    [{ size: 2, endian: "little" }, 0x1234, [0x34, 0x12]],
    [{ size: 4 }, 0x01020304, [1, 2, 3, 4]],
    [{ size: 4, endian: "little" }, 0x01020304, [4, 3, 2, 1]],
    [{ size: 4, at: 4 }, 0xffffffff, [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]],
    [{ size: 1, headerBytes: 3 }, 7, [7, 0, 0]],
  ] as const;
  for (const [opts, length, bytes] of cases) {
    const h = lengthPrefix(opts);
    const header = h.encode(length);
    assert.deepEqual([...header], [...bytes], JSON.stringify(opts));
    assert.equal(h.headerLength(header.subarray(0, 0)), bytes.length);
    assert.equal(h.maxHeaderBytes, bytes.length);
    assert.equal(h.bodyLength(new Uint8Array([9, ...header]).subarray(1)), length, "any offset");
  }
});

Deno.test("lengthPrefix refuses fields that cannot be", () => {
  assert.throws(() => lengthPrefix({ size: 3 as 4 }), RangeError);
  assert.throws(() => lengthPrefix({ size: 4, at: 2, headerBytes: 4 }), RangeError);
  assert.throws(() => lengthPrefix({ size: 1 }).encode(256), /Body length 256 does not fit/);
  assert.throws(() => lengthPrefix({ size: 2 }).encode(-1), RangeError);
});
