/**
 * Helpers shared by the decoder fuzz tests: a seeded PRNG (mulberry32), so
 * every failure is reproducible from the seed printed in its message, byte
 * mutators for valid encodings, and a hand-written protobuf writer used to
 * spell out expected wire bytes without protobufjs.
 *
 * Set FUZZ_SEED=<uint32> to replay or vary a run; otherwise fixed seeds are used.
 */

import type { WakuMessage } from "../../../protocols/waku/message.ts";

import { mulberry32 } from "../../../lib/prng.ts";
export { mulberry32 };

/** A seeded random source with the helpers the fuzzers need. */
export class Rng {
  readonly #next: () => number;
  constructor(readonly seed: number) {
    this.#next = mulberry32(seed);
  }
  /** Uniform float in [0, 1). */
  float(): number {
    return this.#next();
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.#next() < p;
  }
  byte(): number {
    return this.int(256);
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.byte();
    return out;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  /** A random signed 64-bit integer, biased towards edge values. */
  int64(): bigint {
    const edges = [0n, 1n, -1n, (1n << 63n) - 1n, -(1n << 63n), 1732000000000000001n];
    if (this.chance(0.3)) return this.pick(edges);
    const hi = BigInt(this.int(2 ** 32));
    const lo = BigInt(this.int(2 ** 32));
    return BigInt.asIntN(64, (hi << 32n) | lo);
  }
  /** A random string, sometimes with multi-byte characters. */
  string(maxLen: number): string {
    const alphabet = ["a", "z", "/", "0", "9", "-", "é", "€", "𝄞", " ", '"', "\\", "\n"];
    let s = "";
    const n = this.int(maxLen + 1);
    for (let i = 0; i < n; i++) s += this.pick(alphabet);
    return s;
  }
}

/** The seed for a fuzz test: FUZZ_SEED from the environment when readable, else the default. */
export function fuzzSeed(defaultSeed: number): number {
  try {
    const v = Deno.env.get("FUZZ_SEED");
    if (v !== undefined && /^\d+$/.test(v)) return Number(v) >>> 0;
  } catch {
    // no env permission: use the default seed
  }
  return defaultSeed;
}

/** Reads a protobuf varint at `pos`; returns its end, or -1 when it does not parse. */
function varintEnd(bytes: Uint8Array, pos: number): number {
  for (let i = pos; i < bytes.length && i < pos + 10; i++) {
    if ((bytes[i] & 0x80) === 0) return i + 1;
  }
  return -1;
}

/**
 * Applies one random mutation to a valid encoding: bit flips, truncation,
 * byte insertion or deletion, a corrupted length/varint field, a duplicated
 * or swapped slice, or an overwrite with edge bytes.
 */
export function mutate(rng: Rng, input: Uint8Array): Uint8Array {
  const b = new Uint8Array(input);
  const at = () => rng.int(Math.max(b.length, 1));
  switch (rng.int(9)) {
    case 0: { // flip 1-4 bits
      if (b.length === 0) return rng.bytes(1);
      const flips = 1 + rng.int(4);
      for (let i = 0; i < flips; i++) b[at()] ^= 1 << rng.int(8);
      return b;
    }
    case 1: // truncate
      return b.slice(0, rng.int(b.length + 1));
    case 2: { // insert 1-8 random bytes
      const i = rng.int(b.length + 1);
      const ins = rng.bytes(1 + rng.int(8));
      const out = new Uint8Array(b.length + ins.length);
      out.set(b.subarray(0, i));
      out.set(ins, i);
      out.set(b.subarray(i), i + ins.length);
      return out;
    }
    case 3: { // delete 1-8 bytes
      const i = rng.int(b.length + 1);
      const n = 1 + rng.int(8);
      const out = new Uint8Array(Math.max(0, b.length - Math.min(n, b.length - i)));
      out.set(b.subarray(0, i));
      out.set(b.subarray(i + n), i);
      return out;
    }
    case 4: { // corrupt a length or varint: replace the varint at a random offset
      if (b.length === 0) return rng.bytes(2);
      const i = at();
      const end = varintEnd(b, i);
      const replacement = rng.pick([
        [0x00],
        [0x7f],
        [0xff, 0xff, 0xff, 0xff, 0x0f],
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80],
        [(b[i] + 1) & 0x7f],
        [(b[i] - 1) & 0x7f],
        [0x80 | rng.int(128), rng.int(128)],
      ]);
      const tail = end === -1 ? b.subarray(b.length) : b.subarray(end);
      const out = new Uint8Array(i + replacement.length + tail.length);
      out.set(b.subarray(0, i));
      out.set(replacement, i);
      out.set(tail, i + replacement.length);
      return out;
    }
    case 5: { // duplicate a slice
      const i = rng.int(b.length + 1);
      const j = i + rng.int(b.length - i + 1);
      const out = new Uint8Array(b.length + (j - i));
      out.set(b.subarray(0, j));
      out.set(b.subarray(i), j);
      return out;
    }
    case 6: { // overwrite bytes with edge values
      if (b.length === 0) return new Uint8Array([rng.pick([0x00, 0x80, 0xff, 0x0b, 0x0c])]);
      const n = 1 + rng.int(4);
      for (let k = 0; k < n; k++) b[at()] = rng.pick([0x00, 0x7f, 0x80, 0xff, 0x0b, 0x0c, 0x0f]);
      return b;
    }
    case 7: { // swap two slices
      if (b.length < 4) return b.reverse();
      const i = rng.int(b.length / 2);
      const n = 1 + rng.int(b.length / 2 - i);
      const j = Math.floor(b.length / 2) + rng.int(Math.ceil(b.length / 2) - n + 1);
      const tmp = b.slice(i, i + n);
      b.copyWithin(i, j, j + n);
      b.set(tmp, j);
      return b;
    }
    default: // random prefix / suffix
      return rng.chance(0.5)
        ? new Uint8Array([...rng.bytes(1 + rng.int(4)), ...b])
        : new Uint8Array([...b, ...rng.bytes(1 + rng.int(4))]);
  }
}

