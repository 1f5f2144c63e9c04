import assert from "node:assert/strict";
import {
  buildGreeting,
  GREETING_MAX_BYTES,
  parseGreeting,
} from "../../../protocols/remotefile/greeting.ts";
import { encodeMessage } from "../../../protocols/remotefile/framing.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("buildGreeting: what the reference client sends", () => {
  const g = buildGreeting();
  assert.equal(new TextDecoder().decode(g), "RMFP/1.0\nNumHeader-Format:32\n\n");
  assert.equal(g.length, 30);
  // Framed: a 1-byte NumHeader, the same in both formats.
  assert.equal(encodeMessage(g, 32)[0], 30);
  assert.equal(
    new TextDecoder().decode(buildGreeting({ numHeaderFormat: 16 })),
    "RMFP/1.0\nNumHeader-Format:16\n\n",
  );
  assert.throws(() => buildGreeting({ numHeaderFormat: 8 as 16 }), RangeError);
});

Deno.test("parseGreeting: the spec's and the reference's spellings", () => {
  assert.deepEqual(parseGreeting(text("RMFP/1.0\n\n")), { numHeaderFormat: 32, attributes: {} });
  assert.deepEqual(parseGreeting(text("RMFP/1.0\nNumHeader: 32\n\n")), {
    numHeaderFormat: 32,
    attributes: { NumHeader: "32" },
  });
  assert.deepEqual(parseGreeting(text("RMFP/1.0\nNumHeader-Format:32\n\n")), {
    numHeaderFormat: 32,
    attributes: { "NumHeader-Format": "32" },
  });
  assert.equal(parseGreeting(text("RMFP/1.0\nNumHeader: 16\n\n")).numHeaderFormat, 16);
  assert.equal(parseGreeting(text("RMFP/1.0\nnumheader-format: 16 \n\n")).numHeaderFormat, 16);
  assert.equal(parseGreeting(buildGreeting({ numHeaderFormat: 16 })).numHeaderFormat, 16);
  // Unknown attributes are kept; CRLF lines are tolerated.
  assert.deepEqual(parseGreeting(text("RMFP/1.0\r\nClient: x y\r\n\r\n")), {
    numHeaderFormat: 32,
    attributes: { Client: "x y" },
  });
});

Deno.test("parseGreeting: refusals name what is wrong", () => {
  const bad: [string, RegExp, ErrorConstructor][] = [
    ["", /does not end with a newline/, SyntaxError],
    ["RMFP/1.0\n", /does not end with a blank line/, SyntaxError],
    ["RMFP/1.0\nNumHeader-Format:32\n", /does not end with a blank line/, SyntaxError], // crashes the reference server
    ["RMFP/1.0", /does not end with a newline/, SyntaxError],
    ["RMFP/2.0\n\n", /not "RMFP\/1.0"/, SyntaxError],
    ["GET / HTTP/1.1\r\n\r\n", /not "RMFP\/1.0"/, SyntaxError],
    ["RMFP/1.0\n\nNumHeader:32\n\n", /goes on after its blank line/, SyntaxError],
    ["RMFP/1.0\nNumHeader\n\n", /is not "Key:Value"/, SyntaxError],
    ["RMFP/1.0\n:32\n\n", /is not "Key:Value"/, SyntaxError],
    ["RMFP/1.0\nNum Header:32\n\n", /is not "Key:Value"/, SyntaxError],
    ["RMFP/1.0\nNumHeader:64\n\n", /only 16 and 32/, RangeError],
    ["RMFP/1.0\nNumHeader-Format:\n\n", /only 16 and 32/, RangeError],
    ["RMFP/1.0\u0000\n\n", /byte 0x00/, SyntaxError],
  ];
  for (const [s, message, type] of bad) {
    assert.throws(() => parseGreeting(text(s)), (e: Error) => {
      assert.ok(e instanceof type, `${JSON.stringify(s)}: ${e}`);
      assert.match(e.message, message, JSON.stringify(s));
      return true;
    });
  }
  assert.throws(() => parseGreeting(new Uint8Array([0xc3, 0xa9, 0x0a])), SyntaxError);
});

Deno.test("parseGreeting: at most 127 bytes", () => {
  const pad = (n: number) => text(`RMFP/1.0\nX:${"a".repeat(n - 13)}\n\n`);
  assert.equal(pad(GREETING_MAX_BYTES).length, 127);
  assert.equal(parseGreeting(pad(127)).numHeaderFormat, 32);
  assert.throws(() => parseGreeting(pad(128)), {
    name: "RangeError",
    message: /128 bytes; the limit is 127/,
  });
});
