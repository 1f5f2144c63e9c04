import assert from "node:assert/strict";
import { encodeFileInfos } from "../../protocols/remotefile/commands.ts";
import { withGateway } from "../helpers.ts";
import {
  getJson,
  greetedPeer,
  GREETING,
  hex,
  listenerPort,
  TestPeer,
  until,
} from "./remotefile_peer.ts";

const ENV = {
  SYNCGATE_REMOTEFILE_LISTEN: "127.0.0.1:0",
  SYNCGATE_REMOTEFILE_GREETING_TIMEOUT_MS: "300",
};

/** A good peer with one open file the gateway mirrors. */
async function goodPeer(url: string) {
  const { peer, id } = await greetedPeer(url);
  await peer.sendFileInfo({ name: "Good.out", address: 0, size: 2 });
  await peer.command("fileOpen");
  await peer.sendWrite(0, new Uint8Array([0, 0]));
  return { peer, id };
}

/** The good peer's delta still arrives. */
async function stillServed(url: string, good: { peer: TestPeer; id: string }, byte: number) {
  await good.peer.sendWrite(1, new Uint8Array([byte]));
  await until(
    async () => {
      const res = await fetch(`${url}/remotefile/connections/${good.id}/remote-files/Good.out`);
      return res.status === 200 && (await res.bytes())[1] === byte;
    },
    3000,
    "the good peer's delta",
  );
}

const CASES: { name: string; bytes: (p: TestPeer) => Uint8Array; greet: boolean }[] = [
  {
    name: "greeting without its closing blank line (crashes the reference server)",
    greet: false,
    bytes: () => new Uint8Array([0x09, ...new TextEncoder().encode("RMFP/1.0\n")]),
  },
  {
    name: "greeting longer than 127 bytes",
    greet: false,
    bytes: () => new Uint8Array([0x80, 0x00, 0x01, 0x00, ...new Uint8Array(16)]),
  },
  {
    name: "absurd message length (2^31 − 1) after the greeting",
    greet: true,
    bytes: () => new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x40, 0x00]),
  },
  {
    name: "write outside every file",
    greet: true,
    bytes: () => TestPeer.write(0x5000, new Uint8Array([1, 2, 3])),
  },
  {
    name: "oversize command (1100 bytes in the control area)",
    greet: true,
    // Literally: NumHeader32 long form 0x80000450 (1104), high address 0x3FFFFC00, 1100 bytes.
    bytes: () =>
      new Uint8Array([0x80, 0x00, 0x04, 0x50, 0xbf, 0xff, 0xfc, 0x00, ...new Uint8Array(1100)]),
  },
  {
    name: "write to a file it announced but we never opened (Rule #1)",
    greet: true,
    // FILE_INFO for a file too large to open (the gateway refuses 4 MiB+), then a write into it.
    bytes: () => {
      const info = TestPeer.control(
        encodeFileInfos([{ name: "Huge.bin", address: 0x20000000, size: 64 << 20 }]),
      );
      return new Uint8Array([...info, ...TestPeer.write(0x20000000, new Uint8Array([1]))]);
    },
  },
];

for (const c of CASES) {
  Deno.test(`bad peer: ${c.name} closes that connection only, with a logged reason`, async () => {
    await withGateway(ENV, async (gw) => {
      const good = await goodPeer(gw.url);
      const bad = await TestPeer.connect(await listenerPort(gw.url));
      if (c.greet) {
        await bad.send(GREETING);
        assert.equal(hex((await bad.next()).raw), "08bffffc0000000000");
      }
      await bad.send(c.bytes(bad), [1, 2]);
      assert.ok(await bad.closedWithin(3000), "the bad peer's connection is closed");
      bad.close();
      const list = await getJson(`${gw.url}/remotefile/connections`);
      const closed = list.find((x: { id: string; state: string }) => x.id !== good.id);
      assert.equal(closed.state, "closed");
      assert.ok(closed.lastError, "the reason is kept");
      await stillServed(gw.url, good, 7);
      good.peer.close();
    });
  });
}

Deno.test("bad peer: an unknown command gets a NACK and the connection goes on", async () => {
  await withGateway(ENV, async (gw) => {
    const good = await goodPeer(gw.url);
    // Command type 2 is reserved.
    await good.peer.send(TestPeer.control(new Uint8Array([2, 0, 0, 0])));
    const nack = await good.peer.next();
    assert.equal(hex(nack.raw), "08bffffc0001000000");
    // FILE_OPEN for an address where we have no file: NACK too.
    await good.peer.sendCommand({ type: "fileOpen", address: 0x1234 });
    assert.deepEqual((await good.peer.next()).command, { type: "nack" });
    await stillServed(gw.url, good, 9);
    good.peer.close();
  });
});

Deno.test("bad peer: one that never greets is closed after the greeting timeout", async () => {
  await withGateway(ENV, async (gw) => {
    const good = await goodPeer(gw.url);
    const silent = await TestPeer.connect(await listenerPort(gw.url));
    assert.ok(await silent.closedWithin(3000));
    silent.close();
    const list = await getJson(`${gw.url}/remotefile/connections`);
    assert.match(list.find((x: { id: string }) => x.id !== good.id).lastError, /greeting not done/);
    await stillServed(gw.url, good, 5);
    good.peer.close();
  });
});

Deno.test("bad peer: files past the per-connection cap are refused (NACK), the rest kept", async () => {
  await withGateway({ ...ENV, SYNCGATE_REMOTEFILE_MAX_FILES: "4" }, async (gw) => {
    const { peer, id } = await greetedPeer(gw.url);
    for (let i = 0; i < 6; i++) {
      await peer.sendFileInfo({ name: `f${i}.bin`, address: 0x20000000 + i * 1024, size: 0 });
    }
    const nacks: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      for (;;) {
        const m = await peer.next();
        if (m.command?.type === "nack") {
          nacks.push(m.command);
          break;
        }
      }
    }
    assert.equal(nacks.length, 2, "the fifth and sixth files are refused");
    const detail = await getJson(`${gw.url}/remotefile/connections/${id}`);
    assert.equal(detail.remoteFiles.length, 4);
    assert.equal(detail.state, "connected");
    peer.close();
  });
});

Deno.test("bad peer: a definition over the decode limit is mirrored, not parsed", async () => {
  await withGateway(
    { ...ENV, SYNCGATE_REMOTEFILE_MAX_DEFINITION_BYTES: "1024" },
    async (gw) => {
      const { peer, id } = await greetedPeer(gw.url);
      const text = new TextEncoder().encode(
        'APX/1.2\nN"Big"\n' + Array.from({ length: 200 }, (_, i) => `P"p${i}"C`).join("\n") +
          "\n",
      );
      await peer.sendFileInfo({ name: "Big.apx", address: 0x4000000, size: text.length });
      await peer.command("fileOpen");
      await peer.sendWrite(0x4000000, text);
      const base = `${gw.url}/remotefile/connections/${id}`;
      await until(
        async () =>
          (await fetch(`${base}/remote-files/Big.apx`).then((r) => r.bytes())).length ===
            text.length,
        3000,
        "the definition mirrored",
      );
      assert.deepEqual(await getJson(`${base}/apx/ports`), []);
      peer.close();
    },
  );
});
