/**
 * Stalled live subscribers under publish load, measured from outside: starts
 * a real gateway process (temp KV), opens N WebSocket subscribers over raw
 * TCP that complete the upgrade and then never read, publishes at a steady
 * rate, and samples the gateway's RSS (/proc/<pid>/status) all along. Then
 * the subscribers read what they were sent (to see how each was closed) and
 * disconnect, and RSS is sampled again. /health is timed throughout.
 *
 * ```sh
 * deno run -A bench/stalled_subscribers.ts                      # 1,000 subscribers, front on, then off
 * deno run -A bench/stalled_subscribers.ts --front=off --subscribers=500 --rate=200 --size=2048
 * deno run -A bench/stalled_subscribers.ts --total-bytes=67108864 --publish-seconds=20
 * ```
 *
 * Options: `--subscribers` (1000), `--rate` messages/s (200), `--size` bytes of each message's
 * base64 payload (2048; its live frame is about 2.3 KB),
 * `--publish-seconds` (30), `--stalled-seconds` after publishing stops, subscribers still
 * stalled (15), `--after-seconds` after they disconnect (15), `--front` on|off|both (both),
 * `--total-bytes` / `--buffer-bytes` (the gateway's defaults). Needs `ulimit -n` above
 * 2 × subscribers + 100 (front on: the gateway holds three descriptors per subscriber).
 * Linux only (reads /proc).
 *
 * "How subscribers were closed" counts close codes (4008: fell behind), `ended` (the
 * connection ended without a close frame, e.g. cut by the front's write-stall timeout) and
 * `open` (no close frame after 20 s of reading).
 */
import { spawnGateway } from "../tests/helpers.ts";

const args = Object.fromEntries(
  Deno.args.filter((a) => a.startsWith("--")).map((a) => a.slice(2).split("=")),
);
const N = Number(args.subscribers ?? 1000);
const RATE = Number(args.rate ?? 200);
const SIZE = Number(args.size ?? 2048);
const PUBLISH_S = Number(args["publish-seconds"] ?? 30);
const STALLED_S = Number(args["stalled-seconds"] ?? 15);
const AFTER_S = Number(args["after-seconds"] ?? 15);
// "on" is the front in its default (worker) mode.
const FRONTS = args.front === "on" || args.front === "off" ? [args.front] : ["on", "off"];
const TOPIC = "/waku/2/rs/0/0";
const enc = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 2 ** 20;

/** The process's resident set, in MiB. */
function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** A few numbers from /metrics. */
async function gauges(url: string) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sum = (name: string) =>
    [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))]
      .reduce((n, m) => n + Number(m[1]), 0);
  return {
    websockets: sum("syncgate_websockets_open"),
    subscribers: sum("syncgate_live_subscribers"),
    bufferedMiB: sum("syncgate_live_buffered_bytes") / MiB,
    shed: sum("syncgate_live_shed_total"),
    dropped: sum("syncgate_live_dropped_total"),
  };
}

