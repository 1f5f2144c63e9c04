import assert from "node:assert/strict";
import { UnavailableError } from "../../lib/errors.ts";
import { lengthPrefix } from "../../lib/frame_header.ts";
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { type PeerAddress, PeerConnection } from "../../services/peer_connection.ts";
import { type ConnectionHandler, PeerListener } from "../../services/peer_listener.ts";
import {
  ReconnectingSession,
  type SessionHandlers,
  type SessionOptions,
  type SessionPhase,
} from "../../services/reconnecting_session.ts";

const log = createLogger("silent");
const u32 = lengthPrefix({ size: 4 });
const framing = { frameHeader: u32, maxFrameBytes: 1 << 16 };
const opts = (more: Partial<SessionOptions> = {}): SessionOptions => ({
  name: "to-peer",
  baseMs: 5,
  maxMs: 20,
  stableMs: 10_000,
  connectTimeoutMs: 5000,
  log,
  ...more,
});

async function listen(handler: ConnectionHandler) {
  const listener = new PeerListener({
    name: "peer",
    address: { transport: "tcp", hostname: "127.0.0.1", port: 0 },
    maxConnections: 8,
    log,
    metrics: createMetrics(),
    ...framing,
  }, handler);
  await listener.start();
  return listener;
}

const peerSession = (address: PeerAddress, serve: SessionHandlers<PeerConnection>["serve"]) => ({
  connect: (signal: AbortSignal) =>
    PeerConnection.connect({ address, signal, connectTimeoutMs: 60_000, ...framing }),
  serve,
});

/** Waits for a condition that follows from events already set off. */
async function until(cond: () => boolean, what = "condition"): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), `${what} never held`);
}

