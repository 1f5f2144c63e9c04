import assert from "node:assert/strict";
import { ConflictError, InvalidInputError, NotFoundError } from "../../lib/errors.ts";
import { lengthPrefix } from "../../lib/frame_header.ts";
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { PeerConnection } from "../../services/peer_connection.ts";
import { PeerListener } from "../../services/peer_listener.ts";
import { ReconnectingSession } from "../../services/reconnecting_session.ts";
import { type HasStatus, SessionRegistry } from "../../services/session_registry.ts";

const log = createLogger("silent");
const framing = { frameHeader: lengthPrefix({ size: 4 }), maxFrameBytes: 1024 };

Deno.test("SessionRegistry: random ids, get, list with status, unregister", () => {
  const registry = new SessionRegistry<HasStatus>();
  const a = registry.register({ status: { phase: "connected" } });
  const b = registry.register({ status: { phase: "backing-off" } });
  assert.match(a.id, /^0x[0-9a-f]{32}$/);
  assert.notEqual(a.id, b.id);
  assert.deepEqual(registry.get(b.id).status, { phase: "backing-off" });
  assert.deepEqual(registry.list(), [
    { id: a.id, status: { phase: "connected" } },
    { id: b.id, status: { phase: "backing-off" } },
  ]);
  a.unregister();
  assert.throws(() => registry.get(a.id), (e: Error) => e instanceof NotFoundError);
  assert.equal(registry.find(a.id), undefined);
  assert.equal(registry.unregister(b.id), true);
  assert.equal(registry.unregister(b.id), false);
  assert.equal(registry.size, 0);
});

Deno.test("SessionRegistry: chosen ids are checked; a stale registration never removes a newer one", () => {
  const registry = new SessionRegistry<HasStatus>();
  const first = registry.register({ status: 1 }, { id: "peer-1" });
  assert.throws(
    () => registry.register({ status: 2 }, { id: "peer-1" }),
    (e: Error) =>
      e instanceof ConflictError && e.message === 'Session "peer-1" is already registered',
  );
  assert.throws(
    () => registry.register({ status: 2 }, { id: "../x y" }),
    (e: Error) => e instanceof InvalidInputError && e.field === "id",
  );
  first.unregister();
  const second = registry.register({ status: 2 }, { id: "peer-1" });
  first.unregister(); // late: must not remove the new one
  assert.equal(registry.get("peer-1").status, 2);
  {
    using _scoped = registry.register({ status: 3 }, { id: "scoped" });
    assert.equal(registry.size, 2);
  }
  assert.equal(registry.find("scoped"), undefined, "disposed at the end of its scope");
  second.unregister();
});

Deno.test("SessionRegistry holds live inbound connections and outbound sessions", async () => {
  const registry = new SessionRegistry<HasStatus>();
  const listener = new PeerListener({
    name: "in",
    address: { transport: "tcp", hostname: "127.0.0.1", port: 0 },
    maxConnections: 4,
    log,
    metrics: createMetrics(),
    ...framing,
  }, async (conn, signal) => {
    using _reg = registry.register(conn);
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  });
  await listener.start();
  const outbound = new ReconnectingSession({
    name: "out",
    baseMs: 5,
    maxMs: 20,
    stableMs: 1000,
    connectTimeoutMs: 5000,
    log,
  }, {
    connect: (signal) =>
      PeerConnection.connect({
        address: listener.address,
        connectTimeoutMs: 5000,
        signal,
        ...framing,
      }),
    serve: async (conn) => void await conn.readFrame(),
  });
  const out = registry.register(outbound, { id: "out" });
  outbound.start();
  try {
    for (let i = 0; i < 500 && registry.size < 2; i++) await new Promise((r) => setTimeout(r, 5));
    const listed = registry.list();
    assert.equal(listed.length, 2);
    const inbound = listed.find((s) => s.id !== "out")!;
    assert.match((inbound.status as { remote: string }).remote, /^tcp 127\.0\.0\.1:\d+$/);
    assert.equal((registry.get("out").status as { phase: string }).phase, "connected");
    JSON.stringify(listed); // what a route would send
  } finally {
    await outbound.stop();
    out.unregister();
    await listener.stop();
  }
  assert.equal(registry.size, 0, "the inbound one unregistered itself when its handler ended");
});
