/**
 * APX IDL 1.2 data signatures: text ⇄ {@link DataType}.
 *
 * Grammar (cogu/apx `apx_idl_12.md`, with what py-apx and c-apx 0.3 also
 * accept):
 * ```
 * signature := base limits? array?
 * base      := C S L U c s l u (integers; q Q also read as 64-bit; B = byte, u8)
 *            | b (bool, 1 byte) | a | A (char8: a string like a)
 *            | '{' ('"' name '"' signature)+ '}' | 'T[' index ']' | 'T["' name '"]'
 * limits    := '(' lower ',' upper ')'    integers only, placed before the array
 * array     := '[' length ']'             length ≥ 1; on `a`/`A` it is the string size
 * ```
 * `b`, `B` and `A` are not in IDL 1.2, but c-apx 0.3 nodes write them under
 * an `APX/1.2` header, so they are read (and written back as given).
 * Spaces are allowed inside `()` and `[]` (c-apx skips them). Dynamic arrays
 * `[n*]` are IDL 1.3 (c-apx 0.3 packs a u8/u16/u32 length before them) and are
 * refused here. A type reference must name an earlier `T` line, so reference
 * cycles cannot be written.
 *
 * @example
 * ```ts
 * const t = parseSignature('{"Id"S"Status"C(0,1)}');
 * formatSignature(t); // '{"Id"S"Status"C(0,1)}'
 * ```
 */
import {
  type DataType,
  INT_CODES,
  intRange,
  intType,
  packedSize,
  type RefType,
  typeDepth,
} from "./data_type.ts";
import { LineCursor } from "./text_cursor.ts";

/** Bounds applied while parsing, before anything of that size exists. */
export interface SignatureLimits {
  /** Deepest nesting of arrays and records, through type references. Default 16. */
  maxDepth?: number;
  /** Longest array or string. Default 65535. */
  maxArrayLength?: number;
  /** Largest packed size of one type, in bytes. Default 1 MiB. */
  maxSize?: number;
}

/** A type declaration that references can name. */
export interface NamedType {
  readonly name: string;
  readonly type: DataType;
}

/** Defaults for {@link SignatureLimits}. */
export const DEFAULT_SIGNATURE_LIMITS: Required<SignatureLimits> = {
  maxDepth: 16,
  maxArrayLength: 65535,
  maxSize: 1 << 20,
};

/**
 * Reads one signature at the cursor and leaves the cursor after it.
 * `types` are the type declarations a `T[…]` may reference; `indexOf` finds
 * one by name (give a map lookup when there are many).
 */
export function readSignature(
  c: LineCursor,
  types: readonly NamedType[],
  limits: SignatureLimits = {},
  indexOf: (name: string) => number = (name) => types.findIndex((t) => t.name === name),
): DataType {
  const bounds = { ...DEFAULT_SIGNATURE_LIMITS, ...limits, indexOf };
  return readType(c, types, bounds, 1);
}

/** Bounds plus how to find a type by name (a map lookup when the caller keeps one). */
type Context = Required<SignatureLimits> & { indexOf: (name: string) => number };

/** Parses a whole signature string (SyntaxError if anything is left over). */
export function parseSignature(
  text: string,
  types: readonly NamedType[] = [],
  limits: SignatureLimits = {},
): DataType {
  const c = new LineCursor(text, 1);
  const t = readSignature(c, types, limits);
  if (!c.done) c.fail(`unexpected ${c.describeNext()} after the data signature`);
  return t;
}

function readType(
  c: LineCursor,
  types: readonly NamedType[],
  bounds: Context,
  depth: number,
): DataType {
  const start = c.pos;
  const code = c.peek();
  let base: DataType;
  if (Object.hasOwn(INT_CODES, code)) {
    c.pos++;
    base = intType(code, readLimits(c, code));
  } else if (code === "a" || code === "A") {
    c.pos++;
    if (c.peek() === "(") c.fail("limits apply to integer types only, not to strings");
    // A bare `a` is one character; IDL 1.2 says strings are always `a[n]`.
    const length = c.peek() === "[" ? readArrayLength(c, bounds) : 1;
    base = code === "A" ? { kind: "string", length, code } : { kind: "string", length };
  } else if (code === "b") {
    c.pos++;
    if (c.peek() === "(") c.fail('limits apply to integer types only, not to bool ("b")');
    base = { kind: "bool" };
  } else if (code === "{") {
    if (depth + 1 > bounds.maxDepth) {
      c.tooLarge(`records and arrays nest deeper than ${bounds.maxDepth}`);
    }
    c.pos++;
    base = readRecord(c, types, bounds, depth + 1);
  } else if (code === "T") {
    c.pos++;
    base = readReference(c, types, bounds.indexOf);
  } else if (c.done) {
    c.fail("expected a data signature, found end of line");
  } else {
    c.fail(`unknown type code ${c.describeNext()}`);
  }
  if (c.peek() === "(") c.fail("limits apply to integer types only");
  // On `a`/`A` the brackets were the string size; APX 1.2 has no arrays of strings.
  if (c.peek() === "[" && base.kind !== "string") {
    const length = readArrayLength(c, bounds);
    base = { kind: "array", element: base, length };
  }
  if (c.peek() === "[") c.fail("arrays of arrays and of strings are not part of APX 1.2");
  if (typeDepth(base) > bounds.maxDepth) {
    c.tooLarge(`records and arrays nest deeper than ${bounds.maxDepth}`, start);
  }
  const size = packedSize(base);
  if (size > bounds.maxSize) {
    c.tooLarge(`data signature packs to ${size} bytes, more than ${bounds.maxSize}`, start);
  }
  return base;
}

