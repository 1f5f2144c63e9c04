import assert from "node:assert/strict";
import { concat } from "../../../lib/bytes.ts";
import {
  ConflictError,
  InvalidInputError,
  NotFoundError,
  TooLargeError,
  UnavailableError,
} from "../../../lib/errors.ts";
import { encodeCommand, encodeFileInfos } from "../../../protocols/remotefile/commands.ts";
import { encodeMessage, MessageReader } from "../../../protocols/remotefile/framing.ts";
import { buildGreeting } from "../../../protocols/remotefile/greeting.ts";
import { RemoteFileSession } from "../../../protocols/remotefile/session.ts";
import { encodeWriteMessage } from "../../../protocols/remotefile/write_message.ts";
import { Link, types } from "./session_helpers.ts";

const hex = (b: Uint8Array) => b.toHex();
const text = (s: string) => new TextEncoder().encode(s);
const ACK = "08bffffc0000000000";
const control = (cmd: Uint8Array, format: 16 | 32 = 32) =>
  encodeMessage(encodeWriteMessage({ address: 0x3ffffc00, data: cmd }), format);

/** A server that took the reference client's greeting. */
function greetedServer(opts: Partial<ConstructorParameters<typeof RemoteFileSession>[0]> = {}) {
  const server = new RemoteFileSession({ role: "server", ...opts });
  const out = server.receive(encodeMessage(buildGreeting()));
  assert.equal(server.state, "connected");
  assert.equal(hex(concat(out.send)), ACK);
  return server;
}

Deno.test("handshake: the reference client's greeting and the reference server's ACK, byte-exact", () => {
  const client = new RemoteFileSession({ role: "client" });
  const server = new RemoteFileSession({ role: "server" });
  assert.deepEqual(server.start(), { send: [], events: [] });
  const hello = client.start();
  assert.equal(hex(concat(hello.send)), "1e" + text("RMFP/1.0\nNumHeader-Format:32\n\n").toHex());
  assert.deepEqual(client.start().send, []); // once
  assert.equal(server.maxMessageBytes, 127);
  const ack = server.receive(concat(hello.send));
  assert.equal(hex(concat(ack.send)), ACK);
  assert.deepEqual(ack.events, [{
    type: "greetingAccepted",
    numHeaderFormat: 32,
    attributes: { "NumHeader-Format": "32" },
  }]);
  assert.equal(client.state, "greeting");
  const done = client.receive(concat(ack.send));
  assert.deepEqual(done, {
    send: [],
    events: [{ type: "greetingAccepted", numHeaderFormat: 32, attributes: {} }],
  });
  assert.equal(client.state, "connected");
  assert.equal(server.state, "connected");
  assert.equal(server.maxMessageBytes, (1 << 20) + 4);
});

Deno.test("server accepts the spec's greeting spelling, split over several reads", () => {
  const server = new RemoteFileSession({ role: "server" });
  const bytes = encodeMessage(text("RMFP/1.0\nNumHeader: 32\n\n"));
  const outs = Array.from(bytes, (b) => server.receive(new Uint8Array([b])));
  assert.equal(hex(concat(outs.flatMap((o) => o.send))), ACK);
  assert.equal(server.state, "connected");
});

