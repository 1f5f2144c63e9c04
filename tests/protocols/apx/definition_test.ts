/**
 * Whole definitions: structure, port offsets and file sizes, init values as
 * the initial .out/.in content, and every malformed-definition error with
 * its line number.
 */
import assert from "node:assert/strict";
import { parseDefinition } from "../../../protocols/apx/definition.ts";
import { initialFileData } from "../../../protocols/apx/port_data.ts";
import { BODY_CONTROLLER } from "./fixtures.ts";

Deno.test("a node with types, provide and require ports", () => {
  const def = parseDefinition(BODY_CONTROLLER);
  assert.equal(def.apxVersion, "1.2");
  assert.equal(def.nodeName, "BodyController");
  assert.deepEqual(def.fileNames, {
    definition: "BodyController.apx",
    out: "BodyController.out",
    in: "BodyController.in",
  });
  assert.deepEqual(def.types.map((t) => [t.index, t.name, t.signature, t.line]), [
    [0, "OnOff_T", "C(0,3)", 3],
    [1, "Speed_T", "S", 4],
    [2, "Dtc_T", '{"Id"S"Ftb"C"Status"C(0,1)}', 5],
  ]);
  assert.equal(def.types[0].attributes, 'VT("Off","On","Error","NotAvailable")');
  assert.deepEqual(def.types[0].valueTable, ["Off", "On", "Error", "NotAvailable"]);
  assert.equal(def.types[1].attributes, undefined);
});

Deno.test("offsets are the sum of earlier ports' packed sizes, per file", () => {
  const def = parseDefinition(BODY_CONTROLLER);
  const layout = (ports: typeof def.providePorts) =>
    ports.map((p) => [p.name, p.direction, p.offset, p.size]);
  assert.deepEqual(layout(def.providePorts), [
    ["VehicleSpeed", "provide", 0, 2],
    ["WheelSpeeds", "provide", 2, 8],
    ["LampState", "provide", 10, 1],
    ["DriverName", "provide", 11, 16],
    ["LastDtc", "provide", 27, 4],
    ["Odometer", "provide", 31, 8],
  ]);
  assert.deepEqual(layout(def.requirePorts), [
    ["VehicleMode", "require", 0, 1],
    ["Temperatures", "require", 1, 3],
    ["UserInfo", "require", 4, 12],
    ["Offset", "require", 16, 4],
    ["Dtcs", "require", 20, 8],
  ]);
  assert.equal(def.outFileSize, 39);
  assert.equal(def.inFileSize, 28);
});

Deno.test("init values as JSON, and as the initial .out and .in content", () => {
  const def = parseDefinition(BODY_CONTROLLER);
  assert.deepEqual(def.providePorts.map((p) => p.init), [
    65535,
    [0, 0, 0, 0],
    3,
    "Nobody",
    { Id: 65535, Ftb: 255, Status: 255 }, // 0xFF beside the (0,1) limit, as in c-apx's examples
    "18446744073709551615",
  ]);
  assert.deepEqual(def.requirePorts.map((p) => p.init), [
    15,
    [-40, -40, -40],
    undefined,
    -1,
    [{ Id: 1, Ftb: 2, Status: 1 }, { Id: 3, Ftb: 4, Status: 0 }],
  ]);
  assert.equal(
    initialFileData(def, "provide").toHex(),
    "ffff" + "0000000000000000" + "03" + "4e6f626f6479" + "00".repeat(10) + "ffffffff" +
      "ff".repeat(8),
  );
  assert.equal(
    initialFileData(def, "require").toHex(),
    "0f" + "d8d8d8" + "00".repeat(12) + "ffffffff" + "01000201" + "03000400",
  );
});

Deno.test("layout of a small definition, byte by byte (little-endian, no padding)", () => {
  const def = parseDefinition(
    'APX/1.2\nN"Tiny"\nP"A"C:=1\nP"B"L:=0x04030201\nP"C"s:=-2\nR"X"S:=0x1234\n',
  );
  assert.deepEqual(def.providePorts.map((p) => p.offset), [0, 1, 5]);
  assert.equal(initialFileData(def, "provide").toHex(), "01" + "01020304" + "feff");
  assert.equal(initialFileData(def, "require").toHex(), "3412");
});

