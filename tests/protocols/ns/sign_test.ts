import assert from "node:assert/strict";
import { unmarshalIPNSRecord } from "ipns";
import { ipnsValidator } from "ipns/validator";
import { ipnsNameOf } from "../../../protocols/ns/name.ts";
import { verifyRecord } from "../../../protocols/ns/record.ts";
import { createSignedRecord } from "../../../protocols/ns/sign.ts";
import { newKey, VALUE } from "./ipns_fixtures.ts";

Deno.test("createSignedRecord makes records this NS and the ipns package both accept", async () => {
  const key = await newKey();
  const now = Date.now();
  const bytes = await createSignedRecord(key, VALUE, 12n, 60_000, 30_000, { now });
  const info = await verifyRecord(ipnsNameOf(key.publicKey), bytes, { now });
  assert.equal(info.value, VALUE);
  assert.equal(info.sequence, 12n);
  assert.equal(info.ttlNs, 30_000_000_000n);
  assert.equal(info.validUntilNs, BigInt(now + 60_000) * 1_000_000n);
  const routingKey = new Uint8Array([
    ...new TextEncoder().encode("/ipns/"),
    ...key.publicKey.toMultihash().bytes,
  ]);
  await ipnsValidator(routingKey, bytes);
  assert.ok("signatureV1" in unmarshalIPNSRecord(bytes), "V1+V2 by default");
  const v2 = await createSignedRecord(key, VALUE, 13, 60_000, 0, { v1Compatible: false });
  assert.ok(!("signatureV1" in unmarshalIPNSRecord(v2)));
  assert.equal((await verifyRecord(ipnsNameOf(key.publicKey), v2, { now })).ttlNs, 0n);
});
