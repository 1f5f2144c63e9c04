import assert from "node:assert/strict";
import {
  decodeNameUpdate,
  decodeQuery,
  decodeResponse,
  encodeNameUpdate,
  encodeQuery,
  encodeResponse,
} from "../../../protocols/ns/proto.ts";
import { fuzzRandom, lenField, utf8 } from "../waku/fuzz_util.ts";

Deno.test("NS messages in the spec's field numbers, byte for byte", () => {
  const content = new Uint8Array([9, 8, 7]);
  const update = new Uint8Array([...lenField(1, utf8("k51")), ...lenField(2, content)]);
  assert.deepEqual(new Uint8Array(encodeNameUpdate({ name: "k51", content })), update);
  assert.deepEqual(decodeNameUpdate(update), { name: "k51", content });
  assert.deepEqual(decodeNameUpdate(new Uint8Array()), { name: "", content: new Uint8Array() });
  assert.deepEqual(new Uint8Array(encodeQuery("k51")), new Uint8Array(lenField(1, utf8("k51"))));
  assert.equal(decodeQuery(new Uint8Array(lenField(1, utf8("k51")))), "k51");
  assert.deepEqual(new Uint8Array(encodeResponse(content)), new Uint8Array(lenField(1, content)));
  assert.deepEqual(new Uint8Array(decodeResponse(encodeResponse(content))), content);
  assert.equal(encodeResponse(new Uint8Array()).length, 0);
});

Deno.test("fuzz: NS messages decode or throw SyntaxError, nothing else", () => {
  for (const decode of [decodeNameUpdate, decodeQuery, decodeResponse]) {
    fuzzRandom(0x5a5, 2000, 64, (bytes, seed, i) => {
      try {
        decode(bytes);
      } catch (e) {
        assert.ok(e instanceof SyntaxError, `seed ${seed} #${i}: ${e}`);
      }
    });
  }
});
