/** A misbehaving peer gets a NACK (and the session carries on) or a protocolError (and it closes). */
import assert from "node:assert/strict";
import { concat } from "../../../lib/bytes.ts";
import { encodeCommand, encodeFileInfos } from "../../../protocols/remotefile/commands.ts";
import { encodeMessage } from "../../../protocols/remotefile/framing.ts";
import { buildGreeting } from "../../../protocols/remotefile/greeting.ts";
import {
  RemoteFileSession,
  type SessionOptions,
  type SessionOutput,
} from "../../../protocols/remotefile/session.ts";
import { encodeWriteMessage } from "../../../protocols/remotefile/write_message.ts";

const text = (s: string) => new TextEncoder().encode(s);
const NACK = "08bffffc0001000000";
const control = (cmd: Uint8Array) =>
  encodeMessage(encodeWriteMessage({ address: 0x3ffffc00, data: cmd }));
const write = (address: number, data: Uint8Array, more = false) =>
  encodeMessage(encodeWriteMessage({ address, data, more }));

/** A server past its greeting, with the peer's "a.out" (0x400, 16 bytes) open and "b.out" not. */
function server(opts: Partial<SessionOptions> = {}): RemoteFileSession {
  const s = new RemoteFileSession({ role: "server", autoOpen: (f) => f.name === "a.out", ...opts });
  s.receive(encodeMessage(buildGreeting()));
  const out = s.receive(concat([
    control(encodeFileInfos([{ address: 0x400, size: 16, name: "a.out" }])),
    control(encodeFileInfos([{ address: 0x800, size: 16, name: "b.out" }])),
  ]));
  assert.equal(out.send.length, 1);
  return s;
}

function assertFatal(s: RemoteFileSession, out: SessionOutput, reason: RegExp): void {
  assert.deepEqual(out.send, [], "nothing is sent on a fatal error");
  const last = out.events.at(-1);
  assert.equal(last?.type, "protocolError", JSON.stringify(out.events));
  assert.match((last as { reason: string }).reason, reason);
  assert.equal(s.state, "closed");
  assert.match(s.closeReason!, reason);
  // Closed for good: more input is ignored, never thrown.
  assert.deepEqual(s.receive(write(0x400, new Uint8Array(1))), { send: [], events: [] });
}

function assertNacked(s: RemoteFileSession, out: SessionOutput, reason: RegExp): void {
  assert.deepEqual(out.send.map((b) => b.toHex()), [NACK]);
  assert.equal(out.events.length, 1);
  assert.equal(out.events[0].type, "rejected");
  assert.match((out.events[0] as { reason: string }).reason, reason);
  assert.equal(s.state, "connected");
}

Deno.test("bad greeting: each kind closes with a reason (the reference server would crash)", () => {
  const cases: [Uint8Array, RegExp][] = [
    [encodeMessage(text("RMFP/1.0\nNumHeader-Format:32\n")), /Bad greeting: .*blank line/],
    [encodeMessage(text("RMFP/1.0")), /Bad greeting: .*newline/],
    [encodeMessage(text("HELLO\n\n")), /Bad greeting: .*not "RMFP\/1.0"/],
    [encodeMessage(text("RMFP/1.0\nNumHeader:64\n\n")), /Bad greeting: .*only 16 and 32/],
    [encodeMessage(new Uint8Array(0)), /Bad greeting/],
    // Long-form header: a greeting over 127 bytes, refused before its body is read.
    [
      new Uint8Array([0x80, 0, 0, 200]),
      /Bad greeting: Message length 200 exceeds the limit of 127/,
    ],
    [new Uint8Array([0xff, 0xff, 0xff, 0xff]), /Bad greeting: Message length 2147483647/],
    // Raw text with no NumHeader: "R" (0x52) reads as an 82-byte message; what follows is not a greeting.
    [text("RMFP/1.0\nNumHeader-Format:32\n\n" + "x".repeat(60)), /Bad greeting/],
  ];
  for (const [bytes, reason] of cases) {
    const s = new RemoteFileSession({ role: "server" });
    assertFatal(s, s.receive(bytes), reason);
  }
});

Deno.test("absurd length after the greeting: refused before allocating", () => {
  const s = server({ maxMessageBytes: 4096 });
  assertFatal(
    s,
    s.receive(new Uint8Array([0xff, 0xff, 0xff, 0xff])),
    /Message length 2147483647 exceeds the limit of 4096 bytes/,
  );
});

Deno.test("writes outside every file, across a file's end, or to an unopened file", () => {
  let s = server();
  assertFatal(s, s.receive(write(0x100, new Uint8Array(1))), /outside every file/);
  s = server();
  assertFatal(s, s.receive(write(0x40f, new Uint8Array(2))), /outside every file/);
  s = server();
  assertFatal(s, s.receive(write(0x3ffffbff, new Uint8Array(1))), /outside every file/);
  s = server();
  assertFatal(
    s,
    s.receive(write(0x800, new Uint8Array(1))),
    /"b.out", which was never opened, breaks Rule #1/,
  );
  // A fragmented write that grows past the file's end: refused at the fragment that crosses.
  s = server();
  assert.deepEqual(s.receive(write(0x400, new Uint8Array(10), true)).events, []);
  assertFatal(s, s.receive(write(0x40a, new Uint8Array(7))), /outside every file/);
});

