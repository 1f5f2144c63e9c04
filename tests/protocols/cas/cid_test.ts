import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { base16 } from "multiformats/bases/base16";
import { base36 } from "multiformats/bases/base36";
import { base58btc } from "multiformats/bases/base58";
import { base64 } from "multiformats/bases/base64";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import {
  casCidOf,
  decodeCasCid,
  DIGEST_BYTES,
  MAX_CID_TEXT,
  parseCasCid,
} from "../../../protocols/cas/cid.ts";
import { fuzzRandom, Rng, utf8 } from "../waku/fuzz_util.ts";

/**
 * The CID of raw content, computed without multiformats: node:crypto's
 * sha256, the CIDv1 bytes spelled out (version 1, codec 0x55, multihash
 * 0x12 of 32 bytes), and RFC 4648 base32 (lower case, unpadded) after "b".
 */
function independentCid(content: Uint8Array): string {
  const digest = createHash("sha256").update(content).digest();
  const bytes = [0x01, 0x55, 0x12, 0x20, ...digest];
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let out = "b", bits = 0, value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

const sha256 = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());

Deno.test("CID vectors: empty bytes and 'hello world\\n' match published CIDs and an independent encoding", () => {
  const vectors = [
    // The empty raw block, as every IPFS implementation names it.
    [new Uint8Array(), "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"],
    // `echo 'hello world' | ipfs add --raw-leaves --cid-version 1`
    [utf8("hello world\n"), "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"],
  ] as const;
  for (const [content, published] of vectors) {
    assert.equal(independentCid(content), published, "the independent encoding");
    const cid = casCidOf(sha256(content));
    assert.equal(cid.text, published);
    assert.deepEqual(cid.digest, sha256(content));
    assert.equal(parseCasCid(published).text, published);
  }
  const rng = new Rng(7);
  for (let i = 0; i < 50; i++) {
    const content = rng.bytes(rng.int(300));
    assert.equal(casCidOf(sha256(content)).text, independentCid(content), `random content ${i}`);
  }
});

Deno.test("parseCasCid reads a raw sha2-256 CID in any multibase and writes it as base32", () => {
  const cid = casCidOf(sha256(utf8("hello world\n")));
  const forms = [
    cid.cid.toString(base58btc),
    cid.cid.toString(base36),
    cid.cid.toString(base16),
    cid.cid.toString(base64),
    cid.text.toUpperCase().replace(/^B/, "B"),
  ];
  for (const form of forms) {
    assert.notEqual(form, cid.text);
    const got = parseCasCid(form);
    assert.equal(got.text, cid.text, form);
    assert.deepEqual(got.digest, cid.digest, form);
  }
});

Deno.test("a CID of another codec or hash is refused by name (TypeError)", () => {
  const digest = sha256(utf8("x"));
  const refused: [string, RegExp][] = [
    [CID.createV0(Digest.create(0x12, digest)).toString(), /CIDv0 with codec dag-pb \(0x70\)/],
    [CID.createV1(0x71, Digest.create(0x12, digest)).toString(), /codec dag-cbor \(0x71\)/],
    [CID.createV1(0x72, Digest.create(0x12, digest)).toString(), /codec libp2p-key/],
    [CID.createV1(0x55, Digest.create(0x13, new Uint8Array(64))).toString(), /hash sha2-512/],
    [CID.createV1(0x55, Digest.create(0x00, utf8("inline"))).toString(), /hash identity/],
    [CID.createV1(0x55, Digest.create(0x12, digest.subarray(0, 20))).toString(), /sha2-256/],
  ];
  for (const [text, why] of refused) {
    assert.throws(
      () => parseCasCid(text),
      (e: Error) => e instanceof TypeError && why.test(e.message),
      text,
    );
  }
});

Deno.test("text that is no CID is a SyntaxError that quotes it", () => {
  for (const text of ["", "hello", "bafkrei", "Qm123", "b!!!!", "zzzz", "x".repeat(40)]) {
    assert.throws(() => parseCasCid(text), SyntaxError, JSON.stringify(text));
  }
  assert.throws(() => parseCasCid("b" + "a".repeat(MAX_CID_TEXT)), /at most 512 characters/);
  assert.throws(() => parseCasCid("nonsense"), /"nonsense" is not a CID/);
});

Deno.test("decodeCasCid reads a binary CID, and a bare digest only when asked", () => {
  const cid = casCidOf(sha256(utf8("abc")));
  assert.equal(decodeCasCid(cid.cid.bytes).text, cid.text);
  assert.equal(decodeCasCid(cid.digest, { bareDigest: true }).text, cid.text);
  assert.throws(() => decodeCasCid(cid.digest), SyntaxError);
  assert.throws(() => decodeCasCid(new Uint8Array([...cid.cid.bytes, 0])), SyntaxError);
  assert.throws(() => decodeCasCid(new Uint8Array()), SyntaxError);
  assert.throws(() => casCidOf(new Uint8Array(DIGEST_BYTES - 1)), RangeError);
});

Deno.test("fuzz: random and mutated CID texts and bytes parse or fail with SyntaxError/TypeError only", () => {
  const ok = (e: unknown) => e instanceof SyntaxError || e instanceof TypeError;
  const valid = casCidOf(sha256(utf8("fuzz")));
  fuzzRandom(11, 3000, 48, (bytes, seed, i) => {
    for (
      const attempt of [() => decodeCasCid(bytes), () => decodeCasCid(bytes, { bareDigest: true })]
    ) {
      try {
        const got = attempt();
        assert.equal(got.digest.length, 32, `seed ${seed} #${i}`);
      } catch (e) {
        assert.ok(ok(e), `seed ${seed} #${i}: ${e}`);
      }
    }
  });
  const rng = new Rng(12);
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567QmzkfFBK01-_+/=";
  for (let i = 0; i < 3000; i++) {
    const chars = [...valid.text];
    for (let k = 0; k <= rng.int(3); k++) chars[rng.int(chars.length)] = rng.pick([...alphabet]);
    const text = rng.chance(0.2) ? chars.slice(0, rng.int(chars.length)).join("") : chars.join("");
    try {
      const got = parseCasCid(text);
      // Whatever parses names the content it was read as, and writes back canonically.
      assert.equal(parseCasCid(got.text).text, got.text);
    } catch (e) {
      assert.ok(ok(e), `#${i} ${text}: ${e}`);
    }
  }
});
