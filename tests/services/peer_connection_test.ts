import assert from "node:assert/strict";
import { toHex0x } from "../../lib/bytes.ts";
import { TooLargeError, UnavailableError } from "../../lib/errors.ts";
import type { PeerAddress } from "../../services/peer_connection.ts";
import type { ConnectionHandler } from "../../services/peer_listener.ts";
import { tempDir } from "../helpers.ts";
import { type Identity, makeIdentity } from "./tls_identity.ts";
import { connect, dec, enc, listen, text, u32 } from "./peer_fixtures.ts";

/** Echoes every frame back, upper-cased, with what it knows of the peer first. */
const echo: ConnectionHandler = async (conn) => {
  const hello = JSON.stringify({
    peer: conn.status.peerCertificateSha256,
    alpn: conn.alpnProtocol,
  });
  await conn.write(u32.encode(hello.length), enc.encode(hello));
  for await (const { body } of conn.frames()) {
    await conn.write(u32.encode(body.length), enc.encode(dec.decode(body).toUpperCase()));
  }
};

interface Setup {
  name: string;
  address: (dir: string) => PeerAddress;
  tls: boolean;
}

const SETUPS: Setup[] = [
  {
    name: "TCP",
    address: () => ({ transport: "tcp", hostname: "127.0.0.1", port: 0 }),
    tls: false,
  },
  { name: "unix", address: (dir) => ({ transport: "unix", path: `${dir}/peer.sock` }), tls: false },
  {
    name: "TLS/TCP",
    address: () => ({ transport: "tcp", hostname: "127.0.0.1", port: 0 }),
    tls: true,
  },
  {
    name: "TLS/unix",
    address: (dir) => ({ transport: "unix", path: `${dir}/tls.sock` }),
    tls: true,
  },
];

let identities: Promise<{ server: Identity; client: Identity }> | undefined;
/** One server and one client identity for the whole file (openssl takes a moment). */
function ids() {
  return identities ??= (async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const [server, client] = await Promise.all([
        makeIdentity(dir, "server"),
        makeIdentity(dir, "client"),
      ]);
      return { server, client };
    } finally {
      await cleanup();
    }
  })();
}

for (const setup of SETUPS) {
  Deno.test(`PeerConnection over ${setup.name}: frames both ways, peer identity, counts`, async () => {
    const { dir, cleanup } = await tempDir();
    const { server, client } = await ids();
    const { listener, metrics } = await listen(
      setup.address(dir),
      echo,
      setup.tls ? { tls: { ...server, alpnProtocols: ["bep/1.0"] } } : {},
    );
    try {
      const conn = await connect(
        listener.address,
        setup.tls ? { tls: { ...client, alpnProtocols: ["bep/1.0"] } } : {},
      );
      const hello = JSON.parse((await text(conn))!);
      if (setup.tls) {
        assert.deepEqual(hello, { peer: client.sha256, alpn: "bep/1.0" }, "the server saw us");
        assert.equal(toHex0x(conn.peerCertificate!.sha256), server.sha256, "we saw the server");
        const der = Uint8Array.fromBase64(
          server.cert.replace(/-----[A-Z ]+-----/g, "").replace(/\s/g, ""),
        );
        assert.deepEqual(conn.peerCertificate!.der, der);
        assert.equal(conn.alpnProtocol, "bep/1.0");
      } else {
        assert.deepEqual(hello, {});
        assert.equal(conn.peerCertificate, undefined);
      }
      // Many frames, of many sizes, written back to back and read in order.
      const sizes = [0, 1, 5, 127, 128, 1000, 70_000, 300_000];
      const sent = sizes.map((n, i) => "abcdefghij"[i].repeat(n));
      await Promise.all(sent.map((s) => conn.write(u32.encode(s.length), enc.encode(s))));
      for (const s of sent) assert.equal(await text(conn), s.toUpperCase());
      assert.ok(conn.bytesRead > 371_000 && conn.bytesWritten > 371_000);
      await conn.closeWrite();
      assert.equal(await conn.readFrame(), null, "the server ended after our end");
      conn.close("done");
      assert.equal(conn.closeReason, "done");
      await until(() => listener.connections === 0);
      assert.equal(metrics.peerConnections.get({ listener: "test", outcome: "accepted" }), 1);
      assert.equal(metrics.peerConnections.get({ listener: "test", outcome: "failed" }), 0);
      assert.equal(metrics.peerConnectionsOpen.get({ listener: "test" }), 0);
    } finally {
      await listener.stop();
      await cleanup();
    }
  });
}

