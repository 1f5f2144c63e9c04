/**
 * IPNS records, verified as the IPNS record spec's "Record Verification"
 * says, failing on the first error, each refusal naming its reason:
 *
 * 1. at most 10 KiB, counted before parsing;
 * 2. signatureV2 and data present and not empty;
 * 3. the signer's key: the record's pubKey (which must be the key the name
 *    is the hash of), else the key the name inlines;
 * 4. signatureV2 valid over `"ipns-signature:"` ‖ data;
 * 5. data read as DAG-CBOR (by the `ipns` package): Value, Validity,
 *    ValidityType (EOL), Sequence, TTL;
 * 6. when value or signatureV1 is present, every V1 field matching data;
 * 7. Validity (EOL) later than now.
 *
 * The signature is checked before data is parsed (the spec parses first):
 * bytes that a key did not sign are refused as forged whatever they hold.
 *
 * @example
 * ```ts
 * const info = await verifyRecord(parseIpnsName(text), bytes, { now: Date.now() });
 * info.sequence; // 5n
 * ```
 */
import { publicKeyFromProtobuf } from "@libp2p/crypto/keys";
import { type IPNSRecord, unmarshalIPNSRecord } from "ipns";
import { concat } from "../../lib/bytes.ts";
import { InvalidInputError, TooLargeError } from "../../lib/errors.ts";
import { decodeIpnsEntry, encodeIpnsEntry, type IpnsEntry } from "./ipns_entry.ts";
import { type IpnsName, ipnsNameOf, type PublicKey } from "./name.ts";
import { parseValidity } from "./validity.ts";

/** The spec's record size limit. */
export const MAX_RECORD_BYTES = 10 * 1024;

/** A record's signed fields, as the NS uses them. */
export interface IpnsRecordInfo {
  /** The path the name points at, as the `ipns` package normalises it (`/ipfs/<CIDv1>`…). */
  value: string;
  sequence: bigint;
  /** The end of its validity (EOL), as the record writes it (RFC 3339). */
  validity: string;
  /** The same, in nanoseconds since the Unix epoch. */
  validUntilNs: bigint;
  /** How long a resolver may cache it, in nanoseconds. */
  ttlNs: bigint;
}

/** Options of verifyRecord. */
export interface VerifyOptions {
  /** Largest record taken; default (and at most what IPNS peers accept) MAX_RECORD_BYTES. */
  maxBytes?: number;
  /** The time validity is checked against, in ms since the Unix epoch. */
  now: number;
}

const SIGNATURE_PREFIX = new TextEncoder().encode("ipns-signature:");
const UINT64_END = 1n << 64n;
// Makes the `ipns` package compare the V1 fields, which it does only when both value and
// signatureV1 are present; the spec wants it when either is. Never verified, as the spec says.
const PLACEHOLDER_SIGNATURE_V1 = new Uint8Array([0]);

/**
 * Verifies a marshalled record for a name (see the module comment) and
 * returns its fields. Throws TooLargeError over the size limit, and
 * InvalidInputError (field `record`, with a code per reason) for the rest.
 */
export async function verifyRecord(
  name: IpnsName,
  bytes: Uint8Array,
  options: VerifyOptions,
): Promise<IpnsRecordInfo> {
  const maxBytes = options.maxBytes ?? MAX_RECORD_BYTES;
  if (bytes.length > maxBytes) throw new TooLargeError("The IPNS record", bytes.length, maxBytes);
  let entry: IpnsEntry;
  try {
    entry = decodeIpnsEntry(bytes);
  } catch (e) {
    throw malformed((e as Error).message, e);
  }
  if (!entry.signatureV2?.length || !entry.data?.length) {
    throw malformed("has no signatureV2 or no data; IPNS records need both");
  }
  const key = signerOf(name, entry.pubKey);
  if (!await verifies(key, entry.signatureV2, entry.data)) {
    throw refusal(
      "ipns-signature-invalid",
      "Invalid IPNS signature",
      `has a signatureV2 that ${name.text}'s key did not make over its data`,
    );
  }
  if ((entry.signatureV1 || entry.value) && !entry.value?.length) {
    throw v1Mismatch("its value is absent or empty, unlike data's Value");
  }
  const info = readRecord(
    entry.value && !entry.signatureV1
      ? encodeIpnsEntry(entry, { signatureV1: PLACEHOLDER_SIGNATURE_V1 })
      : bytes,
  );
  if (info.validUntilNs <= BigInt(options.now) * 1_000_000n) {
    throw refusal(
      "ipns-record-expired",
      "Expired IPNS record",
      `expired at ${info.validity} (its validity, EOL)`,
    );
  }
  return info;
}

