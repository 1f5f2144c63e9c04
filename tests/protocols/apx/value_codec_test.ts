/**
 * Port data ⇄ JSON: byte vectors for each kind, 64-bit JSON rules, strings,
 * arrays, records, limits, error paths, port reads and writes, and random
 * round trips.
 */
import assert from "node:assert/strict";
import { type DataType, intRange, resolved } from "../../../protocols/apx/data_type.ts";
import { parseDefinition } from "../../../protocols/apx/definition.ts";
import {
  findPort,
  initialFileData,
  portsInRange,
  readPort,
  writePort,
} from "../../../protocols/apx/port_data.ts";
import { parseSignature } from "../../../protocols/apx/signature.ts";
import { type ApxValue, decodeValue, encodeValue } from "../../../protocols/apx/value_codec.ts";
import { below, BODY_CONTROLLER, prng } from "./fixtures.ts";

const hex = (t: DataType, v: unknown) => encodeValue(t, v).toHex();
const sig = (s: string) => parseSignature(s);

Deno.test("integers: little-endian in their own width", () => {
  const cases: [string, ApxValue, string][] = [
    ["C", 0xab, "ab"],
    ["c", -1, "ff"],
    ["c", -128, "80"],
    ["S", 0x1234, "3412"],
    ["s", -2, "feff"],
    ["L", 0x01020304, "04030201"],
    ["l", -2147483648, "00000080"],
    ["U", 1, "0100000000000000"],
    ["U", "18446744073709551615", "ffffffffffffffff"],
    ["u", -1, "ffffffffffffffff"],
    ["u", "-9223372036854775808", "0000000000000080"],
  ];
  for (const [code, value, bytes] of cases) {
    assert.equal(hex(sig(code), value), bytes, `${code} ${value}`);
    assert.deepEqual(decodeValue(sig(code), Uint8Array.fromHex(bytes)), value, `${code} ${bytes}`);
  }
});

Deno.test("64-bit values: numbers while safe, decimal strings beyond; bigint and strings in", () => {
  const U = sig("U");
  const u = sig("u");
  assert.equal(decodeValue(U, encodeValue(U, 2 ** 53 - 1)), 9007199254740991);
  assert.equal(decodeValue(U, encodeValue(U, "9007199254740992")), "9007199254740992");
  assert.equal(decodeValue(u, encodeValue(u, -(2 ** 53) + 1)), -9007199254740991);
  assert.equal(decodeValue(u, encodeValue(u, -(2n ** 53n))), "-9007199254740992");
  assert.equal(hex(sig("S"), "513"), "0102"); // decimal strings work for any width
  assert.throws(
    () => encodeValue(U, 2 ** 60),
    /beyond 2\^53; give large 64-bit values as decimal strings/,
  );
  assert.throws(() => encodeValue(U, "18446744073709551616"), /must be ≤ 18446744073709551615/);
  assert.throws(() => encodeValue(U, "0x10"), TypeError);
});

Deno.test("strings: NUL-padded on the way in, cut at the first NUL on the way out", () => {
  const t = sig("a[8]");
  assert.equal(hex(t, "Hi"), "4869000000000000");
  assert.equal(hex(t, ""), "0000000000000000");
  assert.equal(hex(t, "12345678"), "3132333435363738"); // all n bytes, no terminator
  assert.equal(decodeValue(t, Uint8Array.fromHex("3132333435363738")), "12345678");
  assert.equal(decodeValue(t, Uint8Array.fromHex("4869004142430000")), "Hi");
  assert.equal(hex(t, "é"), "c3a9000000000000");
  assert.equal(decodeValue(t, Uint8Array.fromHex("ff41000000000000")), "\ufffdA");
  assert.throws(() => encodeValue(t, "123456789"), /value must be at most 8 bytes of UTF-8, got 9/);
  assert.throws(() => encodeValue(t, "ééééé"), RangeError);
  assert.throws(() => encodeValue(t, "a\0b"), /must not contain NUL/);
  assert.throws(
    () => encodeValue(t, 5),
    (e) => e instanceof TypeError && /must be a string/.test(e.message),
  );
});