function readLimits(c: LineCursor, code: string): { lower: bigint; upper: bigint } | undefined {
  const start = c.pos;
  if (!c.eat("(")) return undefined;
  c.skipSpaces();
  const lower = c.integer("lower limit");
  c.skipSpaces();
  c.expect(",", '"," between the lower and upper limit');
  c.skipSpaces();
  const upper = c.integer("upper limit");
  c.skipSpaces();
  c.expect(")", '")" after the limits');
  const { min, max } = intRange(intType(code));
  if (lower < min || upper > max) {
    c.fail(`limits (${lower},${upper}) are outside the range of "${code}" (${min}..${max})`, start);
  }
  if (lower > upper) c.fail(`lower limit ${lower} is above upper limit ${upper}`, start);
  return { lower, upper };
}

function readArrayLength(c: LineCursor, bounds: Context): number {
  const start = c.pos;
  c.expect("[", '"["');
  c.skipSpaces();
  const length = c.integer("array length");
  c.skipSpaces();
  if (c.peek() === "*") c.fail("dynamic arrays ([n*]) are APX 1.3, not 1.2");
  c.expect("]", '"]" after the array length');
  if (length < 1n) c.fail(`array length must be at least 1, got ${length}`, start);
  if (length > BigInt(bounds.maxArrayLength)) {
    c.tooLarge(`array length ${length} is more than ${bounds.maxArrayLength}`, start);
  }
  return Number(length);
}

function readRecord(
  c: LineCursor,
  types: readonly NamedType[],
  bounds: Context,
  depth: number,
): DataType {
  const fields: { name: string; type: DataType }[] = [];
  const seen = new Set<string>();
  for (;;) {
    const at = c.pos;
    const name = c.name("record field name");
    if (seen.has(name)) c.fail(`record field "${name}" appears twice`, at);
    seen.add(name);
    fields.push({ name, type: readType(c, types, bounds, depth) });
    if (c.eat("}")) return { kind: "record", fields };
    if (c.peek() !== '"') c.fail(`expected a field name or "}", found ${c.describeNext()}`);
  }
}

function readReference(
  c: LineCursor,
  types: readonly NamedType[],
  indexOf: (name: string) => number,
): RefType {
  const start = c.pos - 1;
  c.expect("[", '"[" after "T" (a type reference)');
  c.skipSpaces();
  let index: number;
  if (c.peek() === '"') {
    // By name: py-apx and c-apx accept it although IDL 1.2 lists it for 1.3.
    const name = c.name("type name");
    index = indexOf(name);
    if (index < 0) c.fail(`type reference T["${name}"] names no earlier type`, start);
  } else {
    const i = c.integer("type index");
    if (i < 0n || i >= BigInt(types.length)) {
      c.fail(`type reference T[${i}] names no earlier type (${types.length} declared)`, start);
    }
    index = Number(i);
  }
  c.skipSpaces();
  c.expect("]", '"]" after the type reference');
  return { kind: "ref", index, name: types[index].name, target: types[index].type };
}

/**
 * Writes a type as IDL 1.2 signature text (references as `T[index]`); c-apx's
 * `b`, `B` and `A` keep their letter.
 */
export function formatSignature(t: DataType): string {
  switch (t.kind) {
    case "int":
      return t.limits ? `${t.code}(${t.limits.lower},${t.limits.upper})` : t.code;
    case "bool":
      return "b";
    case "string":
      return `${t.code ?? "a"}[${t.length}]`;
    case "array":
      return `${formatSignature(t.element)}[${t.length}]`;
    case "record":
      return `{${t.fields.map((f) => `"${f.name}"${formatSignature(f.type)}`).join("")}}`;
    case "ref":
      return `T[${t.index}]`;
  }
}
