import assert from "node:assert/strict";
import { tempDir, withGateway } from "../helpers.ts";
import {
  ACK_HEX,
  getJson,
  greetedPeer,
  GREETING,
  hex,
  listenerPort,
  openEvents,
  sendJson,
  TestPeer,
  until,
} from "./remotefile_peer.ts";

const LISTEN = { SYNCGATE_REMOTEFILE_LISTEN: "127.0.0.1:0" };

Deno.test("listener: greeting split at odd boundaries is ACKed byte-exact; offered files are opened and mirrored; deltas reach REST and WebSocket", async () => {
  await withGateway(LISTEN, async (gw) => {
    const peer = await TestPeer.connect(await listenerPort(gw.url));
    // The reference client's greeting, literally, in pieces of 1, 7 and 5 bytes.
    const greeting = new Uint8Array([
      0x1e,
      ...new TextEncoder().encode("RMFP/1.0\nNumHeader-Format:32\n\n"),
    ]);
    assert.equal(hex(greeting), hex(GREETING));
    await peer.send(greeting, [1, 7, 5]);
    assert.equal(hex((await peer.next()).raw), ACK_HEX);

    const [conn] = await getJson(`${gw.url}/remotefile/connections`);
    assert.equal(conn.kind, "accepted");
    assert.match(conn.peer, /^tcp 127\.0\.0\.1:\d+$/);
    const base = `${gw.url}/remotefile/connections/${conn.id}`;
    const { events, ws } = await openEvents(gw.url, conn.id);

    // FILE_INFO as the spec's example lays it out: File1.txt, 1000 bytes at 0x10000 (here 8 bytes).
    const info = new Uint8Array([
      ...[0x03, 0, 0, 0], // RMF_CMD_FILE_INFO
      ...[0x00, 0x00, 0x01, 0x00], // StartAddress 0x10000
      ...[0x08, 0, 0, 0], // FileSize 8
      ...[0, 0], // FixedFile
      ...[0, 0], // NoDigest
      ...new Uint8Array(32),
      ...new TextEncoder().encode("File1.txt"),
      0,
    ]);
    await peer.send(TestPeer.control(info), [3, 10, 1]);
    // FILE_OPEN for 0x10000: NumHeader 12, high address, cmd 10, address LE.
    assert.equal(hex((await peer.next()).raw), "0cbffffc000a00000000000100");

    // The whole file, fragmented (MORE_BIT) over two messages and split across TCP writes.
    const first = TestPeer.write(0x10000, new Uint8Array([1, 2, 3]), true);
    assert.equal(hex(first), "07c0010000010203"); // HIGH_BIT | MORE_BIT
    await peer.send(first, [2]);
    await peer.sendWrite(0x10003, new Uint8Array([4, 5, 6, 7, 8]), [4, 1]);
    await until(
      async () => {
        const res = await fetch(`${base}/remote-files/File1.txt`);
        return res.status === 200 && hex(await res.bytes()) === "0102030405060708";
      },
      3000,
      "the mirrored file",
    );

    // A delta: one byte at offset 6.
    await peer.sendWrite(0x10006, new Uint8Array([0xee]), [3]);
    await until(
      () => events.some((e) => e.type === "write" && e.offset === 6),
      3000,
      "a write event",
    );
    const w = events.find((e) => e.type === "write" && e.offset === 6);
    assert.deepEqual(w, {
      type: "write",
      side: "remote",
      name: "File1.txt",
      offset: 6,
      size: 1,
      data: "7g==",
      id: conn.id,
    });
    assert.deepEqual(events.find((e) => e.type === "write" && e.offset === 0)?.size, 8);

    const detail = await getJson(base);
    assert.equal(detail.state, "connected");
    assert.deepEqual(detail.remoteFiles, [{
      name: "File1.txt",
      address: 0x10000,
      size: 8,
      fileType: 0,
      digestType: 0,
      open: true,
    }]);
    assert.equal(
      hex(await (await fetch(`${base}/remote-files/File1.txt`)).bytes()),
      "010203040506ee08",
    );

    // Heartbeat and ping are answered.
    await peer.sendCommand({ type: "heartbeatRequest" });
    assert.equal(hex((await peer.next()).raw), "08bffffc0006000000");
    await peer.sendCommand({
      type: "pingRequest",
      address: 0xffffffff,
      seconds: 7,
      milliseconds: 9,
    });
    assert.deepEqual(await peer.command("pingResponse"), {
      type: "pingResponse",
      address: 0xffffffff,
      seconds: 7,
      milliseconds: 9,
    });
    ws.close();
    peer.close();
    await until(async () => (await getJson(base)).state === "closed", 3000, "closed state");
    // Closed, still readable: the last known bytes.
    assert.equal(
      hex(await (await fetch(`${base}/remote-files/File1.txt`)).bytes()),
      "010203040506ee08",
    );
  });
});

