import assert from "node:assert/strict";
import tls from "node:tls";
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { type PeerAddress, PeerConnection } from "../../services/peer_connection.ts";
import { PeerListener } from "../../services/peer_listener.ts";
import { tempDir } from "../helpers.ts";
import { type Identity, makeIdentity } from "./tls_identity.ts";
import { connect, enc, framing, listen, text, u32 } from "./peer_fixtures.ts";

const TCP: PeerAddress = { transport: "tcp", hostname: "127.0.0.1", port: 0 };
const labels = (outcome: string) => ({ listener: "test", outcome });

const send = (conn: PeerConnection, text: string) =>
  conn.write(u32.encode(enc.encode(text).length), enc.encode(text));

/** Waits for a condition that follows from events already set off. */
async function until(cond: () => boolean, what = "condition"): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), `${what} never held`);
}

async function identity(name: string): Promise<Identity> {
  const { dir, cleanup } = await tempDir();
  try {
    return await makeIdentity(dir, name);
  } finally {
    await cleanup();
  }
}

Deno.test("a handler that throws ends only its connection, and is counted as failed", async () => {
  const { listener, metrics } = await listen(TCP, async (conn) => {
    const got = await text(conn);
    if (got === "boom") throw new Error("malformed greeting");
    await send(conn, got!.toUpperCase());
  });
  try {
    const bad = await connect(listener.address);
    const good = await connect(listener.address);
    await send(bad, "boom");
    assert.equal(await bad.readFrame(), null, "the failing connection is closed");
    await send(good, "hello");
    assert.equal(await text(good), "HELLO");
    bad.close();
    good.close();
    await until(() => listener.connections === 0);
    assert.equal(metrics.peerConnections.get(labels("accepted")), 2);
    assert.equal(metrics.peerConnections.get(labels("failed")), 1);
  } finally {
    await listener.stop();
  }
});

Deno.test("past maxConnections connections are refused; stop() closes the open ones", async () => {
  const stopped: boolean[] = [];
  const { listener, metrics } = await listen(TCP, async (conn, signal) => {
    await send(conn, "welcome");
    await new Promise((resolve) => signal.addEventListener("abort", resolve));
    stopped.push(signal.aborted);
  }, { maxConnections: 2 });
  try {
    const open = [await connect(listener.address), await connect(listener.address)];
    for (const c of open) assert.equal(await text(c), "welcome");
    const third = await connect(listener.address);
    assert.equal(await third.readFrame(), null, "refused at once");
    third.close();
    assert.equal(listener.connections, 2);
    assert.equal(metrics.peerConnectionsOpen.get({ listener: "test" }), 2);
    assert.equal(metrics.peerConnections.get(labels("refused")), 1);
    const rendered = metrics.registry.render();
    assert.match(
      rendered,
      /syncgate_peer_connections_total\{listener="test",outcome="refused"\} 1/,
    );
    assert.match(rendered, /syncgate_peer_connections_open\{listener="test"\} 2/);
    await listener.stop();
    for (const c of open) assert.equal(await c.readFrame(), null, "closed by stop()");
    for (const c of open) c.close();
    assert.deepEqual(stopped, [true, true]);
    assert.equal(listener.connections, 0);
    assert.equal(metrics.peerConnectionsOpen.get({ listener: "test" }), 0);
    assert.equal(metrics.peerConnections.get(labels("failed")), 0, "stopping is no failure");
  } finally {
    await listener.stop();
  }
});

Deno.test("TLS: a client without a certificate is refused when one is required, allowed when requested", async () => {
  const server = await identity("server");
  const client = await identity("client");
  for (const clientCertificate of ["require", "request"] as const) {
    const peers: (string | undefined)[] = [];
    const { listener, metrics } = await listen(TCP, async (conn) => {
      peers.push(conn.status.peerCertificateSha256);
      await send(conn, "hi");
    }, { tls: { ...server, clientCertificate } });
    try {
      const { port } = listener.address as { port: number };
      // A foreign client (plain node:tls) that presents no certificate.
      const anonymous = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
      anonymous.on("error", () => {});
      const received = await new Promise<number>((resolve) => {
        let n = 0;
        anonymous.on("data", (d: Uint8Array) => n += d.length);
        anonymous.on("close", () => resolve(n));
      });
      const withCert = await connect(listener.address, { tls: client });
      assert.equal(await text(withCert), "hi");
      withCert.close();
      await until(() => listener.connections === 0);
      if (clientCertificate === "require") {
        assert.equal(received, 0, "nothing reached the anonymous client");
        assert.deepEqual(peers, [client.sha256]);
        assert.equal(metrics.peerConnections.get(labels("failed")), 1);
      } else {
        assert.equal(received, 6, "the anonymous client got its frame");
        assert.deepEqual(peers, [undefined, client.sha256]);
        assert.equal(metrics.peerConnections.get(labels("failed")), 0);
      }
    } finally {
      await listener.stop();
    }
  }
});

Deno.test("TLS: a peer that never completes the handshake is closed after handshakeTimeoutMs", async () => {
  const server = await identity("server");
  const { listener, metrics } = await listen(TCP, () => Promise.resolve(), {
    tls: server,
    handshakeTimeoutMs: 100,
  });
  try {
    const { port } = listener.address as { port: number };
    const silent = await Deno.connect({ hostname: "127.0.0.1", port });
    assert.equal(await new Response(silent.readable).text(), "", "closed by the server");
    await until(() => metrics.peerConnections.get(labels("failed")) === 1);
    assert.equal(listener.connections, 0);
  } finally {
    await listener.stop();
  }
});

Deno.test("unix: a socket file left by a dead process is replaced; a live one is not", async () => {
  const { dir, cleanup } = await tempDir();
  const path = `${dir}/peer.sock`;
  try {
    // A process that listens and exits without closing leaves its socket file behind.
    const child = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `Deno.listen({ transport: "unix", path: ${JSON.stringify(path)} }); Deno.exit(0)`,
      ],
    }).output();
    assert.ok(child.success);
    assert.ok((await Deno.lstat(path)).isSocket, "a stale socket file is there");
    const { listener } = await listen(TCP, async (conn) => await send(conn, "fresh"), {
      address: { transport: "unix", path },
    });
    try {
      const conn = await connect(listener.address);
      assert.equal(await text(conn), "fresh");
      conn.close();
      const second = new PeerListener({
        name: "second",
        address: { transport: "unix", path },
        maxConnections: 1,
        log: createLogger("silent"),
        metrics: createMetrics(),
        ...framing,
      }, () => Promise.resolve());
      await assert.rejects(second.start(), Deno.errors.AddrInUse);
    } finally {
      await listener.stop();
    }
  } finally {
    await cleanup();
  }
});
