import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { CarReader } from "@ipld/car";
import { sha256 } from "multiformats/hashes/sha2";
import { carHead } from "../../../protocols/cas/car.ts";
import { casCidOf } from "../../../protocols/cas/cid.ts";
import { Rng } from "../waku/fuzz_util.ts";

Deno.test("carHead + the block is a CARv1 that @ipld/car reads, whose block hashes to its root", async () => {
  const rng = new Rng(41);
  for (const size of [0, 1, 127, 128, 65_536, 300_000]) {
    const data = rng.bytes(size);
    const cid = casCidOf(new Uint8Array(createHash("sha256").update(data).digest())).cid;
    const car = new Uint8Array([...carHead(cid, size), ...data]);
    const reader = await CarReader.fromBytes(car);
    assert.equal(reader.version, 1);
    const roots = await reader.getRoots();
    assert.deepEqual(roots.map(String), [cid.toString()], `roots at ${size}`);
    const blocks = [];
    for await (const block of reader.blocks()) blocks.push(block);
    assert.equal(blocks.length, 1);
    assert.equal(blocks[0].cid.toString(), cid.toString());
    assert.deepEqual(blocks[0].bytes, data);
    const digest = await sha256.digest(blocks[0].bytes);
    assert.deepEqual(digest.digest, cid.multihash.digest, `block ${size} verifies`);
  }
  assert.throws(() => carHead(casCidOf(new Uint8Array(32)).cid, -1), RangeError);
});
