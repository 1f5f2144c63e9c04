/**
 * A real gateway process: an acknowledged IPNS record survives a clean
 * restart and a crash, served back byte for byte, and still holds its
 * sequence against a lower one.
 */
import assert from "node:assert/strict";
import { spawnGateway, tempDir } from "../helpers.ts";
import { nameOf, newKey, record } from "../protocols/ns/ipns_fixtures.ts";
import { getRecord, putRecord } from "./ns_client.ts";

Deno.test("e2e: a published IPNS record survives a restart and a crash", async () => {
  const { dir, cleanup } = await tempDir();
  const env = { SYNCGATE_KV: `${dir}/gw.kv` };
  const key = await newKey();
  const name = nameOf(key);
  let gw = await spawnGateway(env);
  try {
    const three = await record(key, 3);
    assert.equal((await putRecord(gw.url, name, three)).status, 200);
    assert.equal((await gw.stop()).code, 0, "SIGTERM closes cleanly");
    gw = await spawnGateway(env);
    assert.deepEqual(await (await getRecord(gw.url, name)).bytes(), three);

    const four = await record(key, 4);
    assert.equal((await putRecord(gw.url, name, four)).status, 200);
    await gw.kill(); // a crash right after the acknowledgement
    gw = await spawnGateway(env);
    assert.deepEqual(await (await getRecord(gw.url, name)).bytes(), four);
    const lower = await putRecord(gw.url, name, three);
    assert.equal(lower.status, 409);
    await lower.body?.cancel();
  } finally {
    await gw.stop();
    await cleanup();
  }
});
