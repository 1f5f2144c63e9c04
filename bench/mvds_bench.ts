/**
 * MVDS benchmark (issue 9), the simulation part: protocols/mvds/simulation.ts
 * drives the sans-I/O state machine and the real codec with a virtual clock
 * of epochs, so each row is a set of seeded, fully deterministic runs, each
 * beside a lossless run of the same traffic (same seed, loss 0, never
 * offline). Rows:
 *
 * - N nodes (default 5) in one group on links losing 30% of payloads with
 *   two offline periods per node: eventual delivery (target 100%), latency
 *   in epochs; at 10% loss: bytes per delivered message (batch target ≤ 2×
 *   the lossless run); batch and interactive.
 * - The reference simulation's defaults (vacp2p/mvds: 3 nodes, 2 sending a
 *   message every 5 s, 1 s epochs, 90% of payloads dropped): delivery
 *   within its ~5 min (300 epoch) horizon, and bytes per delivered message
 *   in interactive mode beside batch mode and beside the ×100–1000 its
 *   authors reported (bench/mvds/scenarios.ts has the facts and sources).
 * - Per-node state: the records one node holds while a peer is away, for
 *   two absences, with maxSendCount 14 (most records) and unlimited
 *   (records per pending message); and the KV bytes per pending message,
 *   measured with the real service and repo on a KV file at two sizes,
 *   and after maxSendCount ended them (bench/mvds/state_bytes.ts).
 * - With `--gateways`: raw throughput between two gateway processes over
 *   HTTP, beside the services in one process and raw KV (bench/mvds/
 *   gateways.ts), rendered with the harness's main table.
 *
 *   deno task bench:mvds              # 10 seeds a row (~40 s on 2 cores)
 *   deno task bench:mvds --gateways   # and the two gateways (~6 min more)
 *   deno task bench:mvds --quick      # 3 seeds, smaller runs
 *   deno task bench:mvds --help       # the options
 */
import type { Mode } from "../protocols/mvds/node.ts";
import { Simulation, type SimulationReport } from "../protocols/mvds/simulation.ts";
import {
  cpuLines,
  describeMachine,
  fmtN,
  log,
  mainTable as harnessTable,
  type Row,
  sourceFingerprint,
  workDir,
} from "./harness/mod.ts";
import { type GatewayBench, gatewayBench } from "./mvds/gateways.ts";
import { parseMvdsOptions } from "./mvds/options.ts";
import {
  absence,
  bytesUntilDelivered,
  lossless,
  lossyLinks,
  REFERENCE,
  reference,
  runScenario,
  type Scenario,
  type SeedRun,
} from "./mvds/scenarios.ts";
import {
  type Family,
  measureState,
  recordBytes,
  type StatePoint,
  type StateRun,
  sum,
  SYNC_FAMILIES,
  total,
} from "./mvds/state_bytes.ts";
import { type DetailEntry, detailTable, mainTable, type SimRow, verdict } from "./mvds/table.ts";

const o = await parseMvdsOptions();
const machine = describeMachine();
log(`syncgate MVDS simulation — ${machine}`);
const fingerprint = await sourceFingerprint();
const seeds = Array.from({ length: o.seeds }, (_, i) => o.seed + i);
const MODES: Mode[] = ["batch", "interactive"];
const t0 = performance.now();

