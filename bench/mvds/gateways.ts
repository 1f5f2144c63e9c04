/**
 * Raw throughput between two gateways (issue 9): two gateways, each in its
 * own process on its own KV file, node A on gateway 1 and node B on gateway
 * 2 peering each other over HTTP (the real ticker, transport and
 * `POST …/payloads`), one group.
 *
 * - streaming: a client POSTs M small messages to A (`concurrency` in
 *   flight) while the ticker syncs them; measured from the first POST until
 *   all M are in B's message list (`GET …/groups/{g}/messages`, paged with
 *   `after=`), and until all are ACKed at A (A's pending records 0); then
 *   B's list is checked: exactly the M ids the POSTs returned, none twice.
 * - backlog: M messages already at A in the group, then B joins it
 *   (`POST …/groups/{g}/peers` writes a record per message, due now):
 *   gateway-to-gateway sync alone, without the client's POSTs.
 * - baselines in the same run: the POSTs to A alone (nothing synced), a
 *   no-op HTTP server at the same concurrency (the HTTP ceiling), the two
 *   services in this process on their own KV files with payloads handed
 *   over by calls (the service and KV with HTTP and the epoch wait taken
 *   away), and raw KV replaying the commits those services made
 *   (bench/harness/replay_kv.ts).
 */
import { createMetrics } from "../../lib/metrics.ts";
import { createLogger } from "../../lib/log.ts";
import { LiveHub, LocalNotifier } from "../../services/live_hub.ts";
import { MvdsService } from "../../services/mvds_service.ts";
import { MvdsRepo } from "../../storage/mvds_repo.ts";
import { keySize, MAX_VALUE_BYTES, openStore } from "../../storage/kv.ts";
import { cpuOf, cpuSelf, withCpu } from "../harness/cpu.ts";
import { spawnGateway } from "../../tests/helpers.ts";
import { fmtN, fmtRate } from "../harness/format.ts";
import { log } from "../harness/machine.ts";
import { concurrently, measure } from "../harness/measure.ts";
import { recordCommits, type RecordedCommits, replayCommits } from "../harness/replay_kv.ts";
import { Latencies, type Result, resultOf } from "../harness/result.ts";
import { type Server, startGatewayServer, startNoopServer } from "../harness/server.ts";
import type { Row } from "../harness/verdict.ts";
import type { WorkDir } from "../harness/files.ts";

export interface GatewayBenchOptions {
  /** Messages per streaming and backlog run (batch). */
  gwMessages: number;
  /** Messages of the interactive streaming run. */
  gwInteractiveMessages: number;
  /** POSTs in flight. */
  gwConcurrency: number;
  gwBodyBytes: number;
  gwEpochMs: number;
  phaseSeconds: number;
  inProcess: boolean;
  /** Run the gateways with `deno run --cpu-prof` writing their profiles here. */
  gwCpuProf?: string;
}

/** The target of issue 9. */
export const TARGET_RATE = 5000;

type Mode = "batch" | "interactive";

interface Link {
  a: string;
  b: string;
  group: string;
}

