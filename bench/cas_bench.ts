/**
 * CAS benchmark: PUT (`POST /cas`) and GET (`/ipfs/{cid}?format=raw`) of
 * 1 KiB, 1 MiB and 64 MiB blobs over real loopback HTTP, with the gateway's
 * peak RSS, beside raw Deno KV writing and reading the same chunks,
 * `sha256sum` of the same bytes, and the same bytes served from a file by a
 * plain `Deno.serve` route, in one run, on the harness in bench/harness/.
 * The ceiling rows: a plain `Deno.serve` route that only moves the bytes
 * between HTTP and raw KV chunks (bench/cas/kv_route_server.ts), i.e. the
 * CAS with everything of its own taken away; and the gateway with its front
 * off (SYNCGATE_FRONT=off), which shows what the front's relaying costs.
 *
 *   deno task bench:cas             # 2000 × 1 KiB, 100 × 1 MiB, 4 × 64 MiB
 *   deno task bench:cas --quick     # a smoke run (16 MiB for the largest)
 *   deno task bench:cas --help      # the options
 *
 * Targets (issue 8): PUT ≥ 0.8× raw KV writing the chunks; GET ≥ 0.8× raw KV
 * reading them and ≥ 0.5× the static file route; the gateway's peak RSS flat
 * (within 32 MiB) from 1 MiB to 64 MiB.
 */
import { createMetrics } from "../lib/metrics.ts";
import { openStore } from "../storage/kv.ts";
import { BlobPool } from "./cas/content.ts";
import { httpGet, httpPost, httpPut } from "./cas/http_rows.ts";
import { parseCasOptions } from "./cas/options.ts";
import { rawGet, rawPut } from "./cas/raw_rows.ts";
import {
  type MeasuredServer,
  startFileServer,
  startGatewayProcess,
  startKvRouteServer,
} from "./cas/servers.ts";
import { serviceRows } from "./cas/service_rows.ts";
import { sha256sumRow } from "./cas/sha256sum.ts";
import {
  describeMachine,
  fmtRate,
  log,
  type Phase,
  renderReport,
  type Result,
  type Row,
  settle,
  sourceFingerprint,
  workDir,
  writeJson,
} from "./harness/mod.ts";

const MiB = 1 << 20;
const fmtSize = (n: number) => n >= MiB ? `${n / MiB} MiB` : `${n / 1024} KiB`;
const mib = (bytes: number) => (bytes / MiB).toFixed(1);

/** Peak RSS of the gateway while `fn` runs, above its RSS before. */
async function withPeak<T>(gw: MeasuredServer, fn: () => Promise<T>) {
  await gw.resetPeak();
  const before = await gw.memory();
  const value = await fn();
  const after = await gw.memory();
  return { value, peak: after.peak, before: before.rss };
}

const o = await parseCasOptions();
const machine = describeMachine();
log(`syncgate CAS benchmark — ${machine}`);
const work = await workDir(o.dir, o.keep);
const fingerprint = await sourceFingerprint();
const gwPath = await work.kv("gateway");
const rawPath = await work.kv("raw");
const filesDir = `${work.dir}/files`;
await Deno.mkdir(filesDir, { recursive: true });
const gw = await startGatewayProcess(gwPath);
const files = await startFileServer(filesDir);
const bareGwPath = await work.kv("gateway-front-off");
const bareGw = await startGatewayProcess(bareGwPath, { SYNCGATE_FRONT: "off" });
const kvRoutePath = await work.kv("kv-route");
const kvRoute = await startKvRouteServer(kvRoutePath);
const raw = await openStore(rawPath, createMetrics());
log(`gateway at ${gw.url}, file route at ${files.url}`);

