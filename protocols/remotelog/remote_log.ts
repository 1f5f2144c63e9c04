/**
 * The RemoteLog message of the remote log spec (0.0.6), as the seed has it:
 *
 * ```protobuf
 * message RemoteLog {
 *   Body body = 1;
 *   bytes tail = 2;
 *   message Body { repeated Pair pair = 1; }
 *   message Pair { bytes remoteHash = 1; bytes localHash = 2; }
 * }
 * ```
 *
 * A page lists its pairs newest first. `remoteHash` is where the entry is in
 * CAS (here a binary CID), `localHash` its id in the writer's local log;
 * `tail` is the binary CID of the previous page, empty on the first.
 */
import protobuf from "protobufjs";

const root = protobuf.Root.fromJSON({
  nested: {
    RemoteLog: {
      fields: { body: { type: "Body", id: 1 }, tail: { type: "bytes", id: 2 } },
      nested: {
        Body: { fields: { pair: { rule: "repeated", type: "Pair", id: 1 } } },
        Pair: {
          fields: { remoteHash: { type: "bytes", id: 1 }, localHash: { type: "bytes", id: 2 } },
        },
      },
    },
  },
});
const RemoteLogType = root.lookupType("RemoteLog");

/** One entry of a page: where it is in CAS, and its id in the writer's log. */
export interface Pair {
  remoteHash: Uint8Array;
  localHash: Uint8Array;
}

/** A page of a remote log: pairs newest first, and the previous page's address (or empty). */
export interface RemoteLog {
  pairs: Pair[];
  tail: Uint8Array;
}

/** Most bytes of one page this code decodes (a full-mode log of ~100,000 entries). */
export const MAX_PAGE_BYTES = 8 * 1024 * 1024;
/** Most bytes of a hash (either kind) in a pair: a CID or a digest. */
export const MAX_HASH_BYTES = 128;

/** Encodes a page; the bytes are what CAS stores and a CID names. */
export function encodeRemoteLog(log: RemoteLog): Uint8Array {
  // proto3 writes no empty bytes field: a first page has no tail on the wire.
  return RemoteLogType.encode({
    body: { pair: log.pairs.map((p) => ({ remoteHash: p.remoteHash, localHash: p.localHash })) },
    ...(log.tail.length ? { tail: log.tail } : {}),
  }).finish();
}

/**
 * Decodes a page; throws SyntaxError on bytes that are not one, or whose
 * pairs lack a hash or carry one longer than MAX_HASH_BYTES.
 */
export function decodeRemoteLog(bytes: Uint8Array): RemoteLog {
  if (bytes.length > MAX_PAGE_BYTES) {
    throw new SyntaxError(`A RemoteLog page is at most ${MAX_PAGE_BYTES} bytes`);
  }
  let msg: {
    body?: { pair?: { remoteHash?: Uint8Array; localHash?: Uint8Array }[] };
    tail?: Uint8Array;
  };
  try {
    msg = RemoteLogType.toObject(RemoteLogType.decode(bytes), { defaults: false }) as typeof msg;
  } catch (e) {
    throw new SyntaxError(`Not a RemoteLog: ${(e as Error).message}`);
  }
  const pairs = (msg.body?.pair ?? []).map((p, i): Pair => {
    for (const f of ["remoteHash", "localHash"] as const) {
      const v = p[f];
      if (!v || v.length === 0) throw new SyntaxError(`RemoteLog pair ${i} has no ${f}`);
      if (v.length > MAX_HASH_BYTES) {
        throw new SyntaxError(`RemoteLog pair ${i}: ${f} is longer than ${MAX_HASH_BYTES} bytes`);
      }
    }
    return { remoteHash: new Uint8Array(p.remoteHash!), localHash: new Uint8Array(p.localHash!) };
  });
  return { pairs, tail: new Uint8Array(msg.tail ?? []) };
}
