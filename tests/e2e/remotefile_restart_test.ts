import assert from "node:assert/strict";
import { spawnGateway, tempDir } from "../helpers.ts";
import { acceptGreeted, getJson, hex, listenPeer, sendJson, until } from "./remotefile_peer.ts";

Deno.test("restart: a client connection, our published node and the mirrored .in values come back from KV, and it reconnects", async () => {
  const { dir, cleanup } = await tempDir();
  const server = listenPeer();
  const env = {
    SYNCGATE_KV: `${dir}/gw.kv`,
    SYNCGATE_REMOTEFILE_SAVE_INTERVAL_MS: "20",
    SYNCGATE_REMOTEFILE_RECONNECT_MIN_MS: "20",
    SYNCGATE_REMOTEFILE_RECONNECT_MAX_MS: "200",
  };
  let gw = await spawnGateway(env);
  try {
    const { body } = await sendJson("POST", `${gw.url}/remotefile/connections`, {
      host: "127.0.0.1",
      port: server.port,
    });
    const id = body.id;
    let peer = await acceptGreeted(server);
    const definition = 'APX/1.2\nN"GwNode"\nP"Speed"S\nR"Cmd"C(0,3):=1\nR"Text"a[4]\n';
    const r = await sendJson("POST", `${gw.url}/remotefile/connections/${id}/apx/node`, {
      definition,
      values: { Speed: 77 },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await peer.command("fileInfo");
    await peer.command("fileInfo");
    await peer.sendFileInfo({ name: "GwNode.in", address: 0, size: 5 });
    await peer.command("fileOpen");
    await peer.sendWrite(0, new Uint8Array([3, 0x6f, 0x6b, 0, 0]));
    const ports = `${gw.url}/remotefile/connections/${id}/apx/ports`;
    await until(async () =>
      (await getJson(ports)).find((p: { name: string }) => p.name === "Cmd")?.value === 3
    );
    await new Promise((r) => setTimeout(r, 100)); // past the save interval

    assert.equal((await gw.stop()).code, 0);
    assert.ok(await peer.closedWithin(3000));
    peer.close();

    gw = await spawnGateway(env);
    const list = await getJson(`${gw.url}/remotefile/connections`);
    assert.deepEqual(list.map((c: { id: string; kind: string }) => [c.id, c.kind]), [[
      id,
      "client",
    ]]);
    // The last known values, from the store, before the server has said anything anew.
    const values = Object.fromEntries(
      (await getJson(`${gw.url}/remotefile/connections/${id}/apx/ports`)).map((
        p: { name: string; value: unknown },
      ) => [p.name, p.value]),
    );
    assert.deepEqual(values, { Speed: 77, Cmd: 3, Text: "ok" });
    const detail = await getJson(`${gw.url}/remotefile/connections/${id}`);
    assert.deepEqual(detail.localFiles.map((f: { name: string }) => f.name), [
      "GwNode.out",
      "GwNode.apx",
    ]);
    assert.deepEqual(
      detail.remoteFiles.map((f: { name: string; open: boolean }) => [f.name, f.open]),
      [[
        "GwNode.in",
        false,
      ]],
    );

    // It reconnects on its own and announces our node's files again.
    peer = await acceptGreeted(server);
    const names = [
      (await peer.command("fileInfo")).files[0].name,
      (await peer.command("fileInfo")).files[0].name,
    ];
    assert.deepEqual(names, ["GwNode.out", "GwNode.apx"]);
    await peer.sendCommand({ type: "fileOpen", address: 0 });
    assert.equal(hex((await peer.next()).data), "4d00");
    peer.close();
  } finally {
    await gw.stop();
    server.close();
    await cleanup();
  }
});
