/**
 * A PeerListener in a process of its own, for tests that need one: the
 * EMFILE test runs it under a low `ulimit -n`. It prints its address as one
 * JSON line, echoes every u32-framed message, answers the message `metrics`
 * with the Prometheus text, and stops cleanly on SIGTERM.
 *
 * Usage: deno run -A listener_child.ts <tcp|unix|tls> [socket path] [cert.pem key.pem]
 */
import { lengthPrefix } from "../../lib/frame_header.ts";
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import type { PeerAddress } from "../../services/peer_connection.ts";
import { PeerListener } from "../../services/peer_listener.ts";

const [mode, path, certPath, keyPath] = Deno.args;
const u32 = lengthPrefix({ size: 4 });
const metrics = createMetrics();
const address: PeerAddress = mode === "unix"
  ? { transport: "unix", path }
  : { transport: "tcp", hostname: "127.0.0.1", port: 0 };
const listener = new PeerListener({
  name: "child",
  address,
  tls: mode === "tls"
    ? { cert: Deno.readTextFileSync(certPath), key: Deno.readTextFileSync(keyPath) }
    : undefined,
  handshakeTimeoutMs: 60_000,
  frameHeader: u32,
  maxFrameBytes: 1 << 16,
  maxConnections: 10_000, // far above the fd limit: EMFILE comes first
  log: createLogger("error"),
  metrics,
}, async (conn) => {
  for await (const { body } of conn.frames()) {
    const reply = new TextDecoder().decode(body) === "metrics"
      ? new TextEncoder().encode(metrics.registry.render())
      : body;
    await conn.write(u32.encode(reply.length), reply);
  }
});
await listener.start();
Deno.addSignalListener("SIGTERM", async () => {
  await listener.stop();
  Deno.exit(0);
});
console.log(JSON.stringify(listener.address));
