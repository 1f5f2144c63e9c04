/**
 * A CARv1 holding one raw block, as the trustless gateway answers
 * `?format=car`: the header (`{version: 1, roots: [cid]}` in DAG-CBOR, by
 * @ipld/car) and the block's section head (varint of CID + data length, then
 * the CID). The block's bytes follow as they are read, so a CAR of any size
 * is streamed; its length is known up front.
 *
 * @example
 * ```ts
 * const head = carHead(cid, size);
 * const body = ReadableStream.from([head, ...blockPieces]); // head.length + size bytes
 * ```
 */
import { createWriter, headerLength } from "@ipld/car/buffer-writer";
import type { CID } from "multiformats/cid";
import { varint } from "multiformats";

/** The bytes of a one-block CARv1 before the block's data. */
export function carHead(cid: CID, size: number): Uint8Array {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`Block size must be a non-negative integer, got ${size}`);
  }
  const roots = [cid];
  const header = createWriter(new ArrayBuffer(headerLength({ roots })), { roots }).close();
  const sectionLength = cid.bytes.length + size;
  const out = new Uint8Array(
    header.length + varint.encodingLength(sectionLength) + cid.bytes.length,
  );
  out.set(header);
  const at = header.length + varint.encodingLength(sectionLength);
  varint.encodeTo(sectionLength, out, header.length);
  out.set(cid.bytes, at);
  return out;
}