Deno.test("bool (b): 0 is false, any other byte true; true/false or 0/1 in", () => {
  const b = sig("b");
  assert.equal(hex(b, true), "01");
  assert.equal(hex(b, false), "00");
  assert.equal(hex(b, 1), "01");
  assert.equal(hex(b, 0), "00");
  assert.equal(decodeValue(b, Uint8Array.of(0)), false);
  assert.equal(decodeValue(b, Uint8Array.of(1)), true);
  assert.equal(decodeValue(b, Uint8Array.of(0xff)), true);
  assert.equal(decodeValue(b, Uint8Array.of(2)), true);
  const arr = sig("b[4]");
  assert.equal(hex(arr, [true, false, 1, 0]), "01000100");
  assert.deepEqual(decodeValue(arr, Uint8Array.fromHex("00017f00")), [false, true, true, false]);
  const cases: [unknown, ErrorConstructor, string][] = [
    [2, RangeError, "value must be true, false, 0 or 1, got 2"],
    [-1, RangeError, "value must be true, false, 0 or 1, got -1"],
    [0.5, RangeError, "value must be true, false, 0 or 1, got 0.5"],
    ["true", TypeError, "value must be a boolean (true, false, 0 or 1)"],
    [null, TypeError, "value must be a boolean (true, false, 0 or 1)"],
    [1n, TypeError, "value must be a boolean (true, false, 0 or 1)"],
  ];
  for (const [value, type, message] of cases) {
    assert.throws(() => encodeValue(b, value), { name: type.name, message }, message);
  }
  // limits off changes nothing for a bool; errors name the path
  assert.throws(() => encodeValue(b, 3, { checkLimits: false }), RangeError);
  assert.throws(
    () => encodeValue(sig('{"on"b[2]}'), { on: [true, "no"] }),
    { name: "TypeError", message: "value.on[1] must be a boolean (true, false, 0 or 1)" },
  );
});

Deno.test("byte (B): an unsigned 8-bit integer with limits, as a number", () => {
  const B = sig("B");
  assert.equal(hex(B, 0xab), "ab");
  assert.equal(hex(B, "255"), "ff");
  assert.equal(decodeValue(B, Uint8Array.of(0xff)), 255);
  assert.throws(() => encodeValue(B, 256), {
    name: "RangeError",
    message: "value must be ≤ 255, got 256",
  });
  assert.throws(() => encodeValue(B, -1), {
    name: "RangeError",
    message: "value must be ≥ 0, got -1",
  });
  assert.throws(() => encodeValue(B, true), TypeError);
  const limited = sig("B(10,20)[2]");
  assert.equal(hex(limited, [10, 20]), "0a14");
  assert.throws(
    () => encodeValue(limited, [10, 21]),
    { name: "RangeError", message: "value[1] must be ≤ 20 (upper limit), got 21" },
  );
  assert.equal(encodeValue(limited, [0, 255], { checkLimits: false }).toHex(), "00ff");
  assert.deepEqual(decodeValue(limited, Uint8Array.of(1, 2)), [1, 2]); // no limits on decode
});

Deno.test("char8 strings (A[n]): like a[n]", () => {
  const t = sig("A[6]");
  assert.equal(hex(t, "Hi"), "486900000000");
  assert.equal(decodeValue(t, Uint8Array.fromHex("486900414200")), "Hi");
  assert.equal(decodeValue(t, Uint8Array.fromHex("616263646566")), "abcdef");
  assert.throws(() => encodeValue(t, "1234567"), /value must be at most 6 bytes of UTF-8, got 7/);
  assert.throws(() => encodeValue(t, 1), TypeError);
  const one = sig("A");
  assert.equal(hex(one, "x"), "78");
  assert.equal(decodeValue(one, Uint8Array.of(0x78)), "x");
  assert.throws(() => encodeValue(one, "xy"), RangeError);
});

Deno.test("a c-apx 0.3 style record of b, B and A round-trips", () => {
  const t = sig('{"On"b"Level"B(0,100)"Tag"A[4]"Flags"b[3]}');
  const value = { On: true, Level: 42, Tag: "ab", Flags: [false, true, false] };
  const bytes = encodeValue(t, value);
  assert.equal(bytes.toHex(), "01" + "2a" + "61620000" + "000100");
  assert.deepEqual(decodeValue(t, bytes), value);
  assert.deepEqual(encodeValue(t, { ...value, On: 1, Flags: [0, 1, 0] }), bytes);
});

