/**
 * Store retention policies: `topic=time:<s>,capacity:<n>;*=…`.
 */
import assert from "node:assert/strict";
import { parseRetention, retentionFor } from "../../../protocols/waku/retention_policy.ts";

Deno.test("parseRetention reads the documented example", () => {
  const p = parseRetention("/waku/2/rs/0/0=time:86400,capacity:100000;*=time:604800");
  assert.deepEqual([...p.topics], [["/waku/2/rs/0/0", { maxAgeSeconds: 86400, maxCount: 100000 }]]);
  assert.deepEqual(p.fallback, { maxAgeSeconds: 604800 });
});

Deno.test("parseRetention: empty text means keep forever", () => {
  for (const text of ["", " ", ";", " ; ;"]) {
    const p = parseRetention(text);
    assert.equal(p.topics.size, 0, JSON.stringify(text));
    assert.equal(p.fallback, undefined);
    assert.equal(retentionFor(p, "/waku/2/rs/0/0"), undefined);
  }
});

Deno.test("parseRetention tolerates whitespace around entries, topics and parts", () => {
  const p = parseRetention("  /a = capacity:5 , time:10 ;  * = capacity:1 ; ");
  assert.deepEqual(p.topics.get("/a"), { maxAgeSeconds: 10, maxCount: 5 });
  assert.deepEqual(p.fallback, { maxCount: 1 });
});

Deno.test("parseRetention: several topics, each with its own limits", () => {
  const p = parseRetention("/a=time:1;/b=capacity:2;/c=time:3,capacity:4");
  assert.deepEqual(p.topics.get("/a"), { maxAgeSeconds: 1 });
  assert.deepEqual(p.topics.get("/b"), { maxCount: 2 });
  assert.deepEqual(p.topics.get("/c"), { maxAgeSeconds: 3, maxCount: 4 });
  assert.equal(p.fallback, undefined);
});

Deno.test("parseRetention: the policy starts after the last '='", () => {
  const p = parseRetention("/odd=topic=time:60");
  assert.deepEqual(p.topics.get("/odd=topic"), { maxAgeSeconds: 60 });
});

Deno.test("parseRetention accepts 15-digit values", () => {
  const p = parseRetention("*=time:999999999999999");
  assert.equal(p.fallback?.maxAgeSeconds, 999999999999999);
});

Deno.test("parseRetention: bad syntax is a SyntaxError naming the bad part", () => {
  const cases: [string, string][] = [
    ["x", '"x"'],
    ["=time:1", '"=time:1"'],
    ["/a", '"/a"'],
    ["/a=", '""'],
    ["/a=time", '"time"'],
    ["/a=time:", '"time:"'],
    ["/a=time:0", '"time:0"'],
    ["/a=capacity:0", '"capacity:0"'],
    ["/a=time:-1", '"time:-1"'],
    ["/a=time:1.5", '"time:1.5"'],
    ["/a=time:1e3", '"time:1e3"'],
    ["/a=ttl:5", '"ttl:5"'],
    ["/a=TIME:5", '"TIME:5"'],
    ["/a=time:1234567890123456", '"time:1234567890123456"'],
    ["/a=time:1,,capacity:2", '""'],
    ["/a=time:1;*=size:3", '"size:3"'],
    ["/a=time :1", '"time :1"'],
  ];
  for (const [text, part] of cases) {
    assert.throws(
      () => parseRetention(text),
      (e: unknown) => e instanceof SyntaxError && e.message.includes(part),
      `${text} should be rejected naming ${part}`,
    );
  }
});

Deno.test("retentionFor: named topic, then the * fallback, else undefined", () => {
  const p = parseRetention("/a=capacity:10;*=time:60");
  assert.deepEqual(retentionFor(p, "/a"), { maxCount: 10 }); // no merge with the fallback
  assert.deepEqual(retentionFor(p, "/b"), { maxAgeSeconds: 60 });
  assert.deepEqual(retentionFor(p, ""), { maxAgeSeconds: 60 });
  const noFallback = parseRetention("/a=capacity:10");
  assert.deepEqual(retentionFor(noFallback, "/a"), { maxCount: 10 });
  assert.equal(retentionFor(noFallback, "/b"), undefined);
});
