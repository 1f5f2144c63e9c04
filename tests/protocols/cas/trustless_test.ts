import assert from "node:assert/strict";
import { byteRange, contentRange, unsatisfiedRange } from "../../../protocols/cas/byte_range.ts";
import { etagOf, noneMatchHits, requestedFormat } from "../../../protocols/cas/trustless.ts";

Deno.test("the format: ?format wins, else the most preferred trustless type in Accept", () => {
  const cases: [string | undefined, string | null, string][] = [
    ["raw", null, "raw"],
    ["car", "application/vnd.ipld.raw", "car"],
    [undefined, "application/vnd.ipld.raw", "raw"],
    [undefined, "application/vnd.ipld.car", "car"],
    [undefined, "application/vnd.ipld.car; version=1; order=dfs; dups=n", "car"],
    [undefined, "application/vnd.ipld.car;version=2", "deserialized"],
    [undefined, "application/vnd.ipld.car;q=0.5, application/vnd.ipld.raw", "raw"],
    [undefined, "application/vnd.ipld.raw;q=0, application/vnd.ipld.car", "car"],
    [undefined, "text/html, */*", "deserialized"],
    [undefined, "*/*", "deserialized"],
    [undefined, null, "deserialized"],
    ["", "application/vnd.ipld.raw", "raw"],
    [undefined, "Application/Vnd.Ipld.Raw", "raw"],
  ];
  for (const [format, accept, want] of cases) {
    assert.equal(requestedFormat(format, accept), want, `${format} / ${accept}`);
  }
  for (const bad of ["tar", "dag-json", "ipns-record", "RAW"]) {
    assert.throws(() => requestedFormat(bad, null), RangeError, bad);
  }
});

Deno.test("ETags and If-None-Match: strong tags per format, weak comparison, lists and *", () => {
  const cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
  assert.equal(etagOf(cid, "raw"), `"${cid}.raw"`);
  assert.equal(etagOf(cid, "car"), `"${cid}.car"`);
  assert.equal(etagOf(cid, "bytes"), `"${cid}"`);
  const tag = etagOf(cid, "raw");
  assert.ok(noneMatchHits(tag, tag));
  assert.ok(noneMatchHits(`W/${tag}`, tag));
  assert.ok(noneMatchHits(`"other", ${tag}`, tag));
  assert.ok(noneMatchHits("*", tag));
  assert.ok(!noneMatchHits(null, tag));
  assert.ok(!noneMatchHits(etagOf(cid, "car"), tag));
});

Deno.test("byteRange: one range of a known size; 416 where nothing is selected; the rest ignored", () => {
  const size = 10_000;
  const cases: [string | null, ReturnType<typeof byteRange>][] = [
    [null, undefined],
    ["bytes=0-99", { start: 0, end: 99 }],
    ["bytes=9990-", { start: 9990, end: 9999 }],
    ["bytes=9990-20000", { start: 9990, end: 9999 }],
    ["bytes=-500", { start: 9500, end: 9999 }],
    ["bytes=-20000", { start: 0, end: 9999 }],
    ["Bytes = 5 - 5", { start: 5, end: 5 }],
    ["bytes=10000-", "unsatisfiable"],
    ["bytes=-0", "unsatisfiable"],
    ["bytes=5-4", undefined],
    ["bytes=0-1,5-6", undefined],
    ["items=0-1", undefined],
    ["bytes=-", undefined],
    ["bytes=a-b", undefined],
  ];
  for (const [field, want] of cases) assert.deepEqual(byteRange(field, size), want, String(field));
  assert.equal(byteRange("bytes=0-", 0), "unsatisfiable");
  assert.equal(byteRange("bytes=-1", 0), "unsatisfiable");
  assert.equal(contentRange({ start: 0, end: 99 }, size), "bytes 0-99/10000");
  assert.equal(unsatisfiedRange(size), "bytes */10000");
});
