/**
 * The IpnsEntry protobuf of the IPNS record spec, read field by field so
 * that verification can tell a field that is absent from one that is
 * empty (the spec's V1 rules turn on which fields are present):
 *
 * ```protobuf
 * message IpnsEntry {
 *   enum ValidityType { EOL = 0; }
 *   optional bytes value = 1;          // V1, must match data[Value]
 *   optional bytes signatureV1 = 2;    // V1, never verified
 *   optional ValidityType validityType = 3;
 *   optional bytes validity = 4;
 *   optional uint64 sequence = 5;
 *   optional uint64 ttl = 6;
 *   optional bytes pubKey = 7;         // the key, when the name does not inline it
 *   optional bytes signatureV2 = 8;    // over "ipns-signature:" ‖ data
 *   optional bytes data = 9;           // DAG-CBOR: Value, Validity, ValidityType, Sequence, TTL
 * }
 * ```
 */
import protobuf from "protobufjs";

const root = protobuf.Root.fromJSON({
  nested: {
    IpnsEntry: {
      // Explicit presence, as the spec's proto2 message: a field set to 0 or empty is written.
      edition: "proto2",
      fields: {
        value: { type: "bytes", id: 1 },
        signatureV1: { type: "bytes", id: 2 },
        validityType: { type: "int32", id: 3 },
        validity: { type: "bytes", id: 4 },
        sequence: { type: "uint64", id: 5 },
        ttl: { type: "uint64", id: 6 },
        pubKey: { type: "bytes", id: 7 },
        signatureV2: { type: "bytes", id: 8 },
        data: { type: "bytes", id: 9 },
      },
    },
  },
});
const IpnsEntryType = root.lookupType("IpnsEntry");

/** The fields an entry holds; a field absent from the bytes is absent here. */
export interface IpnsEntry {
  value?: Uint8Array;
  signatureV1?: Uint8Array;
  pubKey?: Uint8Array;
  signatureV2?: Uint8Array;
  data?: Uint8Array;
  /** The decoded message, every field as protobufjs read it (for encodeIpnsEntry). */
  readonly message: protobuf.Message;
}

/** Reads an IpnsEntry; SyntaxError for bytes that are not one. */
export function decodeIpnsEntry(bytes: Uint8Array): IpnsEntry {
  let message: protobuf.Message;
  try {
    message = IpnsEntryType.decode(bytes);
  } catch (e) {
    throw new SyntaxError(`${bytes.length} bytes are not an IpnsEntry: ${(e as Error).message}`);
  }
  // protobufjs sets own properties only for the fields on the wire.
  const own = (k: string) =>
    Object.hasOwn(message, k) ? (message as unknown as Record<string, Uint8Array>)[k] : undefined;
  return {
    value: own("value"),
    signatureV1: own("signatureV1"),
    pubKey: own("pubKey"),
    signatureV2: own("signatureV2"),
    data: own("data"),
    message,
  };
}

/** Encodes an entry's fields, with `changes` over them. */
export function encodeIpnsEntry(
  entry: IpnsEntry,
  changes: Record<string, Uint8Array> = {},
): Uint8Array {
  return IpnsEntryType.encode({ ...entry.message, ...changes }).finish();
}
