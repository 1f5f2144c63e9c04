/**
 * The data types of APX IDL 1.2 as a tree, and their packed sizes.
 *
 * Facts (APX IDL v1.2, cogu/apx `specifications/idl/apx_idl_12.md`; py-apx
 * `apx/base.py` DataSignature.packLen; c-apx `apx/src/compiler.c`):
 * - Integer type codes: `c s l u` = int8/16/32/64, `C S L U` = uint8/16/32/64.
 *   c-apx 0.3 (IDL 1.3) spells 64-bit as `q`/`Q` and reuses `u`/`U` for
 *   char16/char32; we read `q`/`Q` as 64-bit too, and `u`/`U` as IDL 1.2 says.
 * - `a[n]` is a string of at most n bytes (n bytes in the data, NUL-padded).
 * - Letters real c-apx 0.3 nodes write under an `APX/1.2` header (c-apx
 *   `signature_parser.c`, `compiler.c`, `deserializer.c`): `B` (byte) is one
 *   unsigned byte, limits allowed as on `C`, so it is read as a u8 integer;
 *   `b` (bool) is one byte, 0 = false and anything else true, no limits;
 *   `A` (char8) is one byte per character like `a`, so `A[n]` is read as a
 *   string of n bytes and a bare `A` as one character.
 * - `X[n]` arrays repeat the element n times; `{"name"X…}` records lay their
 *   fields out one after another in declaration order; `T[i]` references
 *   type declaration i.
 * - Packing has no alignment or padding: a type's size is the sum of its
 *   parts, integers little-endian.
 *
 * @example
 * ```ts
 * const u16: DataType = intType("S");
 * packedSize({ kind: "array", element: u16, length: 4 }); // 8
 * packedSize({ kind: "array", element: { kind: "bool" }, length: 3 }); // 3
 * ```
 */

/** The integer kinds of APX: unsigned and signed, 8 to 64 bits. */
export type IntKind = "u8" | "u16" | "u32" | "u64" | "s8" | "s16" | "s32" | "s64";

/** An integer (scalar); `limits` only when the signature declares `(lower,upper)`. */
export interface IntType {
  readonly kind: "int";
  /** The type code letter as written (`C`, `s`, `Q`, …). */
  readonly code: string;
  readonly int: IntKind;
  /** Bytes in packed data: 1, 2, 4 or 8. */
  readonly size: number;
  readonly signed: boolean;
  readonly limits?: { readonly lower: bigint; readonly upper: bigint };
}

/** A string (`a[n]` or c-apx's `A[n]`): n bytes of UTF-8, NUL-padded. */
export interface StringType {
  readonly kind: "string";
  readonly length: number;
  /** `"A"` when written with c-apx's char8 letter; absent for `a`. */
  readonly code?: "A";
}

/** A boolean (`b`, c-apx 0.3): one byte, 0 = false, non-zero = true; no limits. */
export interface BoolType {
  readonly kind: "bool";
}

/** A fixed-length array of any other type (`C[3]`, `T[0][2]`, `{…}[4]`). */
export interface ArrayType {
  readonly kind: "array";
  readonly element: DataType;
  readonly length: number;
}

/** A record (`{"a"C"b"S}`): named fields in declaration order. */
export interface RecordType {
  readonly kind: "record";
  readonly fields: readonly { readonly name: string; readonly type: DataType }[];
}

/** A reference to a type declaration (`T[0]` or `T["Name"]`), already resolved. */
export interface RefType {
  readonly kind: "ref";
  /** Index of the type declaration (0 = the first `T` line). */
  readonly index: number;
  readonly name: string;
  readonly target: DataType;
}

/** Any APX data type. */
export type DataType = IntType | BoolType | StringType | ArrayType | RecordType | RefType;

interface IntInfo {
  readonly int: IntKind;
  readonly size: number;
  readonly signed: boolean;
}

/**
 * Type code letter → integer kind (IDL 1.2, plus c-apx 0.3's `q`/`Q` for
 * 64-bit and `B` for byte).
 */
export const INT_CODES: Readonly<Record<string, IntInfo>> = {
  C: { int: "u8", size: 1, signed: false },
  B: { int: "u8", size: 1, signed: false },
  S: { int: "u16", size: 2, signed: false },
  L: { int: "u32", size: 4, signed: false },
  U: { int: "u64", size: 8, signed: false },
  Q: { int: "u64", size: 8, signed: false },
  c: { int: "s8", size: 1, signed: true },
  s: { int: "s16", size: 2, signed: true },
  l: { int: "s32", size: 4, signed: true },
  u: { int: "s64", size: 8, signed: true },
  q: { int: "s64", size: 8, signed: true },
};

/** Builds an integer type from its code letter, with optional limits. */
export function intType(code: string, limits?: { lower: bigint; upper: bigint }): IntType {
  const info = INT_CODES[code];
  if (!Object.hasOwn(INT_CODES, code)) throw new TypeError(`Unknown integer type code "${code}"`);
  return limits ? { kind: "int", code, ...info, limits } : { kind: "int", code, ...info };
}

/** The full range of an integer kind, as bigints. */
export function intRange(t: IntType): { min: bigint; max: bigint } {
  const bits = BigInt(t.size * 8);
  return t.signed
    ? { min: -(1n << (bits - 1n)), max: (1n << (bits - 1n)) - 1n }
    : { min: 0n, max: (1n << bits) - 1n };
}

/** Follows references until a non-reference type. */
export function resolved(t: DataType): Exclude<DataType, RefType> {
  while (t.kind === "ref") t = t.target;
  return t;
}

// Types are immutable, so sizes can be cached; refs make the tree a DAG.
const sizes = new WeakMap<DataType, number>();

/** Bytes the type occupies in packed port data. */
export function packedSize(t: DataType): number {
  const cached = sizes.get(t);
  if (cached !== undefined) return cached;
  let size: number;
  switch (t.kind) {
    case "int":
      size = t.size;
      break;
    case "bool":
      size = 1;
      break;
    case "string":
      size = t.length;
      break;
    case "array":
      size = packedSize(t.element) * t.length;
      break;
    case "record":
      size = 0;
      for (const f of t.fields) size += packedSize(f.type);
      break;
    case "ref":
      size = packedSize(t.target);
      break;
  }
  sizes.set(t, size);
  return size;
}

/** Nesting depth: 1 for a scalar (integer, bool) or string, +1 per array or record level (through refs). */
export function typeDepth(t: DataType): number {
  const cached = depths.get(t);
  if (cached !== undefined) return cached;
  let depth = 1;
  if (t.kind === "array") depth = 1 + typeDepth(t.element);
  else if (t.kind === "ref") depth = typeDepth(t.target);
  else if (t.kind === "record") {
    for (const f of t.fields) depth = Math.max(depth, 1 + typeDepth(f.type));
  }
  depths.set(t, depth);
  return depth;
}

const depths = new WeakMap<DataType, number>();
