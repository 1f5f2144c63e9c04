/**
 * The Waku breakdown ladders' measured rungs, each adding one layer: ingest
 * from raw KV up to the service in process (fresh stores), single publishes
 * through the service's group commit, and page queries through the
 * repository and the service on the gateway's own KV file. The main flow
 * (waku_bench.ts) adds the rungs the main table measured.
 */
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { parseRetention } from "../../protocols/waku/retention_policy.ts";
import { LiveHub, LocalNotifier } from "../../services/live_hub.ts";
import { WakuService } from "../../services/waku_service.ts";
import { openStore } from "../../storage/kv.ts";
import { WakuRepo } from "../../storage/waku_repo.ts";
import { bytesWritten, cpuSelf } from "../harness/cpu.ts";
import type { WorkDir } from "../harness/files.ts";
import { removeKv } from "../harness/files.ts";
import { fmtN } from "../harness/format.ts";
import { log } from "../harness/machine.ts";
import { measure } from "../harness/measure.ts";
import { rawCommits } from "../harness/raw_kv.ts";
import type { Ladder } from "../harness/report.ts";
import type { Result } from "../harness/result.ts";
import type { Messages } from "./messages.ts";
import type { WakuOptions } from "./options.ts";
import {
  fullRecordWrites,
  gatewayKeyCounts,
  gatewayWrites,
  gatewayWritesWithoutHashIndex,
  oneKeyWrites,
  openRawStore,
  perGatewayCommit,
} from "./raw_rows.ts";

type Rung = Ladder["rows"][number];

/** The gateway's repository and service over the KV file at `path`, in this process (no HTTP). */
async function openService(path: string) {
  const metrics = createMetrics();
  const store = await openStore(path, metrics);
  const repo = new WakuRepo(store);
  const svc = new WakuService(repo, new LiveHub(new LocalNotifier(), metrics), {
    maxMessageBytes: 150 * 1024,
    maxClockSkewSeconds: 600,
    retention: parseRetention(""),
    retentionIntervalMs: 60_000,
    log: createLogger("warn"),
  });
  return { store, repo, svc };
}

/**
 * Ingest of messages [0, n) into fresh stores: raw KV rungs up to the gateway's publish commit,
 * then the service's publishMany; and, on the service's store, concurrent
 * single publishes (the group commit without HTTP) when `--singles` is not 0.
 */
export async function ingestLadder(
  work: WorkDir,
  msgs: Messages,
  n: number,
  o: WakuOptions,
  settleAll: () => Promise<void>,
): Promise<{ rungs: { commitSize: Rung[]; layout: Rung[]; service: Rung[] }; singles?: Result }> {
  const fresh = async (name: string, fn: (path: string) => Promise<Result>) => {
    await settleAll();
    const path = await work.kv(name);
    try {
      return await fn(path);
    } finally {
      await removeKv(path);
    }
  };
  const raw = (name: string, label: string, fn: (path: string) => Promise<Result>) => {
    log(`breakdown: ${label}`);
    return fresh(name, fn).then((r) => ({ label, r }));
  };
  const { records, small } = gatewayKeyCounts(msgs);
  const commitSize = [
    await raw("l1", "raw KV, 1 key/msg, 100 msgs/commit", async (path) => {
      const kv = await Deno.openKv(path);
      try {
        return await rawCommits(kv, 0, n, {
          perCommit: 100,
          writesOf: (i) => oneKeyWrites(msgs, i),
        });
      } finally {
        kv.close();
      }
    }),
  ];
  const layout: Rung[] = [];
  for (
    const [name, label, writesOf] of [
      [
        "lrec",
        `raw KV, ${records} keys/msg: the publish commit's keys that hold the full record, only`,
        fullRecordWrites,
      ],
      [
        "lnoh",
        `raw KV, the gateway's publish commit without the hash index "h" (its key and check)`,
        gatewayWritesWithoutHashIndex,
      ],
      [
        "lgc",
        `raw KV, the gateway's publish commit: check + ${records} record + ${small} small keys + sums`,
        gatewayWrites,
      ],
    ] as const
  ) {
    layout.push(
      await raw(name, label, async (path) => {
        const store = await openRawStore(path);
        try {
          const perCommit = perGatewayCommit(store);
          return await rawCommits(store.kv, 0, n, {
            perCommit,
            writesOf: (i) => writesOf(msgs, i),
          });
        } finally {
          store.kv.close();
        }
      }),
    );
  }

  // WakuService.publishMany in this process, no HTTP.
  log(`breakdown: WakuService.publishMany`);
  await settleAll();
  const path = await work.kv("lsvc");
  const { store, svc } = await openService(path);
  const service: Rung[] = [];
  let singles: Result | undefined;
  try {
    let ms = 0;
    const c0 = cpuSelf(), w0 = performance.now(), b0 = bytesWritten();
    for (let lo = 0; lo < n; lo += o.bulkBatch) {
      const pubs = [];
      for (let i = lo; i < Math.min(n, lo + o.bulkBatch); i++) {
        const m = msgs.at(i);
        pubs.push({ pubsubTopic: m.pubsubTopic, message: m.message });
      }
      const t0 = performance.now();
      await svc.publishMany(pubs.map((p) => svc.validate(p)));
      ms += performance.now() - t0;
    }
    const wall = (performance.now() - w0) / 1000;
    const b1 = bytesWritten();
    service.push({
      label: `WakuService validate + publishMany(${fmtN(o.bulkBatch)}) in-process ` +
        "(+ hashing, JSON rendering)",
      r: {
        ops: n,
        seconds: ms / 1000,
        rate: n / (ms / 1000),
        errors: 0,
        clientCores: (cpuSelf() - c0) / wall,
        writtenPerOp: b0 === undefined ? undefined : (b1! - b0) / n,
      },
    });
    if (o.singles > 0) {
      // Then concurrent single publishes on the same store: the group commit without HTTP.
      log(`breakdown: ${o.publishers} concurrent WakuService.publish callers`);
      const phase = {
        concurrency: o.publishers,
        warm: 0,
        total: o.singles,
        maxSeconds: o.phaseSeconds,
      };
      singles = await measure(undefined, phase, (k) => {
        const m = msgs.at(n + k);
        return () => svc.publish(svc.validate({ pubsubTopic: m.pubsubTopic, message: m.message }));
      });
    }
  } finally {
    await svc.stop();
    store.kv.close();
    await removeKv(path);
  }
  return { rungs: { commitSize, layout, service }, singles };
}