/** Fails (rather than hangs) if `p` has not settled within a generous bound. */
async function settles<T>(p: Promise<T>, what: string): Promise<T> {
  let timer!: ReturnType<typeof setTimeout>;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not end`)), 5000);
  });
  try {
    return await Promise.race([p, hung]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("ReconnectingSession reconnects after the peer drops it, until stopped, and reports its phases", async () => {
  let accepted = 0;
  const listener = await listen((conn) => {
    accepted++;
    conn.close("dropping every session");
    return Promise.resolve();
  });
  const phases = new Set<SessionPhase>();
  const session = new ReconnectingSession(
    opts(),
    peerSession(listener.address, async (conn) => {
      phases.add(session.status.phase);
      assert.equal(await conn.readFrame(), null);
    }),
  );
  assert.equal(session.status.phase, "idle");
  session.start();
  await until(() => {
    phases.add(session.status.phase);
    return session.runs >= 3;
  });
  await session.stop();
  const { runs, connections, phase, lastError } = session.status;
  assert.ok(runs >= 3 && connections >= 3 && accepted >= 3, `reconnected ${runs} times`);
  assert.equal(phase, "stopped");
  assert.equal(lastError, undefined, "a peer that ends a session is no error");
  assert.ok(phases.has("connected") && phases.has("backing-off"), [...phases].join());
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(session.runs, runs, "no reconnects after stop");
  await listener.stop();
});

Deno.test("ReconnectingSession leaves no abort listener behind per retry", async () => {
  // Counts abort listeners added to and removed from any AbortSignal while the session retries.
  const proto = EventTarget.prototype;
  const { addEventListener: add, removeEventListener: remove } = proto;
  let net = 0;
  proto.addEventListener = function (this: EventTarget, ...args: Parameters<typeof add>) {
    if (this instanceof AbortSignal && args[0] === "abort") net++;
    return add.apply(this, args);
  };
  proto.removeEventListener = function (this: EventTarget, ...args: Parameters<typeof remove>) {
    if (this instanceof AbortSignal && args[0] === "abort") net--;
    return remove.apply(this, args);
  };
  const session = new ReconnectingSession(opts({ baseMs: 1, maxMs: 2 }), {
    connect: () => Promise.reject(new UnavailableError("Connection refused")),
    serve: () => Promise.resolve(),
  });
  try {
    session.start();
    await until(() => session.runs >= 50);
    assert.ok(net <= 2, `${net} abort listeners after ${session.runs} retries`);
    assert.match(session.status.lastError!.message, /Connection refused/);
  } finally {
    proto.addEventListener = add;
    proto.removeEventListener = remove;
    await session.stop();
  }
});

Deno.test("ReconnectingSession gives up a connect after connectTimeoutMs and closes what arrives late", async () => {
  const late: string[] = [];
  const arrivals: ((conn: { close(reason: string): void }) => void)[] = [];
  const session = new ReconnectingSession(opts({ connectTimeoutMs: 30, baseMs: 100_000 }), {
    // Ignores its signal, as a careless connect might.
    connect: () => new Promise((resolve) => arrivals.push(resolve)),
    serve: () => Promise.resolve(),
  });
  session.start();
  await until(() => session.status.phase === "backing-off");
  const { lastError, runs, connections, retryAt, since } = session.status;
  assert.equal(lastError?.message, 'UnavailableError: Connecting "to-peer" timed out after 30 ms');
  // Full jitter may pick a wait near 0, so more than one attempt may have timed out by now.
  assert.ok(runs >= 1, `runs ${runs}`);
  assert.equal(connections, 0);
  assert.ok(retryAt! >= since);
  arrivals[0]({ close: (reason) => late.push(reason) });
  await until(() => late.length === 1);
  assert.deepEqual(late, ["connected too late"]);
  await settles(session.stop(), "stop() while backing off");
  assert.equal(session.status.phase, "stopped");
});

Deno.test("stop() ends a session promptly while connecting, connected or backing off", async () => {
  // Connecting, to a connect that never settles.
  const connecting = new ReconnectingSession(opts(), {
    connect: () => new Promise<never>(() => {}),
    serve: () => Promise.resolve(),
  });
  connecting.start();
  await until(() => connecting.status.phase === "connecting");
  await settles(connecting.stop(), "stop() while connecting");

  // Connected, with serve blocked on a read from a peer that says nothing.
  let release!: () => void;
  const held = new Promise<void>((r) => release = r);
  const listener = await listen(() => held);
  let closedWith: string | undefined;
  const connected = new ReconnectingSession(
    opts(),
    peerSession(listener.address, async (conn) => {
      try {
        await conn.readFrame();
      } finally {
        closedWith = conn.closeReason;
      }
    }),
  );
  connected.start();
  await until(() => connected.status.phase === "connected");
  await settles(connected.stop(), "stop() while connected");
  assert.equal(closedWith, "session stopping");
  assert.equal(connected.status.lastError, undefined, "stopping is no error");
  release();
  await listener.stop();

  // Backing off, for a long time.
  const backingOff = new ReconnectingSession(opts({ baseMs: 1e9, maxMs: 1e9 }), {
    connect: () => Promise.reject(new Error("no route")),
    serve: () => Promise.resolve(),
  });
  backingOff.start();
  await until(() => backingOff.status.phase === "backing-off");
  await settles(backingOff.stop(), "stop() while backing off");
  assert.equal(backingOff.status.phase, "stopped");
});

Deno.test("a stable session resets the backoff; short ones raise it", async () => {
  for (const [stableMs, attempt] of [[0, 1], [1e9, 2]] as const) {
    let runs = 0;
    const session = new ReconnectingSession(opts({ stableMs }), {
      connect: () => Promise.resolve({}),
      serve: (_conn, signal) =>
        ++runs < 3 ? Promise.resolve() : new Promise((resolve) => signal.onabort = () => resolve()),
    });
    session.start();
    await until(() => runs === 3 && session.status.phase === "connected");
    // During the third run: reset after each stable run and raised once; or raised twice.
    assert.equal(session.status.attempt, attempt, `stableMs ${stableMs}`);
    await session.stop();
  }
});

Deno.test("stop() does not hang on a serve that ignores its signal and its connection", async () => {
  const warnings: string[] = [];
  const session = new ReconnectingSession(
    opts({ stopGraceMs: 20, log: { ...log, warn: (msg) => warnings.push(msg) } }),
    { connect: () => Promise.resolve({}), serve: () => new Promise<void>(() => {}) },
  );
  session.start();
  await until(() => session.status.phase === "connected");
  await settles(session.stop(), "stop() with a stuck serve");
  assert.deepEqual(warnings, ["session serve did not end on stop; left behind"]);
});
