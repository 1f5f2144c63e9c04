/**
 * IPNS names: a libp2p-key CID (codec 0x72) of a public key's multihash.
 * Keys of up to 42 bytes (Ed25519, secp256k1) are inlined with the
 * identity multihash; larger ones (RSA) are named by their sha2-256, and
 * their records carry the key. Read in every form IPNS tools write: a CIDv1
 * in any multibase (base36 `k51…`, base32 `bafz…`, base58btc `z…`) and the
 * legacy base58 peer id (`12D3KooW…`, `Qm…`), as kubo's `peer.Decode` does.
 * One canonical form for storage and answers: the CIDv1 in base36.
 *
 * @example
 * ```ts
 * const name = parseIpnsName("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
 * name.text; // "k51qzi5uqu5dj…"
 * ```
 */
import { publicKeyFromMultihash, type publicKeyFromProtobuf } from "@libp2p/crypto/keys";
import { bases } from "multiformats/basics";
import { base36 } from "multiformats/bases/base36";
import { base58btc } from "multiformats/bases/base58";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import { preview } from "../../lib/bytes.ts";
import { InvalidInputError } from "../../lib/errors.ts";

/** The multicodec of a libp2p public key in a CID. */
export const LIBP2P_KEY_CODEC = 0x72;
const IDENTITY = 0x00;
const SHA2_256 = 0x12;
/** Longest name text read: a base2 CIDv1 of a sha2-256 is under 300 characters. */
export const MAX_NAME_TEXT = 512;

/** A libp2p public key (Ed25519, secp256k1, ECDSA or RSA). */
export type PublicKey = ReturnType<typeof publicKeyFromProtobuf>;

/** An IPNS name, in each form the NS needs. */
export interface IpnsName {
  /** The canonical text: CIDv1, libp2p-key, base36. */
  readonly text: string;
  /** The key's multihash (identity or sha2-256): the storage key. */
  readonly multihash: Uint8Array;
  /** The key, when the name inlines it (identity multihash). */
  readonly publicKey?: PublicKey;
}

// Every multibase but identity (raw bytes in a string are no name anyone types), by prefix.
const { identity: _identity, ...textBases } = bases;
const DECODERS = new Map(Object.values(textBases).map((b) => [b.prefix as string, b.decoder]));

/** Reads an IPNS name; InvalidInputError (field `name`) saying why when it is none. */
export function parseIpnsName(text: string, field = "name"): IpnsName {
  const refuse = (why: string, cause?: unknown): never => {
    throw new InvalidInputError(field, `"${preview(text, 64)}" is not an IPNS name: ${why}`, {
      cause,
      code: "invalid-ipns-name",
      title: "Invalid IPNS name",
    });
  };
  if (text.length > MAX_NAME_TEXT) refuse(`it is over ${MAX_NAME_TEXT} characters`);
  let bytes: Uint8Array;
  try {
    bytes = isPeerId(text)
      ? base58btc.baseDecode(text)
      : checkCodec(CID.decode(multibaseDecode(text))).multihash.bytes;
  } catch (e) {
    return refuse((e as Error).message, e);
  }
  try {
    return ipnsNameOf(bytes);
  } catch (e) {
    return refuse((e as Error).message, e);
  }
}

/** The name of a public key (or of its multihash bytes); TypeError for bytes that name no key. */
export function ipnsNameOf(key: PublicKey | Uint8Array): IpnsName {
  const digest = Digest.decode(key instanceof Uint8Array ? key : key.toMultihash().bytes);
  let publicKey: PublicKey | undefined;
  if (digest.code === IDENTITY) {
    publicKey = publicKeyOf(digest);
  } else if (digest.code !== SHA2_256 || digest.size !== 32) {
    throw new TypeError(
      `its multihash is 0x${digest.code.toString(16)}; a name is the identity multihash of ` +
        "a key or the sha2-256 of one",
    );
  }
  const text = CID.createV1(LIBP2P_KEY_CODEC, digest).toString(base36);
  return { text, multihash: digest.bytes, publicKey };
}

// A legacy peer id is a bare base58btc multihash: identity ones start "1", sha2-256 ones "Qm".
function isPeerId(text: string): boolean {
  return text.startsWith("1") || text.startsWith("Qm");
}

function multibaseDecode(text: string): Uint8Array {
  const prefix = String.fromCodePoint(text.codePointAt(0) ?? 0);
  const decoder = DECODERS.get(prefix);
  if (!decoder) throw new SyntaxError(`"${prefix}" is the prefix of no multibase`);
  return decoder.decode(text);
}

function checkCodec(cid: CID): CID {
  if (cid.version !== 1 || cid.code !== LIBP2P_KEY_CODEC) {
    throw new TypeError(
      `it is a CIDv${cid.version} with codec 0x${cid.code.toString(16)}, not a libp2p-key ` +
        "(0x72) CIDv1",
    );
  }
  return cid;
}

function publicKeyOf(digest: Digest.Digest<number, number>): PublicKey {
  try {
    return publicKeyFromMultihash(digest as Digest.Digest<0, number>);
  } catch (e) {
    throw new TypeError(`its identity multihash holds no public key: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
