/**
 * Data signatures: every type code, limits, arrays, strings, records, type
 * references, packed sizes, canonical text, and each syntax error.
 */
import assert from "node:assert/strict";
import { packedSize, resolved, typeDepth } from "../../../protocols/apx/data_type.ts";
import {
  formatSignature,
  type NamedType,
  parseSignature,
} from "../../../protocols/apx/signature.ts";

Deno.test("integer type codes: sizes, signedness, IDL 1.2 meaning of u/U", () => {
  const cases: [string, string, number][] = [
    ["C", "u8", 1],
    ["S", "u16", 2],
    ["L", "u32", 4],
    ["U", "u64", 8],
    ["c", "s8", 1],
    ["s", "s16", 2],
    ["l", "s32", 4],
    ["u", "s64", 8],
    ["Q", "u64", 8], // c-apx 0.3 spelling
    ["q", "s64", 8],
    ["B", "u8", 1], // c-apx 0.3 byte
  ];
  for (const [code, int, size] of cases) {
    const t = parseSignature(code);
    assert.equal(t.kind, "int");
    if (t.kind === "int") {
      assert.equal(t.int, int, code);
      assert.equal(t.signed, int.startsWith("s"));
      assert.equal(t.limits, undefined);
    }
    assert.equal(packedSize(t), size, code);
  }
});

Deno.test("limits, arrays and limits before arrays", () => {
  const t = parseSignature("C(0,3)[10]");
  assert.equal(t.kind, "array");
  if (t.kind !== "array") return;
  assert.equal(t.length, 10);
  assert.deepEqual(t.element, {
    kind: "int",
    code: "C",
    int: "u8",
    size: 1,
    signed: false,
    limits: { lower: 0n, upper: 3n },
  });
  assert.equal(packedSize(t), 10);
  assert.equal(packedSize(parseSignature("S[4]")), 8);
  assert.equal(packedSize(parseSignature("u[3]")), 24);
  const neg = parseSignature("s(-300, 300)");
  assert.deepEqual(neg.kind === "int" && neg.limits, { lower: -300n, upper: 300n });
  const full = parseSignature("U(0,18446744073709551615)");
  assert.deepEqual(full.kind === "int" && full.limits, { lower: 0n, upper: (1n << 64n) - 1n });
  // c-apx skips spaces inside () and []
  assert.equal(formatSignature(parseSignature("C( 0 , 7 )[ 2 ]")), "C(0,7)[2]");
});

Deno.test("strings: a[n] is n bytes; a bare a is one", () => {
  assert.deepEqual(parseSignature("a[40]"), { kind: "string", length: 40 });
  assert.equal(packedSize(parseSignature("a[40]")), 40);
  assert.deepEqual(parseSignature("a"), { kind: "string", length: 1 });
});

Deno.test("c-apx 0.3 letters: b is a bool, B a byte (u8), A a string like a", () => {
  // b: one byte, no limits, arrays and record fields allowed
  assert.deepEqual(parseSignature("b"), { kind: "bool" });
  assert.equal(packedSize(parseSignature("b")), 1);
  const bools = parseSignature("b[8]");
  assert.deepEqual(bools, { kind: "array", element: { kind: "bool" }, length: 8 });
  assert.equal(packedSize(bools), 8);
  assert.equal(typeDepth(parseSignature("b")), 1);
  assert.equal(typeDepth(bools), 2);
  // B: an unsigned 8-bit integer that keeps its letter and takes limits like C
  assert.deepEqual(parseSignature("B(0,200)"), {
    kind: "int",
    code: "B",
    int: "u8",
    size: 1,
    signed: false,
    limits: { lower: 0n, upper: 200n },
  });
  assert.equal(packedSize(parseSignature("B[16]")), 16);
  // A: n bytes of string, a bare A one character
  assert.deepEqual(parseSignature("A[12]"), { kind: "string", length: 12, code: "A" });
  assert.deepEqual(parseSignature("A"), { kind: "string", length: 1, code: "A" });
  assert.equal(packedSize(parseSignature("A[12]")), 12);
  // all three inside records, with references to them
  const types: NamedType[] = [{ name: "Flag_T", type: parseSignature("b") }];
  const rec = parseSignature('{"On"b"Raw"B[2]"Id"A[4]"F"T[0]}', types);
  assert.equal(packedSize(rec), 1 + 2 + 4 + 1);
  assert.deepEqual(rec.kind === "record" && rec.fields.map((f) => resolved(f.type).kind), [
    "bool",
    "array",
    "string",
    "bool",
  ]);
});

Deno.test("records: fields in order, nested records, arrays of records", () => {
  const t = parseSignature('{"Name"a[8]"Id"L"Pos"{"X"s"Y"s}"Flags"C[2]}');
  assert.equal(t.kind, "record");
  if (t.kind !== "record") return;
  assert.deepEqual(t.fields.map((f) => f.name), ["Name", "Id", "Pos", "Flags"]);
  assert.equal(packedSize(t), 8 + 4 + 4 + 2);
  assert.equal(typeDepth(t), 3);
  const arr = parseSignature('{"a"C"b"S}[3]');
  assert.equal(arr.kind, "array");
  assert.equal(packedSize(arr), 9);
  // field names may use any character but quotes and controls
  const odd = parseSignature('{"front-left"C"x y"C}');
  assert.deepEqual(odd.kind === "record" && odd.fields.map((f) => f.name), ["front-left", "x y"]);
});

