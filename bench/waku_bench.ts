/**
 * Waku store benchmark: the gateway over real loopback HTTP beside raw Deno KV
 * doing the same work, in the same run, on the harness in bench/harness/.
 * BENCHMARKS.md says what each row means.
 *
 *   deno task bench                         # full run: stores of 100k and 1M messages
 *   deno task bench --quick                 # smoke run: 10k and 50k messages
 *   deno task bench --sizes=100000,300000   # choose the store sizes (--help lists the options)
 *   deno run -A bench/waku_bench.ts         # adds disk bytes written (/proc/self/io)
 *
 * Per store size: bulk ingest (vs the raw 1-key log and raw KV doing the gateway's writes),
 * page queries from cursors with and without a content-topic filter (vs raw lists); after the
 * first size, single publishes closed-loop and paced; then the breakdown ladders.
 */
import { decodeRecord } from "../storage/waku_record.ts";
import { WakuRepo } from "../storage/waku_repo.ts";
import {
  clients,
  describeMachine,
  fmtMs,
  fmtN,
  fmtRate,
  kvFileMB,
  type Ladder,
  log,
  renderReport,
  type Report,
  type Result,
  type Row,
  settle,
  sourceFingerprint,
  startGatewayServer,
  startNoopServer,
  warmFiles,
  workDir,
  writeJson,
} from "./harness/mod.ts";
import {
  httpBulk,
  httpFloor,
  httpPages,
  httpSingles,
  httpSinglesPaced,
  type WakuHttp,
} from "./waku/http_rows.ts";
import { ingestLadder, queryLadder } from "./waku/ladders.ts";
import { Messages, PUBSUB } from "./waku/messages.ts";
import { HALF, parseWakuOptions } from "./waku/options.ts";
import {
  gatewayKeyCounts,
  openRawStore,
  perGatewayCommit,
  rawGatewayIngest,
  rawOneKeyIngest,
  rawOneKeyPages,
} from "./waku/raw_rows.ts";

/** Issue 7's ingest targets: twice the bulk rates before it (6,853 to 100k, 4,515 to 1M). */
function ingestTarget(s: number) {
  const rate = s === 0 ? 13_706 : s === o.sizes.length - 1 ? 9_030 : undefined;
  return rate ? { rate, text: `≥ ${fmtN(rate)} msgs/s (2× before issue 7)` } : undefined;
}

/**
 * Messages per MB of KV file, the gateway's store against the raw 1-key store. The WAL is shown
 * beside it, not counted: its size is that of the largest burst of writes between checkpoints
 * (SQLite reuses it), not something each message adds.
 */
async function diskRow(size: number, last: boolean): Promise<Row> {
  const gwMB = await kvFileMB(gwPath, "file"), rawMB = await kvFileMB(raw1Path, "file");
  const gwWal = await kvFileMB(gwPath, "wal"), rawWal = await kvFileMB(raw1Path, "wal");
  const perMB = (mb: number): Result => ({ ops: size, seconds: mb, rate: size / mb, errors: 0 });
  log(
    `  on disk: gateway ${gwMB.toFixed(0)} MB (+ WAL ${gwWal.toFixed(0)}), raw 1 key/msg ` +
      `${rawMB.toFixed(0)} MB (+ WAL ${rawWal.toFixed(0)})`,
  );
  return {
    measurement: `Store on disk (KV file; WAL ${gwWal.toFixed(0)} MB vs ${rawWal.toFixed(0)} MB ` +
      `aside): ${fmtN(Math.round(gwMB * 1e6 / size))} B/msg vs raw ` +
      `${fmtN(Math.round(rawMB * 1e6 / size))} B/msg`,
    size: fmtN(size),
    unit: "msgs/MB",
    gateway: perMB(gwMB),
    baselineLabel: "raw 1-key store, same messages",
    baseline: perMB(rawMB),
    target: last ? { ratio: 1 / 3, text: "≤ 3× raw bytes/msg" } : undefined,
  };
}