Deno.test("listener: files flow to the peer: publish (FILE_INFO), whole write on open, deltas, revoke", async () => {
  await withGateway(LISTEN, async (gw) => {
    const { peer, id } = await greetedPeer(gw.url);
    const base = `${gw.url}/remotefile/connections/${id}`;
    const pub = await sendJson("POST", `${base}/files`, {
      name: "Gw.cfg",
      size: 6,
      data: new Uint8Array([1, 2, 3]).toBase64(),
    });
    assert.equal(pub.status, 201, JSON.stringify(pub.body));
    assert.equal(pub.body.address, 0x20000000);
    const fi = await peer.command("fileInfo");
    assert.deepEqual(fi.files.map((f) => [f.name, f.address, f.size]), [["Gw.cfg", 0x20000000, 6]]);

    // Before the peer opens it, a delta is only kept.
    let res = await fetch(`${base}/files/Gw.cfg?offset=4`, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: new Uint8Array([9]),
    });
    assert.equal(res.status, 204);
    await peer.sendCommand({ type: "fileOpen", address: 0x20000000 });
    const whole = await peer.next();
    assert.equal(hex(whole.raw), "0aa0000000" + "010203000900");

    res = await fetch(`${base}/files/Gw.cfg?offset=1`, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: new Uint8Array([0xaa, 0xbb]),
    });
    assert.equal(res.status, 204);
    const delta = await peer.next();
    assert.equal(delta.address, 0x20000001);
    assert.equal(hex(delta.data), "aabb");
    assert.equal(hex(await (await fetch(`${base}/files/Gw.cfg`)).bytes()), "01aabb000900");

    // Outside the file: 400 naming offset; unknown file: 404.
    res = await fetch(`${base}/files/Gw.cfg?offset=5`, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: new Uint8Array([1, 2]),
    });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).errors[0].field, "offset");
    res = await fetch(`${base}/files/Nope?offset=0`, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: new Uint8Array([1]),
    });
    assert.equal(res.status, 404);
    await res.body?.cancel();

    assert.equal((await sendJson("DELETE", `${base}/files/Gw.cfg`)).status, 204);
    assert.deepEqual(await peer.command("revokeFile"), { type: "revokeFile", address: 0x20000000 });
    assert.deepEqual((await getJson(base)).localFiles, []);
    peer.close();
  });
});

Deno.test("listener and client over unix sockets; the API key guards writes", async () => {
  const { dir, cleanup } = await tempDir();
  const gwSocket = `${dir}/gw.sock`;
  const peerSocket = `${dir}/peer.sock`;
  const KEY = "k".repeat(20);
  const auth = { authorization: `Bearer ${KEY}`, "content-type": "application/json" };
  try {
    await withGateway({
      SYNCGATE_REMOTEFILE_SOCKET: gwSocket,
      SYNCGATE_REMOTEFILE_PEERS: `unix:${peerSocket}`,
      SYNCGATE_API_KEY: KEY,
    }, async (gw) => {
      assert.deepEqual(await getJson(`${gw.url}/remotefile/listeners`), [{
        transport: "unix",
        path: gwSocket,
      }]);
      const node = new TestPeer(await Deno.connect({ transport: "unix", path: gwSocket }));
      await node.send(GREETING, [3]);
      assert.equal(hex((await node.next()).raw), ACK_HEX);

      const listener = Deno.listen({ transport: "unix", path: peerSocket });
      const url = `${gw.url}/remotefile/connections`;
      assert.equal((await sendJson("POST", url, { path: peerSocket })).status, 401);
      const res = await fetch(url, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ path: peerSocket }),
      });
      assert.equal(res.status, 201);
      const { id } = await res.json();
      const server = new TestPeer(await listener.accept());
      assert.equal(hex((await server.next()).raw), hex(GREETING));
      const list = await getJson(url);
      assert.deepEqual(list.find((c: { id: string }) => c.id === id).peer, `unix ${peerSocket}`);
      assert.equal((await sendJson("DELETE", `${url}/${id}`)).status, 401);
      const del = await fetch(`${url}/${id}`, { method: "DELETE", headers: auth });
      assert.equal(del.status, 204);
      assert.ok(await server.closedWithin(3000));
      server.close();
      node.close();
      listener.close();
    });
  } finally {
    await cleanup();
  }
});