Deno.test("fragments that do not continue their write", () => {
  let s = server();
  s.receive(write(0x400, new Uint8Array(4), true));
  assertFatal(s, s.receive(write(0x405, new Uint8Array(1))), /does not continue the write pending/);
  // A command cannot cut into a pending write either.
  s = server();
  s.receive(write(0x400, new Uint8Array(4), true));
  assertFatal(
    s,
    s.receive(control(encodeCommand({ type: "ack" }))),
    /outside every file|does not continue/,
  );
});

Deno.test("oversize commands and writes inside the control area but not at its start", () => {
  // Written by hand: our encoder refuses to build these.
  const oversize = (address: number, n: number, more = false) =>
    encodeMessage(concat([
      new Uint8Array([
        0x80 | (more ? 0x40 : 0) | (address >>> 24),
        address >> 16,
        address >> 8,
        address,
      ]),
      new Uint8Array(n),
    ]));
  let s = server();
  assertFatal(s, s.receive(oversize(0x3ffffc00, 1025)), /runs past the end of the control area/);
  s = server();
  assert.deepEqual(s.receive(oversize(0x3ffffc00, 1000, true)).events, []);
  assertFatal(
    s,
    s.receive(oversize(0x3ffffc00 + 1000, 100)),
    /runs past the end of the control area/,
  );
  s = server();
  assertFatal(
    s,
    s.receive(write(0x3ffffc04, new Uint8Array([0, 0, 0, 0]))),
    /inside the control area but not at its start/,
  );
  // Exactly 1024 bytes is a command (here not a valid one: NACK).
  s = server();
  assertNacked(s, s.receive(control(new Uint8Array(1024))), /ACK is 1024 bytes/);
});

Deno.test("messages that are not write messages", () => {
  let s = server();
  assertFatal(s, s.receive(new Uint8Array([0])), /shorter than its address header/);
  s = server();
  assertFatal(s, s.receive(new Uint8Array([3, 0x80, 0, 0])), /shorter than its address header/);
});

Deno.test("commands that cannot be understood get a NACK; the session goes on", () => {
  const s = server();
  assertNacked(s, s.receive(control(new Uint8Array([2, 0, 0, 0]))), /Unknown command type 2/);
  assertNacked(s, s.receive(control(new Uint8Array([0, 0]))), /shorter than its CmdType/);
  assertNacked(s, s.receive(control(new Uint8Array([10, 0, 0, 0]))), /FILE_OPEN is 4 bytes/);
  assertNacked(
    s,
    s.receive(control(encodeCommand({ type: "fileOpen", address: 0x1234 }))),
    /FILE_OPEN for 0x00001234, where we have no file/,
  );
  assertNacked(
    s,
    s.receive(control(encodeCommand({ type: "fileClose", address: 0x1234 }))),
    /FILE_CLOSE for 0x00001234/,
  );
  assertNacked(
    s,
    s.receive(control(encodeCommand({ type: "revokeFile", address: 0x1234 }))),
    /REVOKE_FILE for 0x00001234/,
  );
  assertNacked(
    s,
    s.receive(control(encodeFileInfos([{ address: 0x408, size: 16, name: "c.out" }]))),
    /FILE_INFO for "c.out" refused: .*overlaps "a.out"/,
  );
  assertNacked(
    s,
    s.receive(control(encodeFileInfos([{ address: 0x2000, size: 16, name: "a.out" }]))),
    /"a.out" exists/,
  );
  const bad = encodeFileInfos([{ address: 0x2000, size: 16, name: "c.out" }]);
  assertNacked(s, s.receive(control(bad.subarray(0, bad.length - 1))), /no NUL/);
  // Still serving: a valid write lands.
  const ok = s.receive(write(0x400, new Uint8Array([1])));
  assert.deepEqual(ok.events.map((e) => e.type), ["write"]);
});

Deno.test("a write that races our FILE_CLOSE is dropped, not fatal", () => {
  const s = server();
  s.closeRemote("a.out");
  const out = s.receive(write(0x400, new Uint8Array([1])));
  assert.deepEqual(out.events.map((e) => e.type), ["ignored"]);
  assert.equal(s.state, "connected");
});

Deno.test("client: the server refuses the greeting, or answers something else", () => {
  const cases: [Uint8Array, RegExp][] = [
    [control(encodeCommand({ type: "nack" })), /refused the greeting/],
    [
      control(encodeCommand({ type: "heartbeatRequest" })),
      /Expected an ACK to the greeting, got heartbeatRequest/,
    ],
    [
      control(new Uint8Array([9, 0, 0, 0])),
      /Expected an ACK to the greeting: Unknown command type 9/,
    ],
    [write(0, new Uint8Array(1)), /outside every file/],
    [encodeMessage(buildGreeting()), /Write of .* outside every file|shorter/],
  ];
  for (const [bytes, reason] of cases) {
    const c = new RemoteFileSession({ role: "client" });
    c.start();
    assertFatal(c, c.receive(bytes), reason);
  }
});