/**
 * Retention at the last size, on the gateway's own KV file (opened a second time, after the
 * queries): 100,000 messages deleted by the count policy, then 100,000 by the time policy, each
 * beside the bulk ingest rate into that store: retention keeps up when it deletes faster.
 */
async function retentionRows(seg: { gw: Result } | undefined): Promise<Row[]> {
  if (!seg) return [];
  const store = await openRawStore(gwPath);
  try {
    const repo = new WakuRepo(store);
    const out: Row[] = [];
    const topic = PUBSUB[0];
    for (const policy of ["count", "time"] as const) {
      const n = Math.min(100_000, Math.floor((await repo.count(topic)) / 4));
      const oldest = await repo.page({
        order: "timestamp",
        contentTopics: [],
        pubsubTopic: topic,
        forward: true,
        pageSize: 1,
      });
      const firstTs = decodeRecord(oldest.records[0]).message.timestamp;
      // Message timestamps grow 1,000 ns per message, 3/4 of them on this topic.
      const before = firstTs + BigInt(Math.round(n * 1000 * 4 / 3));
      log(`retention by ${policy} on ${topic}: deleting ~${fmtN(n)} messages`);
      const t0 = performance.now();
      let deleted = 0;
      const keep = policy === "count" ? (await repo.count(topic)) - n : undefined;
      for (;;) {
        const d = await repo.deleteOldest(topic, {
          keep,
          before: policy === "time" ? before : undefined,
          maxDelete: 1000,
        });
        deleted += d;
        if (d < 1000) break;
      }
      const seconds = (performance.now() - t0) / 1000;
      log(`  ${fmtN(deleted)} in ${seconds.toFixed(1)} s`);
      out.push({
        measurement: `Retention by ${policy} (WakuRepo.deleteOldest passes of 1,000, in process)`,
        size: fmtN(o.sizes.at(-1)!),
        unit: "msgs/s",
        gateway: { ops: deleted, seconds, rate: deleted / seconds, errors: 0 },
        baselineLabel: `${bulkName} into this store (row above)`,
        baseline: seg.gw,
        target: { ratio: 1, text: "keeps up: ≥ 1× the ingest rate" },
      });
    }
    return out;
  } finally {
    store.kv.close();
  }
}

const o = await parseWakuOptions();
const msgs = new Messages(o.seed);
const machine = describeMachine();
log(`syncgate Waku benchmark — ${machine}`);
const work = await workDir(o.dir, o.keep);
log(`options: ${JSON.stringify({ ...o, dir: work.dir })}`);
const fingerprint = await sourceFingerprint();
log(`gateway source fingerprint: ${fingerprint}`);

const gwPath = await work.kv("gateway");
const raw1Path = await work.kv("raw1");
const rawGwPath = await work.kv("raw-gateway");
const settleAll = () => settle([gwPath, raw1Path, rawGwPath]);
const gw = await startGatewayServer({ kvPath: gwPath, inProcess: o.inProcess }).catch(
  async (e) => {
    await work.cleanup();
    throw e;
  },
);
log(`gateway at ${gw.url} (${o.inProcess ? "in this process" : "own process"})`);
const h: WakuHttp = { gw, msgs, o };
const raw1 = await Deno.openKv(raw1Path);
const rawGw = await openRawStore(rawGwPath);
const keys = gatewayKeyCounts(msgs);

const rows: Row[] = [];
const ingest: Record<string, { gw: Result; raw1: Result; rawGw: Result }> = {};
const ladders: Ladder[] = [];
const singlesLadder: Ladder["rows"] = [];
let singlesRow: Row | undefined;
let ephemeralBulk: Result | undefined;
const t0 = performance.now();
const bulkName = `Bulk ingest (POST /relay/v1/bulk, ${fmtN(o.bulkBatch)}/req)`;
const oneKeyLabel = "raw KV `set`, 1 key/msg, 500/commit";