Deno.test("a frame over the maximum throws TooLargeError and leaves the connection writable", async () => {
  let seen: unknown;
  const { listener } = await listen(
    { transport: "tcp", hostname: "127.0.0.1", port: 0 },
    async (conn) => {
      try {
        await conn.readFrame();
      } catch (e) {
        seen = e;
        const reason = enc.encode(`closing: ${(e as Error).message}`);
        await conn.write(u32.encode(reason.length), reason);
      }
    },
  );
  try {
    const conn = await connect(listener.address);
    await conn.write(u32.encode(0x7fffffff)); // 2 GiB announced: refused before allocating
    assert.equal(await text(conn), `closing: ${(seen as Error).message}`);
    assert.ok(seen instanceof TooLargeError);
    assert.deepEqual([seen.what, seen.size, seen.limit], ["frame", 0x7fffffff, 1 << 20]);
    assert.equal(await conn.readFrame(), null);
    conn.close();
  } finally {
    await listener.stop();
  }
});

Deno.test("idle and read timeouts close the connection with their reason", async () => {
  const errors: string[] = [];
  const handler: ConnectionHandler = async (conn) => {
    try {
      await conn.readFrame();
    } catch (e) {
      errors.push(`${(e as Error).message} / ${conn.closeReason}`);
    }
  };
  const tcp = { transport: "tcp", hostname: "127.0.0.1", port: 0 } as const;
  const idle = await listen(tcp, handler, { idleTimeoutMs: 100 });
  const slow = await listen(tcp, handler, { readTimeoutMs: 100 });
  try {
    // Silent: the idle timeout ends it.
    const quiet = await connect(idle.listener.address);
    assert.equal(await quiet.readFrame(), null, "the server closed the idle connection");
    quiet.close();
    await until(() => errors.length === 1);
    // Half a frame, then nothing: the read timeout ends it.
    const half = await connect(slow.listener.address);
    await half.write(u32.encode(10), enc.encode("abc"));
    assert.equal(await half.readFrame(), null);
    half.close();
    await until(() => errors.length === 2);
    assert.deepEqual(errors, [
      "Connection closed: idle for 100 ms / idle for 100 ms",
      "Frame not complete 100 ms after it began / Frame not complete 100 ms after it began",
    ]);
  } finally {
    await idle.listener.stop();
    await slow.listener.stop();
  }
});

Deno.test("connect fails with UnavailableError when refused, and times out on a silent TLS peer", async () => {
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const holding = (async () => {
    for await (const c of silent) held.push(c); // accepts, never speaks
  })();
  const port = silent.addr.port;
  try {
    const { client } = await ids();
    await assert.rejects(
      connect({ transport: "tcp", hostname: "127.0.0.1", port }, {
        tls: client,
        connectTimeoutMs: 100,
      }),
      (e: Error) =>
        e instanceof UnavailableError &&
        e.message === `Connecting to tcp 127.0.0.1:${port} timed out after 100 ms`,
    );
    const { dir, cleanup } = await tempDir();
    await assert.rejects(
      connect({ transport: "unix", path: `${dir}/nobody.sock` }),
      (e: Error) => e instanceof UnavailableError && e.message.startsWith("Cannot connect to unix"),
    );
    await cleanup();
    const stop = new AbortController();
    const pending = connect({ transport: "tcp", hostname: "127.0.0.1", port }, {
      tls: client,
      signal: stop.signal,
    });
    stop.abort(new Error("shutting down"));
    await assert.rejects(pending, /shutting down/);
  } finally {
    silent.close();
    await holding.catch(() => {});
    for (const c of held) c.close();
  }
});

Deno.test("close(reason) ends a pending read and a write the peer does not drain", async () => {
  const { server, client } = await ids();
  let release!: () => void;
  const released = new Promise<void>((r) => release = r);
  const never = () => released; // reads nothing
  const tcp = { transport: "tcp", hostname: "127.0.0.1", port: 0 } as const;
  const plain = await listen(tcp, never);
  const secure = await listen(tcp, never, { tls: server });
  try {
    for (const [l, tls] of [[plain, undefined], [secure, client]] as const) {
      const conn = await connect(l.listener.address, { tls });
      const reading = conn.readFrame();
      // Far more than socket buffers hold: this write cannot finish while nobody reads.
      const writing = conn.write(new Uint8Array(64 << 20));
      await new Promise((r) => setTimeout(r, 20));
      conn.close("peer is too slow");
      const closed = (e: Error) =>
        e instanceof UnavailableError && e.message === "Connection closed: peer is too slow";
      await assert.rejects(reading, closed);
      await assert.rejects(writing, closed);
      await assert.rejects(conn.write(new Uint8Array(1)), closed);
      assert.ok(conn.signal.aborted);
    }
  } finally {
    release();
    await plain.listener.stop();
    await secure.listener.stop();
  }
});

Deno.test("aborting a read closes the connection with the signal's reason", async () => {
  const { listener } = await listen(
    { transport: "tcp", hostname: "127.0.0.1", port: 0 },
    (conn) => conn.readFrame().then(() => {}),
  );
  try {
    const conn = await connect(listener.address);
    const stop = new AbortController();
    const reading = conn.readFrame({ signal: stop.signal });
    stop.abort(new UnavailableError("No answer in time"));
    await assert.rejects(reading, /No answer in time/);
    assert.equal(conn.closeReason, "No answer in time");
  } finally {
    await listener.stop();
  }
});

/** Waits for a condition that follows from events already set off. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), "condition never held");
}
