/**
 * Port init values (`:=…` in a port declaration) ⇄ JSON values.
 *
 * Syntax (cogu/apx `apx_idl_12.md` "Init-Value"; py-apx PortAttribute; c-apx
 * `attribute_parser.c`): a decimal integer with optional `-`, a `0x`
 * hexadecimal integer, a `"string"`, or a non-empty brace list `{a, b, …}`
 * of those for arrays and records (nested for records in records). Spaces
 * are allowed around list items. A bool (`b`) takes `0` or `1` and becomes
 * false or true.
 *
 * An init value must fit its type's range, strings its size and lists the
 * exact element or field count; it may sit outside declared limits, as the
 * reference examples do (`C(0,1)` with init `0xFF`).
 *
 * @example
 * ```ts
 * const t = parseSignature('{"ID"S"FTB"C}');
 * const init = readInitValue(new LineCursor("{0xFFFF, 0xFF}", 1), 16);
 * initToValue(t, init); // { ID: 65535, FTB: 255 }
 * formatInitValue(t, { ID: 65535, FTB: 255 }); // "{65535,255}"
 * ```
 */
import { utf8Length } from "../../lib/bytes.ts";
import { type DataType, intRange, resolved } from "./data_type.ts";
import type { LineCursor } from "./text_cursor.ts";
import { type ApxValue, int64Json } from "./value_codec.ts";

/** An init value as written, before it is matched against a type. */
export type InitValue =
  | { readonly kind: "int"; readonly value: bigint }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "list"; readonly items: readonly InitValue[] };

/** Reads an init value at the cursor; lists nest at most `maxDepth` deep (RangeError). */
export function readInitValue(c: LineCursor, maxDepth: number, depth = 1): InitValue {
  c.skipSpaces();
  const next = c.peek();
  if (next === '"') return { kind: "string", value: c.stringLiteral("string init value") };
  if (next !== "{") return { kind: "int", value: c.integer("init value") };
  if (depth > maxDepth) c.tooLarge(`init value lists nest deeper than ${maxDepth}`);
  c.pos++;
  c.skipSpaces();
  if (c.peek() === "}") c.fail("an init value list must not be empty");
  const items: InitValue[] = [];
  for (;;) {
    items.push(readInitValue(c, maxDepth, depth + 1));
    c.skipSpaces();
    if (c.eat("}")) return { kind: "list", items };
    c.expect(",", '"," or "}" in the init value list');
  }
}

/**
 * Matches an init value against a type and gives its JSON value; throws
 * SyntaxError (message without a line) when they do not fit.
 */
export function initToValue(t: DataType, init: InitValue, path = "init value"): ApxValue {
  const r = resolved(t);
  switch (r.kind) {
    case "int": {
      if (init.kind !== "int") throw new SyntaxError(`${path} must be an integer`);
      const { min, max } = intRange(r);
      if (init.value < min || init.value > max) {
        throw new SyntaxError(
          `${path} ${init.value} is outside the range of "${r.code}" (${min}..${max})`,
        );
      }
      return int64Json(init.value);
    }
    case "bool": {
      // As c-apx reads it: any integer, non-zero is true.
      if (init.kind !== "int") throw new SyntaxError(`${path} of a bool ("b") must be an integer`);
      return init.value !== 0n;
    }
    case "string": {
      if (init.kind !== "string") throw new SyntaxError(`${path} must be a string`);
      const size = utf8Length(init.value);
      if (size > r.length) {
        throw new SyntaxError(`${path} is ${size} bytes, more than the string size ${r.length}`);
      }
      return init.value;
    }
    case "array": {
      if (init.kind !== "list" || init.items.length !== r.length) {
        throw new SyntaxError(`${path} must be a list of ${r.length} elements`);
      }
      return init.items.map((item, i) => initToValue(r.element, item, `${path}[${i}]`));
    }
    case "record": {
      if (init.kind !== "list" || init.items.length !== r.fields.length) {
        throw new SyntaxError(`${path} must be a list of ${r.fields.length} record fields`);
      }
      return Object.fromEntries(
        r.fields.map((f, i) => [f.name, initToValue(f.type, init.items[i], `${path}.${f.name}`)]),
      );
    }
  }
}

/**
 * Writes a JSON value (already valid for `t`, e.g. checked by encodeValue)
 * as init value text. Strings may not contain `"` or control characters,
 * which IDL 1.2 string literals cannot carry (TypeError).
 */
export function formatInitValue(t: DataType, value: ApxValue): string {
  const r = resolved(t);
  switch (r.kind) {
    case "int":
      return String(value);
    case "bool": // true/false, or the 0/1 encodeValue also takes
      return value === true || value === 1 ? "1" : "0";
    case "string": {
      const text = String(value);
      // deno-lint-ignore no-control-regex
      if (/["\x00-\x1f\x7f]/.test(text)) {
        throw new TypeError(`String init value ${JSON.stringify(text)} cannot be written in APX`);
      }
      return `"${text}"`;
    }
    case "array":
      return `{${(value as ApxValue[]).map((v) => formatInitValue(r.element, v)).join(",")}}`;
    case "record": {
      const record = value as Record<string, ApxValue>;
      return `{${r.fields.map((f) => formatInitValue(f.type, record[f.name])).join(",")}}`;
    }
  }
}