Deno.test("a c-apx 0.3 node under an APX/1.2 header: b, B and A ports get their layout", () => {
  const def = parseDefinition(
    'APX/1.2\nN"CapxNode"\nT"Flag_T"b:VT("Off","On")\n' +
      'P"Enabled"b:=1\nP"Flags"b[3]:={0,1,0}\nP"Raw"B:=0xFF\nP"Level"B(0,100)[2]:={0,100}\n' +
      'P"Tag"A[4]:="ab"\nP"Letter"A:="x"\nP"Mode"T[0]:=0\n' +
      'R"Status"{"On"b"Count"B"Id"A[3]}:={1,7,"id"}\nR"Quiet"b\n',
  );
  assert.deepEqual(def.providePorts.map((p) => [p.name, p.signature, p.offset, p.size]), [
    ["Enabled", "b", 0, 1],
    ["Flags", "b[3]", 1, 3],
    ["Raw", "B", 4, 1],
    ["Level", "B(0,100)[2]", 5, 2],
    ["Tag", "A[4]", 7, 4],
    ["Letter", "A", 11, 1],
    ["Mode", "T[0]", 12, 1],
  ]);
  assert.deepEqual(def.providePorts.map((p) => p.init), [
    true,
    [false, true, false],
    255,
    [0, 100],
    "ab",
    "x",
    false,
  ]);
  assert.equal(
    initialFileData(def, "provide").toHex(),
    "01" + "000100" + "ff" + "0064" + "61620000" + "78" + "00",
  );
  assert.deepEqual(def.requirePorts.map((p) => p.init), [
    { On: true, Count: 7, Id: "id" },
    undefined,
  ]);
  assert.equal(initialFileData(def, "require").toHex(), "01" + "07" + "696400" + "00");
  assert.equal(def.inFileSize, 6);
});

Deno.test("no init value means zeros; a node without ports has empty files", () => {
  const def = parseDefinition('APX/1.2\nN"Quiet"\nR"A"{"x"L"y"a[3]}\n');
  assert.equal(def.requirePorts[0].init, undefined);
  assert.deepEqual(initialFileData(def, "require"), new Uint8Array(7));
  const empty = parseDefinition('APX/1.2\nN"Empty"\n');
  assert.equal(empty.outFileSize, 0);
  assert.equal(empty.inFileSize, 0);
  assert.equal(initialFileData(empty, "provide").length, 0);
});

Deno.test("lenient where the references are: blank lines, CRLF, comments, P attribute, bytes in", () => {
  const text = 'APX/1.2\r\n\r\n# made by hand\r\nN"N1"\r\n' +
    'T"T1"C:VT("a","b"),RS(0,1,"km/h")\r\n' +
    'P"A"T[0]:=1,P  # a parameter\r\n' +
    'P"B"T["T1"]:P\n' +
    'R"C"{"x"C"y"S}:= { 1 , 2 }\n\n';
  const def = parseDefinition(new TextEncoder().encode(text + "\0\0"));
  assert.deepEqual(def.providePorts.map((p) => [p.name, p.parameter, p.init]), [
    ["A", true, 1],
    ["B", true, undefined],
  ]);
  assert.deepEqual(def.requirePorts[0].init, { x: 1, y: 2 });
  assert.equal(def.types[0].attributes, 'VT("a","b"),RS(0,1,"km/h")');
  assert.deepEqual(def.types[0].valueTable, ["a", "b"]);
  assert.equal(def.providePorts[0].line, 6);
  // provide and require ports may alternate
  const mixed = parseDefinition('APX/1.2\nN"M"\nR"a"C\nP"b"S\nR"c"L\n');
  assert.deepEqual(mixed.requirePorts.map((p) => p.offset), [0, 1]);
  // a provide and a require port may share a name
  assert.doesNotThrow(() => parseDefinition('APX/1.2\nN"M"\nR"a"C\nP"a"C\n'));
});

