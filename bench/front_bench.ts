/**
 * What the HTTP front costs: wrk against the same app served by `Deno.serve`
 * directly and through the front (services/http_front.ts) with its edge in a
 * worker and on the main thread, alternating in the same run, each server in
 * a process of its own. Rows:
 *
 * - `trivial`: GET / of a handler that answers "ok";
 * - `query`: a real gateway (startGateway on a fresh temp KV file):
 *   GET /store/v3/messages?pageSize=20 on its empty store;
 * - `publish`: such a gateway: POST /relay/v1/messages/{topic} of a small
 *   JSON message (group-committed to KV before its answer), each one new
 *   (wrk makes each timestamp unique).
 *
 * ```sh
 * deno run -A bench/front_bench.ts [--rows=trivial,query,publish] [--ways=direct,worker,main]
 *   [--rounds=3] [--seconds=5] [--connections=50] [--publishers=200] [--wrk-threads=1] [--pin]
 * ```
 *
 * Prints each round's req/s, p50, p99 and the server's CPU per request (all
 * its threads, and its main thread, where the app runs), then per row the
 * median of each way, the spread of its rounds, and its ratios to direct.
 * Other load on the machine moves the numbers: compare ways within one run.
 * `--pin` runs the servers on CPU 0 and wrk on CPU 1 (taskset): the server
 * then has one core whatever its threads, as on a machine busy elsewhere.
 */