/**
 * The fields of a record whose signature was verified (or one the NS
 * stored); InvalidInputError for bytes that are no readable record. Parsed
 * by the `ipns` package, which also compares the V1 fields when value and
 * signatureV1 are both present.
 */
export function readRecord(bytes: Uint8Array): IpnsRecordInfo {
  let record: IPNSRecord;
  try {
    record = unmarshalIPNSRecord(bytes);
  } catch (e) {
    const message = (e as Error).message;
    // Its other use of this error, a missing signatureV2, verifyRecord rules out before this.
    if ((e as Error).name === "SignatureVerificationError") throw v1Mismatch(message, e);
    throw malformed(`has data that is not a valid IPNS record document: ${message}`, e);
  }
  const { value, sequence, ttl, validity } = record;
  if (!isUint64(sequence)) throw malformed(`has a Sequence that is not a uint64: ${sequence}`);
  if (!isUint64(ttl)) throw malformed(`has a TTL that is not a uint64: ${ttl}`);
  let validUntilNs: bigint;
  try {
    validUntilNs = parseValidity(validity);
  } catch (e) {
    throw malformed(`has a Validity that is not an RFC 3339 date-time: ${validity}`, e);
  }
  return { value, sequence, validity, validUntilNs, ttlNs: ttl };
}

/** The key that must have signed: the record's pubKey, which must be the name's, or the name's. */
function signerOf(name: IpnsName, pubKey: Uint8Array | undefined): PublicKey {
  const mismatch = (why: string, cause?: unknown) =>
    refusal("ipns-key-mismatch", "IPNS record for another key", why, cause);
  if (!pubKey) {
    if (name.publicKey) return name.publicKey;
    throw mismatch(
      `has no pubKey, and ${name.text} is the hash of its key rather than the key itself`,
    );
  }
  let key: PublicKey;
  try {
    key = publicKeyFromProtobuf(pubKey);
  } catch (e) {
    throw malformed(`has a pubKey that is not a libp2p public key: ${(e as Error).message}`, e);
  }
  const signer = ipnsNameOf(key);
  if (signer.text !== name.text) {
    throw mismatch(`has the pubKey of ${signer.text}, not ${name.text}`);
  }
  return key;
}

async function verifies(key: PublicKey, signature: Uint8Array, data: Uint8Array) {
  try {
    return await key.verify(concat([SIGNATURE_PREFIX, data]), signature);
  } catch {
    return false; // a signature of the wrong length, say
  }
}

function isUint64(n: unknown): n is bigint {
  return typeof n === "bigint" && n >= 0n && n < UINT64_END;
}

function refusal(code: string, title: string, problem: string, cause?: unknown) {
  return new InvalidInputError("record", problem, { code, title, cause });
}

function malformed(problem: string, cause?: unknown) {
  return refusal("ipns-record-malformed", "Malformed IPNS record", problem, cause);
}

function v1Mismatch(problem: string, cause?: unknown) {
  return refusal(
    "ipns-v1-mismatch",
    "Inconsistent IPNS record",
    `has V1 fields that do not match its signed data (${problem})`,
    cause,
  );
}