/** Lower-case hex of any byte sequence (Uint8Array, Buffer or a plain array). */
export function hex(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (x) => x.toString(16).padStart(2, "0")).join("");
}

// ---- A minimal hand-written protobuf writer, to spell out expected bytes ----

/** Unsigned LEB128 varint of a non-negative bigint < 2^64. */
export function varint(v: bigint | number): number[] {
  let x = BigInt(v);
  if (x < 0n) x = BigInt.asUintN(64, x); // int64 negatives are 10-byte two's complement
  const out: number[] = [];
  do {
    let byte = Number(x & 0x7fn);
    x >>= 7n;
    if (x !== 0n) byte |= 0x80;
    out.push(byte);
  } while (x !== 0n);
  return out;
}

/** ZigZag encoding of a sint64. */
export function zigzag(v: bigint): bigint {
  return BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
}

/** A field key: (field_number << 3) | wire_type, as a varint. */
export function key(field: number, wireType: number): number[] {
  return varint((field << 3) | wireType);
}

/** A length-delimited field (wire type 2). */
export function lenField(field: number, body: ArrayLike<number>): number[] {
  return [...key(field, 2), ...varint(body.length), ...Array.from(body)];
}

/** A varint field (wire type 0). */
export function varintField(field: number, v: bigint | number): number[] {
  return [...key(field, 0), ...varint(v)];
}

/** A 32-bit float field (wire type 5, little-endian IEEE 754). */
export function floatField(field: number, v: number): number[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, v, true);
  return [...key(field, 5), ...b];
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Feeds `count` random byte strings (up to `maxLen` long) to `check`. */
export function fuzzRandom(
  defaultSeed: number,
  count: number,
  maxLen: number,
  check: (bytes: Uint8Array, seed: number, i: number) => void,
): void {
  const seed = fuzzSeed(defaultSeed);
  const rng = new Rng(seed);
  for (let i = 0; i < count; i++) check(rng.bytes(rng.int(maxLen)), seed, i);
}

/** Feeds `count` valid encodings from `make`, each mutated 1–3 times, to `check`. */
export function fuzzMutated(
  defaultSeed: number,
  count: number,
  make: (rng: Rng) => Uint8Array,
  check: (bytes: Uint8Array, seed: number, i: number) => void,
): void {
  const seed = fuzzSeed(defaultSeed);
  const rng = new Rng(seed);
  for (let i = 0; i < count; i++) {
    let bytes = make(rng);
    const rounds = 1 + rng.int(3);
    for (let r = 0; r < rounds; r++) bytes = mutate(rng, bytes);
    check(bytes, seed, i);
  }
}

/** Checks that `count` random valid values from `make` survive `roundTrip` unchanged. */
export function fuzzRoundTrip<T>(
  defaultSeed: number,
  count: number,
  make: (rng: Rng) => T,
  roundTrip: (value: T) => T,
  plain: (value: T) => unknown,
  equal: (actual: unknown, expected: unknown, message: string) => void,
): void {
  const seed = fuzzSeed(defaultSeed);
  const rng = new Rng(seed);
  for (let i = 0; i < count; i++) {
    const value = make(rng);
    equal(plain(roundTrip(value)), plain(value), `seed ${seed} iteration ${i}`);
  }
}

/** A comparable view of a WakuMessage: bytes as hex, absent optionals absent. */
export function plainMessage(m: WakuMessage): Record<string, unknown> {
  const o: Record<string, unknown> = {
    payload: hex(m.payload),
    contentTopic: m.contentTopic,
    version: m.version,
    timestamp: m.timestamp,
  };
  if (m.meta !== undefined) o.meta = hex(m.meta);
  if (m.rateLimitProof !== undefined) o.rateLimitProof = hex(m.rateLimitProof);
  if (m.ephemeral !== undefined) o.ephemeral = m.ephemeral;
  return o;
}
