/**
 * The CAS's addresses: CIDv1 with the raw codec (0x55) and a sha2-256
 * multihash (0x12, 32 bytes), written in base32 (`bafkrei…`), as IPFS
 * addresses a raw block. Any string form multiformats parses is read (every
 * multibase, CIDv0 included, so that a wrong codec is named rather than
 * called unreadable); only raw sha2-256 CIDs are addresses here.
 *
 * @example
 * ```ts
 * const a = parseCasCid("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
 * a.digest; // the sha256 of the empty string
 * casCidOf(a.digest).text === a.text; // true
 * ```
 */
import { bases } from "multiformats/basics";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";

/** The multicodec of a raw block. */
export const RAW_CODEC = 0x55;
/** The multihash code of sha2-256. */
export const SHA2_256 = 0x12;
/** Bytes of a sha2-256 digest. */
export const DIGEST_BYTES = 32;
/** Longest CID text read (a base2 CIDv1 of a sha2-256 is 289 characters). */
export const MAX_CID_TEXT = 512;

/** A CAS address, in each form the CAS needs. */
export interface CasCid {
  readonly cid: CID;
  /** The sha2-256 of the content (32 bytes). */
  readonly digest: Uint8Array;
  /** The canonical text: base32 CIDv1, `bafkrei…`. */
  readonly text: string;
}

// Every multibase but identity (raw bytes in a string are no address anyone types).
const { identity: _identity, ...textBases } = bases;
const decoders = Object.values(textBases).map((b) => b.decoder);
const ANY_BASE = decoders.slice(1).reduce((all, d) => all.or(d), decoders[0].or(decoders[0]));

// Names for the codes people meet, so a refusal says what was sent.
const CODECS: Record<number, string> = {
  0x55: "raw",
  0x70: "dag-pb",
  0x71: "dag-cbor",
  0x72: "libp2p-key",
  0x0129: "dag-json",
  0x0200: "json",
};
const HASHES: Record<number, string> = {
  0x00: "identity",
  0x12: "sha2-256",
  0x13: "sha2-512",
  0x16: "sha3-256",
  0x1e: "blake3",
  0xb220: "blake2b-256",
};
const named = (names: Record<number, string>, code: number) =>
  `${names[code] ?? "unknown"} (0x${code.toString(16)})`;

/** The CAS address of content whose sha2-256 is `digest`. */
export function casCidOf(digest: Uint8Array): CasCid {
  if (digest.length !== DIGEST_BYTES) {
    throw new RangeError(`A sha2-256 digest is ${DIGEST_BYTES} bytes, got ${digest.length}`);
  }
  const cid = CID.createV1(RAW_CODEC, Digest.create(SHA2_256, digest));
  return { cid, digest: cid.multihash.digest, text: cid.toString() };
}

/**
 * Reads a CID in any multibase. Throws SyntaxError for text that is no CID,
 * TypeError for a CID that is not a raw sha2-256 one.
 */
export function parseCasCid(text: string): CasCid {
  if (text.length > MAX_CID_TEXT) {
    throw new SyntaxError(`A CID is at most ${MAX_CID_TEXT} characters, got ${text.length}`);
  }
  let cid: CID;
  try {
    cid = CID.parse(text, ANY_BASE);
  } catch (e) {
    throw new SyntaxError(`"${clip(text)}" is not a CID: ${(e as Error).message}`);
  }
  return checkCid(cid);
}

/**
 * Reads a binary CID, or (with `bareDigest`) also a bare 32-byte sha2-256
 * as the spec's Twirp Get takes. Throws as parseCasCid.
 */
export function decodeCasCid(bytes: Uint8Array, options: { bareDigest?: boolean } = {}): CasCid {
  if (options.bareDigest && bytes.length === DIGEST_BYTES) return casCidOf(bytes);
  let cid: CID;
  try {
    cid = CID.decode(bytes);
  } catch (e) {
    throw new SyntaxError(`${bytes.length} bytes are not a binary CID: ${(e as Error).message}`);
  }
  return checkCid(cid);
}

/** A CID as a CAS address: TypeError unless it is raw sha2-256. */
export function checkCid(cid: CID): CasCid {
  const { code, multihash } = cid;
  if (code !== RAW_CODEC || multihash.code !== SHA2_256 || multihash.size !== DIGEST_BYTES) {
    throw new TypeError(
      `${cid} is a CIDv${cid.version} with codec ${named(CODECS, code)} and hash ` +
        `${named(HASHES, multihash.code)}; this CAS holds raw blocks (codec 0x55) addressed ` +
        `by sha2-256 (0x12) only`,
    );
  }
  return casCidOf(multihash.digest);
}

function clip(text: string): string {
  return text.length > 64 ? `${text.slice(0, 61)}…` : text;
}
