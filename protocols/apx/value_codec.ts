/**
 * Packed APX data ⇄ JSON values.
 *
 * Layout (py-apx `apx/base.py` createInitData and `apx/node_data.py`, c-apx
 * `compiler.c`): no alignment, no padding; integers little-endian in their
 * own width; strings are their n bytes, NUL-padded; arrays repeat the
 * element; records concatenate fields in declaration order.
 *
 * JSON shapes (our decisions):
 * - 8–32-bit integers are numbers. 64-bit integers are numbers while they
 *   are safe integers (|v| ≤ 2^53−1) and decimal strings beyond that, so no
 *   value silently loses precision in JSON. Encoding takes, for any integer
 *   type, a safe-integer number, a bigint or a decimal string.
 * - Bools (`b`) are JSON booleans: a 0 byte decodes to false, any other
 *   byte to true (as c-apx does); encoding takes true/false or 0/1 and
 *   writes 1/0. `B` (byte) is an integer like `C`.
 * - Strings (`a`, `A`) decode up to the first NUL (UTF-8, invalid bytes become U+FFFD)
 *   and encode as UTF-8 of at most n bytes, NUL-padded.
 * - Arrays are JSON arrays of exactly n elements; records are objects with
 *   exactly their fields.
 * - Decoding never checks limits (a peer's data is mirrored as it is; a
 *   definition's own init values often sit outside them, e.g. 0xFF for
 *   "not available" on a `C(0,1)`); encoding does unless told not to.
 *
 * Errors name the path of the offending part: TypeError for the wrong kind
 * of JSON value, RangeError for a value out of range, a wrong length, or
 * data too short to decode.
 *
 * @example
 * ```ts
 * const t = parseSignature('{"Id"S"Speed"C(0,250)[2]}');
 * const bytes = encodeValue(t, { Id: 513, Speed: [10, 20] }); // 01 02 0a 14
 * decodeValue(t, bytes); // { Id: 513, Speed: [10, 20] }
 * encodeValue(t, { Id: 1, Speed: [10, 251] });
 * // RangeError: value.Speed[1] must be ≤ 250 (upper limit), got 251
 * ```
 */
import { utf8Encode } from "../../lib/bytes.ts";
import { type DataType, intRange, type IntType, packedSize } from "./data_type.ts";

/** A value the type refuses (the wrong kind of JSON value), with the path it was found at. */
export class ValueTypeError extends TypeError {
  constructor(readonly path: string, readonly problem: string) {
    super(`${path} ${problem}`);
  }
}

/** A value out of its type's range, length or limits, with the path it was found at. */
export class ValueRangeError extends RangeError {
  constructor(readonly path: string, readonly problem: string) {
    super(`${path} ${problem}`);
  }
}

/** A decoded port value, as it goes into JSON. */
export type ApxValue = number | string | boolean | ApxValue[] | { [field: string]: ApxValue };

/** Options for {@link encodeValue}. */
export interface EncodeOptions {
  /** Check declared `(lower,upper)` limits, not just the type's range. Default true. */
  checkLimits?: boolean;
  /** The name of the value in error messages. Default "value". */
  path?: string;
}

