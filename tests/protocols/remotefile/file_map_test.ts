import assert from "node:assert/strict";
import { ConflictError } from "../../../lib/errors.ts";
import {
  DEFINITION_REGION,
  FileMap,
  PORT_DATA_REGION,
  regionFor,
  USER_REGION,
} from "../../../protocols/remotefile/file_map.ts";

Deno.test("regionFor: APX address map by extension", () => {
  assert.equal(regionFor("Node.out"), PORT_DATA_REGION);
  assert.equal(regionFor("Node.in"), PORT_DATA_REGION);
  assert.equal(regionFor("Node.apx"), DEFINITION_REGION);
  assert.equal(regionFor("notes.txt"), USER_REGION);
  assert.equal(regionFor("README"), USER_REGION);
  assert.deepEqual([PORT_DATA_REGION.start, DEFINITION_REGION.start, USER_REGION.start], [
    0x0,
    0x4000000,
    0x20000000,
  ]);
});

Deno.test("FileMap: allocation as APX does (1 KB port data, 1 MB definitions)", () => {
  const map = new FileMap();
  const add = (name: string, size: number) => {
    const address = map.allocate(name, size);
    map.add({ address, size, name });
    return address;
  };
  assert.equal(add("A.out", 10), 0x0);
  assert.equal(add("A.apx", 5800), 0x4000000);
  assert.equal(add("B.apx", 100), 0x4100000);
  assert.equal(add("A.in", 2000), 0x400);
  assert.equal(add("B.out", 0), 0xc00);
  assert.equal(add("C.out", 1), 0x1000);
  assert.equal(add("data.bin", 3 << 20), 0x20000000);
  assert.equal(add("more.bin", 1), 0x20300000);
  assert.deepEqual(map.list().map((f) => f.name), [
    "A.out",
    "A.in",
    "B.out",
    "C.out",
    "A.apx",
    "B.apx",
    "data.bin",
    "more.bin",
  ]);
  // A gap is reused.
  map.remove(0x400);
  assert.equal(map.allocate("D.out", 1024), 0x400);
  assert.equal(map.allocate("E.out", 2049), 0x1400);
});

Deno.test("FileMap: lookups by name, start address, byte and range", () => {
  const map = new FileMap();
  map.add({ address: 0x100, size: 0x100, name: "a" });
  map.add({ address: 0x200, size: 0x10, name: "b" });
  assert.equal(map.get("a")?.address, 0x100);
  assert.equal(map.getByAddress(0x200)?.name, "b");
  assert.equal(map.getByAddress(0x201), undefined);
  assert.equal(map.find(0xff), undefined);
  assert.equal(map.find(0x1ff)?.name, "a");
  assert.equal(map.find(0x20f)?.name, "b");
  assert.equal(map.find(0x210), undefined);
  assert.equal(map.findRange(0x100, 0x100)?.name, "a");
  assert.equal(map.findRange(0x1f0, 0x11), undefined); // spans into b
  assert.equal(map.findRange(0x20f, 2), undefined); // past the end
  assert.equal(map.findRange(0x210, 0)?.name, "b"); // an empty write at the end is inside
  assert.equal(map.findRange(0x50, 1), undefined);
  assert.equal(map.size, 2);
  assert.equal(map.remove(0x100)?.name, "a");
  assert.equal(map.get("a"), undefined);
  assert.equal(map.remove(0x100), undefined);
});

Deno.test("FileMap: refuses overlaps, duplicate names and the control area", () => {
  const map = new FileMap();
  map.add({ address: 0x100, size: 0x100, name: "a" });
  assert.throws(() => map.add({ address: 0x1ff, size: 1, name: "b" }), ConflictError);
  assert.throws(() => map.add({ address: 0x80, size: 0x81, name: "b" }), ConflictError);
  assert.throws(() => map.add({ address: 0x100, size: 0, name: "b" }), ConflictError);
  assert.throws(() => map.add({ address: 0, size: 0x1000, name: "b" }), /overlaps "a"/);
  assert.throws(() => map.add({ address: 0x1000, size: 1, name: "a" }), ConflictError);
  map.add({ address: 0x200, size: 0, name: "empty" });
  map.add({ address: 0x80, size: 0x80, name: "before" });
  assert.throws(() => map.add({ address: 0x3ffffbff, size: 2, name: "c" }), RangeError);
  assert.throws(() => map.add({ address: -1, size: 1, name: "c" }), RangeError);
  map.add({ address: 0x3ffffbff, size: 1, name: "last" });
  assert.throws(() => map.allocate("x.bin", 0x20000000), RangeError);
});
