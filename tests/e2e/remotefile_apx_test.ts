import assert from "node:assert/strict";
import { withGateway } from "../helpers.ts";
import {
  getJson,
  greetedPeer,
  GREETING,
  hex,
  listenPeer,
  openEvents,
  sendJson,
  until,
} from "./remotefile_peer.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

/** A made-up node: type refs, arrays, records, strings, limits, init values, both directions. */
const DEFINITION = 'APX/1.2\nN"TestNode"\nT"Gear_T"C(0,7)\n' +
  'P"Speed"S:=65535\nP"Gear"T[0]:=0\nP"Wheels"S[4]\nP"Info"{"Id"S"Temp"c(-40,125)}\n' +
  'P"Name"a[8]:="abc"\n' +
  'R"Mode"C(0,3):=3\nR"Target"{"X"s"Y"s}:={-1,2}\nR"Label"a[4]\n';

/** TestNode.out: Speed 513, Gear 2, Wheels [1,2,3,4], Info {Id 7, Temp -5}, Name "car". */
const OUT = new Uint8Array([
  0x01,
  0x02, // Speed 0x0201
  0x02, // Gear
  1,
  0,
  2,
  0,
  3,
  0,
  4,
  0, // Wheels
  7,
  0,
  0xfb, // Info
  ...utf8("car"),
  0,
  0,
  0,
  0,
  0, // Name a[8]
]);

const ENV = { SYNCGATE_REMOTEFILE_LISTEN: "127.0.0.1:0" };

