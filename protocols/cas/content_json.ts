/**
 * `vac.cas.Content` in Twirp's JSON (protojson: bytes as standard base64),
 * written as a stream: `{"data":"` + the data in base64 as it is read +
 * `"}`, so that a Get of any size in JSON holds a few KiB at a time.
 *
 * @example
 * ```ts
 * const body = blobStream.pipeThrough(contentJsonStream()); // {"data":"aGVsbG8="}
 * ```
 */
import { concat } from "../../lib/bytes.ts";

const encoder = new TextEncoder();
const OPEN = encoder.encode('{"data":"');
const CLOSE = encoder.encode('"}');

/** A Content's JSON around a stream of its data (base64 cut at 3-byte boundaries). */
export function contentJsonStream(): TransformStream<Uint8Array, Uint8Array> {
  let carry = new Uint8Array(0);
  return new TransformStream({
    start(controller) {
      controller.enqueue(OPEN);
    },
    transform(chunk, controller) {
      const all = carry.length ? concat([carry, chunk]) : chunk;
      const whole = all.length - (all.length % 3);
      if (whole > 0) controller.enqueue(encoder.encode(all.subarray(0, whole).toBase64()));
      carry = all.slice(whole);
    },
    flush(controller) {
      if (carry.length) controller.enqueue(encoder.encode(carry.toBase64()));
      controller.enqueue(CLOSE);
    },
  });
}
