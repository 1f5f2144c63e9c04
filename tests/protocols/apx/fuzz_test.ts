/**
 * Fuzzing the definition parser with random and mutated text: it either
 * returns a definition whose files and ports work, or throws SyntaxError or
 * RangeError, and it never hangs.
 */
import assert from "node:assert/strict";
import { type ApxDefinition, parseDefinition } from "../../../protocols/apx/definition.ts";
import { initialFileData, readPort } from "../../../protocols/apx/port_data.ts";
import { writeDefinition } from "../../../protocols/apx/writer.ts";
import { below, BODY_CONTROLLER, prng } from "./fixtures.ts";

const PIECES = [
  "APX/1.2\n",
  'N"N"',
  'T"T"',
  'P"p"',
  'R"r"',
  "C",
  "S",
  "L",
  "U",
  "c",
  "s",
  "l",
  "u",
  "a",
  "q",
  "b",
  "B",
  "A",
  "{",
  "}",
  "[",
  "]",
  "(",
  ")",
  ",",
  ":",
  "=",
  '"',
  "\n",
  "T[0]",
  'T["T"]',
  "0x",
  "-",
  "0",
  "1",
  "9",
  "255",
  "65535",
  "99999999999999999999",
  "*",
  "#",
  " ",
  "\r",
  "P",
  "Q",
  "VT(",
  '"x"',
  "{1,2}",
  "\0",
  "é",
];

/** Parses; only SyntaxError and RangeError may escape. */
function tryParse(text: string): ApxDefinition | undefined {
  try {
    return parseDefinition(text, { maxFileSize: 1 << 16 });
  } catch (e) {
    assert.ok(
      e instanceof SyntaxError || e instanceof RangeError,
      `unexpected ${(e as Error)?.name}: ${(e as Error)?.message} for ${JSON.stringify(text)}`,
    );
    if (e instanceof SyntaxError && !/not valid UTF-8|found no text/.test(e.message)) {
      assert.match(e.message, /^Line \d+/);
    }
    return undefined;
  }
}

/** What a successful parse must allow: files, port reads, writing back. */
function exercise(def: ApxDefinition): void {
  const out = initialFileData(def, "provide");
  const inn = initialFileData(def, "require");
  assert.equal(out.length, def.outFileSize);
  assert.equal(inn.length, def.inFileSize);
  for (const p of def.providePorts) readPort(p, out);
  for (const p of def.requirePorts) readPort(p, inn);
  const again = parseDefinition(writeDefinition(def), { maxFileSize: 1 << 16 });
  assert.equal(again.outFileSize, def.outFileSize);
  assert.equal(again.inFileSize, def.inFileSize);
}

Deno.test("random text made of APX pieces", () => {
  const rand = prng(1);
  let parsed = 0;
  for (let i = 0; i < 4000; i++) {
    let text = rand() < 0.8 ? 'APX/1.2\nN"N"\n' : "";
    const n = 1 + below(rand, 40);
    for (let j = 0; j < n; j++) text += PIECES[below(rand, PIECES.length)];
    const def = tryParse(text);
    if (def) {
      parsed++;
      exercise(def);
    }
  }
  assert.ok(parsed > 0);
});

Deno.test("mutations of a valid definition", () => {
  const rand = prng(2);
  const lines = BODY_CONTROLLER.split("\n");
  let parsed = 0;
  for (let i = 0; i < 4000; i++) {
    let text = BODY_CONTROLLER;
    for (let m = 1 + below(rand, 4); m > 0; m--) {
      const at = below(rand, text.length + 1);
      switch (below(rand, 6)) {
        case 0: // delete a span
          text = text.slice(0, at) + text.slice(at + 1 + below(rand, 5));
          break;
        case 1: // insert a piece
          text = text.slice(0, at) + PIECES[below(rand, PIECES.length)] + text.slice(at);
          break;
        case 2: // replace one character
          text = text.slice(0, at) + String.fromCharCode(below(rand, 128)) + text.slice(at + 1);
          break;
        case 3: // duplicate a line somewhere
          text = text.slice(0, at) + lines[below(rand, lines.length)] + "\n" + text.slice(at);
          break;
        case 4: // truncate
          text = text.slice(0, at);
          break;
        case 5: // repeat a span (nesting, long numbers)
          text = text.slice(0, at) + text.slice(at, at + 3).repeat(1 + below(rand, 50)) +
            text.slice(at + 3);
          break;
      }
    }
    const def = tryParse(text);
    if (def) {
      parsed++;
      exercise(def);
    }
  }
  assert.ok(parsed > 100, `only ${parsed} mutants parsed`);
});

Deno.test("pathological inputs are parsed or refused, without a stack overflow", () => {
  const H = 'APX/1.2\nN"N"\n';
  for (
    const text of [
      H + 'P"A"' + "{".repeat(100_000),
      H + 'P"A"' + '{"a"'.repeat(100_000),
      H + 'P"A"C:=' + "{".repeat(100_000),
      H + 'P"A"C[' + "9".repeat(100_000) + "]",
      H + 'P"A"C(' + "1".repeat(100_000),
      H + 'P"' + "x".repeat(500_000),
      H + 'T"A"C:VT(' + '"a",'.repeat(100_000),
      H + 'P"A"C\n'.repeat(1) + Array.from({ length: 30_000 }, (_, i) => `P"p${i}"C`).join("\n"),
      "\n".repeat(500_000),
    ]
  ) {
    tryParse(text);
  }
});