const rows: Row[] = [];
const memory: { size: number; put: number; get: number; base: number }[] = [];
const t0 = performance.now();
try {
  for (const [s, size] of o.sizes.entries()) {
    const count = o.counts[s], conc = o.concurrency[s];
    const phase: Phase = {
      concurrency: conc,
      warm: Math.max(conc, Math.ceil(count / 20)),
      total: count,
      maxSeconds: o.phaseSeconds,
    };
    const what = `${fmtSize(size)} × ${count}, ${conc} in flight`;
    const pool = new BlobPool(size, conc, s + 1);
    const file = `${filesDir}/blob-${size}`;
    const sample = pool.take(0);
    await Deno.writeFile(file, sample);
    pool.release(sample);

    await settle([gwPath, rawPath]);
    log(`PUT ${what}`);
    const put = await withPeak(gw, () => httpPut(gw, pool, phase));
    log(`  gateway ${fmtRate(put.value.result.rate)} MB/s, peak RSS ${mib(put.peak)} MiB`);
    await settle([gwPath, rawPath]);
    const rawW = await rawPut(raw, pool, phase);
    log(`  raw KV writing the chunks ${fmtRate(rawW.result.rate)} MB/s`);
    await settle([gwPath, rawPath, bareGwPath]);
    const barePut = await httpPut(bareGw, pool, phase);
    log(`  gateway with its front off ${fmtRate(barePut.result.rate)} MB/s`);
    await settle([gwPath, rawPath, kvRoutePath]);
    const plainPut = await httpPost(
      `${kvRoute.url}/chunks`,
      kvRoute,
      pool,
      phase,
      async (res) => `${(await res.text()).replace(" ", "/")}/${size}`,
    );
    log(`  plain Deno.serve writing raw KV chunks ${fmtRate(plainPut.result.rate)} MB/s`);
    const sum = await sha256sumRow(file, size, count);
    log(`  sha256sum ${fmtRate(sum.rate)} MB/s`);

    log(`GET ${what}`);
    const cids = put.value.cids;
    const get = await withPeak(
      gw,
      () => httpGet(gw, (k) => `${gw.url}/ipfs/${cids[k]}?format=raw`, size, phase),
    );
    log(`  gateway ${fmtRate(get.value.rate)} MB/s, peak RSS ${mib(get.peak)} MiB`);
    const rawR = await rawGet(raw, rawW.blobs, size, phase);
    log(`  raw KV reading the chunks ${fmtRate(rawR.rate)} MB/s`);
    const plainGet = await httpGet(
      kvRoute,
      (k) => `${kvRoute.url}/chunks/${plainPut.cids[k]}`,
      size,
      phase,
    );
    log(`  plain Deno.serve reading raw KV chunks ${fmtRate(plainGet.rate)} MB/s`);
    const bareGet = await httpGet(
      bareGw,
      (k) => `${bareGw.url}/ipfs/${barePut.cids[k]}?format=raw`,
      size,
      phase,
    );
    log(`  gateway with its front off ${fmtRate(bareGet.rate)} MB/s`);
    const name = file.slice(filesDir.length + 1);
    const stat = await httpGet(files, () => `${files.url}/${name}`, size, phase);
    log(`  static file route ${fmtRate(stat.rate)} MB/s`);
    memory.push({ size, put: put.peak, get: get.peak, base: put.before });
    log(`CasService in process, ${what}`);
    await settle([gwPath, rawPath]);
    const inProcess = await serviceRows(await work.kv(`service-${s}`), pool, phase);
    log(`  add ${fmtRate(inProcess.add.rate)} MB/s, get ${fmtRate(inProcess.get.rate)} MB/s`);

    const row = (measurement: string, gateway: Result) => ({
      measurement,
      size: what,
      unit: "MB/s",
      gateway,
    });
    rows.push(
      {
        ...row("PUT /cas", put.value.result),
        baselineLabel: "raw KV writing the same chunks",
        baseline: rawW.result,
        target: { ratio: 0.8, text: "≥ 0.8× raw KV" },
      },
      {
        ...row("(ceiling) plain Deno.serve → raw KV chunks", plainPut.result),
        baselineLabel: "raw KV writing the same chunks",
        baseline: rawW.result,
      },
      {
        ...row("PUT /cas", put.value.result),
        baselineLabel: "the ceiling: plain Deno.serve → raw KV chunks",
        baseline: plainPut.result,
      },
      {
        ...row("PUT /cas, front off", barePut.result),
        baselineLabel: "the ceiling: plain Deno.serve → raw KV chunks",
        baseline: plainPut.result,
      },
      {
        ...row("PUT /cas", put.value.result),
        baselineLabel: "`sha256sum` of the same bytes",
        baseline: sum,
      },
      {
        ...row("GET /ipfs/{cid}?format=raw", get.value),
        baselineLabel: "raw KV reading the same chunks",
        baseline: rawR,
        target: { ratio: 0.8, text: "≥ 0.8× raw KV" },
      },
      {
        ...row("(ceiling) plain Deno.serve ← raw KV chunks", plainGet),
        baselineLabel: "raw KV reading the same chunks",
        baseline: rawR,
      },
      {
        ...row("(ceiling) plain Deno.serve ← raw KV chunks", plainGet),
        baselineLabel: "the same bytes from a file, plain `Deno.serve`",
        baseline: stat,
      },
      {
        ...row("GET /ipfs/{cid}?format=raw", get.value),
        baselineLabel: "the ceiling: plain Deno.serve ← raw KV chunks",
        baseline: plainGet,
      },
      {
        ...row("GET /ipfs/{cid}?format=raw, front off", bareGet),
        baselineLabel: "the ceiling: plain Deno.serve ← raw KV chunks",
        baseline: plainGet,
      },
      {
        ...row("GET /ipfs/{cid}?format=raw", get.value),
        baselineLabel: "the same bytes from a file, plain `Deno.serve`",
        baseline: stat,
        target: { ratio: 0.5, text: "≥ 0.5× static file" },
      },
      {
        ...row("(no HTTP) CasService.add in process", inProcess.add),
        baselineLabel: "raw KV writing the same chunks",
        baseline: rawW.result,
      },
      {
        ...row("(no HTTP) CasService.get in process, read whole", inProcess.get),
        baselineLabel: "raw KV reading the same chunks",
        baseline: rawR,
      },
    );
  }
} finally {
  raw.kv.close();
  await files.close();
  await kvRoute.close();
  await bareGw.close();
  await gw.close();
  const logs = gw.logs().trim();
  if (logs) console.error(`The gateway's warnings and errors:\n${logs.slice(-4000)}`);
  await work.cleanup();
}