import { startGateway } from "../gateway.ts";
import { loadConfig } from "../config.ts";
import { createLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import { startFront } from "../services/http_front.ts";
import { runTemplate, type WrkRun, type WrkTemplate } from "./harness/wrk_template.ts";
import { wrkAvailable } from "./harness/wrk.ts";

const args: Record<string, string> = Object.fromEntries(
  Deno.args.filter((a) => a.startsWith("--")).map((a) => {
    const [k, v] = a.slice(2).split("=");
    return [k, v ?? "true"];
  }),
);

type Way = "direct" | "worker" | "main";
type App = "trivial" | "gateway";

// ---- child: serves one way ----

async function serveChild(way: Way, app: App, kv: string): Promise<void> {
  let handler: Deno.ServeHandler = () => new Response("ok");
  let metrics = createMetrics(), log = createLogger("warn");
  if (app === "gateway") {
    // The gateway's own listener is Deno.serve alone; the front, when wanted, goes before its app.
    const gw = await startGateway(
      loadConfig({
        SYNCGATE_PORT: "0",
        SYNCGATE_KV: kv,
        SYNCGATE_LOG: "warn",
        SYNCGATE_FRONT: "off",
      }),
    );
    if (way === "direct") return console.log(`serving on ${new URL(gw.url).port}`);
    handler = gw.app.fetch;
    metrics = gw.deps.metrics;
    log = gw.deps.log;
  }
  if (way === "direct") {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
    return console.log(`serving on ${server.addr.port}`);
  }
  const front = await startFront({
    hostname: "127.0.0.1",
    port: 0,
    handler,
    thread: way,
    metrics,
    log,
  });
  console.log(`serving on ${front.addr.port}`);
}

// ---- parent: runs wrk ----

interface Server {
  url: string;
  child: Deno.ChildProcess;
  /** CPU seconds the process has used: all threads, and its main thread (the app's). */
  cpu(): { total: number; main: number };
}

async function serve(way: Way, app: App, dir: string, pin: boolean): Promise<Server> {
  const argv = [
    Deno.execPath(),
    "run",
    "-A",
    new URL(import.meta.url).pathname,
    `--serve=${way}`,
    `--app=${app}`,
    `--kv=${dir}/${way}.kv`,
  ];
  if (pin) argv.unshift("taskset", "-c", "0");
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: new URL("..", import.meta.url).pathname,
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
  // taskset execs deno, so the pid is the server's; its main thread's tid is the pid too.
  const ticks = (path: string) => {
    const stat = Deno.readTextFileSync(path);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in USER_HZ
  };
  const cpu = () => ({
    total: ticks(`/proc/${child.pid}/stat`),
    main: ticks(`/proc/${child.pid}/task/${child.pid}/stat`),
  });
  return { url: `http://127.0.0.1:${/serving on (\d+)/.exec(out)![1]}`, child, cpu };
}

interface Row {
  name: string;
  app: App;
  req: WrkTemplate;
  connections: number;
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU per response, µs: all threads, and the main thread (the app's). */
  cpuUs: number;
  mainUs: number;
  errors: number;
}

const TOPIC = encodeURIComponent("/waku/2/rs/0/0");

function rows(connections: number, publishers: number): Row[] {
  return [
    { name: "trivial", app: "trivial", req: { method: "GET", path: "/" }, connections },
    {
      name: "query",
      app: "gateway",
      req: { method: "GET", path: "/store/v3/messages?pageSize=20" },
      connections,
    },
    {
      name: "publish",
      app: "gateway",
      req: {
        method: "POST",
        path: `/relay/v1/messages/${TOPIC}`,
        body: '{"payload":"aGVsbG8sIHdha3UhIHRoaXMgaXMgYSBzbWFsbCBtZXNzYWdl",' +
          '"contentTopic":"/bench/1/front/proto","timestamp":1732{n}}',
      },
      connections: publishers,
    },
  ];
}

async function main(): Promise<void> {
  if (!(await wrkAvailable())) throw new Error("wrk is not installed (apt-get install -y wrk)");
  const rounds = Number(args.rounds ?? 3);
  const seconds = Number(args.seconds ?? 5);
  const threads = Number(args["wrk-threads"] ?? 1);
  const pin = args.pin === "true";
  const ways = (args.ways ?? "direct,worker,main").split(",") as Way[];
  const wanted = (args.rows ?? "trivial,query,publish").split(",");
  const all = rows(Number(args.connections ?? 50), Number(args.publishers ?? 200));
  const prefix = pin ? ["taskset", "-c", "1"] : [];
  console.log(
    `front bench: ${rounds} rounds of ${seconds} s, wrk -t${threads}${pin ? ", pinned" : ""}`,
  );
  let base = 0;
  const summary: string[] = [];
  // Each row has servers of its own, on fresh KV files.
  for (const row of all.filter((r) => wanted.includes(r.name))) {
    const dir = await Deno.makeTempDir({ prefix: "syncgate-front-bench-" });
    const servers = new Map<Way, Server>();
    try {
      for (const way of ways) servers.set(way, await serve(way, row.app, dir, pin));
      const run = (s: Server, secs: number) =>
        runTemplate(s.url, row.req, {
          connections: row.connections,
          seconds: secs,
          threads,
          base: base += 1e12,
          prefix,
        });
      for (const s of servers.values()) await run(s, 2); // warm-up
      const samples = new Map<Way, Sample[]>(ways.map((w) => [w, []]));
      for (let r = 0; r < rounds; r++) {
        for (const [way, s] of servers) {
          const cpu0 = s.cpu();
          const res: WrkRun = await run(s, seconds);
          const cpu1 = s.cpu();
          const sample = {
            rps: res.requests / res.seconds,
            p50: res.p50,
            p99: res.p99,
            cpuUs: ((cpu1.total - cpu0.total) / res.requests) * 1e6,
            mainUs: ((cpu1.main - cpu0.main) / res.requests) * 1e6,
            errors: res.errors,
          };
          samples.get(way)!.push(sample);
          console.log(`${row.name.padEnd(8)} round ${r + 1} ${way.padEnd(6)} ${fmt(sample)}`);
        }
      }
      const d = median(samples.get(ways[0])!);
      for (const way of ways) {
        const m = median(samples.get(way)!);
        const ratio = way === ways[0] ? "" : `  ×${(m.rps / d.rps).toFixed(2)} of ${ways[0]} ` +
          `req/s, ×${(m.cpuUs / d.cpuUs).toFixed(2)} CPU/req, ` +
          `×${(m.mainUs / d.mainUs).toFixed(2)} main-thread CPU/req`;
        const rates = samples.get(way)!.map((x) => Math.round(x.rps / 1000));
        const spread = ` (rounds ${Math.min(...rates)}k–${Math.max(...rates)}k req/s)`;
        summary.push(`${row.name.padEnd(8)} median ${way.padEnd(6)} ${fmt(m)}${spread}${ratio}`);
      }
    } finally {
      for (const s of servers.values()) {
        s.child.kill("SIGKILL");
        await s.child.status;
      }
      await Deno.remove(dir, { recursive: true });
    }
  }
  console.log(summary.join("\n"));
}

function fmt(s: Sample): string {
  return `${Math.round(s.rps).toLocaleString("en-US").padStart(7)} req/s, ` +
    `p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, ` +
    `CPU/req ${s.cpuUs.toFixed(1)} µs (main thread ${s.mainUs.toFixed(1)})${
      s.errors ? `, ${s.errors} errors` : ""
    }`;
}

/** The median of each field on its own. */
function median(xs: Sample[]): Sample {
  const mid = (f: (s: Sample) => number) =>
    xs.map(f).sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return {
    rps: mid((s) => s.rps),
    p50: mid((s) => s.p50),
    p99: mid((s) => s.p99),
    cpuUs: mid((s) => s.cpuUs),
    mainUs: mid((s) => s.mainUs),
    errors: xs.reduce((n, s) => n + s.errors, 0),
  };
}

if (args.serve) await serveChild(args.serve as Way, args.app as App, args.kv);
else await main();
