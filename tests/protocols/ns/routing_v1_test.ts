import assert from "node:assert/strict";
import type { IpnsRecordInfo } from "../../../protocols/ns/record.ts";
import { acceptsIpnsRecord, ipnsCacheControl } from "../../../protocols/ns/routing_v1.ts";
import { cacheWindow, DEFAULT_TTL_SECONDS } from "../../../protocols/ns/ttl.ts";

Deno.test("acceptsIpnsRecord: none, wildcards and the type itself; q=0 refuses", () => {
  for (
    const ok of [
      undefined,
      "",
      "*/*",
      "application/*",
      "application/vnd.ipfs.ipns-record",
      "text/html, application/vnd.ipfs.ipns-record;q=0.5",
      "APPLICATION/VND.IPFS.IPNS-RECORD",
    ]
  ) {
    assert.equal(acceptsIpnsRecord(ok), true, ok);
  }
  for (
    const no of [
      "text/plain",
      "application/json",
      "application/vnd.ipfs.ipns-record;q=0",
      "*/*; q=0.000",
    ]
  ) {
    assert.equal(acceptsIpnsRecord(no), false, no);
  }
});

const S = 1_000_000_000n;
const at = (ttlSeconds: bigint, validForSeconds: bigint, nowMs: number): IpnsRecordInfo => ({
  value: "/ipfs/x",
  sequence: 1n,
  validity: "",
  validUntilNs: BigInt(nowMs) * 1_000_000n + validForSeconds * S,
  ttlNs: ttlSeconds * S,
});

Deno.test("cacheWindow: the TTL, never past validity; TTL 0 is the routing default", () => {
  const now = 1_800_000_000_000;
  assert.deepEqual(cacheWindow(at(300n, 3600n, now), now), { maxAge: 300, validFor: 3600 });
  assert.deepEqual(cacheWindow(at(300n, 100n, now), now), { maxAge: 100, validFor: 100 });
  assert.deepEqual(cacheWindow(at(0n, 3600n, now), now), {
    maxAge: DEFAULT_TTL_SECONDS,
    validFor: 3600,
  });
  assert.deepEqual(cacheWindow(at(300n, -5n, now), now), { maxAge: 0, validFor: 0 });
  // A TTL under a second is a TTL, not "none".
  const subSecond = { ...at(0n, 3600n, now), ttlNs: 500_000_000n };
  assert.deepEqual(cacheWindow(subSecond, now), { maxAge: 0, validFor: 3600 });
});

Deno.test("ipnsCacheControl: stale use ends when validity does; no-store once expired", () => {
  assert.equal(
    ipnsCacheControl({ maxAge: 300, validFor: 3600 }),
    "public, max-age=300, stale-while-revalidate=3300, stale-if-error=3300",
  );
  assert.equal(ipnsCacheControl({ maxAge: 0, validFor: 0 }), "no-store");
});
