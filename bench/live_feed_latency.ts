/**
 * End-to-end latency of live events between processes through the KV feed
 * (services/kv_notifier.ts): from send() on one KV handle to the listener of
 * another, on one local KV file.
 *
 *   deno run -A bench/live_feed_latency.ts                  # default poll interval
 *   deno run -A bench/live_feed_latency.ts --interval=20 --events=1000 --spacing=7
 *   deno run -A bench/live_feed_latency.ts --dir=/dev/shm  # KV in memory: no fsync stalls
 *
 * Two runs: the sender as a second KV handle in this process, and as a real
 * second process (tests/services/kv_notifier_publisher.ts). Events are sent one
 * per send() every `spacing` ms; each carries its wall-clock send time.
 */
import { parseArgs } from "node:util";
import { createMetrics } from "../lib/metrics.ts";
import { KvNotifier } from "../services/kv_notifier.ts";
import { openStore } from "../storage/kv.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    interval: { type: "string", default: "50" },
    events: { type: "string", default: "500" },
    spacing: { type: "string", default: "7" },
    // Where the KV file goes, e.g. /dev/shm to tell commit (fsync) time from the feed's own.
    dir: { type: "string" },
  },
});
const interval = Number(values.interval);
const count = Number(values.events);
const spacing = Number(values.spacing);
const wallMs = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function report(name: string, lat: number[]) {
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)];
  console.log(
    `${name.padEnd(16)} n=${lat.length} p50=${pct(50).toFixed(1)}ms p90=${
      pct(90).toFixed(1)
    }ms p99=${pct(99).toFixed(1)}ms max=${lat[lat.length - 1].toFixed(1)}ms`,
  );
}

async function run(name: string, publish: (path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "syncgate-bench-", dir: values.dir });
  const path = `${dir}/live.kv`;
  const store = await openStore(path, createMetrics());
  const receiver = await KvNotifier.open(store, { pollIntervalMs: interval });
  const lat: number[] = [];
  receiver.listen((events) => {
    const now = wallMs();
    for (const e of events) lat.push(now - JSON.parse(e.json).sentAt);
  });
  await publish(path);
  const deadline = Date.now() + 30_000;
  while (lat.length < count && Date.now() < deadline) await sleep(10);
  await receiver.close();
  store.kv.close();
  await Deno.remove(dir, { recursive: true });
  report(name, lat);
}

console.log(`poll interval ${interval} ms, ${count} events, one every ${spacing} ms`);

await run("second handle", async (path) => {
  const store = await openStore(path, createMetrics());
  const sender = await KvNotifier.open(store);
  for (let i = 0; i < count; i++) {
    sender.send([{ channel: "bench", attrs: {}, json: JSON.stringify({ i, sentAt: wallMs() }) }]);
    await sleep(spacing);
  }
  await sender.close();
  store.kv.close();
});

await run("second process", async (path) => {
  const script = new URL("../tests/services/kv_notifier_publisher.ts", import.meta.url).pathname;
  const status = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A", // not just read/write: /dev/shm (--dir) asks for all access
      script,
      path,
      String(count),
      "1",
      String(spacing),
    ],
    cwd: new URL("..", import.meta.url).pathname,
  }).spawn().status;
  if (!status.success) throw new Error(`Publisher exited with ${status.code}`);
});
