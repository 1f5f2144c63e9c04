import assert from "node:assert/strict";
import { decodeAddress, encodeAddress } from "../../../protocols/cas/proto.ts";
import { TWIRP_STATUS, twirpCodeOf, twirpError } from "../../../protocols/cas/twirp.ts";
import { fuzzMutated, fuzzRandom, hex, lenField, varintField } from "../waku/fuzz_util.ts";

Deno.test("Address is field 1 bytes, as the spec's vac.cas.Address", () => {
  const id = new Uint8Array([0x01, 0x55, 0x12, 0x20, ...new Array(32).fill(0xab)]);
  assert.equal(hex(encodeAddress(id)), hex(lenField(1, id)));
  assert.equal(hex(decodeAddress(new Uint8Array(lenField(1, id)))), hex(id));
  // Unknown fields are skipped; no field is an empty id.
  assert.equal(
    hex(decodeAddress(new Uint8Array([...varintField(9, 1), ...lenField(1, [7])]))),
    "07",
  );
  assert.equal(decodeAddress(new Uint8Array()).length, 0);
  assert.throws(() => decodeAddress(new Uint8Array([0x0a, 0x05, 1])), SyntaxError);
});

Deno.test("fuzz: random and mutated Addresses decode or fail with SyntaxError", () => {
  const check = (bytes: Uint8Array, seed: number, i: number) => {
    try {
      assert.ok(decodeAddress(bytes) instanceof Uint8Array);
    } catch (e) {
      assert.ok(e instanceof SyntaxError, `seed ${seed} #${i}: ${e}`);
    }
  };
  fuzzRandom(31, 3000, 64, check);
  fuzzMutated(32, 3000, (rng) => encodeAddress(rng.bytes(rng.int(40))), check);
});

Deno.test("Twirp errors carry the status Twirp's spec gives their code", () => {
  assert.deepEqual(twirpError("not_found", "gone"), {
    status: 404,
    body: { code: "not_found", msg: "gone" },
  });
  assert.deepEqual(twirpError("invalid_argument", "big", { limit: "10" }).body.meta, {
    limit: "10",
  });
  const expected: Record<number, string> = {
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "bad_route",
    408: "deadline_exceeded",
    409: "aborted",
    413: "invalid_argument",
    415: "bad_route",
    429: "resource_exhausted",
    500: "internal",
    501: "unimplemented",
    503: "unavailable",
    504: "deadline_exceeded",
    507: "resource_exhausted",
  };
  for (const [status, code] of Object.entries(expected)) {
    assert.equal(twirpCodeOf(Number(status)), code, status);
  }
  assert.equal(TWIRP_STATUS.malformed, 400);
  assert.equal(TWIRP_STATUS.bad_route, 404);
});
