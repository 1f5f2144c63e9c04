/**
 * The spec's package `vac.cas` (remote log 0.0.6), by protobufjs: the CAS
 * service's `Address {bytes id = 1}` and `Content {bytes data = 1}`, and
 * the NS service's messages (codecs in protocols/ns/proto.ts), one package.
 * Content of any size is also read and written as a stream
 * (content_stream.ts); these whole-message codecs serve the small Address
 * and the tests.
 */
import protobuf from "protobufjs";

const root = protobuf.Root.fromJSON({
  nested: {
    vac: {
      nested: {
        cas: {
          nested: {
            Address: { fields: { id: { type: "bytes", id: 1 } } },
            Content: { fields: { data: { type: "bytes", id: 1 } } },
            NameUpdate: {
              fields: { name: { type: "string", id: 1 }, content: { type: "bytes", id: 2 } },
            },
            Query: { fields: { name: { type: "string", id: 1 } } },
            Response: { fields: { data: { type: "bytes", id: 1 } } },
          },
        },
      },
    },
  },
});

/** A message type of the package `vac.cas`, by its name. */
export const vacCasType = (name: string): protobuf.Type => root.lookupType(`vac.cas.${name}`);

export const AddressType = vacCasType("Address");
export const ContentType = vacCasType("Content");

/** The Twirp service path of the spec's CAS: `/twirp/vac.cas.CAS/<Method>`. */
export const CAS_SERVICE = "vac.cas.CAS";

/** Encodes an Address. */
export function encodeAddress(id: Uint8Array): Uint8Array<ArrayBuffer> {
  return AddressType.encode({ id }).finish() as Uint8Array<ArrayBuffer>;
}

/** Decodes an Address; SyntaxError for bytes that are not one. */
export function decodeAddress(bytes: Uint8Array): Uint8Array {
  return field((decodeWith(AddressType, bytes, "Address") as { id?: unknown }).id);
}

/** Encodes a whole Content. */
export function encodeContent(data: Uint8Array): Uint8Array {
  return ContentType.encode({ data }).finish();
}

/** Decodes a whole Content; SyntaxError for bytes that are not one. */
export function decodeContent(bytes: Uint8Array): Uint8Array {
  return field((decodeWith(ContentType, bytes, "Content") as { data?: unknown }).data);
}

/** A decoded bytes field as a plain Uint8Array (protobufjs gives a Buffer, or [] when absent). */
function field(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) return new Uint8Array();
  return new Uint8Array(value.buffer, value.byteOffset, value.length);
}

/** Decodes a `vac.cas` message; SyntaxError naming it for bytes that are not one. */
export function decodeWith(type: protobuf.Type, bytes: Uint8Array, name: string): protobuf.Message {
  try {
    return type.decode(bytes);
  } catch (e) {
    throw new SyntaxError(
      `${bytes.length} bytes are not a vac.cas.${name}: ${(e as Error).message}`,
    );
  }
}
