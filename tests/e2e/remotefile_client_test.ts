import assert from "node:assert/strict";
import { withGateway } from "../helpers.ts";
import { acceptGreeted, getJson, hex, listenPeer, sendJson, until } from "./remotefile_peer.ts";

const FAST = {
  SYNCGATE_REMOTEFILE_RECONNECT_MIN_MS: "20",
  SYNCGATE_REMOTEFILE_RECONNECT_MAX_MS: "100",
  SYNCGATE_REMOTEFILE_SAVE_INTERVAL_MS: "20",
};

Deno.test("client: connects, greets NumHeader32, opens offered files; reconnects after a drop keeping mirrors and re-publishing ours", async () => {
  await withGateway(FAST, async (gw) => {
    const server = listenPeer();
    const created = await sendJson("POST", `${gw.url}/remotefile/connections`, {
      host: "127.0.0.1",
      port: server.port,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id;
    const base = `${gw.url}/remotefile/connections/${id}`;
    let peer = await acceptGreeted(server);
    await until(async () => (await getJson(base)).state === "connected", 3000, "connected");

    // A file of ours, published while connected.
    const pub = await sendJson("POST", `${base}/files`, {
      name: "Gw.txt",
      size: 3,
      data: new Uint8Array([7, 8, 9]).toBase64(),
    });
    assert.equal(pub.status, 201);
    assert.equal((await peer.command("fileInfo")).files[0].name, "Gw.txt");

    // The peer's file: offered, opened, written whole in pieces.
    await peer.sendFileInfo({ name: "Srv.dat", address: 0x100, size: 4 });
    assert.deepEqual(await peer.command("fileOpen"), { type: "fileOpen", address: 0x100 });
    await peer.sendWrite(0x100, new Uint8Array([1, 2, 3, 4]), [1, 1, 1]);
    await until(
      async () => {
        const res = await fetch(`${base}/remote-files/Srv.dat`);
        return res.status === 200 && hex(await res.bytes()) === "01020304";
      },
      3000,
      "the mirror",
    );

    // The peer drops; the mirror stays readable while the gateway reconnects.
    peer.close();
    const again = await acceptGreeted(server);
    peer = again;
    assert.equal(hex(await (await fetch(`${base}/remote-files/Srv.dat`)).bytes()), "01020304");
    // Our file is announced again on the new connection.
    assert.deepEqual((await peer.command("fileInfo")).files.map((f) => [f.name, f.size]), [[
      "Gw.txt",
      3,
    ]]);
    await peer.sendCommand({ type: "fileOpen", address: 0x20000000 });
    assert.equal(hex((await peer.next()).data), "070809");
    await until(async () => (await getJson(base)).state === "connected", 3000, "connected again");
    const detail = await getJson(base);
    assert.equal(detail.kind, "client");
    assert.deepEqual(
      detail.remoteFiles.map((f: { name: string; open: boolean }) => [f.name, f.open]),
      [[
        "Srv.dat",
        false,
      ]],
    );

    // Re-offered: opened again and refreshed.
    await peer.sendFileInfo({ name: "Srv.dat", address: 0x100, size: 4 });
    await peer.command("fileOpen");
    await peer.sendWrite(0x100, new Uint8Array([5, 6, 7, 8]));
    await until(async () =>
      hex(await (await fetch(`${base}/remote-files/Srv.dat`)).bytes()) === "05060708"
    );

    // Deleted: the connection closes and no reconnect follows.
    assert.equal((await sendJson("DELETE", base)).status, 204);
    assert.ok(await peer.closedWithin(3000));
    assert.equal((await fetch(base)).status, 404);
    server.close();
  });
});

Deno.test("client: only peers the allow-list permits (default: loopback TCP)", async () => {
  await withGateway({}, async (gw) => {
    const url = `${gw.url}/remotefile/connections`;
    let r = await sendJson("POST", url, { host: "10.1.2.3", port: 5000 });
    assert.equal(r.status, 403);
    assert.match(r.body.detail, /SYNCGATE_REMOTEFILE_PEERS/);
    r = await sendJson("POST", url, { path: "/run/apx.sock" });
    assert.equal(r.status, 403);
    r = await sendJson("POST", url, { host: "127.0.0.1", port: 70000 });
    assert.equal(r.status, 400);
    r = await sendJson("POST", url, { host: "127.0.0.1", port: 1, extra: 1 });
    assert.equal(r.status, 400);
  });
  await withGateway({ SYNCGATE_REMOTEFILE_PEERS: "10.1.2.3:5000" }, async (gw) => {
    const url = `${gw.url}/remotefile/connections`;
    assert.equal((await sendJson("POST", url, { host: "127.0.0.1", port: 5000 })).status, 403);
    const r = await sendJson("POST", url, { host: "10.1.2.3", port: 5000 });
    assert.equal(r.status, 201);
    assert.equal((await sendJson("DELETE", `${url}/${r.body.id}`)).status, 204);
  });
});

Deno.test("client: a peer that refuses connections is retried with backoff, state shown", async () => {
  await withGateway(FAST, async (gw) => {
    const server = listenPeer();
    const port = server.port;
    server.close(); // nobody listens there now
    const { body } = await sendJson("POST", `${gw.url}/remotefile/connections`, {
      host: "127.0.0.1",
      port,
    });
    const base = `${gw.url}/remotefile/connections/${body.id}`;
    const d = await until(
      async () => {
        const x = await getJson(base);
        return x.lastError ? x : null;
      },
      3000,
      "a failed connect",
    );
    assert.ok(["connecting", "backing-off"].includes(d.state));
    assert.match(d.lastError, /Cannot connect|refused/i);
    assert.equal((await sendJson("DELETE", base)).status, 204);
  });
});
