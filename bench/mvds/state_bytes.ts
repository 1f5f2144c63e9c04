/**
 * KV bytes of MVDS state, measured: the real service and repo
 * (services/mvds_service.ts, storage/mvds_repo.ts) on a real KV file. A
 * batch node with a peer that never answers (its payloads are built and
 * committed by `tickPeer`, then dropped) is sent K messages; once every
 * record has been sent once and waits for an ACK, everything under
 * ["mvds"] is listed and counted per key family (the second key part: "r"
 * records, "d" due index, "m" messages, …), each entry as its key's size
 * (storage/kv.ts `keySize`, what commit budgets count) plus its value's
 * (V8 serialization as Deno KV stores objects; raw bytes for a Uint8Array;
 * 8 for a KvU64), and the KV file is measured too (closed first, so SQLite
 * folds its WAL into it). Then ticks go on, epoch by epoch, until
 * `maxSendCount` has ended every record, and the same is measured again.
 * The clock is the service's `now` option, so a run takes seconds.
 *
 * `recordBytes` and `messageBytes` are the earlier estimate (an assumed
 * layout priced by hand), kept to show it beside the measurement.
 */
import v8 from "node:v8";
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import type { SyncRecord } from "../../protocols/mvds/record.ts";
import { LiveHub, LocalNotifier } from "../../services/live_hub.ts";
import { MvdsService } from "../../services/mvds_service.ts";
import { keySize, MAX_VALUE_BYTES, openStore } from "../../storage/kv.ts";
import { MvdsRepo } from "../../storage/mvds_repo.ts";
import { concurrently } from "../harness/measure.ts";

/** Bytes of a value as Deno KV stores it. */
export function valueSize(v: unknown): number {
  if (v instanceof Uint8Array) return v.length;
  if (v instanceof Deno.KvU64) return 8;
  return v8.serialize(v).length;
}

/** Entries and bytes (keys + values) of one key family. */
export interface Family {
  entries: number;
  keyBytes: number;
  valueBytes: number;
}

/** Everything under ["mvds"], per family (the key's second part). */
export async function familyBytes(kv: Deno.Kv): Promise<Map<string, Family>> {
  const out = new Map<string, Family>();
  for await (const e of kv.list({ prefix: ["mvds"] })) {
    const fam = String(e.key[1]);
    const f = out.get(fam) ?? { entries: 0, keyBytes: 0, valueBytes: 0 };
    f.entries++;
    f.keyBytes += keySize(e.key);
    f.valueBytes += valueSize(e.value);
    out.set(fam, f);
  }
  return out;
}

/** Size of a KV file with its WAL (and journal), in bytes. */
async function fileBytes(path: string): Promise<number> {
  let n = 0;
  for (const s of ["", "-wal", "-journal"]) {
    n += await Deno.stat(path + s).then((st) => st.size, () => 0);
  }
  return n;
}

/** One measurement point. */
export interface StatePoint {
  families: Map<string, Family>;
  /** Records pending (the node's counter). */
  records: number;
  /** KV file (+ WAL) size minus the size with only the node, its peer and group (bytes). */
  fileGrowth: number;
}

/** What one run of K messages found. */
export interface StateRun {
  messages: number;
  /** Every record sent once, waiting for the ACK that never comes. */
  pending: StatePoint;
  /** After maxSendCount ended every record. */
  ended: StatePoint;
  /** Epochs it took (from the sends) until no record was left. */
  epochs: number;
}

/** Families that are sync state: they exist only while a message is pending. */
export const SYNC_FAMILIES = ["r", "d", "a"] as const;

export const sum = (p: StatePoint, fams: readonly string[]) =>
  fams.reduce((n, f) => {
    const x = p.families.get(f);
    return n + (x ? x.keyBytes + x.valueBytes : 0);
  }, 0);

export const total = (p: StatePoint) => sum(p, [...p.families.keys()]);

/**
 * Runs the measurement for `k` messages of `bodyBytes` in a group of `groupBytes`, on a fresh
 * KV file at `path`: one batch node, one peer that never answers, maxSendCount
 * `maxSendCount`, gaps up to `backoffCapEpochs`.
 */
