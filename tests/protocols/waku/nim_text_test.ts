/**
 * Nim's text functions as nwaku's REST API uses them, with Nim's messages.
 */
import assert from "node:assert/strict";
import {
  decodeUrl,
  hexToBytes,
  isEmptyOrWhitespace,
  parseBool,
  parseInt64,
} from "../../../protocols/waku/nim_text.ts";

Deno.test("decodeUrl decodes once, keeps malformed escapes, reads + as a space unless told not to", () => {
  assert.equal(decodeUrl("%2Fwaku%2F2%2Frs%2F0%2F0"), "/waku/2/rs/0/0");
  assert.equal(decodeUrl("%252F"), "%2F", "one decode per call");
  assert.equal(decodeUrl("a+b"), "a b");
  assert.equal(decodeUrl("a+b", false), "a+b");
  assert.equal(decodeUrl("abc%xyz"), "abc%xyz", "Nim's own example");
  assert.equal(decodeUrl("100%"), "100%");
  assert.equal(decodeUrl("%4"), "%4");
  assert.equal(decodeUrl("%41"), "A", "an escape that ends the text");
  assert.equal(decodeUrl("caf%C3%A9"), "café");
  assert.equal(decodeUrl("%EF%BB%BFx"), "\uFEFFx", "a leading BOM is kept");
  assert.throws(() => decodeUrl("%FF"), SyntaxError);
});

Deno.test("parseInt64 reads as Nim's parseInt: sign, underscores, range, nothing trailing", () => {
  assert.equal(parseInt64("1732000000000000001"), 1732000000000000001n);
  assert.equal(parseInt64("+5"), 5n);
  assert.equal(parseInt64("-5"), -5n);
  assert.equal(parseInt64("1_000_"), 1000n);
  assert.equal(parseInt64("9223372036854775807"), (1n << 63n) - 1n);
  assert.equal(parseInt64("-9223372036854775808"), -(1n << 63n));
  for (const bad of ["", "abc", "_1", "1x", " 1", "1 ", "0x10", "1.5", "--1"]) {
    assert.throws(() => parseInt64(bad), { message: `invalid integer: ${bad}` }, bad);
  }
  for (const big of ["9223372036854775808", "-9223372036854775809", "99999999999999999999x"]) {
    assert.throws(() => parseInt64(big), { message: "Parsed integer outside of valid range" });
  }
});

Deno.test("parseBool takes Nim's words in any case, with underscores dropped", () => {
  for (const t of ["y", "YES", "true", "True", "1", "on", "O_N"]) {
    assert.equal(parseBool(t), true, t);
  }
  for (const f of ["n", "No", "FALSE", "0", "off"]) assert.equal(parseBool(f), false, f);
  for (const bad of ["maybe", "2", " true", "tru"]) {
    assert.throws(() => parseBool(bad), { message: `cannot interpret as a bool: ${bad}` });
  }
});

Deno.test("isEmptyOrWhitespace knows Nim's whitespace only", () => {
  for (const s of ["", " ", "\t\n\r\v\f"]) assert.ok(isEmptyOrWhitespace(s), JSON.stringify(s));
  for (const s of ["a", " a ", "\u00a0"]) assert.ok(!isEmptyOrWhitespace(s), JSON.stringify(s));
});

Deno.test("hexToBytes reads as stew's hexToSeqByte, with its messages", () => {
  assert.deepEqual(hexToBytes("0x01fF"), new Uint8Array([1, 255]));
  assert.deepEqual(hexToBytes("0X01"), new Uint8Array([1]));
  assert.deepEqual(hexToBytes("ab"), new Uint8Array([0xab]));
  assert.deepEqual(hexToBytes(""), new Uint8Array(0));
  assert.throws(() => hexToBytes("0x123"), { message: "hex string must have even length" });
  assert.throws(() => hexToBytes("zz"), { message: "z is not a hexadecimal character" });
  assert.throws(() => hexToBytes("0x 1"), { message: "  is not a hexadecimal character" });
});