Deno.test("arrays and records: declaration order, nested, refs", () => {
  const def = parseDefinition(
    'APX/1.2\nN"N"\nT"Pos_T"{"x"s"y"s}\n' +
      'P"Track"{"id"L"name"a[4]"points"T[0][2]"speed"C(0,250)[3]}\n',
  );
  const t = def.providePorts[0].type;
  const value = {
    id: 7,
    name: "ab",
    points: [{ x: -1, y: 2 }, { x: 3, y: -4 }],
    speed: [0, 100, 250],
  };
  const bytes = encodeValue(t, value);
  assert.equal(bytes.toHex(), "07000000" + "61620000" + "ffff0200" + "0300fcff" + "0064fa");
  assert.deepEqual(decodeValue(t, bytes), value);
  // decoding at an offset inside a larger buffer
  const big = new Uint8Array(40);
  big.set(bytes, 11);
  assert.deepEqual(decodeValue(t, big, 11), value);
  assert.deepEqual(decodeValue(t, big.subarray(11)), value);
});

Deno.test("errors name the path: limits, ranges, wrong shapes", () => {
  const t = sig('{"speed"S(0,255)[3]"mode"C"front-left"c"pos"{"x"C}}');
  const good = { speed: [1, 2, 3], mode: 0, "front-left": 0, pos: { x: 0 } };
  assert.doesNotThrow(() => encodeValue(t, good));
  const cases: [unknown, ErrorConstructor, string][] = [
    [
      { ...good, speed: [1, 2, 300] },
      RangeError,
      "value.speed[2] must be ≤ 255 (upper limit), got 300",
    ],
    [{ ...good, mode: 256 }, RangeError, "value.mode must be ≤ 255, got 256"],
    [{ ...good, mode: -1 }, RangeError, "value.mode must be ≥ 0, got -1"],
    [{ ...good, mode: 1.5 }, RangeError, "value.mode must be an integer, got 1.5"],
    [
      { ...good, mode: "x" },
      TypeError,
      "value.mode must be an integer (a number or a decimal string)",
    ],
    [
      { ...good, mode: null },
      TypeError,
      "value.mode must be an integer (a number or a decimal string)",
    ],
    [{ ...good, "front-left": -129 }, RangeError, 'value["front-left"] must be ≥ -128, got -129'],
    [{ ...good, speed: [1, 2] }, RangeError, "value.speed must have 3 elements, got 2"],
    [{ ...good, speed: "1,2,3" }, TypeError, "value.speed must be an array"],
    [{ ...good, pos: [0] }, TypeError, 'value.pos must be an object with fields "x"'],
    [{ ...good, pos: {} }, TypeError, "value.pos.x is missing"],
    [{ ...good, extra: 1 }, TypeError, 'value has unknown field "extra"'],
    [null, TypeError, 'value must be an object with fields "speed", "mode", "front-left", "pos"'],
  ];
  for (const [value, type, message] of cases) {
    assert.throws(() => encodeValue(t, value), { name: type.name, message }, message);
  }
  // limits can be switched off (init values); the type's range cannot
  assert.equal(encodeValue(sig("C(0,1)"), 255, { checkLimits: false }).toHex(), "ff");
  assert.throws(() => encodeValue(sig("C(0,1)"), 256, { checkLimits: false }), RangeError);
  // decoding does not apply limits: a peer's data is shown as it is
  assert.equal(decodeValue(sig("C(0,1)"), Uint8Array.of(7)), 7);
  assert.throws(
    () => decodeValue(sig("L"), new Uint8Array(3)),
    /Cannot decode 4 bytes at offset 0 from 3/,
  );
  assert.throws(() => decodeValue(sig("C"), new Uint8Array(3), 3), RangeError);
});

Deno.test("a field named __proto__ stays a plain field", () => {
  const t = sig('{"__proto__"C"b"C}');
  const value = JSON.parse('{"__proto__":1,"b":2}');
  const bytes = encodeValue(t, value);
  assert.equal(bytes.toHex(), "0102");
  const back = decodeValue(t, bytes) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.deepEqual(Object.keys(back), ["__proto__", "b"]);
});

Deno.test("ports in .out/.in: read, write with the port's name in errors, ranges touched", () => {
  const def = parseDefinition(BODY_CONTROLLER);
  const out = initialFileData(def, "provide");
  const speed = findPort(def, "provide", "WheelSpeeds")!;
  assert.deepEqual(readPort(speed, out), [0, 0, 0, 0]);
  const w = writePort(speed, [100, 200, 300, 400]);
  assert.deepEqual(w, { offset: 2, data: Uint8Array.fromHex("6400c8002c019001") });
  out.set(w.data, w.offset);
  assert.deepEqual(readPort(speed, out), [100, 200, 300, 400]);
  assert.equal(readPort(findPort(def, "provide", "VehicleSpeed")!, out), 65535);
  assert.throws(
    () => writePort(speed, [0, 0, 0, 10001]),
    { name: "RangeError", message: "WheelSpeeds[3] must be ≤ 10000 (upper limit), got 10001" },
  );
  assert.equal(findPort(def, "require", "WheelSpeeds"), undefined);
  assert.throws(() => readPort(speed, out.subarray(0, 5)), RangeError);

  const names = (o: number, n: number) => portsInRange(def.providePorts, o, n).map((p) => p.name);
  assert.deepEqual(names(0, 1), ["VehicleSpeed"]);
  assert.deepEqual(names(1, 2), ["VehicleSpeed", "WheelSpeeds"]);
  assert.deepEqual(names(10, 1), ["LampState"]);
  assert.deepEqual(names(0, 39), def.providePorts.map((p) => p.name));
  assert.deepEqual(names(38, 1), ["Odometer"]);
  assert.deepEqual(names(39, 5), []);
  assert.deepEqual(names(5, 0), []);
});

