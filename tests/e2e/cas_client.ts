/**
 * Helpers of the CAS end-to-end tests: adding content over HTTP, bodies
 * generated as they are sent, and the reference CID of bytes.
 */
import { createHash } from "node:crypto";
import { casCidOf } from "../../protocols/cas/cid.ts";
import { bytesOf } from "../storage/blob_fixtures.ts";

const PIECE = 64 * 1024;

/** POSTs bytes (or a stream) to /cas; status and JSON body. */
export async function addContent(
  url: string,
  body: Uint8Array | ReadableStream<Uint8Array>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${url}/cas`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream", ...headers },
    body: body as BodyInit,
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** The CID of bytes, as the gateway must name them. */
export function cidOfBytes(bytes: Uint8Array): string {
  return casCidOf(new Uint8Array(createHash("sha256").update(bytes).digest())).text;
}

/**
 * `size` pseudo-random bytes made as they are pulled, in 64 KiB pieces
 * (each from its own seed), and a hasher that sees them go by:
 * a body of any size in flat memory whose CID is known once it is sent.
 */
export function generatedBody(size: number, seed = 1) {
  const hash = createHash("sha256");
  let sent = 0;
  let cid: string | undefined;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      const n = Math.min(PIECE, size - sent);
      if (n === 0) return c.close();
      const piece = bytesOf(n, (Math.imul(seed, 0x9e3779b1) + sent / PIECE + 1) >>> 0);
      hash.update(piece);
      sent += n;
      c.enqueue(piece);
    },
  }, { highWaterMark: 0 });
  return {
    stream,
    get sent() {
      return sent;
    },
    /** The CID, once the whole body was pulled. */
    cid: () => cid ??= casCidOf(new Uint8Array(hash.digest())).text,
  };
}

/** The CID and length of a response body, read as it streams. */
export async function hashBody(res: Response): Promise<{ cid: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const piece of res.body!) {
    hash.update(piece);
    size += piece.length;
  }
  return { cid: casCidOf(new Uint8Array(hash.digest())).text, size };
}
