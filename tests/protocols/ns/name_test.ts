/**
 * IPNS names: every form IPNS tools write reads as the one canonical base36
 * name; anything else is refused (never thrown as something other than
 * InvalidInputError), fuzzed with random and mutated text.
 */
import assert from "node:assert/strict";
import { base32 } from "multiformats/bases/base32";
import { base58btc } from "multiformats/bases/base58";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import { identity } from "multiformats/hashes/identity";
import { InvalidInputError } from "../../../lib/errors.ts";
import { ipnsNameOf, MAX_NAME_TEXT, parseIpnsName } from "../../../protocols/ns/name.ts";
import { fuzzSeed, Rng } from "../waku/fuzz_util.ts";
import { nameOf, newKey } from "./ipns_fixtures.ts";

const refusedName = (text: string, message?: RegExp) =>
  assert.throws(() => parseIpnsName(text), (e: unknown) => {
    assert.ok(e instanceof InvalidInputError, `InvalidInputError for ${text}, got ${e}`);
    assert.equal(e.code, "invalid-ipns-name");
    assert.equal(e.field, "name");
    if (message) assert.match(e.message, message);
    return true;
  });

Deno.test("an Ed25519 name reads the same in base36, base32, base58btc and as a peer id", async () => {
  const key = await newKey();
  const cid = key.publicKey.toCID();
  const canonical = nameOf(key);
  assert.match(canonical, /^k51qzi5uqu5d/);
  for (
    const form of [
      canonical,
      cid.toString(base32),
      cid.toString(base58btc),
      key.publicKey.toString(),
    ]
  ) {
    const name = parseIpnsName(form);
    assert.equal(name.text, canonical, form);
    assert.deepEqual(name.multihash, key.publicKey.toMultihash().bytes);
    assert.ok(name.publicKey?.equals(key.publicKey));
  }
  assert.match(key.publicKey.toString(), /^12D3KooW/);
  assert.equal(ipnsNameOf(key.publicKey).text, canonical);
});

Deno.test("a sha2-256 name (an RSA peer id) reads, with no key inlined", () => {
  const peerId = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
  const name = parseIpnsName(peerId);
  assert.equal(name.publicKey, undefined);
  assert.match(name.text, /^k2k4r8/);
  assert.equal(parseIpnsName(name.text).text, name.text);
  assert.deepEqual(name.multihash, base58btc.baseDecode(peerId));
});

Deno.test("what is no IPNS name is refused saying why", () => {
  refusedName("", /prefix of no multibase/);
  refusedName("x".repeat(MAX_NAME_TEXT + 1), /over 512 characters/);
  refusedName("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", /codec 0x55/);
  refusedName("k51qzi5uqu5d!!", /Non-base36 character|not/);
  refusedName("12D3KooWzzz0OIl", /Non-base58btc character|not/);
  // A libp2p-key CID whose identity multihash holds no key.
  const junk = CID.createV1(0x72, identity.digest(new Uint8Array([1, 2, 3]))).toString(base32);
  refusedName(junk, /holds no public key/);
  // A libp2p-key CID with a hash names do not use.
  const md5 = CID.createV1(0x72, Digest.create(0xd5, new Uint8Array(16)));
  refusedName(md5.toString(base32), /multihash is 0xd5/);
});

Deno.test("fuzz: random and mutated names are read or refused, never thrown otherwise", async () => {
  const seed = fuzzSeed(0x1115);
  const rng = new Rng(seed);
  const keys = [await newKey(), await newKey()];
  const valid = keys.flatMap((
    k,
  ) => [nameOf(k), k.publicKey.toString(), k.publicKey.toCID().toString(base32)]);
  const alphabet = "123456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0OIl!/%é🚀";
  for (let i = 0; i < 3000; i++) {
    let text: string;
    if (rng.chance(0.3)) {
      text = Array.from({ length: rng.int(80) }, () => alphabet[rng.int(alphabet.length)]).join("");
    } else {
      const chars = [...rng.pick(valid)];
      const edits = 1 + rng.int(3);
      for (let e = 0; e < edits; e++) {
        const at = rng.int(chars.length);
        const op = rng.int(3);
        if (op === 0) chars[at] = alphabet[rng.int(alphabet.length)];
        else if (op === 1) chars.splice(at, 1);
        else chars.splice(at, 0, alphabet[rng.int(alphabet.length)]);
      }
      text = chars.join("");
    }
    try {
      const name = parseIpnsName(text);
      assert.equal(parseIpnsName(name.text).text, name.text, `seed ${seed} #${i}: canonical`);
    } catch (e) {
      assert.ok(e instanceof InvalidInputError, `seed ${seed} #${i} ${JSON.stringify(text)}: ${e}`);
    }
  }
});
