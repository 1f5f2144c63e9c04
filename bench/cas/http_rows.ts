/**
 * The CAS rows over real loopback HTTP: PUT (`POST /cas`) of distinct
 * blobs, and GET of each (`/ipfs/{cid}?format=raw`, or a file from the
 * static route), reading every body to its end. Rates are MB/s of content.
 */
import { measure, type Phase } from "../harness/measure.ts";
import type { Result } from "../harness/result.ts";
import type { Server } from "../harness/server.ts";
import type { BlobPool } from "./content.ts";
import { asMBps } from "./raw_rows.ts";

/** Puts blobs 0..total-1 (and the warm-up ones) by `POST /cas`; MB/s, and the CID of each. */
export function httpPut(
  gw: Server,
  pool: BlobPool,
  phase: Phase,
): Promise<{ result: Result; cids: string[] }> {
  return httpPost(`${gw.url}/cas`, gw, pool, phase, async (res) => (await res.json()).cid);
}

/**
 * POSTs blobs 0..total-1 (and the warm-up ones) to `url`, each expecting 201;
 * MB/s, and what `answer` read from each response.
 */
export async function httpPost<T>(
  url: string,
  server: Server,
  pool: BlobPool,
  phase: Phase,
  answer: (res: Response) => Promise<T>,
): Promise<{ result: Result; cids: T[] }> {
  const cids: T[] = [];
  const result = await measure(server, phase, (k) => {
    const bytes = pool.take(k);
    return async () => {
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/octet-stream" },
          body: bytes as Uint8Array<ArrayBuffer>,
        });
        cids[k] = await answer(res);
        return res.status;
      } finally {
        pool.release(bytes);
      }
    };
  }, { ok: (status) => status === 201, explain: (s) => `PUT answered ${s}` });
  return { result: asMBps(result, pool.size), cids };
}

/** GETs `urlOf(k)` for k = 0..total-1, reading each body; MB/s of `size`-byte bodies. */
export async function httpGet(
  server: Server,
  urlOf: (k: number) => string,
  size: number,
  phase: Phase,
): Promise<Result> {
  const r = await measure(server, phase, (k) => async () => {
    const res = await fetch(urlOf(k));
    let n = 0;
    for await (const piece of res.body!) n += piece.length;
    return res.ok ? n : -res.status;
  }, { ok: (n) => n === size, warmAt: 0, explain: (n) => `GET read ${n} bytes of ${size}` });
  return asMBps(r, size);
}
