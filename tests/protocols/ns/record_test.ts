/**
 * IPNS record verification against records made by the `ipns` package
 * (and, for what no library writes, by hand): every check of the spec
 * accepts what it should and refuses the rest with its own code.
 */
import assert from "node:assert/strict";
import { generateKeyPair, publicKeyToProtobuf } from "@libp2p/crypto/keys";
import { marshalIPNSRecord } from "ipns";
import { InvalidInputError, TooLargeError } from "../../../lib/errors.ts";
import { parseIpnsName } from "../../../protocols/ns/name.ts";
import { MAX_RECORD_BYTES, readRecord, verifyRecord } from "../../../protocols/ns/record.ts";
import { lenField, utf8, varintField } from "../waku/fuzz_util.ts";
import {
  dataDoc,
  flipIn,
  goodFields,
  type Key,
  marshal,
  nameOf,
  newKey,
  record,
  recordObject,
  signedEntry,
  VALUE,
} from "./ipns_fixtures.ts";

const now = () => Date.now();
const verify = (key: Key, bytes: Uint8Array) =>
  verifyRecord(parseIpnsName(nameOf(key)), bytes, { now: now() });

/** Asserts a refusal with the given code. */
async function refused(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof InvalidInputError, `InvalidInputError, got ${e}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.field, "record");
    if (message) assert.match(e.message, message);
    return true;
  });
}

Deno.test("a V1+V2 record and a V2-only record from the ipns package are accepted, fields read", async () => {
  const key = await newKey();
  for (const v1 of [true, false]) {
    const info = await verify(key, await record(key, 7, { v1, ttlNs: 42_000_000_000n }));
    assert.equal(info.value, VALUE);
    assert.equal(info.sequence, 7n);
    assert.equal(info.ttlNs, 42_000_000_000n);
    assert.match(info.validity, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    const ms = Number(info.validUntilNs / 1_000_000n);
    assert.ok(Math.abs(ms - (Date.now() + 3_600_000)) < 60_000);
  }
});

Deno.test("a record over the size limit is TooLargeError before any parsing", async () => {
  const key = await newKey();
  const name = parseIpnsName(nameOf(key));
  const huge = new Uint8Array(MAX_RECORD_BYTES + 1).fill(0xff); // not even protobuf
  await assert.rejects(verifyRecord(name, huge, { now: now() }), TooLargeError);
  const good = await record(key, 1);
  await assert.rejects(
    verifyRecord(name, good, { now: now(), maxBytes: good.length - 1 }),
    TooLargeError,
  );
  // A valid record padded with an unknown field up to the limit is still fine.
  const padding = lenField(15, new Uint8Array(MAX_RECORD_BYTES - good.length - 3));
  const padded = new Uint8Array([...good, ...padding]);
  assert.equal(padded.length, MAX_RECORD_BYTES);
  assert.equal((await verifyRecord(name, padded, { now: now() })).sequence, 1n);
});

Deno.test("malformed protobuf, and an entry without signatureV2 or data, are malformed", async () => {
  const key = await newKey();
  await refused(verify(key, new Uint8Array([0x0a, 0xff, 0xff])), "ipns-record-malformed");
  await refused(verify(key, new Uint8Array()), "ipns-record-malformed", /signatureV2/);
  const r = await recordObject(key, 1);
  await refused(verify(key, new Uint8Array(lenField(9, r.data))), "ipns-record-malformed");
  await refused(verify(key, new Uint8Array(lenField(8, r.signatureV2))), "ipns-record-malformed");
  await refused(
    verify(key, new Uint8Array([...lenField(8, new Uint8Array()), ...lenField(9, r.data)])),
    "ipns-record-malformed",
  );
});

Deno.test("a forged record is refused: a byte flipped in signatureV2 or in data", async () => {
  const key = await newKey();
  for (const v1 of [true, false]) {
    const r = await recordObject(key, 3);
    const bytes = marshal(r, v1);
    await refused(verify(key, flipIn(bytes, r.signatureV2, 10)), "ipns-signature-invalid");
    // Inside the signed Value: the signature check comes first, whatever V1 says.
    await refused(
      verify(key, flipIn(bytes, r.data, r.data.length - 20)),
      "ipns-signature-invalid",
    );
  }
  // A signature of the wrong length is a forgery too, not a crash.
  const r = await recordObject(key, 3);
  await refused(
    verify(
      key,
      new Uint8Array([...lenField(8, r.signatureV2.subarray(1)), ...lenField(9, r.data)]),
    ),
    "ipns-signature-invalid",
  );
});

Deno.test("a record signed by another key, or carrying another key, is refused for this name", async () => {
  const [mine, theirs] = [await newKey(), await newKey()];
  await refused(verify(mine, await record(theirs, 1)), "ipns-signature-invalid");
  // The record says it is theirs (pubKey): a key mismatch, whoever signed.
  const r = await recordObject(theirs, 1);
  const withKey = marshalIPNSRecord({ ...r, pubKey: publicKeyToProtobuf(theirs.publicKey) });
  await refused(verify(mine, withKey), "ipns-key-mismatch", /pubKey of k51/);
  // Its own pubKey, matching the name, is fine.
  const own = await recordObject(mine, 1);
  const ownKey = marshalIPNSRecord({ ...own, pubKey: publicKeyToProtobuf(mine.publicKey) });
  assert.equal((await verify(mine, ownKey)).sequence, 1n);
  await refused(
    verify(mine, marshalIPNSRecord({ ...own, pubKey: new Uint8Array([1, 2, 3]) })),
    "ipns-record-malformed",
    /pubKey/,
  );
});

Deno.test("an RSA name (a hash of its key) needs the key in the record's pubKey", async () => {
  const rsa = await generateKeyPair("RSA", 1024);
  const name = parseIpnsName(rsa.publicKey.toString()); // Qm…, a sha2-256 peer id
  assert.equal(name.publicKey, undefined);
  const r = await recordObject(rsa as unknown as Key, 2); // the package embeds RSA keys
  assert.ok(r.pubKey);
  assert.equal((await verifyRecord(name, marshalIPNSRecord(r), { now: now() })).sequence, 2n);
  await refused(
    verifyRecord(name, marshalIPNSRecord({ ...r, pubKey: undefined }), { now: now() }),
    "ipns-key-mismatch",
    /hash of its key/,
  );
});

Deno.test("an expired record is refused; one valid a moment longer is not", async () => {
  const key = await newKey();
  const past = await record(key, 1, { expiration: "2020-01-01T00:00:00.000000000Z" });
  await refused(verify(key, past), "ipns-record-expired", /2020-01-01T00:00:00\.000000000Z/);
  const soon = await record(key, 1, { lifetimeMs: 5_000 });
  const name = parseIpnsName(nameOf(key));
  assert.ok(await verifyRecord(name, soon, { now: now() }));
  await refused(verifyRecord(name, soon, { now: now() + 10_000 }), "ipns-record-expired");
});

Deno.test("V1 fields that differ from the signed data are refused; matching ones are fine", async () => {
  const key = await newKey();
  const r = await recordObject(key, 5);
  const mismatch = (m: RegExp) => (bytes: Uint8Array) =>
    refused(verify(key, bytes), "ipns-v1-mismatch", m);
  await mismatch(/sequence/)(marshalIPNSRecord({ ...r, sequence: 6n }));
  await mismatch(/value/)(marshalIPNSRecord({ ...r, value: "/ipfs/other" }));
  await mismatch(/validity/)(marshalIPNSRecord({ ...r, validity: "2099-01-01T00:00:00Z" }));
  await mismatch(/ttl/)(marshalIPNSRecord({ ...r, ttl: 1n }));
  // signatureV1 without value, and value without signatureV1: the spec checks either way.
  const v2 = [...lenField(8, r.signatureV2), ...lenField(9, r.data)];
  await mismatch(/value is absent or empty/)(
    new Uint8Array([...lenField(2, r.signatureV1), ...v2]),
  );
  await mismatch(/value is absent or empty/)(
    new Uint8Array([...lenField(1, new Uint8Array()), ...lenField(2, r.signatureV1), ...v2]),
  );
  const v1Fields = (value: string, sequence: bigint) => [
    ...lenField(1, utf8(value)),
    ...varintField(3, 0),
    ...lenField(4, utf8(r.validity)),
    ...varintField(5, sequence),
    ...varintField(6, r.ttl!),
  ];
  await mismatch(/sequence/)(new Uint8Array([...v1Fields(VALUE, 4n), ...v2]));
  await mismatch(/value/)(new Uint8Array([...v1Fields("/ipfs/x", 5n), ...v2]));
  assert.equal((await verify(key, new Uint8Array([...v1Fields(VALUE, 5n), ...v2]))).sequence, 5n);
});

Deno.test("signed data that is no valid document is malformed, with what is wrong", async () => {
  const key = await newKey();
  const bad = async (fields: Record<string, unknown>, m: RegExp) =>
    await refused(
      verify(key, await signedEntry(key, dataDoc({ ...goodFields(), ...fields } as never))),
      "ipns-record-malformed",
      m,
    );
  assert.equal((await verify(key, await signedEntry(key, dataDoc(goodFields(9n))))).sequence, 9n);
  await bad({ Validity: utf8("tomorrow") }, /Validity/);
  await bad({ Validity: utf8("2099-02-30T00:00:00Z") }, /Validity/);
  await bad({ Sequence: -1n }, /Sequence/);
  await bad({ TTL: -5n }, /TTL/);
  await bad({ ValidityType: 1 }, /validity type/i);
  await bad({ Value: utf8("not a path") }, /path/);
  await refused(
    verify(key, await signedEntry(key, new Uint8Array([0xa5, 0x01]))),
    "ipns-record-malformed",
  );
  const noTtl = goodFields();
  delete noTtl.TTL;
  await refused(
    verify(key, await signedEntry(key, dataDoc(noTtl))),
    "ipns-record-malformed",
    /TTL/,
  );
});

Deno.test("readRecord reads what verifyRecord accepted, the same fields", async () => {
  const key = await newKey();
  const bytes = await record(key, 11);
  assert.deepEqual(readRecord(bytes), await verify(key, bytes));
  assert.throws(() => readRecord(new Uint8Array([0xff])), InvalidInputError);
});