Deno.test("session: client publishes APX-style files, server opens and mirrors them, then deltas", () => {
  const client = new RemoteFileSession({ role: "client" });
  const server = new RemoteFileSession({ role: "server" });
  const def = text('APX/1.2\nN"Node"\nP"Speed"S:=0\n');
  const out = client.publishFile({ name: "Node.out", size: 2, data: new Uint8Array([1, 2]) });
  assert.deepEqual(out.send, []); // not connected yet: announced after the ACK
  assert.equal(out.file.address, 0);
  const apx = client.publishFile({ name: "Node.apx", size: def.length, data: def }).file;
  assert.equal(apx.address, 0x4000000);

  const link = new Link(client, server).connect();
  // Client: greeting, then one FILE_INFO per command (what c-apx 0.3 reads), after the ACK.
  assert.equal(link.sent.client.length, 1 + 2 + 2);
  assert.equal(
    hex(link.sent.client[1]),
    hex(control(encodeFileInfos([{ address: 0, size: 2, name: "Node.out" }]))),
  );
  assert.equal(link.sent.client[1][0], 4 + 48 + 9); // short NumHeader
  // Server: ACK, FILE_OPEN for each, in order.
  assert.deepEqual(link.sent.server.map(hex), [
    ACK,
    hex(control(encodeCommand({ type: "fileOpen", address: 0 }))),
    hex(control(encodeCommand({ type: "fileOpen", address: 0x4000000 }))),
  ]);
  assert.equal(hex(link.sent.server[1]), "0cbffffc000a00000000000000");
  // The whole files, written after each open.
  assert.equal(hex(link.sent.client[3]), "0400000102");
  assert.deepEqual(types(link.events.server), [
    "greetingAccepted",
    "fileInfo",
    "open",
    "fileInfo",
    "open",
    "write",
    "write",
  ]);
  assert.deepEqual(link.take("server", "fileInfo").map((e) => e.file), [
    {
      name: "Node.out",
      address: 0,
      size: 2,
      fileType: 0,
      digestType: 0,
      digest: new Uint8Array(32),
      open: false,
    },
    {
      name: "Node.apx",
      address: 0x4000000,
      size: def.length,
      fileType: 0,
      digestType: 0,
      digest: new Uint8Array(32),
      open: false,
    },
  ]);
  assert.deepEqual(link.take("server", "write"), [
    { type: "write", name: "Node.out", address: 0, offset: 0, data: new Uint8Array([1, 2]) },
    { type: "write", name: "Node.apx", address: 0x4000000, offset: 0, data: def },
  ]);
  assert.deepEqual(link.take("client", "open").map((e) => [e.side, e.name]), [
    ["local", "Node.out"],
    ["local", "Node.apx"],
  ]);
  assert.deepEqual(server.remoteData("Node.apx"), def);
  assert.deepEqual(
    server.remoteFiles().map((f) => [f.name, f.open]),
    [["Node.out", true], ["Node.apx", true]],
  );
  assert.deepEqual(client.localFiles().map((f) => [f.name, f.open]), [["Node.out", true], [
    "Node.apx",
    true,
  ]]);

  // A delta: only the changed byte travels.
  link.clear();
  link.run("client", client.writeFile("Node.out", 1, new Uint8Array([9])));
  assert.deepEqual(link.sent.client.map(hex), ["03000109"]);
  assert.deepEqual(link.take("server"), [
    { type: "write", name: "Node.out", address: 0, offset: 1, data: new Uint8Array([9]) },
  ]);
  assert.deepEqual(server.remoteData("Node.out"), new Uint8Array([1, 9]));

  // The other way: the server offers Node.in; the client opens and mirrors it.
  link.clear();
  link.run("server", server.publishFile({ name: "Node.in", size: 3 }));
  assert.deepEqual(types(link.take("client")), ["fileInfo", "open", "write"]);
  link.run("server", server.writeFile("Node.in", 2, new Uint8Array([7])));
  assert.deepEqual(client.remoteData("Node.in"), new Uint8Array([0, 0, 7]));
});

Deno.test("session: deltas only while open; a re-open sends the whole file again", () => {
  const link = new Link(
    new RemoteFileSession({ role: "client" }),
    new RemoteFileSession({ role: "server" }),
  );
  link.client.publishFile({ name: "a.out", size: 4 });
  link.connect().clear();
  link.run("server", link.server.closeRemote("a.out"));
  assert.deepEqual(link.take("client"), [{
    type: "close",
    side: "local",
    name: "a.out",
    address: 0,
  }]);
  assert.deepEqual(link.take("server"), [{
    type: "close",
    side: "remote",
    name: "a.out",
    address: 0,
  }]);
  const delta = link.client.writeFile("a.out", 0, new Uint8Array([5, 6]));
  assert.deepEqual(delta.send, []);
  assert.deepEqual(link.server.remoteData("a.out"), new Uint8Array(4)); // mirror kept, not updated
  assert.deepEqual(link.server.closeRemote("a.out").send, []); // already closed
  link.clear();
  link.run("server", link.server.openRemote("a.out"));
  assert.deepEqual(link.sent.client.map(hex), ["0600000506" + "0000"]);
  assert.deepEqual(link.server.remoteData("a.out"), new Uint8Array([5, 6, 0, 0]));
  assert.deepEqual(link.server.openRemote("a.out").send, []); // already open
});

Deno.test("session: a large write is fragmented and delivered once, on MORE_BIT = 0", () => {
  const client = new RemoteFileSession({ role: "client", maxWriteBytes: 100 });
  const server = new RemoteFileSession({ role: "server" });
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 13) & 0xff);
  client.publishFile({ name: "big.apx", size: 1000, data });
  const link = new Link(client, server).connect();
  const fragments = link.sent.client.slice(2);
  assert.equal(fragments.length, 10);
  assert.equal(hex(fragments[0].subarray(0, 5)), "68c4000000"); // 104 bytes, MORE_BIT, 0x4000000
  assert.equal(hex(fragments[9].subarray(0, 5)), "6884000384"); // last: no MORE_BIT, at +900
  assert.deepEqual(link.take("server", "write"), [
    { type: "write", name: "big.apx", address: 0x4000000, offset: 0, data },
  ]);

  // Fed one fragment at a time: nothing until the last.
  const s2 = new RemoteFileSession({ role: "server" });
  s2.receive(concat(link.sent.client.slice(0, 2)));
  for (const [i, f] of fragments.entries()) {
    const events = s2.receive(f).events.filter((e) => e.type === "write");
    assert.equal(events.length, i === 9 ? 1 : 0);
  }
  assert.deepEqual(s2.remoteData("big.apx"), data);
});

