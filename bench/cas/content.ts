/**
 * The bench's blobs: `count` distinct blobs of one size, each the same
 * pseudo-random bytes with its index written into its first 8 bytes, made
 * in a small pool of buffers (one per request in flight) so that the
 * client holds a few blobs, not all of them.
 */
import { bytesOf } from "../../tests/storage/blob_fixtures.ts";

/** A pool of buffers of one size, each handed out stamped with a blob's index. */
export class BlobPool {
  readonly #free: Uint8Array[] = [];

  constructor(readonly size: number, inFlight: number, seed = 1) {
    const base = bytesOf(size, seed);
    for (let i = 0; i < inFlight; i++) this.#free.push(base.slice());
  }

  /** The bytes of blob `k`, until released. */
  take(k: number): Uint8Array {
    const buf = this.#free.pop();
    if (!buf) throw new Error("BlobPool: more blobs taken than requests in flight");
    if (this.size >= 8) new DataView(buf.buffer).setFloat64(0, k);
    else buf[0] = k & 0xff;
    return buf;
  }

  release(buf: Uint8Array): void {
    this.#free.push(buf);
  }
}