Deno.test("apx: a node on the listener: its ports decoded, its .in published and written on PUT at the right address, limits → 400", async () => {
  await withGateway(ENV, async (gw) => {
    const { peer, id } = await greetedPeer(gw.url);
    const base = `${gw.url}/remotefile/connections/${id}`;
    const { events, ws } = await openEvents(gw.url, id);
    const def = utf8(DEFINITION);
    // As a c-apx node: FILE_INFO for .out then .apx; the gateway opens both; written whole.
    await peer.sendFileInfo({ name: "TestNode.out", address: 0, size: OUT.length });
    assert.deepEqual(await peer.command("fileOpen"), { type: "fileOpen", address: 0 });
    await peer.sendFileInfo({ name: "TestNode.apx", address: 0x4000000, size: def.length });
    assert.deepEqual(await peer.command("fileOpen"), { type: "fileOpen", address: 0x4000000 });
    await peer.sendWrite(0, OUT, [5]);
    await peer.sendWrite(0x4000000, def, [17, 40]);

    // The gateway, as APX server, offers TestNode.in (9 bytes) for the require ports…
    const fi = await peer.command("fileInfo");
    assert.deepEqual(fi.files.map((f) => [f.name, f.address, f.size]), [["TestNode.in", 0, 9]]);
    // …and writes it whole, with the init values, once opened.
    await peer.sendCommand({ type: "fileOpen", address: 0 });
    const whole = await peer.next();
    assert.equal(hex(whole.raw), "0b0000" + "03ffff020000000000");

    const ports = await until(
      async () => {
        const p = await getJson(`${base}/apx/ports`);
        return p.length === 8 && p[0].value !== null ? p : null;
      },
      3000,
      "decoded ports",
    );
    const byName = Object.fromEntries(
      ports.map((p: { name: string }) => [p.name, p]),
    );
    assert.deepEqual(byName.Speed, {
      node: "TestNode",
      name: "Speed",
      direction: "provide",
      type: "S",
      value: 513,
      file: "TestNode.out",
      fileSide: "remote",
      writable: false,
    });
    assert.equal(byName.Gear.type, "T[0]");
    assert.equal(byName.Gear.value, 2);
    assert.deepEqual(byName.Wheels.value, [1, 2, 3, 4]);
    assert.deepEqual(byName.Info.value, { Id: 7, Temp: -5 });
    assert.equal(byName.Name.value, "car");
    assert.equal(byName.Mode.value, 3);
    assert.deepEqual(byName.Target.value, { X: -1, Y: 2 });
    assert.equal(byName.Label.value, "");
    assert.deepEqual([byName.Target.file, byName.Target.fileSide, byName.Target.writable], [
      "TestNode.in",
      "local",
      true,
    ]);

    // PUT a require port: a delta at .in + 1, literally 06 | 00 01 | 05 00 fa ff.
    let r = await sendJson("PUT", `${base}/apx/ports/Target`, { value: { X: 5, Y: -6 } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { file: "TestNode.in", offset: 1, size: 4 });
    assert.equal(hex((await peer.next()).raw), "0600010500faff");
    r = await sendJson("PUT", `${base}/apx/ports/Label`, { value: "ab" });
    assert.equal(r.status, 200);
    assert.equal(hex((await peer.next()).raw), "0600056162" + "0000");

    // Limits and shapes: 400 naming the path.
    r = await sendJson("PUT", `${base}/apx/ports/Mode`, { value: 4 });
    assert.equal(r.status, 400);
    assert.equal(r.body.errors[0].field, "body.value");
    assert.match(r.body.errors[0].message, /≤ 3 \(upper limit\), got 4/);
    r = await sendJson("PUT", `${base}/apx/ports/Target`, { value: { X: 1 } });
    assert.equal(r.status, 400);
    assert.equal(r.body.errors[0].field, "body.value.Y");
    r = await sendJson("PUT", `${base}/apx/ports/Label`, { value: "toolong" });
    assert.equal(r.status, 400);
    r = await sendJson("PUT", `${base}/apx/ports/Mode`, {});
    assert.equal(r.status, 400);
    // The node's own provide port is its to write; an unknown port is 404.
    r = await sendJson("PUT", `${base}/apx/ports/Speed`, { value: 1 });
    assert.equal(r.status, 409);
    assert.equal((await sendJson("PUT", `${base}/apx/ports/Nope`, { value: 1 })).status, 404);

    // A delta from the node: Wheels[2] = 0x0100 → a port event.
    await peer.sendWrite(7, new Uint8Array([0x00, 0x01]), [1]);
    await until(
      () => events.some((e) => e.type === "port" && e.name === "Wheels"),
      3000,
      "port event",
    );
    assert.deepEqual(events.find((e) => e.type === "port" && e.name === "Wheels"), {
      type: "port",
      node: "TestNode",
      name: "Wheels",
      direction: "provide",
      value: [1, 2, 256, 4],
      id,
    });
    assert.ok(events.some((e) => e.type === "port" && e.name === "Target" && e.value.X === 5));
    const detail = await getJson(base);
    assert.deepEqual(detail.apxNodes, [{ file: "TestNode.apx", side: "remote", node: "TestNode" }]);
    ws.close();
    peer.close();
  });
});

Deno.test("apx: the gateway as a node on an APX server: .out and .apx published, .in mirrored, provide port PUT reaches the server", async () => {
  await withGateway({}, async (gw) => {
    const server = listenPeer();
    const { body } = await sendJson("POST", `${gw.url}/remotefile/connections`, {
      host: "127.0.0.1",
      port: server.port,
    });
    const base = `${gw.url}/remotefile/connections/${body.id}`;
    const peer = await server.accept();
    assert.equal(hex((await peer.next()).raw), hex(GREETING));
    await peer.send(new Uint8Array([0x08, 0xbf, 0xff, 0xfc, 0x00, 0, 0, 0, 0]));
    await until(async () => (await getJson(base)).state === "connected", 3000, "connected");

    const node = {
      nodeName: "GwNode",
      types: [{ name: "Pos_T", signature: '{"Lat"l"Lon"l}' }],
      providePorts: [
        { name: "Speed", signature: "S(0,400)", init: 0 },
        { name: "Pos", signature: "T[0]" },
      ],
      requirePorts: [
        { name: "Cmd", signature: "C(0,3)", init: 1 },
        { name: "Text", signature: "a[6]" },
      ],
    };
    let r = await sendJson("POST", `${base}/apx/node`, { definition: node, values: { Cmd: 2 } });
    assert.equal(r.status, 400);
    assert.equal(r.body.errors[0].field, "body.values.Cmd");
    r = await sendJson("POST", `${base}/apx/node`, { definition: 'APX/1.2\nN"X"\nP"A"Z\n' });
    assert.equal(r.status, 400);
    assert.equal(r.body.errors[0].field, "body.definition");

    r = await sendJson("POST", `${base}/apx/node`, { definition: node, values: { Speed: 120 } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(
      r.body.files.map((f: { name: string; address: number }) => [f.name, f.address]),
      [
        ["GwNode.out", 0],
        ["GwNode.apx", 0x4000000],
      ],
    );
    // FILE_INFO for .out, then .apx, as a c-apx node sends them.
    const outInfo = (await peer.command("fileInfo")).files[0];
    const apxInfo = (await peer.command("fileInfo")).files[0];
    assert.deepEqual([outInfo.name, outInfo.size], ["GwNode.out", 10]);
    assert.equal(apxInfo.name, "GwNode.apx");
    // The server opens the definition, then the data.
    await peer.sendCommand({ type: "fileOpen", address: 0x4000000 });
    const text = new TextDecoder().decode((await peer.next()).data);
    assert.equal(
      text,
      'APX/1.2\nN"GwNode"\nT"Pos_T"{"Lat"l"Lon"l}\nP"Speed"S(0,400):=0\nP"Pos"T[0]\n' +
        'R"Cmd"C(0,3):=1\nR"Text"a[6]\n',
    );
    await peer.sendCommand({ type: "fileOpen", address: 0 });
    assert.equal(hex((await peer.next()).raw), "0c0000" + "7800" + "00".repeat(8));

    // The server offers GwNode.in; the gateway opens it; the server writes it.
    await peer.sendFileInfo({ name: "GwNode.in", address: 0, size: 7 });
    assert.deepEqual(await peer.command("fileOpen"), { type: "fileOpen", address: 0 });
    await peer.sendWrite(0, new Uint8Array([2, ...utf8("hi"), 0, 0, 0, 0]));
    const ports = await until(
      async () => {
        const p = await getJson(`${base}/apx/ports`);
        return p.find((x: { name: string; value: unknown }) => x.name === "Cmd" && x.value === 2)
          ? p
          : null;
      },
      3000,
      "the .in values",
    );
    const byName = Object.fromEntries(ports.map((p: { name: string }) => [p.name, p]));
    assert.deepEqual(
      [byName.Text.value, byName.Text.writable, byName.Text.fileSide],
      ["hi", false, "remote"],
    );
    assert.deepEqual([byName.Speed.value, byName.Speed.writable], [120, true]);
    assert.deepEqual(byName.Pos.value, { Lat: 0, Lon: 0 });

    // Our provide port: a delta to the server at .out + 0.
    r = await sendJson("PUT", `${base}/apx/ports/Speed`, { value: 300 });
    assert.equal(r.status, 200);
    assert.equal(hex((await peer.next()).raw), "0400002c01");
    r = await sendJson("PUT", `${base}/apx/ports/Pos`, { value: { Lat: -1, Lon: 2 } });
    assert.equal(r.status, 200);
    const pos = await peer.next();
    assert.deepEqual([pos.address, hex(pos.data)], [2, "ffffffff02000000"]);
    assert.equal((await sendJson("PUT", `${base}/apx/ports/Speed`, { value: 401 })).status, 400);
    // The server's file: not ours to write.
    assert.equal((await sendJson("PUT", `${base}/apx/ports/Cmd`, { value: 1 })).status, 409);
    // Published twice: 409.
    assert.equal((await sendJson("POST", `${base}/apx/node`, { definition: node })).status, 409);
    peer.close();
    server.close();
  });
});