try {
  let stored = 0;
  for (let s = 0; s < o.sizes.length; s++) {
    const size = o.sizes[s];
    const seg = `${fmtN(stored)}→${fmtN(size)}`;
    log(`bulk ingest ${seg} via HTTP (${fmtN(o.bulkBatch)}/request, ${o.bulkInflight} in flight)`);
    await settleAll();
    const g = await httpBulk(h, stored, size);
    if (g.ops < size - stored) throw new Error(`The bulk fill stopped early: ${g.note}`);
    log(`  gateway ${fmtRate(g.rate)} msgs/s; server ${g.serverCores?.toFixed(2)} cores`);
    await settleAll();
    log(`bulk ingest ${seg} raw KV, 1 key/msg, 500/commit`);
    const r1 = await rawOneKeyIngest(raw1, msgs, stored, size, 500);
    log(`  raw ${fmtRate(r1.rate)} msgs/s`);
    await settleAll();
    log(`bulk ingest ${seg} raw KV, the gateway's writes`);
    const rg = await rawGatewayIngest(rawGw, msgs, stored, size);
    log(`  raw (the gateway's writes) ${fmtRate(rg.rate)} msgs/s`);
    ingest[seg] = { gw: g, raw1: r1, rawGw: rg };
    const bulk = { size: seg, unit: "msgs/s", gateway: g };
    rows.push(
      {
        ...bulk,
        measurement: bulkName,
        baselineLabel: oneKeyLabel,
        baseline: r1,
        target: { ratio: 0.8, text: "≥ 0.8× raw" },
      },
      {
        ...bulk,
        measurement: bulkName,
        baselineLabel: "2nd baseline: raw KV doing the gateway's writes (publish commit of " +
          `check + ${keys.records} records + ${keys.small} small keys + sum + head, ` +
          `${perGatewayCommit(rawGw)} msgs/commit)`,
        baseline: rg,
        target: ingestTarget(s),
      },
    );
    stored = size;
    rows.push(await diskRow(size, s === o.sizes.length - 1));

    await settleAll();
    // Queries run on warm OS caches for the gateway's file and the raw store alike, as a
    // serving gateway's would be: the raw baselines have just written a lot in between.
    const warmed = await warmFiles([gwPath, raw1Path]);
    log(`  read the gateway's and the raw store's KV files once (${warmed.toFixed(1)} s)`);
    for (const conc of o.queryConcurrency) {
      const last = s === o.sizes.length - 1;
      // Issue 7: at 1M, at least the rates before its store (587 / 1,182 pages/s).
      const before = last ? ({ 1: 587, 4: 1182 } as Record<number, number>)[conc] : undefined;
      const target = {
        ratio: 0.7,
        p99: 10,
        rate: before,
        text: `≥ 0.7× raw, p99 < 10 ms${last ? "" : " (set for 1M)"}` +
          (before ? `; ≥ ${fmtN(before)} pages/s` : ""),
      };
      const queryRows: Row[] = [];
      for (const filtered of [false, true]) {
        log(`page queries at ${fmtN(stored)}${filtered ? " with contentTopics" : ""}, ${conc}`);
        const q = await httpPages(h, stored, filtered, conc);
        log(`  gateway ${fmtRate(q.rate)} pages/s, p50 ${fmtMs(q.p50)} p99 ${fmtMs(q.p99)} ms`);
        queryRows.push({
          measurement: `Page queries, 100/page${filtered ? ", contentTopics filter" : ""}, ${
            clients(conc)
          }`,
          size: fmtN(stored),
          unit: "pages/s",
          gateway: q,
          baselineLabel: `raw KV \`list\` of 100, ${clients(conc)}`,
          target,
        });
      }
      log(`raw list pages at ${fmtN(stored)}, ${conc}`);
      const rq = await rawOneKeyPages(raw1, msgs, stored, o.queryPages, conc, o.phaseSeconds);
      log(`  raw ${fmtRate(rq.rate)} pages/s, p50 ${fmtMs(rq.p50)} p99 ${fmtMs(rq.p99)} ms`);
      for (const r of queryRows) rows.push({ ...r, baseline: rq });
    }

    if (s === 0 && o.singles > 0) {
      let to = stored + o.singles;
      await settleAll();
      log(`${o.publishers} concurrent single publishers, messages ${fmtN(stored)}→${fmtN(to)}`);
      const g = await httpSingles(h, stored, to);
      log(
        `  gateway ${fmtRate(g.rate)} msgs/s, p50 ${fmtMs(g.p50)} p99 ${fmtMs(g.p99)} ms; ` +
          `server ${g.serverCores?.toFixed(2)} cores, client ${g.clientCores?.toFixed(2)}`,
      );
      singlesRow = {
        measurement: "Concurrent single publishes (POST /relay/v1/messages)",
        size: `${fmtN(stored)}→${fmtN(to)}`,
        unit: "msgs/s",
        gateway: g,
        baselineLabel: `${oneKeyLabel} (bulk row above)`,
        baseline: ingest[`0→${fmtN(o.sizes[0])}`].raw1,
        target: { rate: 10_000, p99: 20, text: "≥ 10,000/s, p99 < 20 ms" },
      };
      rows.push(singlesRow);
      for (const offered of o.pacedRates) {
        const rate = offered === HALF ? Math.max(100, Math.round(g.rate / 2 / 100) * 100) : offered;
        const end = to + Math.round(rate * o.pacedSeconds);
        log(`paced single publishes, ${fmtRate(rate)}/s offered, ${fmtN(to)}→${fmtN(end)}`);
        const pr = await httpSinglesPaced(h, to, rate);
        log(`  gateway ${fmtRate(pr.rate)} msgs/s, p50 ${fmtMs(pr.p50)} p99 ${fmtMs(pr.p99)} ms`);
        rows.push({
          measurement: `Paced single publishes, ${fmtRate(rate)}/s offered${
            offered === HALF ? " (half the max above)" : ""
          }`,
          size: `${fmtN(to)}→${fmtN(end)}`,
          unit: "msgs/s",
          gateway: pr,
          baselineLabel: "–",
          target: offered === 10_000
            ? { rate: 9_800, p99: 20, text: "keeps up (≥ 9,800/s), p99 < 20 ms" }
            : undefined,
        });
        to = end;
      }
      if (o.breakdown) {
        log(
          `breakdown: no-op server, GET /metrics, GET /health, ephemeral publishes, ${o.publishers}`,
        );
        const noop = await startNoopServer();
        try {
          singlesLadder.push(
            {
              label: "no-op Deno.serve in a process of its own, same POST body (HTTP floor)",
              r: await httpFloor(h, "noop", noop),
            },
            {
              label: "GET /metrics (the gateway's HTTP front and middleware; no KV)",
              r: await httpFloor(h, "metrics", noop),
            },
            {
              label: "GET /health (HTTP + middleware + a KV get and a one-key commit per call)",
              r: await httpFloor(h, "health", noop),
            },
            {
              label: "POST /relay/v1/messages with ephemeral:true (all but storage)",
              r: await httpFloor(h, "ephemeral", noop),
            },
          );
        } finally {
          await noop.close();
        }
        const n = Math.min(100_000, o.sizes[0]);
        log(`breakdown: bulk ingest of ${fmtN(n)} ephemeral messages`);
        ephemeralBulk = await httpBulk(h, 2_000_000_000, 2_000_000_000 + n, true);
      }
      // Keep the raw stores the same size as the gateway's (untimed).
      await rawOneKeyIngest(raw1, msgs, stored, to, 500);
      await rawGatewayIngest(rawGw, msgs, stored, to);
      stored = to;
    }
  }

  if (o.breakdown) {
    const last = fmtN(o.sizes[o.sizes.length - 1]);
    for (const conc of o.queryConcurrency) {
      await settleAll();
      await warmFiles([gwPath, raw1Path]);
      const name = `Page queries, 100/page, ${clients(conc)}`;
      const main = rows.find((r) => r.measurement === name && r.size === last);
      const rungs = await queryLadder(gwPath, msgs, stored, o, conc);
      ladders.push({
        caption: `Query breakdown at ${last}+ stored messages (the gateway's KV file, opened ` +
          `by the bench a second time), pages of 100 from random cursors, ${clients(conc)}:`,
        layer: "Query layer",
        unit: "pages/s",
        rows: [
          ...(main?.baseline
            ? [{
              label: "raw KV list of 100 on the 1-key log (main table baseline)",
              r: main.baseline,
            }]
            : []),
          ...rungs,
          ...(main
            ? [{ label: "+ HTTP: GET /store/v3/messages (main table)", r: main.gateway }]
            : []),
        ],
      });
    }
    const first = ingest[`0→${fmtN(o.sizes[0])}`];
    const ladder = await ingestLadder(work, msgs, o.sizes[0], o, settleAll);
    ladders.unshift({
      caption: `Ingest breakdown, messages 0→${fmtN(o.sizes[0])} into fresh stores (rates of KV ` +
        "commit time for raw rows, of call time for in-process rows, wall time for HTTP):",
      layer: "Ingest layer",
      unit: "msgs/s",
      rows: [
        { label: "raw KV, 1 key/msg, 500 msgs/commit (main baseline)", r: first.raw1 },
        ...ladder.rungs.commitSize,
        ...ladder.rungs.layout,
        { label: "raw KV doing the gateway's writes (main 2nd baseline)", r: first.rawGw },
        ...ladder.rungs.service,
        { label: "HTTP: POST /relay/v1/bulk (main table)", r: first.gw },
        ...(ephemeralBulk
          ? [{
            label: "(the ceiling without storage) HTTP: POST /relay/v1/bulk, every message " +
              "ephemeral: parsed, validated, hashed, rendered and sent live, not stored",
            r: ephemeralBulk,
          }]
          : []),
      ],
    });
    if (ladder.singles) {
      singlesLadder.push({
        label: `WakuService.publish in-process, ${o.publishers} concurrent callers ` +
          `(group commit + KV, no HTTP), store at ${fmtN(o.sizes[0])}`,
        r: ladder.singles,
      });
    }
    if (singlesRow) {
      singlesLadder.push({
        label: "POST /relay/v1/messages, stored (main table)",
        r: singlesRow.gateway,
      });
    }
    ladders.splice(1, 0, {
      caption: `Single-publish breakdown, ${o.publishers} concurrent clients (rates of wall time):`,
      layer: "Publish layer",
      unit: "req/s",
      rows: singlesLadder,
    });
  }
  rows.push(
    ...await retentionRows(Object.values(ingest).at(-1)),
  );
  log(
    `sizes on disk: gateway ${(await kvFileMB(gwPath)).toFixed(0)} MB, raw 1 key/msg ${
      (await kvFileMB(raw1Path)).toFixed(0)
    } MB, raw KV with the gateway's writes ${(await kvFileMB(rawGwPath)).toFixed(0)} MB`,
  );
} finally {
  raw1.close();
  rawGw.kv.close();
  await gw.close();
  const logs = gw.logs().trim();
  if (logs) console.error(`The gateway's warnings and errors:\n${logs.slice(-4000)}`);
  await work.cleanup();
}

const report: Report = {
  title: "Waku store",
  machine,
  fingerprint,
  summary: `Gateway ${o.inProcess ? "in the bench process" : "in its own process"}; ` +
    `${fmtN(o.queryPages)} pages per query row; run took ` +
    `${((performance.now() - t0) / 60000).toFixed(1)} min.`,
  rows,
  ladders,
  options: o,
};
console.log(renderReport(report));
if (o.json) await writeJson(o.json, report);
