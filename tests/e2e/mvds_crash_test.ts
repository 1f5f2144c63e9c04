/**
 * kill -9 of either gateway in the middle of an MVDS delivery: restarted on
 * its KV file (on another port; the proxies between them keep the peers'
 * urls), it carries on and every message arrives and is ACKed.
 */
import assert from "node:assert/strict";
import { type GatewayProcess, spawnGateway, tempDir } from "../helpers.ts";
import { linkNodes, listAll, LossyProxy, sendText, waitDelivered, waitFor } from "./mvds_client.ts";

Deno.test("e2e mvds: kill -9 of either side mid-delivery loses nothing", async () => {
  const { dir, cleanup } = await tempDir();
  // A short lease, so the restarted process takes over the ticker of its dead self quickly.
  const env = (i: number) => ({
    SYNCGATE_KV: `${dir}/gw${i}.kv`,
    SYNCGATE_MVDS_LEASE_TTL_MS: "1000",
  });
  const gws: GatewayProcess[] = [];
  const proxies = [new LossyProxy(0), new LossyProxy(0)];
  try {
    for (const i of [0, 1]) gws.push(await spawnGateway(env(i)));
    const retarget = () => {
      proxies[0].target = gws[1].url;
      proxies[1].target = gws[0].url;
    };
    retarget();
    const bases: [() => string, () => string] = [() => gws[0].url, () => gws[1].url];
    for (const mode of ["batch", "interactive"] as const) {
      const opts = { mode, backoffCapEpochs: 8 };
      const link = await linkNodes(bases, [opts, opts], [proxies[0], proxies[1]]);
      let sent = 0;
      for (const victim of [0, 1]) {
        for (let i = 0; i < 40; i++) {
          await sendText(bases[0](), link.a, link.group, `${mode} a${sent + i}`);
          await sendText(bases[1](), link.b, link.group, `${mode} b${sent + i}`);
        }
        sent += 40;
        // Mid-delivery: some have arrived, not all.
        await waitFor(
          "the first deliveries",
          async () =>
            (await listAll(bases[1](), link.b, link.group)).length >= 2 * (sent - 40) + 45,
        );
        await gws[victim].kill();
        gws[victim] = await spawnGateway(env(victim));
        retarget();
        await waitDelivered(bases, link, 2 * sent, 30_000);
      }
      const onA = await listAll(bases[0](), link.a, link.group);
      assert.equal(onA.length, 160);
      assert.equal(new Set(onA.map((m) => m.id)).size, 160, "each message once");
    }
  } finally {
    for (const p of proxies) await p.close();
    for (const gw of gws) await gw.stop();
    await cleanup();
  }
});