/**
 * Page queries on the gateway's KV file (opened a second time, read only), pages of 100 from
 * random stored messages, `conc` callers, one layer per rung: the repository's index read from
 * a start time; its cursor lookup plus the page after the cursor; WakuService.storeQuery.
 */
export async function queryLadder(
  kvPath: string,
  msgs: Messages,
  stored: number,
  o: WakuOptions,
  conc: number,
): Promise<Rung[]> {
  const rungs: Rung[] = [];
  const { store, repo, svc } = await openService(kvPath);
  const total = o.queryPages, warm = Math.min(200, total);
  const pos = msgs.positions(total + warm, stored, 1);
  const hashes = pos.map((i) => msgs.hash(i));
  const times = pos.map((i) => msgs.meta(i).timestamp);
  const phase = { concurrency: conc, warm, total, maxSeconds: o.phaseSeconds };
  /** Pages of 100 fetched by `fn(k)`, which returns how many records it got. */
  const pages = (fn: (k: number) => Promise<number>) =>
    measure(undefined, phase, (k) => () => fn(k), { ok: (n) => n === 100 });
  const page = (k: number, cursor: boolean) =>
    repo.page({
      order: "timestamp",
      contentTopics: [],
      forward: true,
      pageSize: 100,
      ...(cursor ? { cursor: { time: times[k], hash: hashes[k] } } : { startTime: times[k] + 1n }),
    });
  try {
    const at = `${fmtN(stored)}, ${conc}`;
    log(`breakdown: WakuRepo.page from a start time at ${at}`);
    rungs.push({
      label: "WakuRepo.page of 100 from a start time (the index read alone, no cursor)",
      r: await pages(async (k) => (await page(k, false)).records.length),
    });
    log(`breakdown: WakuRepo.page with a contentTopics filter at ${at}`);
    const topics = pos.map((i) => msgs.meta(i).contentTopic);
    rungs.push({
      label: "WakuRepo.page of 100 with a contentTopics filter, from a start time (the topic's " +
        "index, then the records by key: what one copy of the content costs a filtered page)",
      r: await pages(async (k) =>
        (await repo.page({
          order: "timestamp",
          contentTopics: [topics[k]],
          forward: true,
          pageSize: 100,
          startTime: times[k] + 1n,
        })).records.length
      ),
    });
    log(`breakdown: + WakuRepo.locate(cursor)`);
    rungs.push({
      label: "+ the cursor: WakuRepo.locate(hash), then the page after it",
      r: await pages(async (k) => {
        const loc = await repo.locate(hashes[k]);
        if (loc?.timestamp !== times[k]) return -1;
        return (await page(k, true)).records.length;
      }),
    });
    log(`breakdown: WakuService.storeQuery`);
    rungs.push({
      label: "WakuService.storeQuery in-process",
      r: await pages(async (k) => {
        const p = await svc.storeQuery({
          contentTopics: [],
          hashes: [],
          cursor: hashes[k],
          pageSize: 100,
          ascending: true,
        });
        return p.records.length;
      }),
    });
  } finally {
    store.kv.close();
  }
  return rungs;
}