Deno.test("session: NumHeader16 negotiated by the greeting, both ways", () => {
  const client = new RemoteFileSession({ role: "client", numHeaderFormat: 16 });
  const server = new RemoteFileSession({ role: "server" });
  const data = Uint8Array.from({ length: 40000 }, (_, i) => i & 0xff);
  client.publishFile({ name: "x.bin", size: data.length, data });
  const link = new Link(client, server).connect();
  assert.equal(server.numHeaderFormat, 16);
  assert.match(new TextDecoder().decode(link.sent.client[0]), /NumHeader-Format:16/);
  // 40000 bytes do not fit one NumHeader16 message: two fragments.
  assert.equal(link.sent.client.length, 4);
  assert.equal(hex(link.sent.client[2].subarray(0, 2)), "807f"); // 32895
  assert.deepEqual(server.remoteData("x.bin"), data);
  assert.equal(server.frameHeader.maxHeaderBytes, 2);
});

Deno.test("session: heartbeat and ping are answered, and their answers reported", () => {
  const link = new Link(
    new RemoteFileSession({ role: "client" }),
    new RemoteFileSession({ role: "server" }),
  ).connect();
  link.clear();
  link.run("client", link.client.heartbeat());
  assert.deepEqual(link.sent.server.map(hex), [hex(control(new Uint8Array([6, 0, 0, 0])))]);
  assert.deepEqual(link.take("client"), [{ type: "heartbeat" }]);
  link.run("client", link.client.ping(1700000000, 250));
  assert.deepEqual(link.take("client"), [
    { type: "pong", address: 0xffffffff, seconds: 1700000000, milliseconds: 250 },
  ]);
  assert.deepEqual(link.take("server"), []);
  assert.throws(() => link.client.ping(-1, 0), InvalidInputError);
});

Deno.test("session: revoke both ways", () => {
  const link = new Link(
    new RemoteFileSession({ role: "client" }),
    new RemoteFileSession({ role: "server" }),
  );
  link.client.publishFile({ name: "a.out", size: 4 });
  link.connect().clear();
  link.run("client", link.client.revokeFile("a.out"));
  assert.deepEqual(link.sent.client.map(hex), ["0cbffffc000400000000000000"]);
  assert.deepEqual(link.take("client"), [{
    type: "revoke",
    side: "local",
    name: "a.out",
    address: 0,
  }]);
  assert.deepEqual(link.take("server"), [{
    type: "revoke",
    side: "remote",
    name: "a.out",
    address: 0,
  }]);
  assert.equal(link.server.remoteFile("a.out"), undefined);
  assert.equal(link.server.heldBytes, 0);
  assert.equal(link.client.heldBytes, 0);
  // Published again (a new address is fine too).
  link.run("client", link.client.publishFile({ name: "a.out", size: 4 }));
  assert.deepEqual(types(link.take("server")), ["fileInfo", "open", "write"]);
});

Deno.test("session: autoOpen false or a predicate; too large files are not opened", () => {
  const server = greetedServer({
    autoOpen: (f) => f.name.endsWith(".apx"),
    maxFileBytes: 1000,
  });
  const out = server.receive(concat([
    control(encodeFileInfos([{ address: 0, size: 10, name: "N.out" }])),
    control(encodeFileInfos([{ address: 0x4000000, size: 10, name: "N.apx" }])),
    control(encodeFileInfos([{ address: 0x4100000, size: 1001, name: "Big.apx" }])),
  ]));
  assert.deepEqual(types(out.events), ["fileInfo", "fileInfo", "open", "fileInfo", "ignored"]);
  assert.match(
    (out.events[4] as { reason: string }).reason,
    /Big\.apx.*1001 bytes; the limit is 1000/,
  );
  assert.equal(out.send.length, 1);
  assert.throws(() => server.openRemote("Big.apx"), TooLargeError);
  assert.throws(() => server.openRemote("nope"), NotFoundError);
  assert.equal(server.openRemote("N.out").send.length, 1);
  // Several FileInfos in one command, and the same file announced again (ignored).
  const again = server.receive(control(encodeFileInfos([
    { address: 0, size: 10, name: "N.out" },
    { address: 0x400, size: 10, name: "M.out" },
  ])));
  assert.deepEqual(types(again.events), ["fileInfo"]);
});