const detail: DetailEntry[] = [];
function play(s: Scenario): SeedRun[] {
  const t = performance.now();
  const runs = runScenario(s, seeds);
  log(`${s.setting}, ${s.mode}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  detail.push({ setting: s.setting, mode: s.mode, runs, horizon: s.horizon });
  return runs;
}

const links = (loss: number, offlinePeriods: boolean, mode: Mode) =>
  lossyLinks({ ...o, loss, offlinePeriods, mode });

const lossy = (runs: SeedRun[], f: (r: SimulationReport) => number) =>
  runs.map((r) => f(r.lossy.report));
const clean = (runs: SeedRun[], f: (r: SimulationReport) => number) =>
  runs.map((r) => f(r.lossless.report));
const div = (a: number[], b: number[]) => a.map((x, i) => x / b[i]);
const bytesPer = (r: SimulationReport) => r.bytesPerDelivered;
const LOSSLESS = "lossless run, same traffic";

const rows: SimRow[] = [];
const by = { at30: new Map<Mode, SeedRun[]>(), at10: new Map<Mode, SeedRun[]>() };
const ref = { drop: new Map<Mode, SeedRun[]>(), offline: new Map<Mode, SeedRun[]>() };
for (const mode of MODES) {
  by.at30.set(mode, play(links(0.3, true, mode)));
  by.at10.set(mode, play(links(0.1, false, mode)));
  play(links(0.1, true, mode));
}
for (const mode of MODES) {
  ref.drop.set(mode, play(reference({ ...o, mode, model: "drop" })));
  ref.offline.set(mode, play(reference({ ...o, mode, model: "offline" })));
}
const fastRef = reference({
  ...o,
  mode: "interactive",
  model: "drop",
  backoffCapEpochs: o.fastCap,
});
const fast = play(fastRef);
const s30 = links(0.3, true, "batch").setting;
const s10 = links(0.1, false, "batch").setting;
const sRef = reference({ ...o, mode: "batch", model: "drop" }).setting;

// ---- N nodes on lossy links ----
for (const mode of MODES) {
  const runs = by.at30.get(mode)!;
  const v = lossy(runs, (r) => r.deliveryRatio), b = clean(runs, (r) => r.deliveryRatio);
  rows.push({
    measurement: `Eventual delivery, ${mode}`,
    setting: s30,
    unit: "%",
    values: v,
    baselineLabel: LOSSLESS,
    baselines: b,
    ratios: div(v, b),
    target: {
      text: "100%, settled",
      pass: runs.map((r) => r.lossy.report.deliveryRatio === 1 && r.lossy.report.settled),
    },
  });
}
for (const mode of MODES) {
  const runs = by.at30.get(mode)!;
  const v = lossy(runs, (r) => r.latency.mean), b = clean(runs, (r) => r.latency.mean);
  rows.push({
    measurement: `Latency mean, epochs, ${mode}`,
    setting: s30,
    unit: "epochs",
    values: v,
    baselineLabel: LOSSLESS,
    baselines: b,
    ratios: div(v, b),
  });
}
for (const [at, setting] of [["at10", s10], ["at30", s30]] as const) {
  for (const mode of MODES) {
    const runs = by[at].get(mode)!;
    const v = lossy(runs, bytesPer), b = clean(runs, bytesPer);
    const ratios = div(v, b);
    rows.push({
      measurement: `Bytes per delivered message, ${mode}`,
      setting,
      unit: "B",
      values: v,
      baselineLabel: LOSSLESS,
      baselines: b,
      ratios,
      target: at === "at10" && mode === "batch"
        ? { text: "≤ 2× lossless", pass: ratios.map((r) => r <= 2) }
        : undefined,
    });
  }
}

// ---- the reference simulation's defaults ----
for (const mode of ["interactive", "batch"] as const) {
  const runs = ref.drop.get(mode)!;
  rows.push({
    measurement: `Delivered within ${o.horizon} epochs of the send, ${mode}`,
    setting: sRef,
    unit: "%",
    values: runs.map((r) => r.lossy.withinHorizon),
    baselineLabel: LOSSLESS,
    baselines: runs.map((r) => r.lossless.withinHorizon),
    target: mode === "interactive"
      ? {
        text: `100% within ${o.horizon} epochs`,
        pass: runs.map((r) => r.lossy.withinHorizon === 1),
      }
      : undefined,
  });
}
rows.push({
  measurement: `Delivered within ${o.horizon} epochs of the send, interactive`,
  setting: fastRef.setting,
  unit: "%",
  values: fast.map((r) => r.lossy.withinHorizon),
  baselineLabel: LOSSLESS,
  baselines: fast.map((r) => r.lossless.withinHorizon),
  target: {
    text: `100% within ${o.horizon} epochs`,
    pass: fast.map((r) => r.lossy.withinHorizon === 1),
  },
});
for (const mode of ["interactive", "batch"] as const) {
  const runs = ref.drop.get(mode)!;
  const v = lossy(runs, bytesPer), b = clean(runs, bytesPer);
  rows.push({
    measurement: `Bytes per delivered message, ${mode}`,
    setting: sRef,
    unit: "B",
    values: v,
    baselineLabel: LOSSLESS,
    baselines: b,
    ratios: div(v, b),
    beside: mode === "interactive" ? "reference authors saw ×100–1000" : undefined,
  });
}
for (const mode of ["interactive", "batch"] as const) {
  const runs = ref.drop.get(mode)!;
  const v = runs.map((r) => bytesUntilDelivered(r.config, r.lossy));
  const b = runs.map((r) => bytesUntilDelivered(lossless(r.config), r.lossless));
  rows.push({
    measurement: `Bytes per delivered message until the last delivery (no ACK tail), ${mode}`,
    setting: sRef,
    unit: "B",
    values: v,
    baselineLabel: LOSSLESS,
    baselines: b,
    ratios: div(v, b),
    beside: mode === "interactive" ? "reference authors saw ×100–1000" : undefined,
  });
}
{
  const v = lossy(fast, bytesPer), b = clean(fast, bytesPer);
  rows.push({
    measurement: "Bytes per delivered message, interactive",
    setting: fastRef.setting,
    unit: "B",
    values: v,
    baselineLabel: LOSSLESS,
    baselines: b,
    ratios: div(v, b),
  });
}
{
  const i = lossy(ref.drop.get("interactive")!, bytesPer);
  const b = lossy(ref.drop.get("batch")!, bytesPer);
  rows.push({
    measurement: "Bytes per delivered message, interactive beside batch",
    setting: sRef,
    unit: "B",
    values: i,
    baselineLabel: "batch mode, same seed and loss",
    baselines: b,
    ratios: div(i, b),
  });
}

// ---- per-node state ----
const [shortAway, longAway] = o.away;
for (const maxSendCount of [o.maxSendCount, undefined]) {
  const t = performance.now();
  const peak = (away: number) =>
    seeds.map((seed) => new Simulation(absence(seed, away, maxSendCount)).run().peakNode);
  const long = peak(longAway), short = peak(shortAway);
  log(
    `absence, maxSendCount ${maxSendCount ?? "unlimited"}: ` +
      `${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  const setting = "3 batch nodes, 10% loss, a message every 5 epochs";
  if (maxSendCount !== undefined) {
    const v = long.map((p) => p.records), b = short.map((p) => p.records);
    rows.push({
      measurement: `Most records one node holds, a peer away ${fmtN(longAway)} epochs, ` +
        `maxSendCount ${maxSendCount}`,
      setting,
      unit: "records",
      values: v,
      baselineLabel: `the same, away ${fmtN(shortAway)} epochs`,
      baselines: b,
      ratios: div(v, b),
      target: {
        text: "bounded: ≤ 1.1× the shorter absence",
        pass: div(v, b).map((r) => r <= 1.1),
      },
    });
  } else {
    // Unlimited: every message sent while the peer is away stays pending for it, so the records
    // follow the pending messages; what is bounded is the state per pending message.
    const per = (ps: typeof long) => ps.map((p) => p.records / Math.max(p.messages, 1));
    const v = per(long), b = per(short);
    const mean = (xs: number[]) => Math.round(xs.reduce((x, y) => x + y, 0) / xs.length);
    rows.push({
      measurement: `Records per pending message at a node's peak, a peer away ${
        fmtN(longAway)
      } epochs, maxSendCount unlimited (spec default)`,
      setting: `${setting}; at the peak ${fmtN(mean(long.map((p) => p.records)))} records for ` +
        `${fmtN(mean(long.map((p) => p.messages)))} pending messages (away ${fmtN(shortAway)}: ${
          fmtN(mean(short.map((p) => p.records)))
        } for ${
          fmtN(mean(short.map((p) => p.messages)))
        }); the total grows with the messages sent while away`,
      unit: "records",
      values: v,
      baselineLabel: `the same, away ${fmtN(shortAway)} epochs`,
      baselines: b,
      ratios: div(v, b),
      target: {
        text: "flat per pending message: ≤ 1.1× the shorter absence",
        pass: div(v, b).map((r) => r <= 1.1),
      },
    });
  }
}

// KV bytes per pending message, measured: the real service and repo on a KV file.
const stateWork = await workDir(o.dir, o.keep);
const stateRuns: StateRun[] = [];
try {
  for (const k of o.stateMessages) {
    const t = performance.now();
    stateRuns.push(
      await measureState(await stateWork.kv(`state-${k}`), {
        messages: k,
        bodyBytes: REFERENCE.bodyBytes,
        groupBytes: 32,
        maxSendCount: o.stateMaxSendCount,
        backoffCapEpochs: 2,
      }),
    );
    log(`measured state, ${fmtN(k)} messages: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
} finally {
  await stateWork.cleanup();
}
const stateSetting = (k: number) =>
  `1 batch node, 1 peer that never answers, ${fmtN(k)} msgs of ${REFERENCE.bodyBytes} B ` +
  `(32 B group), each sent once`;
const [small, large] = [stateRuns[0], stateRuns[stateRuns.length - 1]];
const perPending = (r: StateRun, f: (p: StatePoint) => number) => f(r.pending) / r.messages;
const flat = (v: number, b: number) => ({
  text: `flat: ≤ 1.1× at ${fmtN(small.messages)}`,
  pass: [v / b <= 1.1],
});
for (
  const [what, f] of [
    ["sync state (records + due index)", (p: StatePoint) => sum(p, SYNC_FAMILIES)],
    ['everything under ["mvds"] (the message itself included)', total],
    ["KV file growth (SQLite, WAL folded in)", (p: StatePoint) => p.fileGrowth],
  ] as const
) {
  const v = perPending(large, f), b = perPending(small, f);
  rows.push({
    measurement: `KV bytes per pending message, measured: ${what}`,
    setting: stateSetting(large.messages),
    unit: "B",
    values: [v],
    baselineLabel: `the same, ${fmtN(small.messages)} msgs`,
    baselines: [b],
    ratios: [v / b],
    target: flat(v, b),
  });
}
{
  const v = sum(large.ended, SYNC_FAMILIES), b = sum(large.pending, SYNC_FAMILIES);
  rows.push({
    measurement: `KV bytes of sync state after maxSendCount ${o.stateMaxSendCount} ended every ` +
      "record, measured",
    setting: stateSetting(large.messages) + `; ${large.epochs} epochs later`,
    unit: "B",
    values: [v],
    baselineLabel: "while pending",
    baselines: [b],
    ratios: [v / b],
    target: { text: "back to 0", pass: [v === 0] },
  });
}
// The earlier estimate, for comparison with the measurement.
const RECORD = recordBytes({ type: "MESSAGE", sendCount: 14, sendEpoch: 1_800_000_000 });
rows.push({
  measurement: "KV bytes of sync state per pending (message, peer), estimate from an assumed " +
    "layout (superseded by the measured rows)",
  setting: `${RECORD.record} B record + ${RECORD.dueIndex} B due index, priced by hand`,
  unit: "B",
  values: [RECORD.total],
  baselineLabel: "measured, sync state",
  baselines: [perPending(large, (p) => sum(p, SYNC_FAMILIES))],
  ratios: [RECORD.total / perPending(large, (p) => sum(p, SYNC_FAMILIES))],
});

/** The per-family table of the measured state: entries and bytes per message. */
function stateTable(runs: readonly StateRun[]): string {
  const fams = [
    ...new Set(
      runs.flatMap((r) => [...r.pending.families.keys(), ...r.ended.families.keys()]),
    ),
  ].sort();
  const cell = (f: Family | undefined, k: number) =>
    f ? `${fmtN(f.entries)} / ${((f.keyBytes + f.valueBytes) / k).toFixed(1)} B` : "–";
  const head = runs.flatMap((r) => [
    `${fmtN(r.messages)} pending`,
    `${fmtN(r.messages)} after maxSendCount`,
  ]);
  const out = [
    `| Key family | ${head.join(" | ")} |`,
    `| --- | ${head.map(() => "---:").join(" | ")} |`,
  ];
  for (const fam of fams) {
    out.push(
      `| \`${fam}\` | ${
        runs.flatMap((r) => [
          cell(r.pending.families.get(fam), r.messages),
          cell(r.ended.families.get(fam), r.messages),
        ]).join(" | ")
      } |`,
    );
  }
  const line = (label: string, f: (p: StatePoint) => number) =>
    `| ${label} | ${
      runs.flatMap((r) => [r.pending, r.ended].map((p) => `${(f(p) / r.messages).toFixed(1)} B`))
        .join(" | ")
    } |`;
  out.push(
    line("sync state (r, d, a) per message", (p) => sum(p, SYNC_FAMILIES)),
    line('all of ["mvds"] per message', total),
    line("KV file growth per message", (p) => p.fileGrowth),
  );
  return out.join("\n");
}

// ---- raw throughput between two gateways ----
// Two gateway processes over HTTP (bench/mvds/gateways.ts), with the harness's servers; the
// rows are rendered by the harness's own main table.
const gatewayRows: Row[] = [];
let gw: GatewayBench | undefined;
if (o.gateways) {
  const work = await workDir(o.dir, o.keep);
  try {
    gw = await gatewayBench(work, o);
    gatewayRows.push(...gw.rows);
  } finally {
    await work.cleanup();
  }
}

const minutes = (performance.now() - t0) / 60000;
const date = new Date().toISOString().slice(0, 10);
const out = [
  "",
  `### Simulation (\`bench/mvds_bench.ts\`, \`deno task bench:mvds${
    o.quick ? " --quick" : ""
  }\`) — results ${date}, ${machine}`,
  "",
  `${seeds.length} seeds a row (${seeds[0]}–${seeds[seeds.length - 1]}); ` +
  `values are the mean over the seeds [min–max]; a target passes only if every seed meets it. ` +
  `Run took ${minutes.toFixed(1)} min. Gateway source sha256 ${fingerprint}.`,
  "",
  mainTable(rows),
  "",
  `Measured state per key family (entries / bytes per message; key + value sizes), the ` +
  `node's K messages pending for its silent peer, and after maxSendCount ` +
  `${o.stateMaxSendCount} ended them:`,
  "",
  stateTable(stateRuns),
  "",
  `Every run, lossy beside lossless (means over the seeds; latency max is the largest; ` +
  `"within horizon" = delivered within ${o.horizon} epochs of the send):`,
  "",
  detailTable(detail),
];
if (gw) {
  out.push(
    "",
    `### Raw throughput between two gateways (\`deno task bench:mvds --gateways\`)`,
    "",
    harnessTable(gatewayRows),
    "",
    "CPU (cores; the gateways' processes / this process) and checks:",
    "",
    ...cpuLines(gatewayRows),
    "",
    ...gw.notes.map((n) => `- ${n}`),
  );
}
console.log(out.join("\n"));

if (o.json) {
  await Deno.writeTextFile(
    o.json,
    JSON.stringify(
      {
        title: "MVDS simulation",
        machine,
        fingerprint,
        options: o,
        rows: rows.map((r) => ({ ...r, verdict: verdict(r) })),
        runs: detail.map((d) => ({
          setting: d.setting,
          mode: d.mode,
          seeds: d.runs.map((r) => ({
            seed: r.seed,
            lossy: { ...r.lossy.report, withinHorizon: r.lossy.withinHorizon },
            lossless: { ...r.lossless.report, withinHorizon: r.lossless.withinHorizon },
          })),
        })),
        state: stateRuns.map((r) => ({
          ...r,
          pending: { ...r.pending, families: Object.fromEntries(r.pending.families) },
          ended: { ...r.ended, families: Object.fromEntries(r.ended.families) },
        })),
        gatewayRows,
        gatewayRuns: gw?.runs,
      },
      null,
      2,
    ),
  );
}
