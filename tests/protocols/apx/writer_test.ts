/**
 * The definition writer: text from a structure, re-parsed to the same
 * layout, and what it refuses to write.
 */
import assert from "node:assert/strict";
import { parseDefinition } from "../../../protocols/apx/definition.ts";
import { initialFileData } from "../../../protocols/apx/port_data.ts";
import { parseSignature } from "../../../protocols/apx/signature.ts";
import { writeDefinition } from "../../../protocols/apx/writer.ts";
import { BODY_CONTROLLER } from "./fixtures.ts";

Deno.test("writes a node: header, node, types, provide then require ports", () => {
  const text = writeDefinition({
    nodeName: "Gateway",
    types: [
      { name: "Speed_T", signature: "S" },
      { name: "OnOff_T", signature: "C(0,1)", attributes: 'VT("Off","On")' },
    ],
    requirePorts: [{ name: "Mode", signature: "C(0,3)", init: 3 }],
    providePorts: [
      { name: "Speed", signature: 'T["Speed_T"]', init: 65535 },
      { name: "Lamp", signature: "T[1]", init: 255, parameter: true }, // init may exceed limits
      { name: "Name", signature: "a[8]", init: "gw" },
      { name: "Big", signature: parseSignature("U"), init: "18446744073709551615" },
      { name: "Pos", signature: '{"x"s"y"s}[2]', init: [{ x: -1, y: 1 }, { x: 2, y: -2 }] },
      { name: "Raw", signature: "L[2]" },
    ],
  });
  assert.equal(
    text,
    [
      "APX/1.2",
      'N"Gateway"',
      'T"Speed_T"S',
      'T"OnOff_T"C(0,1):VT("Off","On")',
      'P"Speed"T[0]:=65535',
      'P"Lamp"T[1]:=255,P',
      'P"Name"a[8]:="gw"',
      'P"Big"U:=18446744073709551615',
      'P"Pos"{"x"s"y"s}[2]:={{-1,1},{2,-2}}',
      'P"Raw"L[2]',
      'R"Mode"C(0,3):=3',
      "",
    ].join("\n"),
  );
  const def = parseDefinition(text);
  assert.equal(def.outFileSize, 2 + 1 + 8 + 8 + 8 + 8);
  assert.equal(def.providePorts[1].parameter, true);
  assert.equal(initialFileData(def, "provide").subarray(0, 5).toHex(), "ffffff6777");
});

Deno.test("a parsed definition writes back to text with the same layout and data", () => {
  const def = parseDefinition(BODY_CONTROLLER);
  const again = parseDefinition(writeDefinition(def));
  const shape = (d: typeof def) => ({
    name: d.nodeName,
    types: d.types.map((t) => [t.name, t.type, t.valueTable]),
    ports: [...d.providePorts, ...d.requirePorts].map((p) => [
      p.name,
      p.direction,
      p.type,
      p.init,
      p.offset,
      p.size,
    ]),
  });
  assert.deepEqual(shape(again), shape(def));
  assert.deepEqual(initialFileData(again, "provide"), initialFileData(def, "provide"));
  assert.deepEqual(initialFileData(again, "require"), initialFileData(def, "require"));
  // and the written form is a fixed point
  assert.equal(writeDefinition(again), writeDefinition(def));
});

Deno.test("c-apx 0.3 letters b, B and A are written as given, bool inits as 0/1", () => {
  const text = writeDefinition({
    nodeName: "Capx",
    types: [{ name: "Flag_T", signature: "b", attributes: 'VT("Off","On")' }],
    providePorts: [
      { name: "On", signature: "T[0]", init: true },
      { name: "Flags", signature: "b[3]", init: [false, 1, 0] },
      { name: "Raw", signature: "B(0,100)", init: 255 }, // init may exceed limits
      { name: "Tag", signature: "A[4]", init: "ab" },
      { name: "Rec", signature: '{"a"b"b"B"c"A}', init: { a: false, b: 7, c: "z" } },
    ],
  });
  assert.equal(
    text,
    [
      "APX/1.2",
      'N"Capx"',
      'T"Flag_T"b:VT("Off","On")',
      'P"On"T[0]:=1',
      'P"Flags"b[3]:={0,1,0}',
      'P"Raw"B(0,100):=255',
      'P"Tag"A[4]:="ab"',
      'P"Rec"{"a"b"b"B"c"A[1]}:={0,7,"z"}',
      "",
    ].join("\n"),
  );
  const def = parseDefinition(text);
  assert.deepEqual(def.providePorts.map((p) => p.init), [
    true,
    [false, true, false],
    255,
    "ab",
    { a: false, b: 7, c: "z" },
  ]);
  assert.equal(
    initialFileData(def, "provide").toHex(),
    "01" + "000100" + "ff" + "61620000" + "00077a",
  );
  assert.equal(writeDefinition(def), text);
  assert.throws(
    () =>
      writeDefinition({ nodeName: "N", providePorts: [{ name: "A", signature: "b", init: 2 }] }),
    { name: "RangeError", message: "A init value must be true, false, 0 or 1, got 2" },
  );
  assert.throws(
    () => writeDefinition({ nodeName: "N", providePorts: [{ name: "A", signature: "b(0,1)" }] }),
    (e) => e instanceof SyntaxError && /not to bool/.test(e.message),
  );
});

Deno.test("refuses what cannot be written, naming it", () => {
  const w = (input: Parameters<typeof writeDefinition>[0]) => () => writeDefinition(input);
  assert.throws(w({ nodeName: "" }), /node name must be 1 to 255 characters/);
  assert.throws(w({ nodeName: 'a"b' }), TypeError);
  assert.throws(w({ nodeName: "n\nP" }), TypeError);
  assert.throws(
    w({ nodeName: "N", providePorts: [{ name: "A", signature: "Z" }] }),
    (e) =>
      e instanceof SyntaxError && /Signature of port "A": .*unknown type code "Z"/.test(e.message),
  );
  assert.throws(
    w({ nodeName: "N", providePorts: [{ name: "A", signature: "C", init: 256 }] }),
    { name: "RangeError", message: "A init value must be ≤ 255, got 256" },
  );
  assert.throws(
    w({ nodeName: "N", providePorts: [{ name: "A", signature: "a[9]", init: 'say "hi"' }] }),
    (e) => e instanceof TypeError && /cannot be written in APX/.test(e.message),
  );
  assert.throws(
    w({ nodeName: "N", requirePorts: [{ name: "A", signature: "T[0]" }] }),
    /T\[0\] names no earlier type/,
  );
  assert.throws(
    w({ nodeName: "N", types: [{ name: "T", signature: "C", attributes: "VT(" }] }),
    SyntaxError,
  );
  assert.throws(
    w({ nodeName: "N", types: [{ name: "T", signature: "C", attributes: "a\nP" }] }),
    TypeError,
  );
  assert.throws(
    w({
      nodeName: "N",
      providePorts: [{ name: "A", signature: "C" }, { name: "A", signature: "S" }],
    }),
    /provide port "A" is declared twice/,
  );
});
