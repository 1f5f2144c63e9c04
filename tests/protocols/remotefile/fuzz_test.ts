/**
 * Every decoder fed random and mutated bytes (seeded; FUZZ_SEED=<n> to vary):
 * only the documented error types, no hangs, bounded buffering, and a
 * session never throws on peer input.
 */
import assert from "node:assert/strict";
import { concat } from "../../../lib/bytes.ts";
import { decodeAddressHeader } from "../../../protocols/remotefile/address.ts";
import {
  decodeCommand,
  encodeCommand,
  encodeFileInfos,
} from "../../../protocols/remotefile/commands.ts";
import { MessageReader } from "../../../protocols/remotefile/framing.ts";
import { buildGreeting, parseGreeting } from "../../../protocols/remotefile/greeting.ts";
import { decodeNumHeader16, decodeNumHeader32 } from "../../../protocols/remotefile/num_header.ts";
import { RemoteFileSession } from "../../../protocols/remotefile/session.ts";
import { decodeWriteMessage, WriteAssembler } from "../../../protocols/remotefile/write_message.ts";
import { fuzzSeed, mutate, Rng } from "../waku/fuzz_util.ts";
import { Link } from "./session_helpers.ts";

/** Runs `f`; anything thrown must be one of `allowed`. */
function only(allowed: ErrorConstructor[], f: () => unknown, what: string): void {
  try {
    f();
  } catch (e) {
    if (!allowed.some((t) => e instanceof t && e.constructor === t)) {
      throw new Error(`${what}: unexpected ${(e as Error)?.name}: ${(e as Error)?.message}`, {
        cause: e,
      });
    }
  }
}

const DECODE_ERRORS = [SyntaxError, RangeError] as ErrorConstructor[];

/** Valid encodings to mutate. */
function samples(rng: Rng): Uint8Array {
  const files = Array.from({ length: 1 + rng.int(4) }, (_, i) => ({
    address: i * 0x400,
    size: rng.int(100),
    name: `N${i}.${rng.pick(["out", "in", "apx"])}`,
  }));
  return rng.pick([
    () => buildGreeting(),
    () => new TextEncoder().encode("RMFP/1.0\nNumHeader: 16\n\n"),
    () => encodeFileInfos(files),
    () => encodeCommand({ type: "fileOpen", address: rng.int(2 ** 30) }),
    () => encodeCommand({ type: "pingRequest", address: 0xffffffff, seconds: 1, milliseconds: 2 }),
    () => encodeCommand({ type: "ack" }),
  ])();
}

Deno.test("fuzz: header, greeting, write and command decoders throw only SyntaxError/RangeError", () => {
  const seed = fuzzSeed(0x5eed_0001);
  const rng = new Rng(seed);
  for (let i = 0; i < 4000; i++) {
    const bytes = i % 2 === 0 ? rng.bytes(rng.int(80)) : mutate(rng, samples(rng));
    const what = `seed ${seed} iteration ${i} bytes ${bytes.toHex()}`;
    // Header decoders never throw: a value or null.
    const n32 = decodeNumHeader32(bytes);
    assert.ok(n32 === null || (n32.value >= 0 && n32.value <= 0x7fffffff), what);
    const n16 = decodeNumHeader16(bytes);
    assert.ok(n16 === null || (n16.value >= 0 && n16.value <= 32895), what);
    const a = decodeAddressHeader(bytes);
    assert.ok(a === null || (a.address >= 0 && a.address <= 0x3fffffff), what);
    only(DECODE_ERRORS, () => parseGreeting(bytes), what);
    only(DECODE_ERRORS, () => decodeWriteMessage(bytes), what);
    only(DECODE_ERRORS, () => {
      const cmd = decodeCommand(bytes);
      // What decodes re-encodes to the same bytes.
      assert.deepEqual(encodeCommand(cmd), bytes, what);
    }, what);
  }
});

Deno.test("fuzz: MessageReader and WriteAssembler stay bounded and throw only RangeError/SyntaxError", () => {
  const seed = fuzzSeed(0x5eed_0002);
  const rng = new Rng(seed);
  for (let i = 0; i < 300; i++) {
    const max = 1 + rng.int(2000);
    const reader = new MessageReader({ format: rng.pick([16, 32] as const), maxMessageBytes: max });
    const asm = new WriteAssembler({ maxBytes: 1 + rng.int(3000) });
    const stream = rng.bytes(rng.int(5000));
    let at = 0;
    try {
      while (at < stream.length) {
        const n = 1 + rng.int(300);
        for (const body of reader.push(stream.subarray(at, at + n))) {
          assert.ok(body.length <= max);
          only(DECODE_ERRORS, () => asm.push(decodeWriteMessage(body)), `seed ${seed} #${i}`);
          assert.ok(asm.pendingBytes <= asm.maxBytes);
        }
        // Never more held than one message and its header.
        assert.ok(reader.buffered <= max + 4, `seed ${seed} #${i}: ${reader.buffered} held`);
        at += n;
      }
    } catch (e) {
      assert.ok(e instanceof RangeError, `seed ${seed} #${i}: ${e}`);
    }
  }
});

/** A recorded client→server stream: greeting, FILE_INFOs, whole files, deltas. */
function recordedStream(): Uint8Array {
  const client = new RemoteFileSession({ role: "client", maxWriteBytes: 64 });
  const link = new Link(client, new RemoteFileSession({ role: "server" }));
  client.publishFile({ name: "Node.out", size: 8, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) });
  client.publishFile({ name: "Node.apx", size: 200, data: new Uint8Array(200).fill(65) });
  link.connect();
  link.run("client", client.writeFile("Node.out", 3, new Uint8Array([9, 9])));
  link.run("client", client.heartbeat());
  return concat(link.sent.client);
}

Deno.test("fuzz: sessions never throw on peer input, and close or NACK instead", () => {
  const seed = fuzzSeed(0x5eed_0003);
  const rng = new Rng(seed);
  const valid = recordedStream();
  for (let i = 0; i < 600; i++) {
    const role = i % 3 === 0 ? "client" : "server";
    const s = new RemoteFileSession({
      role,
      maxMessageBytes: 4096,
      maxFileBytes: 4096,
      maxTotalBytes: 16384,
    });
    s.start();
    let bytes = i % 4 === 0 ? rng.bytes(rng.int(600)) : valid;
    if (i % 4 !== 0) { for (let r = 1 + rng.int(3); r > 0; r--) bytes = mutate(rng, bytes); }
    const what = `seed ${seed} iteration ${i}`;
    for (let at = 0; at < bytes.length;) {
      const n = 1 + rng.int(64);
      let out;
      try {
        out = s.receive(bytes.subarray(at, at + n));
      } catch (e) {
        throw new Error(`${what}: receive threw ${e}`, { cause: e });
      }
      for (const e of out.events) {
        if (e.type === "protocolError") assert.equal(s.state, "closed", what);
        if (e.type === "write") assert.ok(e.offset + e.data.length <= 4096, what);
      }
      assert.ok(s.heldBytes <= 16384, what);
      at += n;
    }
    // A session that did not close is still consistent.
    for (const f of s.remoteFiles()) {
      const data = s.remoteData(f.name);
      assert.ok(data === undefined || data.length === f.size, what);
    }
  }
  // The unmutated stream is accepted whole.
  const s = new RemoteFileSession({ role: "server" });
  const out = s.receive(valid);
  assert.equal(s.state, "connected");
  assert.deepEqual(s.remoteData("Node.out"), new Uint8Array([1, 2, 3, 9, 9, 6, 7, 8]));
  assert.ok(out.events.some((e) => e.type === "greetingAccepted"));
});
