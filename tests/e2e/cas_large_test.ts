/**
 * Large content through a real gateway process, both ways, streamed: the
 * body is made as it is sent and hashed as it is read back. 5 MiB and
 * 64 MiB round trips check the bytes (raw, a tail range, the CAR); a
 * 256 MiB one checks memory: the gateway's peak RSS over it grows by less
 * than half the content, so neither the upload nor the download is held
 * whole. (What it grows by is garbage V8 has not yet collected: V8 collects
 * freed buffers once some 64 MiB of them have piled up.)
 */
import assert from "node:assert/strict";
import { spawnGateway, tempDir } from "../helpers.ts";
import { addContent, generatedBody, hashBody } from "./cas_client.ts";
import { processMemory, resetPeak } from "./process_memory.ts";

const MiB = 1 << 20;

Deno.test("e2e CAS: 5 MiB, 64 MiB and 256 MiB round trips stream through a gateway in bounded memory", async () => {
  const { dir, cleanup } = await tempDir();
  const gw = await spawnGateway({
    SYNCGATE_KV: `${dir}/gw.kv`,
    SYNCGATE_CAS_MAX_BYTES: String(256 * MiB),
  });
  const pid = gw.child.pid;
  try {
    for (const size of [5 * MiB, 64 * MiB]) {
      const body = generatedBody(size, size);
      const added = await addContent(gw.url, body.stream);
      assert.equal(added.status, 201);
      assert.deepEqual(added.body, { cid: body.cid(), size });
      const raw = `${gw.url}/ipfs/${body.cid()}?format=raw`;
      const res = await fetch(raw);
      assert.equal(res.headers.get("content-length"), String(size));
      assert.deepEqual(await hashBody(res), { cid: body.cid(), size }, "the same bytes back");
      const tail = await fetch(raw, { headers: { range: "bytes=-100000" } });
      assert.equal(tail.status, 206);
      assert.equal((await tail.bytes()).length, 100_000);
      const car = await fetch(`${gw.url}/ipfs/${body.cid()}?format=car`);
      const carSize = Number(car.headers.get("content-length"));
      assert.equal((await hashBody(car)).size, carSize);
      assert.ok(carSize > size, "the CAR holds the block");
    }
    const size = 256 * MiB;
    await resetPeak(pid);
    const before = (await processMemory(pid)).rss;
    const body = generatedBody(size, 3);
    assert.equal((await addContent(gw.url, body.stream)).status, 201);
    const back = await hashBody(await fetch(`${gw.url}/ipfs/${body.cid()}?format=raw`));
    assert.deepEqual(back, { cid: body.cid(), size });
    const growth = (await processMemory(pid)).peak - before;
    console.log(`gateway peak RSS over a 256 MiB round trip: +${(growth / MiB).toFixed(1)} MiB`);
    assert.ok(growth < size / 2, `peak RSS grew ${(growth / MiB).toFixed(1)} MiB`);
  } finally {
    await gw.stop();
    await cleanup();
  }
});