/** A subscriber that upgrades and then reads nothing (until told to). */
async function stalledSubscriber(port: number): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(enc.encode(
    `GET /relay/v1/ws?pubsubTopic=${encodeURIComponent(TOPIC)} HTTP/1.1\r\n` +
      `Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${btoa("0123456789abcdef")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  ));
  // Read the 101 head byte by byte so that no frame is read with it.
  const one = new Uint8Array(1);
  let head = "";
  while (!head.endsWith("\r\n\r\n")) {
    if (await conn.read(one) === null) throw new Error(`Upgrade refused: ${head}`);
    head += String.fromCharCode(one[0]);
  }
  if (!head.startsWith("HTTP/1.1 101")) throw new Error(`Upgrade refused: ${head}`);
  return conn;
}

/**
 * Reads server frames (unmasked), skipping their payloads, until a close
 * frame; resolves with its code, or with "open" when `deadline` passes
 * first and "ended" when the connection ends without one.
 */
async function readToClose(conn: Deno.TcpConn, deadline: number): Promise<number | string> {
  const buf = new Uint8Array(256 * 1024);
  let have = 0; // bytes of a frame header (or close payload) collected in buf
  let skip = 0; // payload bytes still to skip
  let closing = -1; // payload length of a close frame being read
  const timer = setTimeout(() => conn.close(), Math.max(0, deadline - Date.now()));
  try {
    for (;;) {
      const n = await conn.read(buf.subarray(have)).catch(() => null);
      if (n === null) return Date.now() >= deadline ? "open" : "ended";
      let pos = 0;
      const end = have + n;
      have = 0;
      while (pos < end) {
        if (skip > 0) {
          const take = Math.min(skip, end - pos);
          skip -= take;
          pos += take;
          continue;
        }
        if (closing >= 0) {
          if (end - pos < closing) break;
          return closing >= 2 ? (buf[pos] << 8) | buf[pos + 1] : 1005;
        }
        if (end - pos < 2) break;
        const opcode = buf[pos] & 0x0f;
        let len = buf[pos + 1] & 0x7f;
        let off = 2;
        if (len === 126) {
          if (end - pos < 4) break;
          len = (buf[pos + 2] << 8) | buf[pos + 3];
          off = 4;
        } else if (len === 127) {
          if (end - pos < 10) break;
          len = Number(new DataView(buf.buffer, pos + 2, 8).getBigUint64(0));
          off = 10;
        }
        pos += off;
        if (opcode === 0x8) closing = len;
        else skip = len;
      }
      // Keep an unfinished header (or close payload) at the start of buf.
      buf.copyWithin(0, pos, end);
      have = end - pos;
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Percentiles of latencies in ms. */
function latencyLine(xs: number[], errors: number): string {
  if (xs.length === 0) return `no answers, ${errors} failed`;
  const s = [...xs].sort((a, b) => a - b);
  const p = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))].toFixed(1);
  return `${xs.length} ok, ${errors} failed, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, ` +
    `max ${s[s.length - 1].toFixed(1)} ms`;
}

async function run(front: string): Promise<void> {
  const kvDir = await Deno.makeTempDir({ prefix: "syncgate-stalled-" });
  const env: Record<string, string> = {
    SYNCGATE_KV: `${kvDir}/bench.kv`,
    SYNCGATE_FRONT: front === "on" ? "worker" : front,
    SYNCGATE_LOG: "error",
  };
  if (args["total-bytes"]) env.SYNCGATE_LIVE_BUFFER_TOTAL_BYTES = args["total-bytes"];
  if (args["buffer-bytes"]) env.SYNCGATE_LIVE_BUFFER_BYTES = args["buffer-bytes"];
  const gw = await spawnGateway(env);
  const pid = gw.child.pid;
  const port = Number(new URL(gw.url).port);
  console.log(
    `\n== front ${front}: ${N} stalled WebSocket subscribers, ${RATE} msg/s of ${SIZE} B`,
  );
  try {
    await sleep(500);
    const baseline = rssMiB(pid);
    const samples: { t: number; rss: number; phase: string }[] = [];
    let phase = "connect";
    const t0 = performance.now();
    const sampler = setInterval(() => {
      try {
        samples.push({ t: (performance.now() - t0) / 1000, rss: rssMiB(pid), phase });
      } catch { /* exited */ }
    }, 250);

    // /health, timed all along, per phase.
    const health = new Map<string, { ok: number[]; errors: number }>();
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const h = health.get(phase) ?? { ok: [], errors: 0 };
        health.set(phase, h);
        const started = performance.now();
        try {
          const res = await fetch(`${gw.url}/health`, { signal: AbortSignal.timeout(5_000) });
          await res.body?.cancel();
          if (res.ok) h.ok.push(performance.now() - started);
          else h.errors++;
        } catch {
          h.errors++;
        }
        await sleep(100);
      }
    })();

    const conns: Deno.TcpConn[] = [];
    for (let i = 0; i < N; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, N - i) }, () => stalledSubscriber(port)),
      );
      conns.push(...batch);
    }
    console.log(
      `connected ${conns.length} in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
        `RSS ${baseline.toFixed(0)} MiB before, ${rssMiB(pid).toFixed(0)} MiB now`,
    );

    // Publish at a steady rate, each message unique.
    phase = "publish";
    const payloadBody = "x".repeat(Math.ceil(SIZE * 3 / 4) - 12);
    let sent = 0, publishErrors = 0;
    const publishUntil = performance.now() + PUBLISH_S * 1000;
    const inFlight = new Set<Promise<void>>();
    const tickMs = 50;
    let report = performance.now() + 5_000;
    while (performance.now() < publishUntil) {
      const tickStart = performance.now();
      for (let k = 0; k < RATE * tickMs / 1000; k++) {
        const payload = enc.encode(`${String(sent++).padStart(12, "0")}${payloadBody}`).toBase64();
        const p = fetch(`${gw.url}/relay/v1/messages/${encodeURIComponent(TOPIC)}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ payload, contentTopic: "/bench/1/stalled/proto" }),
        }).then(async (res) => {
          await res.body?.cancel();
          if (!res.ok) publishErrors++;
        }, () => void publishErrors++).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      if (performance.now() >= report) {
        report += 5_000;
        const g = await gauges(gw.url);
        console.log(
          `  t=${((performance.now() - t0) / 1000).toFixed(0)} s RSS ${
            rssMiB(pid).toFixed(0)
          } MiB, ` +
            `waiting ${g.bufferedMiB.toFixed(1)} MiB, subscribers ${g.subscribers}, ` +
            `shed ${g.shed}, dropped ${g.dropped}, websockets ${g.websockets}`,
        );
      }
      await sleep(Math.max(0, tickMs - (performance.now() - tickStart)));
    }
    await Promise.all(inFlight);
    const peak = Math.max(...samples.map((s) => s.rss));
    const afterPublish = await gauges(gw.url);

    // Publishing stops; the subscribers stay connected and stalled for a while.
    phase = "stalled";
    await sleep(STALLED_S * 1000);
    const stalledRss = rssMiB(pid);
    const stalledGauges = await gauges(gw.url);

    // Each subscriber reads what it was sent, to its close frame (or a few seconds), and leaves.
    phase = "drop";
    const deadline = Date.now() + 20_000;
    const outcomes = await Promise.all(conns.map((c) => readToClose(c, deadline)));
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    const codes = new Map<string, number>();
    for (const o of outcomes) codes.set(String(o), (codes.get(String(o)) ?? 0) + 1);
    phase = "after";
    await sleep(AFTER_S * 1000);
    const after = samples.filter((s) => s.phase === "after");
    const afterGauges = await gauges(gw.url);
    probing = false;
    await prober;
    clearInterval(sampler);

    console.log(
      `published ${sent} (${publishErrors} failed); ` +
        `after publishing: waiting ${afterPublish.bufferedMiB.toFixed(1)} MiB, ` +
        `${afterPublish.subscribers} subscribed, ${afterPublish.shed} shed (total budget), ` +
        `${afterPublish.dropped} dropped in all`,
    );
    console.log(`RSS baseline          ${baseline.toFixed(0)} MiB`);
    console.log(`RSS peak              ${peak.toFixed(0)} MiB`);
    console.log(
      `RSS stalled, dropped  ${stalledRss.toFixed(0)} MiB (${STALLED_S} s after publishing ` +
        `stopped, subscribers still connected and not reading; websockets open ` +
        `${stalledGauges.websockets})`,
    );
    console.log(
      `RSS after they left   ${after.at(-1)?.rss.toFixed(0)} MiB (${AFTER_S} s later; ` +
        `min ${Math.min(...after.map((s) => s.rss)).toFixed(0)} MiB); websockets open ` +
        `${afterGauges.websockets}, subscribers ${afterGauges.subscribers}`,
    );
    console.log(`how subscribers were closed:`, Object.fromEntries(codes));
    for (const [name, h] of health) {
      console.log(`/health during ${name.padEnd(8)} ${latencyLine(h.ok, h.errors)}`);
    }
    const curve = samples.filter((_, i) => i % 8 === 0)
      .map((s) => `${s.t.toFixed(0)}s:${s.rss.toFixed(0)}`).join(" ");
    console.log(`RSS over time (MiB): ${curve}`);
  } finally {
    await gw.stop();
    await Deno.remove(kvDir, { recursive: true }).catch(() => {});
  }
}

for (const front of FRONTS) await run(front);