Deno.test("malformed definitions: SyntaxError naming the line and the problem", () => {
  const H = 'APX/1.2\nN"Node"\n';
  const cases: [string, number, RegExp][] = [
    ["", 1, /expected the header "APX\/1.2", found no text/],
    ['N"Node"\n', 1, /expected the header "APX\/1.2"/],
    ['APX/1.3\nN"Node"\n', 1, /unsupported APX version 1.3/],
    ["APX/2.0\n", 1, /unsupported APX version 2.0/],
    ["APX/1.2\n", 2, /no node line/],
    ['APX/1.2\nP"A"C\n', 2, /port declaration before the node line/],
    ['APX/1.2\nT"A"C\n', 2, /type declaration before the node line/],
    [H + 'N"Other"\n', 3, /exactly one node line/],
    [H + 'P"A"C\nT"B"S\n', 4, /must come before the port declarations/],
    [H + 'X"A"C\n', 3, /unknown statement "X"/],
    [H + ' P"A"C\n', 3, /unknown statement " "/],
    ['APX/1.2\nN"Node\n', 2, /node name has no closing double quote/],
    ['APX/1.2\nN""\n', 2, /node name must not be empty/],
    ["APX/1.2\nNNode\n", 2, /expected node name in double quotes/],
    ['APX/1.2\nN"Node"x\n', 2, /unexpected "x" after the statement/],
    [H + 'P"A"\n', 3, /expected a data signature, found end of line/],
    [H + 'P"A"Z\n', 3, /unknown type code "Z"/],
    [H + 'P"A"C(0,300)\n', 3, /outside the range of "C"/],
    [H + 'P"A"C[10*]\n', 3, /dynamic arrays/],
    [H + 'P"A"{"x"C\n', 3, /expected a field name or "}"/],
    [H + 'P"A"T[0]\n', 3, /T\[0\] names no earlier type/],
    [H + 'T"A"T[0]\n', 3, /T\[0\] names no earlier type/], // no self or forward references
    [H + 'T"A"C\nT"A"S\n', 4, /type "A" is declared twice/],
    [H + 'P"A"C\nP"A"S\n', 4, /provide port "A" is declared twice/],
    [H + 'P"A"C:\n', 3, /expected a port attribute/],
    [H + 'P"A"C:Q[10]\n', 3, /queued ports/],
    [H + 'P"A"C:X\n', 3, /expected a port attribute/],
    [H + 'P"A"C:=1,=2\n', 3, /two init values/],
    [H + 'P"A"C:=\n', 3, /expected init value/],
    [H + 'P"A"C:=256\n', 3, /init value 256 is outside the range of "C" \(0..255\)/],
    [H + 'P"A"C:=-1\n', 3, /init value -1 is outside the range/],
    [H + 'P"A"c:=0xFF\n', 3, /init value 255 is outside the range of "c"/],
    [H + 'P"A"C:="x"\n', 3, /init value must be an integer/],
    [H + 'P"A"a[4]:=5\n', 3, /init value must be a string/],
    [H + 'P"A"a[4]:="hello"\n', 3, /5 bytes, more than the string size 4/],
    [H + 'P"A"a[4]:="abc\n', 3, /string init value has no closing double quote/],
    [H + 'P"A"C[3]:={1,2}\n', 3, /must be a list of 3 elements/],
    [H + 'P"A"C[3]:=1\n', 3, /must be a list of 3 elements/],
    [H + 'P"A"{"x"C"y"C}:={1}\n', 3, /must be a list of 2 record fields/],
    [H + 'P"A"{"x"C"y"C[2]}:={1,{2,300}}\n', 3, /init value\.y\[1\] 300 is outside/],
    [H + 'P"A"C[2]:={}\n', 3, /must not be empty/],
    [H + 'P"A"C[3]:={1,,2}\n', 3, /expected init value/],
    [H + 'P"A"C[2]:={1,2\n', 3, /"," or "}" in the init value list/],
    [H + 'P"A"C:=1 2\n', 3, /unexpected "2" after the statement/],
    [H + 'P"A"b(0,1)\n', 3, /limits apply to integer types only, not to bool/],
    [H + 'P"A"b:="1"\n', 3, /init value of a bool \("b"\) must be an integer/],
    [H + 'P"A"b[2]:={1,"x"}\n', 3, /init value\[1\] of a bool \("b"\) must be an integer/],
    [H + 'P"A"B:=256\n', 3, /init value 256 is outside the range of "B" \(0..255\)/],
    [H + 'P"A"B(0,300)\n', 3, /outside the range of "B"/],
    [H + 'P"A"A(0,1)\n', 3, /limits apply to integer types only, not to strings/],
    [H + 'P"A"A[2]:="abc"\n', 3, /3 bytes, more than the string size 2/],
    [H + 'P"A"A[2]:=1\n', 3, /init value must be a string/],
    [H + 'T"A"C:VT("a"\n', 3, /VT\( has no closing/],
    [H + 'T"A"C:(1)\n', 3, /expected a type attribute/],
  ];
  for (const [text, line, pattern] of cases) {
    assert.throws(
      () => parseDefinition(text),
      (e) =>
        e instanceof SyntaxError && pattern.test(e.message) &&
        e.message.startsWith(`Line ${line}`),
      JSON.stringify(text),
    );
  }
});

Deno.test("bounds: text size, file size, depth and array length fail before allocating", () => {
  const H = 'APX/1.2\nN"Node"\n';
  assert.throws(() => parseDefinition(H + "#".repeat(2_000_000)), RangeError);
  assert.throws(() => parseDefinition(new Uint8Array(2_000_000)), RangeError);
  assert.throws(() => parseDefinition(H, { maxTextBytes: 10 }), /larger than 10 bytes/);
  // many ports that together exceed a file
  const many = H + Array.from({ length: 20 }, (_, i) => `P"p${i}"U[8000]\n`).join("");
  assert.throws(
    () => parseDefinition(many),
    (e) => e instanceof RangeError && /^Line 19, .*more than the 1048576 allowed/.test(e.message),
  );
  assert.equal(parseDefinition(many, { maxFileSize: 20 * 64000 }).outFileSize, 20 * 64000);
  assert.throws(() => parseDefinition(H + 'P"A"C[70000]\n'), /Line 3.*more than 65535/);
  assert.throws(
    () => parseDefinition(H + 'P"A"' + '{"a"'.repeat(40) + "C" + "}".repeat(40)),
    RangeError,
  );
  const deepInit = H + 'P"A"C:=' + "{".repeat(100) + "1" + "}".repeat(100) + "\n";
  assert.throws(
    () => parseDefinition(deepInit),
    (e) => e instanceof RangeError && /Line 3/.test(e.message),
  );
  assert.throws(() => parseDefinition(new Uint8Array([0x41, 0xff, 0x0a])), /not valid UTF-8/);
});

Deno.test("a bool's init value is any integer, non-zero true, as c-apx reads it", () => {
  const def = parseDefinition('APX/1.2\nN"N"\nP"A"b:=255\nP"B"b:=0\nP"C"b[2]:={-1,0}\n');
  assert.deepEqual(def.providePorts.map((p) => p.init), [true, false, [true, false]]);
});
