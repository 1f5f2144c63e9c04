/**
 * The spec's CAS service messages (remote log 0.0.6, package `vac.cas`):
 * `Address {bytes id = 1}` and `Content {bytes data = 1}`, by protobufjs.
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
          },
        },
      },
    },
  },
});

export const AddressType = root.lookupType("vac.cas.Address");
export const ContentType = root.lookupType("vac.cas.Content");

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

function decodeWith(type: protobuf.Type, bytes: Uint8Array, name: string): unknown {
  try {
    return type.decode(bytes);
  } catch (e) {
    throw new SyntaxError(
      `${bytes.length} bytes are not a vac.cas.${name}: ${(e as Error).message}`,
    );
  }
}