Deno.test("session: a total byte budget bounds mirrors and local files", () => {
  const server = greetedServer({ maxTotalBytes: 100 });
  server.publishFile({ name: "l.bin", size: 60 });
  const out = server.receive(concat([
    control(encodeFileInfos([{ address: 0, size: 30, name: "a.out" }])),
    control(encodeFileInfos([{ address: 0x400, size: 30, name: "b.out" }])),
  ]));
  assert.deepEqual(types(out.events), ["fileInfo", "open", "fileInfo", "ignored"]);
  assert.equal(server.heldBytes, 90);
  assert.throws(() => server.publishFile({ name: "m.bin", size: 11 }), TooLargeError);
});

Deno.test("session: user calls throw domain errors and change nothing", () => {
  const s = new RemoteFileSession({ role: "client", maxFileBytes: 100 });
  s.publishFile({ name: "a.out", size: 10 });
  assert.throws(() => s.publishFile({ name: "a.out", size: 1 }), ConflictError);
  assert.throws(() => s.publishFile({ name: "b.out", size: 1, address: 5 }), ConflictError);
  assert.throws(() => s.publishFile({ name: "", size: 1 }), {
    name: "InvalidInputError",
    field: "name",
  });
  assert.throws(() => s.publishFile({ name: "a b", size: 1 }), InvalidInputError);
  assert.throws(() => s.publishFile({ name: "c", size: -1 }), { field: "size" });
  assert.throws(() => s.publishFile({ name: "c", size: 101 }), TooLargeError);
  assert.throws(() => s.publishFile({ name: "c", size: 1, data: new Uint8Array(2) }), {
    field: "data",
  });
  assert.throws(() => s.publishFile({ name: "c", size: 1, address: 0x3ffffc00 }), {
    field: "address",
  });
  assert.throws(() => s.publishFile({ name: "c", size: 2, address: 0x3ffffbff }), {
    field: "address",
  });
  assert.throws(() => s.writeFile("zz", 0, new Uint8Array(1)), NotFoundError);
  assert.throws(() => s.writeFile("a.out", 9, new Uint8Array(2)), { field: "offset" });
  assert.throws(() => s.writeFile("a.out", -1, new Uint8Array(1)), InvalidInputError);
  assert.throws(() => s.revokeFile("zz"), NotFoundError);
  assert.throws(() => s.openRemote("zz"), UnavailableError); // greeting not done
  assert.throws(() => s.heartbeat(), UnavailableError);
  assert.deepEqual(s.localFiles().map((f) => f.name), ["a.out"]);
  assert.equal(s.heldBytes, 10);
  s.close("peer went away");
  assert.equal(s.state, "closed");
  assert.throws(() => s.publishFile({ name: "x", size: 1 }), {
    name: "UnavailableError",
    message: /closed: peer went away/,
  });
  assert.deepEqual(s.receive(new Uint8Array([1, 2, 3])), { send: [], events: [] });
  assert.throws(() => new RemoteFileSession({ role: "peer" as "client" }), TypeError);
  assert.throws(() => new RemoteFileSession({ role: "client", maxMessageBytes: 0 }), RangeError);
});

Deno.test("session: receiveMessage takes bodies framed by the service", () => {
  const client = new RemoteFileSession({ role: "client" });
  const server = new RemoteFileSession({ role: "server" });
  client.publishFile({ name: "a.out", size: 1, data: new Uint8Array([42]) });
  // Frame with a MessageReader standing in for the house's FrameReader.
  const deliver = (to: RemoteFileSession, send: Uint8Array[]) => {
    const reader = new MessageReader({ format: to.numHeaderFormat });
    const out = { send: [] as Uint8Array[], events: [] as unknown[] };
    for (const body of reader.push(concat(send))) {
      const o = to.receiveMessage(body);
      out.send.push(...o.send);
      out.events.push(...o.events);
    }
    return out;
  };
  let out = deliver(server, client.start().send);
  out = deliver(client, out.send);
  out = deliver(server, out.send);
  out = deliver(client, out.send);
  out = deliver(server, out.send);
  assert.deepEqual(server.remoteData("a.out"), new Uint8Array([42]));
  assert.equal(server.frameHeader.headerLength(new Uint8Array([0x80])), 4);
  const fresh = new RemoteFileSession({ role: "server" });
  const bad = fresh.receiveMessage(new Uint8Array(128));
  assert.deepEqual(bad.events, [{
    type: "protocolError",
    reason: "Bad greeting: greeting of 128 bytes exceeds the limit of 127",
  }]);
});

Deno.test("server: files published before the greeting are announced right after the ACK", () => {
  const server = new RemoteFileSession({ role: "server" });
  assert.deepEqual(server.publishFile({ name: "Node.in", size: 2 }).send, []);
  const out = server.receive(encodeMessage(buildGreeting()));
  assert.deepEqual(out.send.map(hex), [
    ACK,
    hex(control(encodeFileInfos([{ address: 0, size: 2, name: "Node.in" }]))),
  ]);
});
