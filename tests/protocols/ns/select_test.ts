import assert from "node:assert/strict";
import type { IpnsRecordInfo } from "../../../protocols/ns/record.ts";
import { select } from "../../../protocols/ns/select.ts";

const info = (sequence: bigint, validUntilNs: bigint): IpnsRecordInfo => ({
  value: "/ipfs/x",
  sequence,
  validity: `t${validUntilNs}`,
  validUntilNs,
  ttlNs: 0n,
});

Deno.test("select: the higher sequence wins; at an equal one the later validity; the same is no change", () => {
  const cur = info(5n, 100n);
  assert.equal(select(cur, info(6n, 1n), false), "replace");
  assert.equal(select(cur, info(5n, 101n), false), "replace");
  assert.equal(select(cur, cur, true), "same");
  const lower = select(cur, info(4n, 999n), false);
  assert.ok(typeof lower === "object");
  assert.match(
    lower.refused,
    /Sequence 4 is lower than the current record's 5; publish a sequence above 5/,
  );
  for (const v of [100n, 99n]) {
    const equal = select(cur, info(5n, v), false);
    assert.ok(typeof equal === "object");
    assert.match(equal.refused, /is not later than the current t100/);
  }
  // uint64 sequences compare exactly.
  const big = info((1n << 64n) - 2n, 1n);
  assert.equal(select(big, info((1n << 64n) - 1n, 1n), false), "replace");
});
