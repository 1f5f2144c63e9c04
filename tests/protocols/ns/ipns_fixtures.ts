/**
 * IPNS records for tests, made by an independent implementation (the
 * `ipns` package with @libp2p/crypto keys), and by hand where a test needs
 * a record no library writes: signed CBOR data spelled out byte by byte
 * (a tiny CBOR writer) and IpnsEntry fields written with fuzz_util's
 * protobuf writer.
 */
import { generateKeyPair } from "@libp2p/crypto/keys";
import {
  createIPNSRecord,
  createIPNSRecordWithExpiration,
  type IPNSRecordV1V2,
  marshalIPNSRecord,
} from "ipns";
import { base36 } from "multiformats/bases/base36";
import { lenField, utf8 } from "../waku/fuzz_util.ts";

export type Key = Awaited<ReturnType<typeof generateKeyPair>>;

/** A fresh Ed25519 key. */
export const newKey = (): Promise<Key> => generateKeyPair("Ed25519");

/** A key's IPNS name in base36 (`k51…`). */
export const nameOf = (key: Key): string => key.publicKey.toCID().toString(base36);

/** A CAS-style value path. */
export const VALUE = "/ipfs/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

/** Options of record(). */
export interface RecordOptions {
  value?: string;
  /** Validity from now, ms; default one hour. */
  lifetimeMs?: number;
  /** An absolute EOL (RFC 3339) instead of a lifetime. */
  expiration?: string;
  ttlNs?: bigint;
  /** Also the V1 fields; default true (as the package creates them). */
  v1?: boolean;
}

/** The `ipns` package's record object (V1+V2), to marshal as it is or altered. */
export async function recordObject(
  key: Key,
  sequence: number | bigint,
  o: RecordOptions = {},
): Promise<IPNSRecordV1V2> {
  const options = { v1Compatible: true as const, ttlNs: o.ttlNs ?? 300_000_000_000n };
  const value = o.value ?? VALUE;
  return o.expiration
    ? await createIPNSRecordWithExpiration(key, value, sequence, o.expiration, options)
    : await createIPNSRecord(key, value, sequence, o.lifetimeMs ?? 3_600_000, options);
}

/** A marshalled record made by the `ipns` package. */
export async function record(
  key: Key,
  sequence: number | bigint,
  o: RecordOptions = {},
): Promise<Uint8Array> {
  return marshal(await recordObject(key, sequence, o), o.v1 ?? true);
}

/** The package's record object marshalled, with its V1 fields or (`v1` false) without. */
export function marshal(r: IPNSRecordV1V2, v1 = true): Uint8Array {
  if (v1) return marshalIPNSRecord(r);
  const { signatureV1: _, ...v2 } = r;
  return marshalIPNSRecord(v2);
}

/** A copy with one byte flipped at `offset` inside the first occurrence of `part`. */
export function flipIn(bytes: Uint8Array, part: Uint8Array, offset = 0): Uint8Array {
  const at = indexOf(bytes, part);
  if (at < 0) throw new Error("part not found");
  const out = new Uint8Array(bytes);
  out[at + offset] ^= 0x01;
  return out;
}

function indexOf(bytes: Uint8Array, part: Uint8Array): number {
  outer: for (let i = 0; i + part.length <= bytes.length; i++) {
    for (let j = 0; j < part.length; j++) if (bytes[i + j] !== part[j]) continue outer;
    return i;
  }
  return -1;
}

// ---- A CBOR writer for the data documents no library would write ----

type Cbor = bigint | number | string | Uint8Array | Map<string, Cbor>;

function head(major: number, n: bigint): number[] {
  if (n < 24n) return [(major << 5) | Number(n)];
  const bytes = n < 0x100n ? 1 : n < 0x10000n ? 2 : n < 0x100000000n ? 4 : 8;
  const out = [(major << 5) | (24 + Math.log2(bytes))];
  for (let i = bytes - 1; i >= 0; i--) out.push(Number((n >> BigInt(8 * i)) & 0xffn));
  return out;
}

/** Encodes text, bytes, integers (negative too) and maps of them as CBOR. */
export function cbor(v: Cbor): number[] {
  if (typeof v === "number") v = BigInt(v);
  if (typeof v === "bigint") return v < 0n ? head(1, -1n - v) : head(0, v);
  if (typeof v === "string") return [...head(3, BigInt(utf8(v).length)), ...utf8(v)];
  if (v instanceof Uint8Array) return [...head(2, BigInt(v.length)), ...v];
  const out = head(5, BigInt(v.size));
  for (const [k, x] of v) out.push(...cbor(k), ...cbor(x));
  return out;
}

/** The fields of a data document, as the spec names them. */
export function dataDoc(fields: Record<string, Cbor>): Uint8Array {
  return new Uint8Array(cbor(new Map(Object.entries(fields))));
}

/** A V2-only entry whose signatureV2 `key` made over `data`, with `extra` fields before it. */
export async function signedEntry(
  key: Key,
  data: Uint8Array,
  extra: number[] = [],
): Promise<Uint8Array> {
  const signature = await key.sign(new Uint8Array([...utf8("ipns-signature:"), ...data]));
  return new Uint8Array([...extra, ...lenField(8, signature), ...lenField(9, data)]);
}

/** A valid data document's fields, to alter one at a time. */
export function goodFields(sequence = 1n): Record<string, Cbor> {
  return {
    Value: utf8(VALUE),
    Validity: utf8(new Date(Date.now() + 3_600_000).toISOString()),
    ValidityType: 0,
    Sequence: sequence,
    TTL: 300_000_000_000n,
  };
}