const utf8 = new TextDecoder("utf-8");
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Decodes one value of type `t` from `bytes` at `offset`. */
export function decodeValue(t: DataType, bytes: Uint8Array, offset = 0): ApxValue {
  const size = packedSize(t);
  if (!Number.isInteger(offset) || offset < 0 || offset + size > bytes.length) {
    throw new RangeError(
      `Cannot decode ${size} bytes at offset ${offset} from ${bytes.length} bytes of data`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return decodeAt(t, bytes, view, offset);
}

function decodeAt(t: DataType, bytes: Uint8Array, view: DataView, at: number): ApxValue {
  switch (t.kind) {
    case "int":
      return decodeInt(t, view, at);
    case "bool":
      return view.getUint8(at) !== 0;
    case "string": {
      const raw = bytes.subarray(at, at + t.length);
      const nul = raw.indexOf(0);
      return utf8.decode(nul < 0 ? raw : raw.subarray(0, nul));
    }
    case "array": {
      const step = packedSize(t.element);
      const out: ApxValue[] = new Array(t.length);
      for (let i = 0; i < t.length; i++) out[i] = decodeAt(t.element, bytes, view, at + i * step);
      return out;
    }
    case "record": {
      const entries: [string, ApxValue][] = [];
      for (const f of t.fields) {
        entries.push([f.name, decodeAt(f.type, bytes, view, at)]);
        at += packedSize(f.type);
      }
      // fromEntries defines own properties, so a field named "__proto__" stays a field.
      return Object.fromEntries(entries);
    }
    case "ref":
      return decodeAt(t.target, bytes, view, at);
  }
}

function decodeInt(t: IntType, view: DataView, at: number): number | string {
  switch (t.int) {
    case "u8":
      return view.getUint8(at);
    case "s8":
      return view.getInt8(at);
    case "u16":
      return view.getUint16(at, true);
    case "s16":
      return view.getInt16(at, true);
    case "u32":
      return view.getUint32(at, true);
    case "s32":
      return view.getInt32(at, true);
    case "u64":
      return int64Json(view.getBigUint64(at, true));
    case "s64":
      return int64Json(view.getBigInt64(at, true));
  }
}

/** A 64-bit integer in JSON: a number when it is a safe integer, else a decimal string. */
export function int64Json(v: bigint): number | string {
  return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v.toString();
}

/** Encodes `value` as type `t`; the result has exactly {@link packedSize} bytes. */
export function encodeValue(t: DataType, value: unknown, options: EncodeOptions = {}): Uint8Array {
  const out = new Uint8Array(packedSize(t));
  const view = new DataView(out.buffer);
  encodeAt(t, value, out, view, 0, options.path ?? "value", options.checkLimits ?? true);
  return out;
}

function encodeAt(
  t: DataType,
  value: unknown,
  out: Uint8Array,
  view: DataView,
  at: number,
  path: string,
  checkLimits: boolean,
): void {
  switch (t.kind) {
    case "int":
      return encodeInt(t, toInteger(value, path), view, at, path, checkLimits);
    case "bool":
      return view.setUint8(at, toBool(value, path) ? 1 : 0);
    case "string": {
      if (typeof value !== "string") throw new ValueTypeError(path, `must be a string`);
      if (value.includes("\0")) throw new ValueRangeError(path, `must not contain NUL characters`);
      const bytes = utf8Encode(value);
      if (bytes.length > t.length) {
        throw new ValueRangeError(
          path,
          `must be at most ${t.length} bytes of UTF-8, got ${bytes.length}`,
        );
      }
      out.set(bytes, at); // the rest stays zero: the NUL padding
      return;
    }
    case "array": {
      if (!Array.isArray(value)) throw new ValueTypeError(path, `must be an array`);
      if (value.length !== t.length) {
        throw new ValueRangeError(path, `must have ${t.length} elements, got ${value.length}`);
      }
      const step = packedSize(t.element);
      for (let i = 0; i < t.length; i++) {
        encodeAt(t.element, value[i], out, view, at + i * step, `${path}[${i}]`, checkLimits);
      }
      return;
    }
    case "record": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new ValueTypeError(path, `must be an object with fields ${fieldList(t.fields)}`);
      }
      const record = value as Record<string, unknown>;
      const known = new Set(t.fields.map((f) => f.name));
      for (const key of Object.keys(record)) {
        if (!known.has(key)) {
          throw new ValueTypeError(path, `has unknown field ${JSON.stringify(key)}`);
        }
      }
      for (const f of t.fields) {
        const fieldPath = path + fieldSuffix(f.name);
        if (!Object.hasOwn(record, f.name)) throw new ValueTypeError(fieldPath, `is missing`);
        encodeAt(f.type, record[f.name], out, view, at, fieldPath, checkLimits);
        at += packedSize(f.type);
      }
      return;
    }
    case "ref":
      return encodeAt(t.target, value, out, view, at, path, checkLimits);
  }
}

function fieldList(fields: readonly { name: string }[]): string {
  return fields.map((f) => JSON.stringify(f.name)).join(", ");
}

/** `.name` for identifier-like names, `["a-b"]` otherwise. */
function fieldSuffix(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}

function toInteger(value: unknown, path: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) {
      throw new ValueRangeError(path, `must be an integer, got ${value}`);
    }
    if (!Number.isSafeInteger(value)) {
      throw new ValueRangeError(
        path,
        `is beyond 2^53; give large 64-bit values as decimal strings`,
      );
    }
    return BigInt(value);
  }
  if (typeof value === "string" && /^-?[0-9]{1,20}$/.test(value)) return BigInt(value);
  throw new ValueTypeError(path, `must be an integer (a number or a decimal string)`);
}

function toBool(value: unknown, path: string): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (value === 0 || value === 1) return value === 1;
    throw new ValueRangeError(path, `must be true, false, 0 or 1, got ${value}`);
  }
  throw new ValueTypeError(path, `must be a boolean (true, false, 0 or 1)`);
}

function encodeInt(
  t: IntType,
  v: bigint,
  view: DataView,
  at: number,
  path: string,
  checkLimits: boolean,
): void {
  const { min, max } = intRange(t);
  if (v < min) throw new ValueRangeError(path, `must be ≥ ${min}, got ${v}`);
  if (v > max) throw new ValueRangeError(path, `must be ≤ ${max}, got ${v}`);
  if (checkLimits && t.limits) {
    if (v < t.limits.lower) {
      throw new ValueRangeError(path, `must be ≥ ${t.limits.lower} (lower limit), got ${v}`);
    }
    if (v > t.limits.upper) {
      throw new ValueRangeError(path, `must be ≤ ${t.limits.upper} (upper limit), got ${v}`);
    }
  }
  const n = Number(v);
  switch (t.int) {
    case "u8":
      return view.setUint8(at, n);
    case "s8":
      return view.setInt8(at, n);
    case "u16":
      return view.setUint16(at, n, true);
    case "s16":
      return view.setInt16(at, n, true);
    case "u32":
      return view.setUint32(at, n, true);
    case "s32":
      return view.setInt32(at, n, true);
    case "u64":
      return view.setBigUint64(at, v, true);
    case "s64":
      return view.setBigInt64(at, v, true);
  }
}