Deno.test("type references by index and by name, arrays of references", () => {
  const types: NamedType[] = [];
  types.push({ name: "Speed_T", type: parseSignature("S", types) });
  types.push({ name: "Pair_T", type: parseSignature('{"a"T[0]"b"T["Speed_T"]}', types) });
  const byIndex = parseSignature("T[1]", types);
  const byName = parseSignature('T["Pair_T"]', types);
  assert.equal(byIndex.kind, "ref");
  assert.deepEqual(byIndex, byName);
  assert.equal(byIndex.kind === "ref" && byIndex.name, "Pair_T");
  assert.equal(resolved(byIndex).kind, "record");
  assert.equal(packedSize(byIndex), 4);
  const arr = parseSignature("T[0][5]", types);
  assert.equal(packedSize(arr), 10);
  assert.equal(formatSignature(arr), "T[0][5]");
  assert.equal(formatSignature(byName), "T[1]"); // written in the IDL 1.2 form
});

Deno.test("formatSignature writes what parseSignature reads", () => {
  const types: NamedType[] = [{ name: "X", type: parseSignature("C") }];
  for (
    const sig of [
      "C",
      "c(-128,127)",
      "S(0,10000)[4]",
      "a[16]",
      '{"Id"S"Ftb"C"Status"C(0,1)}',
      '{"a"{"b"{"c"L[2]}}}[2]',
      "T[0][3]",
      "u(-9223372036854775808,9223372036854775807)",
      "b",
      "b[4]",
      "B",
      "B(0,200)[2]",
      "A[8]",
      '{"On"b"Raw"B(1,9)"Id"A[4]"Flags"b[3]}',
    ]
  ) {
    assert.equal(formatSignature(parseSignature(sig, types)), sig);
  }
  // a bare a or A is written with its size
  assert.equal(formatSignature(parseSignature("a")), "a[1]");
  assert.equal(formatSignature(parseSignature("A")), "A[1]");
});

Deno.test("malformed signatures are SyntaxErrors that say what is wrong", () => {
  const types: NamedType[] = [{ name: "X", type: parseSignature("C") }];
  const cases: [string, RegExp][] = [
    ["", /expected a data signature/],
    ["Z", /unknown type code "Z"/],
    ["b(0,1)", /limits apply to integer types only, not to bool \("b"\)/],
    ["b(0,1)[2]", /limits apply to integer types only, not to bool/],
    ["b[0]", /array length must be at least 1/],
    ["b[2][2]", /arrays of arrays/],
    ["B(0,256)", /outside the range of "B" \(0\.\.255\)/],
    ["B(-1,5)", /outside the range of "B"/],
    ["A(0,1)", /limits apply to integer types only, not to strings/],
    ["A[4][2]", /arrays of arrays and of strings/],
    ["A[0]", /array length must be at least 1/],
    ["a(0,1)[3]", /limits apply to integer types only/],
    ['{"a"C}(0,1)', /limits apply to integer types only/],
    ["C(0,256)", /outside the range of "C"/],
    ["S(-1,5)", /outside the range of "S"/],
    ["c(5,1)", /lower limit 5 is above upper limit 1/],
    ["C(0;1)", /expected "," between the lower and upper limit/],
    ["C(0,1", /expected "\)" after the limits/],
    ["C(x,1)", /expected lower limit \(an integer\)/],
    ["C(0,99999999999999999999999)", /does not fit in 64 bits/],
    ["C[0]", /array length must be at least 1/],
    ["C[-2]", /array length must be at least 1/],
    ["C[10*]", /dynamic arrays/],
    ["C[3", /expected "\]" after the array length/],
    ["C[2][3]", /arrays of arrays/],
    ["a[4][2]", /arrays of arrays and of strings/],
    ["{", /record field name in double quotes/],
    ["{}", /record field name in double quotes/],
    ['{"a"C', /expected a field name or "}", found end of line/],
    ['{"a"C"a"S}', /record field "a" appears twice/],
    ['{"a"}', /unknown type code "}"/],
    ['{""C}', /record field name must not be empty/],
    ['{"a\tb"C}', /control character/],
    ["T[1]", /T\[1\] names no earlier type \(1 declared\)/],
    ['T["Y"]', /T\["Y"\] names no earlier type/],
    ["T(0)", /expected "\[" after "T"/],
    ["T[0", /expected "\]" after the type reference/],
    ["CC", /unexpected "C" after the data signature/],
  ];
  for (const [sig, pattern] of cases) {
    assert.throws(
      () => parseSignature(sig, types),
      (e) =>
        e instanceof SyntaxError && pattern.test(e.message) &&
        /^Line 1, column \d+: /.test(e.message),
      sig,
    );
  }
});

Deno.test("bounds are RangeErrors: array length, nesting depth, packed size", () => {
  assert.throws(() => parseSignature("C[65536]"), RangeError);
  assert.throws(() => parseSignature("C[100]", [], { maxArrayLength: 99 }), /more than 99/);
  const deep = '{"a"'.repeat(17) + "C" + "}".repeat(17);
  assert.throws(
    () => parseSignature(deep),
    (e) => e instanceof RangeError && /deeper than 16/.test(e.message),
  );
  const ok = '{"a"'.repeat(15) + "C" + "}".repeat(15);
  assert.equal(packedSize(parseSignature(ok)), 1);
  // a million-deep record fails fast at the bound, not with a stack overflow
  assert.throws(() => parseSignature('{"a"'.repeat(1_000_000)), RangeError);
  // depth counts through references
  const types: NamedType[] = [{ name: "D", type: parseSignature(ok) }];
  assert.throws(() => parseSignature('{"x"{"y"T[0]}}', types), RangeError);
  // size: 65535 × 65535 × 8 bytes is refused before anything of that size exists
  assert.throws(
    () => parseSignature('{"a"U[65535]}[65535]'),
    /packs to \d+ bytes, more than 1048576/,
  );
  assert.throws(() => parseSignature("a[2000]", [], { maxSize: 1000 }), RangeError);
});
