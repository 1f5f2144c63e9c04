import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { ReconnectingSession } from "../../services/reconnecting_session.ts";
import { TcpServer } from "../../services/tcp_server.ts";

const log = createLogger("silent");
const enc = new TextEncoder();

async function readAll(conn: Deno.Conn): Promise<string> {
  return await new Response(conn.readable).text();
}

Deno.test("TcpServer runs a handler per connection; one failing connection does not hurt another", async () => {
  const server = new TcpServer({
    name: "echo",
    hostname: "127.0.0.1",
    port: 0,
    maxConnections: 4,
    log,
  }, async (conn) => {
    const buf = new Uint8Array(64);
    const n = await conn.read(buf);
    const text = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    if (text === "boom") throw new Error("malformed greeting");
    await conn.write(enc.encode(text.toUpperCase()));
  });
  server.start();
  const port = server.addr.port;
  const bad = await Deno.connect({ hostname: "127.0.0.1", port });
  const good = await Deno.connect({ hostname: "127.0.0.1", port });
  await bad.write(enc.encode("boom"));
  assert.equal(await readAll(bad), "", "the failing connection is closed");
  await good.write(enc.encode("hello"));
  assert.equal(await readAll(good), "HELLO");
  await server.stop();
});

Deno.test("TcpServer refuses connections past maxConnections and stop() closes open ones", async () => {
  const server = new TcpServer(
    { name: "hold", hostname: "127.0.0.1", port: 0, maxConnections: 1, log },
    (_conn, signal) => new Promise((resolve) => signal.addEventListener("abort", () => resolve())),
  );
  server.start();
  const port = server.addr.port;
  const first = await Deno.connect({ hostname: "127.0.0.1", port });
  for (let i = 0; i < 50 && server.connections === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const second = await Deno.connect({ hostname: "127.0.0.1", port });
  assert.equal(await readAll(second), "", "refused connection is closed at once");
  assert.equal(server.connections, 1);
  await server.stop();
  assert.equal(await readAll(first), "");
  assert.equal(server.connections, 0);
});

Deno.test("ReconnectingSession reconnects after the peer drops it, until stopped", async () => {
  let accepted = 0;
  const server = new TcpServer({
    name: "peer",
    hostname: "127.0.0.1",
    port: 0,
    maxConnections: 8,
    log,
  }, (conn) => {
    accepted++;
    conn.close(); // drop every session at once
    return Promise.resolve();
  });
  server.start();
  const session = new ReconnectingSession(
    { name: "to-peer", baseMs: 5, maxMs: 20, stableMs: 10_000, log },
    async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      await readAll(conn);
    },
  );
  session.start();
  for (let i = 0; i < 200 && session.runs < 3; i++) await new Promise((r) => setTimeout(r, 10));
  await session.stop();
  const runs = session.runs;
  assert.ok(runs >= 3, `reconnected ${runs} times`);
  assert.ok(accepted >= 3);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(session.runs, runs, "no reconnects after stop");
  await server.stop();
});
