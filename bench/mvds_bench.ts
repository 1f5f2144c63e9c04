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
 * - Per-node state: the most records one node holds while a peer is away,
 *   for two absences, with maxSendCount 14 and unlimited; and an estimate
 *   of the KV bytes of sync state per pending message (bench/mvds/
 *   state_bytes.ts says how).
 *
 *   deno task bench:mvds              # 10 seeds a row (~15 s on 2 cores)
 *   deno task bench:mvds --quick      # 3 seeds, smaller runs
 *   deno task bench:mvds --help       # the options
 */
import type { Mode } from "../protocols/mvds/node.ts";
import { Simulation, type SimulationReport } from "../protocols/mvds/simulation.ts";
import {
  describeMachine,
  fmtN,
  log,
  mainTable as harnessTable,
  type Row,
  sourceFingerprint,
} from "./harness/mod.ts";
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
import { messageBytes, recordBytes } from "./mvds/state_bytes.ts";
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
    seeds.map((seed) => new Simulation(absence(seed, away, maxSendCount)).run().peakNode.records);
  const v = peak(longAway), b = peak(shortAway);
  const ratios = div(v, b);
  log(
    `absence, maxSendCount ${maxSendCount ?? "unlimited"}: ` +
      `${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  rows.push({
    measurement: `Most records one node holds, a peer away ${fmtN(longAway)} epochs, ` +
      `maxSendCount ${maxSendCount ?? "unlimited (spec default)"}`,
    setting: "3 batch nodes, 10% loss, a message every 5 epochs",
    unit: "records",
    values: v,
    baselineLabel: `the same, away ${fmtN(shortAway)} epochs`,
    baselines: b,
    ratios,
    target: { text: "bounded: ≤ 1.1× the shorter absence", pass: ratios.map((r) => r <= 1.1) },
  });
}
// Sync state per pending message: the records a node holds per message it still syncs (at its
// peak), times the estimated KV bytes of one record with a late send epoch and count.
const RECORD = recordBytes({ type: "MESSAGE", sendCount: 14, sendEpoch: 1_800_000_000 });
for (const mode of MODES) {
  const runs = by.at30.get(mode)!;
  const perMessage = runs.map((r) => r.lossy.report.peakNode)
    .map((p) => (p.records / Math.max(p.messages, 1)) * RECORD.total);
  rows.push({
    measurement: `KV bytes of sync state per pending message (estimate), ${mode}`,
    setting: s30,
    unit: "B",
    values: perMessage,
    baselineLabel: "–",
    beside: `${RECORD.total} B a record (${RECORD.record} + ${RECORD.dueIndex} due index)`,
  });
}

// ---- raw throughput between two gateways ----
// The lead adds these rows (the MVDS gateway bridge over HTTP, with the harness's servers and
// load generators) as harness Rows; they are rendered by the harness's own main table.
const gatewayRows: Row[] = [];

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
  `Every run, lossy beside lossless (means over the seeds; latency max is the largest; ` +
  `"within horizon" = delivered within ${o.horizon} epochs of the send). A stored message ` +
  `of the reference's size (${REFERENCE.bodyBytes} B body, 32 B group id) is ~` +
  `${messageBytes(32, REFERENCE.bodyBytes)} B in KV, kept after delivery too:`,
  "",
  detailTable(detail),
];
if (gatewayRows.length) out.push("", harnessTable(gatewayRows));
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
        gatewayRows,
      },
      null,
      2,
    ),
  );
}