export async function measureState(path: string, o: {
  messages: number;
  bodyBytes: number;
  groupBytes: number;
  maxSendCount: number;
  backoffCapEpochs: number;
}): Promise<StateRun> {
  let now = 1_800_000_000_000;
  const epochMs = 1000;
  const open = async () => {
    const store = await openStore(path, createMetrics());
    const svc = new MvdsService(
      new MvdsRepo(store),
      new LiveHub(new LocalNotifier(), createMetrics()),
      { maxMessageBytes: MAX_VALUE_BYTES, log: createLogger("error"), now: () => now },
    );
    return { store, svc };
  };
  let { store, svc } = await open();
  const node = crypto.getRandomValues(new Uint8Array(32));
  const peer = crypto.getRandomValues(new Uint8Array(32));
  const group = crypto.getRandomValues(new Uint8Array(o.groupBytes));
  await svc.createNode({
    id: node,
    mode: "batch",
    epochMs,
    maxSendCount: o.maxSendCount,
    backoffCapEpochs: o.backoffCapEpochs,
  });
  await svc.addPeer(node, peer, "http://127.0.0.1:9/never");
  await svc.addGroupPeer(node, group, peer);
  // Measured with the KV closed, so SQLite has folded its WAL into the file.
  const reopen = async () => {
    store.kv.close();
    const size = await fileBytes(path);
    ({ store, svc } = await open());
    return size;
  };
  const base = await reopen();
  const run = crypto.getRandomValues(new Uint8Array(8));
  await concurrently(16, o.messages, 3600, async (k) => {
    const body = new Uint8Array(Math.max(o.bodyBytes, 12));
    body.set(run);
    new DataView(body.buffer).setUint32(8, k);
    await svc.sendMessage(node, group, body);
  });
  const point = async (): Promise<StatePoint> => ({
    families: await familyBytes(store.kv),
    records: (await svc.repo.counts(node)).records,
    fileGrowth: (await reopen()) - base,
  });
  const start = svc.epoch({ epochMs });
  // One tick per epoch, the payload dropped: the peer never answers.
  const tickUntil = async (done: () => Promise<boolean>) => {
    while (!(await done())) {
      await svc.tickPeer(node, peer);
      now += epochMs;
    }
  };
  // Until every record was sent once (each tick takes at most 1024 due records).
  const sentOnce = async () => {
    for await (const e of store.kv.list<{ sendCount: number }>({ prefix: ["mvds", "r", node] })) {
      if (e.value.sendCount === 0) return false;
    }
    return true;
  };
  await tickUntil(sentOnce);
  const pending = await point();
  await tickUntil(async () => (await svc.repo.counts(node)).records === 0);
  const epochs = svc.epoch({ epochMs }) - start;
  const ended = await point();
  store.kv.close();
  return { messages: o.messages, pending, ended, epochs };
}

// ---- the earlier estimate (an assumed layout priced by hand) ----

const ID = new Uint8Array(32).fill(0xa5);

/** Estimated bytes of one record (its key and value, and its due-index key). */
export function recordBytes(r: Pick<SyncRecord, "type" | "sendCount" | "sendEpoch">): {
  record: number;
  dueIndex: number;
  total: number;
} {
  const value = v8.serialize({ type: r.type, sendCount: r.sendCount, sendEpoch: r.sendEpoch });
  const record = keySize(["mvds", "r", ID, ID, ID]) + value.length;
  // The due-index entry's value: the record's type and send count (5 bytes).
  const dueIndex = keySize(["mvds", "d", ID, ID, r.sendEpoch, ID]) + 5;
  return { record, dueIndex, total: record + dueIndex };
}

/** Estimated bytes of a stored message: key plus V8-serialized {groupId, timestamp, body}. */
export function messageBytes(groupIdBytes: number, bodyBytes: number): number {
  const value = v8.serialize({
    groupId: new Uint8Array(groupIdBytes),
    timestamp: 1_700_000_000n,
    body: new Uint8Array(bodyBytes),
  });
  return keySize(["mvds", "m", ID, ID]) + value.length;
}
