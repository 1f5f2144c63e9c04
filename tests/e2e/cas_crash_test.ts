/**
 * A crash during a large upload leaves nothing readable: a real gateway
 * process is killed (SIGKILL) while a 48 MiB body streams into it; after a
 * restart on the same KV neither the whole content nor the part that came
 * is served, no CAS entry or blob manifest exists, and the blob collector
 * deletes the chunks that did land.
 */
import assert from "node:assert/strict";
import { createMetrics } from "../../lib/metrics.ts";
import { BlobStore } from "../../storage/blob_store.ts";
import { openStore } from "../../storage/kv.ts";
import { census } from "../storage/blob_fixtures.ts";
import { spawnGateway, tempDir } from "../helpers.ts";
import { generatedBody } from "./cas_client.ts";

const MiB = 1 << 20;
const SIZE = 48 * MiB;
const KILL_AT = 16 * MiB;

/** The CID of the first `n` bytes generatedBody(…, seed) makes. */
async function cidOfGenerated(n: number, seed: number): Promise<string> {
  const body = generatedBody(n, seed);
  for await (const _ of body.stream) { /* hashed as pulled */ }
  return body.cid();
}

Deno.test("e2e CAS: a gateway killed mid-upload serves no partial content after a restart", async () => {
  const { dir, cleanup } = await tempDir();
  const env = { SYNCGATE_KV: `${dir}/gw.kv` };
  try {
    const gw = await spawnGateway(env);
    const whole = await cidOfGenerated(SIZE, 77);
    const body = generatedBody(SIZE, 77);
    let killed: Promise<Deno.CommandStatus> | undefined;
    const killing = body.stream.pipeThrough(
      new TransformStream({
        transform(piece, c) {
          c.enqueue(piece);
          if (body.sent >= KILL_AT) killed ??= gw.kill();
        },
      }),
    );
    await assert.rejects(
      fetch(`${gw.url}/cas`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: killing,
      }).then((r) => r.bytes()),
    );
    await killed;
    const partialCid = await cidOfGenerated(body.sent, 77); // what had been sent

    const again = await spawnGateway(env);
    try {
      for (const cid of [whole, partialCid]) {
        for (const path of [`/ipfs/${cid}?format=raw`, `/cas/${cid}`]) {
          const res = await fetch(again.url + path);
          assert.equal(res.status, 404, path);
          await res.body?.cancel();
        }
      }
    } finally {
      await again.stop();
    }

    const store = await openStore(env.SYNCGATE_KV, createMetrics());
    try {
      assert.deepEqual(
        await Array.fromAsync(store.kv.list({ prefix: ["cas"] })),
        [],
        "no CAS entry",
      );
      const before = await census(store);
      assert.equal(before.m, undefined, "no blob manifest");
      assert.equal(before.u, 1, "the crashed upload's marker");
      assert.ok((before.c ?? 0) > 0, "some chunks had landed");
      await new BlobStore(store).collect({ graceMs: 0 });
      assert.deepEqual(await census(store), {}, "the collector took the chunks");
    } finally {
      store.kv.close();
    }
  } finally {
    await cleanup();
  }
});
