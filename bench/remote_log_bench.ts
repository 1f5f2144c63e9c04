/**
 * Remote log appends (issue 8): `POST /logs/{name}/entries` over HTTP to one
 * log and to 100 logs at once, by concurrent clients, beside raw KV doing
 * the same commits (the service's own commits, recorded in process and
 * replayed on a fresh KV file: bench/harness/replay_kv.ts). Target: ≥ 500
 * appends/s to one log.
 *
 *   deno task bench:remotelog [--quick] [--appends=N] [--concurrency=N] [--entry-bytes=N]
 */
import { createMetrics } from "../lib/metrics.ts";
import { LiveHub, LocalNotifier } from "../services/live_hub.ts";
import { RemoteLogService } from "../services/remote_log_service.ts";
import { BlobStore } from "../storage/blob_store.ts";
import { openStore } from "../storage/kv.ts";
import {
  COMMON_OPTIONS,
  concurrently,
  describeMachine,
  fmtN,
  log,
  measure,
  numberOption,
  parseOptions,
  renderReport,
  type Row,
  sourceFingerprint,
  startGatewayServer,
  workDir,
  writeJson,
} from "./harness/mod.ts";
import { recordCommits, type RecordedCommits, replayCommits } from "./harness/replay_kv.ts";

const o = await parseOptions({
  ...COMMON_OPTIONS,
  appends: numberOption("appends per row", 3000, 300),
  concurrency: numberOption("concurrent clients appending to the one log", 64),
  logs: numberOption("logs appended to at once in the second row", 100, 20),
  entryBytes: numberOption("bytes per entry", 1024),
});
log(`${describeMachine()}`);
const fingerprint = await sourceFingerprint();
const work = await workDir(o.dir, o.keep);
const entry = (i: number) => {
  const b = new Uint8Array(o.entryBytes);
  new DataView(b.buffer).setUint32(0, i);
  return b;
};

/** Appends `total` entries over `logs` logs with `conc` clients, by `append(logIndex, i)`. */
function pattern(total: number, logs: number, conc: number) {
  return { total, conc, logOf: (k: number) => (logs === 1 ? 0 : k % logs) };
}

/** The same appends in process on a recording store; the recorded commits replayed on raw KV. */
async function rawBaseline(name: string, p: ReturnType<typeof pattern>, logs: number) {
  const store = await openStore(await work.kv(`rec-${name}`), createMetrics());
  const commits: RecordedCommits = [];
  const rec = recordCommits(store, commits);
  const svc = new RemoteLogService(
    rec,
    new BlobStore(rec),
    new LiveHub(new LocalNotifier(), createMetrics()),
    {
      maxEntryBytes: 1 << 20,
      recordLifetimeMs: 86_400_000,
      recordTtlMs: 60_000,
    },
  );
  const created = await Promise.all(Array.from({ length: logs }, () => svc.create("paged", 100)));
  commits.length = 0;
  await concurrently(p.conc, p.total, o.phaseSeconds, async (k) => {
    const l = created[p.logOf(k)];
    await svc.append(l.name, l.writeToken, new Blob([entry(k)]).stream());
  });
  store.kv.close();
  const kv = await Deno.openKv(await work.kv(`replay-${name}`));
  try {
    log(`  replaying ${fmtN(commits.length)} commits on raw KV`);
    return { result: await replayCommits(kv, commits, p.total), commits: commits.length };
  } finally {
    kv.close();
  }
}

const gw = await startGatewayServer({ kvPath: await work.kv("gateway"), inProcess: o.inProcess });
const rows: Row[] = [];
const t0 = performance.now();
try {
  const create = async () => {
    const res = await fetch(`${gw.url}/logs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ mode: "paged", pageSize: 100 }),
    });
    return await res.json() as { name: string; writeToken: string };
  };
  for (
    const [label, logs, conc] of [
      [`one log, ${o.concurrency} clients`, 1, o.concurrency],
      [`${o.logs} logs at once, a client each`, o.logs, o.logs],
    ] as const
  ) {
    const p = pattern(o.appends, logs, conc);
    log(`appends: ${label}`);
    const created = await Promise.all(Array.from({ length: logs }, create));
    const http = await measure(gw, {
      concurrency: conc,
      warm: 0,
      total: p.total,
      maxSeconds: o.phaseSeconds,
    }, (k) => {
      const l = created[p.logOf(k)];
      const body = entry(k);
      return async () => {
        const res = await fetch(`${gw.url}/logs/${l.name}/entries`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${l.writeToken}`,
            "content-type": "application/octet-stream",
          },
          body,
        });
        await res.body?.cancel();
        return res.status;
      };
    }, { ok: (s) => s === 201 });
    log(`  gateway ${fmtN(Math.round(http.rate))} appends/s`);
    log(`appends in process, recorded: ${label}`);
    const raw = await rawBaseline(logs === 1 ? "one" : "many", p, logs);
    rows.push({
      measurement: `Appends of ${fmtN(o.entryBytes)} B (POST /logs/{name}/entries), ${label}`,
      size: fmtN(p.total),
      unit: "appends/s",
      gateway: http,
      baselineLabel: `raw KV replaying the same commits (${
        fmtN(raw.commits)
      }, recorded in process)`,
      baseline: raw.result,
      target: logs === 1 ? { rate: 500, text: "≥ 500 appends/s" } : undefined,
    });
  }
} finally {
  await gw.close();
  await work.cleanup();
}
const report = {
  title: "Remote log appends",
  machine: describeMachine(),
  fingerprint,
  summary: `run took ${((performance.now() - t0) / 60000).toFixed(1)} min`,
  rows,
  ladders: [],
  options: o,
};
console.log(renderReport(report));
if (o.json) await writeJson(o.json, report);