async function call(
  method: "GET" | "POST",
  url: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

async function ok(method: "GET" | "POST", url: string, body?: unknown) {
  const r = await call(method, url, body);
  if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

const newGroup = () => "0x" + crypto.getRandomValues(new Uint8Array(8)).toHex();

/** Node A on gw1 and B on gw2, each the other's HTTP peer; B in the group; A's share optional. */
async function link(gws: [Server, Server], mode: Mode, epochMs: number, shareA: boolean) {
  const [g1, g2] = gws;
  const a = (await ok("POST", `${g1.url}/mvds/nodes`, { mode, epochMs })).id as string;
  const b = (await ok("POST", `${g2.url}/mvds/nodes`, { mode, epochMs })).id as string;
  await ok("POST", `${g1.url}/mvds/nodes/${a}/peers`, {
    id: b,
    url: `${g2.url}/mvds/nodes/${b}/payloads`,
  });
  await ok("POST", `${g2.url}/mvds/nodes/${b}/peers`, {
    id: a,
    url: `${g1.url}/mvds/nodes/${a}/payloads`,
  });
  const group = newGroup();
  await ok("POST", `${g2.url}/mvds/nodes/${b}/groups/${group}/peers`, { peer: a });
  if (shareA) await ok("POST", `${g1.url}/mvds/nodes/${a}/groups/${group}/peers`, { peer: b });
  return { a, b, group };
}

/** Message bodies: unique per run and index, `bytes` long. */
function bodies(bytes: number) {
  const run = crypto.getRandomValues(new Uint8Array(8));
  return (k: number) => {
    const b = new Uint8Array(Math.max(bytes, 12));
    b.set(run);
    new DataView(b.buffer).setUint32(8, k);
    return b.subarray(0, Math.max(bytes, 12));
  };
}

/** POSTs messages k ∈ [0, n) to A, `conc` in flight; the ids answered, by k. */
async function postMessages(
  base: string,
  l: Link,
  n: number,
  conc: number,
  maxSeconds: number,
  bodyOf: (k: number) => Uint8Array,
): Promise<{ ids: string[]; result: Result }> {
  const ids: string[] = new Array(n);
  const url = `${base}/mvds/nodes/${l.a}/groups/${l.group}/messages`;
  const result = await measure(undefined, {
    concurrency: conc,
    warm: 0,
    total: n,
    maxSeconds,
  }, (k) => {
    const body = JSON.stringify({ body: bodyOf(k).toBase64() });
    return async () => {
      const r = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      if (r.status !== 201) {
        await r.body?.cancel();
        return false;
      }
      ids[k] = ((await r.json()) as { id: string }).id;
      return true;
    };
  }, { ok: (v) => v });
  return { ids, result };
}

/**
 * Follows B's list of the group (pages of 1000 with `after=`) until it holds `want` messages:
 * the time that happened and every id listed, in order (duplicates kept).
 */
function watchList(base: string, l: Link, want: number, pollMs: number, deadline: number) {
  const seen: string[] = [];
  let stop = false;
  const done = (async () => {
    for (;;) {
      for (;;) {
        const after = seen.length ? `&after=${seen[seen.length - 1]}` : "";
        const r = await ok(
          "GET",
          `${base}/mvds/nodes/${l.b}/groups/${l.group}/messages?limit=1000${after}`,
        );
        const page = r.messages as { id: string }[];
        for (const m of page) seen.push(m.id);
        if (page.length < 1000) break;
      }
      if (seen.length >= want) return performance.now();
      if (stop || performance.now() > deadline) return NaN;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  })();
  return { seen, done, cancel: () => void (stop = true) };
}

/** Polls A's node info until no record is pending: the time that happened (NaN on deadline). */
async function untilAcked(base: string, l: Link, pollMs: number, deadline: number) {
  for (;;) {
    const info = await ok("GET", `${base}/mvds/nodes/${l.a}`);
    if (info.records === 0) return performance.now();
    if (performance.now() > deadline) return NaN;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** What one run between the gateways found. */
export interface GatewayRun {
  mode: Mode;
  kind: "streaming" | "backlog";
  messages: number;
  /** From the start to all in B's list / all ACKed at A (s). */
  deliveredSeconds: number;
  ackedSeconds: number;
  /** The POSTs alone (streaming) or the share (backlog), s. */
  startSeconds: number;
  lost: number;
  duplicated: number;
  /** Messages A reports acked for B, read per message afterwards (a sample of up to 2000). */
  ackedChecked: number;
  ackedOk: number;
  postErrors: number;
  cpu: { gw1: number; gw2: number; client: number };
}

async function checkAcked(base: string, l: Link, ids: string[]): Promise<number> {
  const sample = ids.length <= 2000
    ? ids
    : Array.from({ length: 2000 }, (_, i) => ids[Math.floor((i * ids.length) / 2000)]);
  let good = 0;
  await concurrently(16, sample.length, 600, async (k) => {
    const m = await ok("GET", `${base}/mvds/nodes/${l.a}/messages/${sample[k]}`);
    const d = (m.delivery as Record<string, { state: string }>)[l.b];
    if (d?.state === "acked") good++;
  });
  return good;
}

function verify(posted: string[], seen: string[]) {
  const want = new Set(posted.filter((x) => x));
  const got = new Set(seen);
  let lost = 0;
  for (const id of want) if (!got.has(id)) lost++;
  const foreign = [...got].filter((id) => !want.has(id)).length;
  return { lost: lost + foreign, duplicated: seen.length - got.size };
}

async function cpuOfAll(gws: [Server, Server]) {
  const [x, y] = await Promise.all(gws.map((g) => g.cpu()));
  return { gw1: x, gw2: y, client: performance.now() };
}

/** One streaming run: POST M to A while the gateways sync. */
export async function streaming(
  gws: [Server, Server],
  o: GatewayBenchOptions,
  mode: Mode,
  n: number,
): Promise<GatewayRun> {
  const l = await link(gws, mode, o.gwEpochMs, true);
  const deadline = performance.now() + o.phaseSeconds * 1000;
  const c0 = await cpuOfAll(gws);
  const u0 = cpuSelf();
  const t0 = performance.now();
  const watch = watchList(gws[1].url, l, n, 100, deadline);
  const post = await postMessages(
    gws[0].url,
    l,
    n,
    o.gwConcurrency,
    o.phaseSeconds,
    bodies(o.gwBodyBytes),
  );
  const tPosted = performance.now();
  const tDelivered = await watch.done;
  const tAcked = await untilAcked(gws[0].url, l, 100, deadline);
  const c1 = await cpuOfAll(gws);
  const u1 = cpuSelf();
  const wall = (performance.now() - t0) / 1000;
  const v = verify(post.ids, watch.seen);
  const ids = post.ids.filter((x) => x);
  const ackedOk = await checkAcked(gws[0].url, l, ids);
  return {
    mode,
    kind: "streaming",
    messages: n,
    startSeconds: (tPosted - t0) / 1000,
    deliveredSeconds: (tDelivered - t0) / 1000,
    ackedSeconds: (tAcked - t0) / 1000,
    ...v,
    ackedChecked: Math.min(ids.length, 2000),
    ackedOk,
    postErrors: post.result.errors,
    cpu: {
      gw1: (c1.gw1 - c0.gw1) / wall,
      gw2: (c1.gw2 - c0.gw2) / wall,
      client: (u1 - u0) / wall,
    },
  };
}

/** One backlog run: M messages at A first, then B joins the group. */
export async function backlog(
  gws: [Server, Server],
  o: GatewayBenchOptions,
  n: number,
): Promise<{ run: GatewayRun; ingest: Result }> {
  const l = await link(gws, "batch", o.gwEpochMs, false);
  const ingest = await withCpu(
    gws[0],
    async () =>
      (await postMessages(
        gws[0].url,
        l,
        n,
        o.gwConcurrency,
        o.phaseSeconds,
        bodies(o.gwBodyBytes),
      )).result,
  );
  // The ids, from A's own list (the POSTs' answers were not kept by `measure`'s result).
  const ids: string[] = [];
  for (;;) {
    const after = ids.length ? `&after=${ids[ids.length - 1]}` : "";
    const page = (await ok(
      "GET",
      `${gws[0].url}/mvds/nodes/${l.a}/groups/${l.group}/messages?limit=1000${after}`,
    )).messages as { id: string }[];
    ids.push(...page.map((m) => m.id));
    if (page.length < 1000) break;
  }
  const deadline = performance.now() + o.phaseSeconds * 1000;
  const c0 = await cpuOfAll(gws);
  const u0 = cpuSelf();
  const t0 = performance.now();
  const watch = watchList(gws[1].url, l, n, 100, deadline);
  await ok("POST", `${gws[0].url}/mvds/nodes/${l.a}/groups/${l.group}/peers`, { peer: l.b });
  const tShared = performance.now();
  const tDelivered = await watch.done;
  const tAcked = await untilAcked(gws[0].url, l, 100, deadline);
  const c1 = await cpuOfAll(gws);
  const u1 = cpuSelf();
  const wall = (performance.now() - t0) / 1000;
  const v = verify(ids, watch.seen);
  const ackedOk = await checkAcked(gws[0].url, l, ids);
  return {
    ingest,
    run: {
      mode: "batch",
      kind: "backlog",
      messages: n,
      startSeconds: (tShared - t0) / 1000,
      deliveredSeconds: (tDelivered - t0) / 1000,
      ackedSeconds: (tAcked - t0) / 1000,
      ...v,
      ackedChecked: Math.min(ids.length, 2000),
      ackedOk,
      postErrors: 0,
      cpu: {
        gw1: (c1.gw1 - c0.gw1) / wall,
        gw2: (c1.gw2 - c0.gw2) / wall,
        client: (u1 - u0) / wall,
      },
    },
  };
}

/** POSTs of the same JSON bodies to a no-op server: the HTTP ceiling of the client's path. */
async function noopPosts(o: GatewayBenchOptions, n: number): Promise<Result> {
  const noop = await startNoopServer();
  try {
    const bodyOf = bodies(o.gwBodyBytes);
    return await measure(noop, {
      concurrency: o.gwConcurrency,
      warm: 500,
      total: n,
      maxSeconds: o.phaseSeconds,
    }, (k) => {
      const body = JSON.stringify({ body: bodyOf(k).toBase64() });
      return async () => {
        const r = await fetch(noop.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        await r.body?.cancel();
        return r.ok;
      };
    }, { ok: (v) => v });
  } finally {
    await noop.close();
  }
}

/** What an in-process run found. */
interface InProcessRun {
  /** Until all are at B and ACKed at A (streaming: from the first send; backlog: from the share). */
  service: Result;
  /** Raw KV replaying the commits of that phase. */
  raw: Result;
  /** Raw KV replaying A's commits of that phase alone (gateway 1's share of the writes). */
  rawA: Result;
  aCommits: number;
  commits: number;
  payloads: number;
  /** Backlog only: the commits of the sends alone, as the service made them / merged into full ones. */
  sends?: { single: Result; batched: Result; commits: number; merged: number };
}

/**
 * The two services in this process, each on its own KV file (recorded), with A's payloads
 * handed to B and B's to A by calls as fast as they come (no HTTP, no epoch wait), until all
 * are at B and ACKed at A. `streaming`: A sends M messages (`concurrency` calls in flight)
 * while the loop runs; `backlog`: A holds M messages, then B joins the group. The recorded
 * commits of the measured phase are then replayed on raw KV.
 */
async function inProcess(
  work: WorkDir,
  o: GatewayBenchOptions,
  n: number,
  kind: "streaming" | "backlog",
): Promise<InProcessRun> {
  const logger = createLogger("warn");
  const commits: RecordedCommits = [];
  const sendCommits: RecordedCommits = [];
  let sink = commits;
  // A's commits of the measured phase alone: what gateway 1's KV must do (B's are on another file).
  const aCommits: RecordedCommits = [];
  const make = async (name: string) => {
    const store = await openStore(await work.kv(name), createMetrics());
    const rec = recordCommits(store, {
      push: (...c: RecordedCommits) => {
        sink.push(...c);
        if (sink === commits && name.endsWith("-a")) aCommits.push(...c);
      },
    } as unknown as RecordedCommits);
    const svc = new MvdsService(
      new MvdsRepo(rec),
      new LiveHub(new LocalNotifier(), createMetrics()),
      { maxMessageBytes: MAX_VALUE_BYTES, log: logger },
    );
    return { store, svc };
  };
  const A = await make(`${kind}-a`), B = await make(`${kind}-b`);
  const close = () => {
    for (const s of [A.store, B.store]) {
      try {
        s.kv.close();
      } catch { /* closed */ }
    }
  };
  try {
    const { id: a } = await A.svc.createNode({ mode: "batch", epochMs: o.gwEpochMs });
    const { id: b } = await B.svc.createNode({ mode: "batch", epochMs: o.gwEpochMs });
    await A.svc.addPeer(a, b, "http://unused.invalid/");
    await B.svc.addPeer(b, a, "http://unused.invalid/");
    const group = crypto.getRandomValues(new Uint8Array(8));
    await B.svc.addGroupPeer(b, group, a);
    const bodyOf = bodies(o.gwBodyBytes);
    const lat = new Latencies();
    const send = (k: number) => {
      const t = performance.now();
      return A.svc.sendMessage(a, group, bodyOf(k)).then(() => lat.add(performance.now() - t));
    };
    if (kind === "backlog") {
      sink = sendCommits;
      await concurrently(o.gwConcurrency, n, o.phaseSeconds, send);
    } else await A.svc.addGroupPeer(a, group, b);
    sink = commits;
    let payloads = 0;
    const service = await withCpu(undefined, async () => {
      const t0 = performance.now();
      let sending = kind === "streaming";
      const sends = kind === "streaming"
        ? concurrently(o.gwConcurrency, n, o.phaseSeconds, send).finally(() => sending = false)
        : A.svc.addGroupPeer(a, group, b);
      const deadline = performance.now() + o.phaseSeconds * 1000;
      let delivered = 0;
      for (;;) {
        const sinceA = A.svc.epoch(await A.svc.config(a));
        const toB = await A.svc.tickPeer(a, b);
        if (toB) {
          payloads++;
          delivered += (await B.svc.receivePayload(b, a, toB)).stored;
          await A.svc.peerSeen(a, b, sinceA); // B answered, as the HTTP ticker records a 2xx
        }
        const sinceB = B.svc.epoch(await B.svc.config(b));
        const toA = await B.svc.tickPeer(b, a);
        if (toA) {
          payloads++;
          await A.svc.receivePayload(a, b, toA);
          await B.svc.peerSeen(b, a, sinceB);
        }
        if (!sending && delivered >= n && (await A.svc.repo.counts(a)).records === 0) break;
        if (performance.now() > deadline) break;
        if (!toB && !toA) await new Promise((r) => setTimeout(r, 1));
      }
      await sends;
      return resultOf(delivered, (performance.now() - t0) / 1000, lat, n - delivered);
    });
    close();
    const replay = async (name: string, cs: RecordedCommits) => {
      const kv = await Deno.openKv(await work.kv(name));
      try {
        return await replayCommits(kv, cs, n);
      } finally {
        kv.close();
      }
    };
    const raw = await replay(`${kind}-replay`, commits);
    const rawA = await replay(`${kind}-replay-a`, aCommits);
    let sends: InProcessRun["sends"];
    if (kind === "backlog") {
      const merged = mergeCommits(sendCommits);
      sends = {
        single: await replay(`${kind}-sends-1`, sendCommits),
        batched: await replay(`${kind}-sends-n`, merged),
        commits: sendCommits.length,
        merged: merged.length,
      };
    }
    return {
      service,
      raw,
      rawA,
      commits: commits.length,
      aCommits: aCommits.length,
      payloads,
      sends,
    };
  } finally {
    close();
  }
}

/**
 * Recorded commits merged into as few as KV takes (each within 1,000 mutations and 80 KiB of
 * keys, the head's and counters' keys counted once), as a send path that fills every commit
 * would: sets and deletes in order (a later one of the same key wins, as KV wants one mutation
 * per key), sums of the same key added up.
 */
function mergeCommits(commits: RecordedCommits): RecordedCommits {
  const out: RecordedCommits = [];
  const id = (key: Deno.KvKey) =>
    JSON.stringify(
      key,
      (_k, v) => v instanceof Uint8Array ? `b:${v.toHex()}` : typeof v === "bigint" ? `${v}n` : v,
    );
  let byKey = new Map<string, RecordedCommits[number][number]>();
  let keyBytes = 0;
  const flush = () => {
    if (byKey.size) out.push([...byKey.values()]);
    byKey = new Map();
    keyBytes = 0;
  };
  for (const c of commits) {
    const fresh = c.filter((m) => !byKey.has(id(m.key)));
    const bytes = fresh.reduce((n, m) => n + keySize(m.key), 0);
    if (byKey.size + fresh.length > 1000 || keyBytes + bytes > 80 * 1024) flush();
    for (const m of c) {
      const k = id(m.key);
      const prev = byKey.get(k);
      if (!prev) keyBytes += keySize(m.key);
      if (m.type === "sum" && prev?.type === "sum") {
        byKey.set(k, { ...m, value: new Deno.KvU64(prev.value.value + m.value.value) });
      } else {
        byKey.delete(k);
        byKey.set(k, m);
      }
    }
  }
  flush();
  return out;
}

/** The gateway in its own process under `deno run --cpu-prof` (profile written at exit). */
export async function profiledGateway(kvPath: string, profDir: string): Promise<Server> {
  await Deno.mkdir(profDir, { recursive: true });
  // spawnGateway runs [...prefix, deno, "run", ...permissions, "main.ts"]: put the flag in.
  const prefix = [
    "sh",
    "-c",
    'd=$1; r=$2; shift 2; exec "$d" "$r" --cpu-prof --cpu-prof-dir="$P" "$@"',
    "sh",
  ];
  const gp = await spawnGateway(
    { SYNCGATE_PORT: "0", SYNCGATE_LOG: "warn", SYNCGATE_KV: kvPath, P: profDir },
    prefix,
  );
  return {
    url: gp.url,
    separate: true,
    cpu: () => cpuOf(gp.child.pid),
    logs: gp.logs,
    close: async () => void await gp.stop(),
  };
}

const asResult = (r: GatewayRun, seconds: number): Result => ({
  ops: r.messages,
  seconds,
  rate: r.messages / seconds,
  serverCores: r.cpu.gw1 + r.cpu.gw2,
  clientCores: r.cpu.client,
  errors: r.lost + r.duplicated + r.postErrors,
  note: `lost ${r.lost}, duplicated ${r.duplicated}; ACKed at A per message: ` +
    `${r.ackedOk}/${r.ackedChecked} checked; CPU gw1 ${r.cpu.gw1.toFixed(2)} + gw2 ` +
    `${r.cpu.gw2.toFixed(2)} cores`,
});

/** Everything the gateway part found: rows for the harness's main table and the runs. */
export interface GatewayBench {
  rows: Row[];
  runs: GatewayRun[];
  notes: string[];
}

export async function gatewayBench(work: WorkDir, o: GatewayBenchOptions): Promise<GatewayBench> {
  const gws: Server[] = [];
  const runs: GatewayRun[] = [];
  const rows: Row[] = [];
  const notes: string[] = [];
  const n = o.gwMessages;
  const setting = (m: number) =>
    `${
      fmtN(m)
    } msgs of ${o.gwBodyBytes} B, ${o.gwConcurrency} POSTs in flight, epochMs ${o.gwEpochMs}`;
  const inprocSetting = (m: number) =>
    `${fmtN(m)} msgs of ${o.gwBodyBytes} B, ${o.gwConcurrency} sends in flight`;
  try {
    const inproc: Record<"streaming" | "backlog", InProcessRun> = {} as never;
    for (const kind of ["streaming", "backlog"] as const) {
      log(`gateways: the two services in process (no HTTP), ${kind}`);
      const r = inproc[kind] = await inProcess(work, o, n, kind);
      log(
        `  ${fmtRate(r.service.rate)} msgs/s (${r.payloads} payloads); raw KV replay of ` +
          `${fmtN(r.commits)} commits ${fmtRate(r.raw.rate)} msgs/s, of A's ${fmtN(r.aCommits)} ` +
          `alone ${fmtRate(r.rawA.rate)} msgs/s`,
      );
    }
    const sends = inproc.backlog.sends!;
    log(
      `  the sends' ${fmtN(sends.commits)} commits replayed ${fmtRate(sends.single.rate)} ` +
        `msgs/s; merged into ${fmtN(sends.merged)} full ones ${fmtRate(sends.batched.rate)} msgs/s`,
    );
    log("gateways: no-op HTTP server");
    const noop = await noopPosts(o, n);
    log(`  ${fmtRate(noop.rate)} req/s`);
    for (const i of [1, 2]) {
      const kvPath = await work.kv(`gw${i}`);
      gws.push(
        o.gwCpuProf
          ? await profiledGateway(kvPath, `${o.gwCpuProf}/gw${i}`)
          : await startGatewayServer({ kvPath, inProcess: o.inProcess }),
      );
    }
    const pair: [Server, Server] = [gws[0], gws[1]];
    log("gateways: batch, streaming");
    const sb = await streaming(pair, o, "batch", n);
    runs.push(sb);
    log(
      `  delivered ${fmtRate(n / sb.deliveredSeconds)} msgs/s, acked ${
        fmtRate(n / sb.ackedSeconds)
      } msgs/s, POSTs ${fmtRate(n / sb.startSeconds)}/s, lost ${sb.lost}, dup ${sb.duplicated}`,
    );
    log("gateways: batch, backlog");
    const bl = await backlog(pair, o, n);
    runs.push(bl.run);
    const after = (t: number) => n / (t - bl.run.startSeconds);
    log(
      `  ingest ${fmtRate(bl.ingest.rate)}/s; share ${
        bl.run.startSeconds.toFixed(2)
      } s; delivered ${fmtRate(n / bl.run.deliveredSeconds)} msgs/s (${
        fmtRate(after(bl.run.deliveredSeconds))
      } after the share), acked ${fmtRate(n / bl.run.ackedSeconds)} msgs/s`,
    );
    const ni = o.gwInteractiveMessages;
    log("gateways: interactive, streaming");
    const si = await streaming(pair, o, "interactive", ni);
    runs.push(si);
    log(
      `  delivered ${fmtRate(ni / si.deliveredSeconds)} msgs/s, acked ${
        fmtRate(ni / si.ackedSeconds)
      } msgs/s`,
    );
    const target = { rate: TARGET_RATE, text: `≥ ${fmtN(TARGET_RATE)} msgs/s, none lost` };
    const inprocLabel = "the two services in one process, payloads handed over by calls " +
      "(no HTTP, no epoch wait), same traffic";
    rows.push(
      {
        measurement: "Gateway to gateway, batch, streaming: POSTed to A until all in B's list",
        size: setting(n),
        unit: "msgs/s",
        gateway: asResult(sb, sb.deliveredSeconds),
        baselineLabel: inprocLabel,
        baseline: inproc.streaming.service,
        target,
      },
      {
        measurement: "Gateway to gateway, batch, streaming: POSTed to A until all ACKed at A",
        size: setting(n),
        unit: "msgs/s",
        gateway: asResult(sb, sb.ackedSeconds),
        baselineLabel: inprocLabel,
        baseline: inproc.streaming.service,
        target,
      },
      {
        measurement: "Gateway to gateway, batch, backlog: M at A, B joins the group; until all " +
          "in B's list",
        size: setting(n),
        unit: "msgs/s",
        gateway: asResult(bl.run, bl.run.deliveredSeconds),
        baselineLabel: inprocLabel,
        baseline: inproc.backlog.service,
        target,
      },
      {
        measurement: "Gateway to gateway, batch, backlog: until all ACKed at A",
        size: setting(n),
        unit: "msgs/s",
        gateway: asResult(bl.run, bl.run.ackedSeconds),
        baselineLabel: inprocLabel,
        baseline: inproc.backlog.service,
      },
      {
        measurement:
          "Gateway to gateway, interactive, streaming: POSTed to A until all in B's list",
        size: setting(ni),
        unit: "msgs/s",
        gateway: asResult(si, si.deliveredSeconds),
        baselineLabel: "batch, streaming, same run (row 1)",
        baseline: asResult(sb, sb.deliveredSeconds),
      },
      {
        measurement: "POST …/groups/{g}/messages to A alone (no peer in the group yet)",
        size: setting(n),
        unit: "msgs/s",
        gateway: bl.ingest,
        baselineLabel: "no-op HTTP server, same POSTs",
        baseline: noop,
      },
      {
        measurement: "The two services in one process (no HTTP), streaming, until all at B " +
          "and ACKed",
        size: inprocSetting(n),
        unit: "msgs/s",
        gateway: inproc.streaming.service,
        baselineLabel: `raw KV replaying the same ${fmtN(inproc.streaming.commits)} commits`,
        baseline: inproc.streaming.raw,
      },
      {
        measurement: "The two services in one process (no HTTP), backlog, from the share until " +
          "all at B and ACKed",
        size: inprocSetting(n),
        unit: "msgs/s",
        gateway: inproc.backlog.service,
        baselineLabel: `raw KV replaying the same ${fmtN(inproc.backlog.commits)} commits`,
        baseline: inproc.backlog.raw,
      },
      ...(["streaming", "backlog"] as const).map((kind) => ({
        measurement: `Raw KV replaying node A's commits alone (gateway 1's writes), ${kind}`,
        size: inprocSetting(n),
        unit: "msgs/s",
        gateway: inproc[kind].rawA,
        baselineLabel: `raw KV replaying both nodes' ${fmtN(inproc[kind].commits)} commits`,
        baseline: inproc[kind].raw,
      })),
      {
        measurement: `Raw KV replaying the sends' ${
          fmtN(sends.commits)
        } commits as the service made them (concurrent sends grouped)`,
        size: fmtN(n),
        unit: "msgs/s",
        gateway: sends.single,
        baselineLabel: `the same writes merged into ${
          fmtN(sends.merged)
        } full commits (≤ 1,000 mutations, 80 KiB of keys)`,
        baseline: sends.batched,
      },
    );
    notes.push(
      `Backlog run: B's share of the group (a record per message, 128 a commit) took ` +
        `${bl.run.startSeconds.toFixed(2)} s; from its answer to all in B's list ` +
        `${fmtRate(after(bl.run.deliveredSeconds))} msgs/s, to all ACKed ` +
        `${fmtRate(after(bl.run.ackedSeconds))} msgs/s.`,
      `In-process runs: ${fmtN(inproc.streaming.payloads)} / ${
        fmtN(inproc.backlog.payloads)
      } payloads handed over, ${fmtN(inproc.streaming.commits)} / ${
        fmtN(inproc.backlog.commits)
      } commits for ${fmtN(n)} messages (streaming / backlog).`,
    );
    for (const g of gws) {
      const logs = g.logs().trim();
      if (logs) notes.push(`Gateway logs: ${logs.slice(-500)}`);
    }
  } finally {
    for (const g of gws) await g.close();
  }
  return { rows, runs, notes };
}
