/**
 * The CAS rows' ceiling: a plain `Deno.serve` that does what the CAS must
 * (HTTP in, KV chunks out, and back) and nothing else — no hashing, no
 * upload marker, no manifest, no entry, no front. `POST /chunks` cuts the
 * body into the blob store's chunks and commits them as raw KV does
 * (as many a commit as fit), answering `<upload hex> <chunks>`;
 * `GET /chunks/<upload hex>/<chunks>/<size>` streams them back, 10 keys a read.
 * Keys come from storage/blob_layout.ts. Prints `listening on URL` when
 * ready; runs until killed.
 * Usage: `deno run --allow-net --allow-read --allow-write kv_route_server.ts <kv path>`.
 */
import { CHUNK_BYTES, chunkKey, UPLOAD_ID_BYTES } from "../../storage/blob_layout.ts";
import { chunkForCommit, setCost } from "../../storage/kv.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { openStore } from "../../storage/kv.ts";

const store = await openStore(Deno.args[0], createMetrics());

async function put(body: ReadableStream<Uint8Array>): Promise<string> {
  const upload = crypto.getRandomValues(new Uint8Array(UPLOAD_ID_BYTES));
  let sets: [Deno.KvKey, Uint8Array][] = [];
  let chunk = new Uint8Array(CHUNK_BYTES), fill = 0, n = 0;
  const commit = async (all: boolean) => {
    const runs = chunkForCommit(sets, store.limits, ([k, v]) => setCost(k, v.length));
    // Keep the last run open until the body ends, so commits are as full as rawPut's.
    const ready = all ? runs : runs.slice(0, -1);
    for (const run of ready) {
      const op = store.kv.atomic();
      for (const [k, v] of run) op.set(k, v);
      await op.commit();
    }
    sets = all ? [] : runs.at(-1) ?? [];
  };
  for await (const piece of body) {
    for (let off = 0; off < piece.length;) {
      const take = Math.min(CHUNK_BYTES - fill, piece.length - off);
      chunk.set(piece.subarray(off, off + take), fill);
      fill += take;
      off += take;
      if (fill === CHUNK_BYTES) {
        sets.push([chunkKey(upload, n++), chunk]);
        chunk = new Uint8Array(CHUNK_BYTES);
        fill = 0;
        if (sets.length > 20) await commit(false);
      }
    }
  }
  if (fill > 0 || n === 0) sets.push([chunkKey(upload, n++), chunk.slice(0, fill)]);
  await commit(true);
  return `${upload.toHex()} ${n}`;
}

function get(upload: Uint8Array, chunks: number): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    async pull(c) {
      if (i >= chunks) return c.close();
      const keys = Array.from(
        { length: Math.min(10, chunks - i) },
        (_, j) => chunkKey(upload, i + j),
      );
      i += keys.length;
      for (const e of await store.kv.getMany<Uint8Array[]>(keys)) c.enqueue(e.value!);
    },
  });
}

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
  const parts = new URL(req.url).pathname.split("/").slice(1);
  if (req.method === "POST" && parts[0] === "chunks" && req.body) {
    return new Response(await put(req.body), { status: 201 });
  }
  if (req.method === "GET" && parts[0] === "chunks" && parts.length === 4) {
    return new Response(get(Uint8Array.fromHex(parts[1]), Number(parts[2])), {
      headers: { "content-type": "application/octet-stream", "content-length": parts[3] },
    });
  }
  return new Response("not found", { status: 404 });
});
console.log(`listening on http://127.0.0.1:${server.addr.port}`);
