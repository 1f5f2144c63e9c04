/**
 * What the HTTP front costs: wrk against a trivial handler served by
 * `Deno.serve` directly and through the front (services/http_front.ts),
 * alternating in the same run, each server in its own process.
 *
 * ```sh
 * deno run -A bench/front_bench.ts [--rounds=3] [--seconds=5] [--connections=50]
 * ```
 *
 * Prints req/s, p50 and p99 for each round and the median of each way.
 */
import { createLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import { startFront } from "../services/http_front.ts";
import { runWrk, wrkAvailable, type WrkResult } from "./wrk.ts";

const args = Object.fromEntries(
  Deno.args.filter((a) => a.startsWith("--")).map((a) => a.slice(2).split("=")),
);
const handler = () => new Response("ok");

if (args.serve) {
  // Child: serve one way and print the port.
  let port: number;
  if (args.serve === "direct") {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
    port = server.addr.port;
  } else {
    const front = await startFront({
      hostname: "127.0.0.1",
      port: 0,
      handler,
      metrics: createMetrics(),
      log: createLogger("warn"),
    });
    port = front.addr.port;
  }
  console.log(`serving on ${port}`);
} else {
  await main();
}

async function serve(way: string): Promise<{ url: string; child: Deno.ChildProcess }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, `--serve=${way}`],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!/serving on (\d+)/.test(out)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${way} server exited: ${out}`);
    out += value;
  }
  reader.releaseLock();
  return { url: `http://127.0.0.1:${/serving on (\d+)/.exec(out)![1]}`, child };
}

async function main(): Promise<void> {
  if (!(await wrkAvailable())) throw new Error("wrk is not installed (apt-get install -y wrk)");
  const rounds = Number(args.rounds ?? 3);
  const seconds = Number(args.seconds ?? 5);
  const connections = Number(args.connections ?? 50);
  const direct = await serve("direct");
  const front = await serve("front");
  const results: Record<string, WrkResult[]> = { direct: [], front: [] };
  try {
    for (const [, s] of [["direct", direct], ["front", front]] as const) {
      await runWrk(s.url, [{ method: "GET", path: "/" }], { connections, seconds: 2 }); // warm-up
    }
    for (let r = 0; r < rounds; r++) {
      for (const [way, s] of [["direct", direct], ["front", front]] as const) {
        const res = await runWrk(s.url, [{ method: "GET", path: "/" }], { connections, seconds });
        results[way].push(res);
        console.log(
          `round ${r + 1} ${way.padEnd(6)} ${Math.round(res.requests / res.seconds)} req/s, ` +
            `p50 ${res.p50.toFixed(2)} ms, p99 ${res.p99.toFixed(2)} ms, errors ${res.errors}`,
        );
      }
    }
  } finally {
    for (const s of [direct, front]) {
      s.child.kill("SIGKILL");
      await s.child.status;
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const summary = (way: string) => {
    const rs = results[way];
    return {
      rps: median(rs.map((r) => r.requests / r.seconds)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
    };
  };
  const d = summary("direct"), f = summary("front");
  console.log(
    `median direct: ${Math.round(d.rps)} req/s, p50 ${d.p50.toFixed(2)} ms, p99 ${
      d.p99.toFixed(2)
    } ms`,
  );
  console.log(
    `median front:  ${Math.round(f.rps)} req/s, p50 ${f.p50.toFixed(2)} ms, p99 ${
      f.p99.toFixed(2)
    } ms`,
  );
  console.log(`front/direct throughput: ${(f.rps / d.rps).toFixed(2)}`);
}
