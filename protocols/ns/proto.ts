/**
 * The spec's NS service messages (remote log 0.0.6, package `vac.cas`), by
 * protobufjs:
 *
 * ```protobuf
 * service NS {
 *   rpc Update(NameUpdate) returns (Response) {}
 *   rpc Fetch(Query) returns (Content) {}
 * }
 * message NameUpdate { string name = 1; bytes content = 2; }
 * message Query { string name = 1; }
 * message Response { bytes data = 1; }
 * ```
 *
 * Content is the CAS's (protocols/cas/proto.ts): the two services share it.
 */
import type protobuf from "protobufjs";
import { decodeWith, vacCasType } from "../cas/proto.ts";

const NameUpdateType = vacCasType("NameUpdate");
const QueryType = vacCasType("Query");
const ResponseType = vacCasType("Response");

/** The Twirp service path of the spec's NS: `/twirp/vac.cas.NS/<Method>`. */
export const NS_SERVICE = "vac.cas.NS";

/** A NameUpdate: a name, and its new content (here a marshalled IPNS record). */
export interface NameUpdate {
  name: string;
  content: Uint8Array;
}

/** Encodes a NameUpdate. */
export function encodeNameUpdate(update: NameUpdate): Uint8Array {
  return NameUpdateType.encode(update).finish();
}

/** Decodes a NameUpdate (absent fields are empty, as proto3 reads them); SyntaxError for bytes that are not one. */
export function decodeNameUpdate(bytes: Uint8Array): NameUpdate {
  const m = decodeWith(NameUpdateType, bytes, "NameUpdate");
  return { name: field(m, "name", ""), content: field(m, "content", new Uint8Array()) };
}

/** Encodes a Query. */
export function encodeQuery(name: string): Uint8Array {
  return QueryType.encode({ name }).finish();
}

/** Decodes a Query's name; SyntaxError for bytes that are not one. */
export function decodeQuery(bytes: Uint8Array): string {
  return field(decodeWith(QueryType, bytes, "Query"), "name", "");
}

/** Encodes a Response. */
export function encodeResponse(data: Uint8Array): Uint8Array {
  return ResponseType.encode({ data }).finish();
}

/** Decodes a Response's data; SyntaxError for bytes that are not one. */
export function decodeResponse(bytes: Uint8Array): Uint8Array {
  return field(decodeWith(ResponseType, bytes, "Response"), "data", new Uint8Array());
}

// protobufjs leaves absent fields to its prototype defaults, and an absent `bytes` is `[]` there.
function field<T>(message: protobuf.Message, name: string, absent: T): T {
  return Object.hasOwn(message, name) ? (message as unknown as Record<string, T>)[name] : absent;
}