/** The RSS table, and whether the peak stays within 32 MiB from the 1 MiB size up. */
function memoryTable(): string {
  const out = [
    "Gateway peak RSS (its own process; VmHWM reset before each phase):",
    "",
    "| Blob size | RSS before PUT | peak during PUT | peak during GET |",
    "| --- | ---: | ---: | ---: |",
    ...memory.map((m) =>
      `| ${fmtSize(m.size)} | ${mib(m.base)} MiB | ${mib(m.put)} MiB | ${mib(m.get)} MiB |`
    ),
  ];
  const from = memory.find((m) => m.size === MiB);
  const to = memory.at(-1)!;
  if (from && to.size > MiB) {
    // The peak while a size's blobs were put and got: phases run in order, so a PUT phase's
    // start carries the heap the GET before it left, and only the two together say what a
    // size costs. Flat means no growth past 32 MiB; a lower peak for larger blobs passes.
    const growth = Math.max(to.put, to.get) - Math.max(from.put, from.get);
    out.push(
      "",
      `RSS flat from 1 MiB to ${fmtSize(to.size)} (target ± 32 MiB): the peak of a size's ` +
        `PUT and GET phases grew by ` +
        `${mib(growth)} MiB — ${growth <= 32 * MiB ? "PASS" : "**MISS**"}`,
    );
  }
  return out.join("\n");
}

const report = {
  title: "CAS",
  machine,
  fingerprint,
  summary: `Gateway in its own process; rates are MB/s of content (p50/p99 per request); run ` +
    `took ${((performance.now() - t0) / 60000).toFixed(1)} min.`,
  rows,
  ladders: [],
  options: o,
};
console.log(renderReport(report));
console.log("\n" + memoryTable());
if (o.json) await writeJson(o.json, { ...report, memory } as never);