/** A random JSON value that fits `t` (within limits). */
function randomValue(t: DataType, rand: () => number): ApxValue {
  const r = resolved(t);
  switch (r.kind) {
    case "int": {
      const { min, max } = r.limits ? { min: r.limits.lower, max: r.limits.upper } : intRange(r);
      const span = max - min + 1n;
      const pick = rand() < 0.3 ? [min, max, min + span / 2n][below(rand, 3)] : min +
        (BigInt(Math.floor(rand() * 2 ** 30)) * BigInt(Math.floor(rand() * 2 ** 30)) +
            BigInt(Math.floor(rand() * 2 ** 30))) % span;
      const safe = BigInt(Number.MAX_SAFE_INTEGER);
      return pick <= safe && pick >= -safe ? Number(pick) : pick.toString();
    }
    case "bool":
      return rand() < 0.5;
    case "string": {
      const chars = "abcXYZ 019_-é€";
      let s = "";
      for (let i = below(rand, r.length + 1); i > 0; i--) s += chars[below(rand, chars.length)];
      while (new TextEncoder().encode(s).length > r.length) s = s.slice(0, -1);
      return s;
    }
    case "array":
      return Array.from({ length: r.length }, () => randomValue(r.element, rand));
    case "record":
      return Object.fromEntries(r.fields.map((f) => [f.name, randomValue(f.type, rand)]));
  }
}

function hasString(t: DataType): boolean {
  const r = resolved(t);
  if (r.kind === "string") return true;
  if (r.kind === "array") return hasString(r.element);
  return r.kind === "record" && r.fields.some((f) => hasString(f.type));
}

/** Whether decoding may lose bytes: strings (NUL, bad UTF-8) and bools (2..255 → true). */
function lossy(t: DataType): boolean {
  const r = resolved(t);
  if (r.kind === "string" || r.kind === "bool") return true;
  if (r.kind === "array") return lossy(r.element);
  return r.kind === "record" && r.fields.some((f) => lossy(f.type));
}

Deno.test("random values round-trip through encode and decode", () => {
  const rand = prng(0xa9c);
  const def = parseDefinition(BODY_CONTROLLER);
  const sigs = [
    ...def.providePorts,
    ...def.requirePorts,
  ].map((p) => p.type).concat([
    "C",
    "c",
    "S",
    "s",
    "L",
    "l",
    "U",
    "u",
    "c(-5,5)[7]",
    "u(-3,3)",
    "a[1]",
    "a",
    '{"a"{"b"U[2]"c"a[5]}"d"l(-100,100)}[3]',
    "b",
    "b[5]",
    "B",
    "B(1,9)[3]",
    "A",
    "A[6]",
    '{"f"b"g"B(0,100)"h"A[3]"i"{"j"b[2]"k"S}}[2]',
  ].map((s) => parseSignature(s)));
  for (let i = 0; i < 2000; i++) {
    const t = sigs[i % sigs.length];
    const value = randomValue(t, rand);
    const bytes = encodeValue(t, value);
    assert.deepEqual(decodeValue(t, bytes), value);
    // any bytes decode, and re-encode to the same bytes where no string or bool is
    // involved (strings stop at the first NUL and replace invalid UTF-8; a bool
    // reads 2..255 as true and writes it back as 1)
    const noise = Uint8Array.from({ length: bytes.length }, () => below(rand, 256));
    const decoded = decodeValue(t, noise);
    if (!lossy(t)) assert.deepEqual(encodeValue(t, decoded, { checkLimits: false }), noise);
    else if (!hasString(t)) {
      const again = encodeValue(t, decoded, { checkLimits: false });
      assert.deepEqual(decodeValue(t, again), decoded);
    }
  }
});
