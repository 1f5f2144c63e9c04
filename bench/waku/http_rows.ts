/**
 * The Waku gateway's HTTP rows: bulk ingest, single publishes (closed loop
 * by wrk or fetch, open loop by fetch), the HTTP floor without storage, and
 * page queries from cursors. Every answer that carries data is checked
 * against the messages the bench knows.
 */
import { withCpu } from "../harness/cpu.ts";
import { fmtN, fmtRate } from "../harness/format.ts";
import { openLoop, postJson, wrkRow } from "../harness/http_load.ts";
import { concurrently, measure } from "../harness/measure.ts";
import { Latencies, type Result, resultOf } from "../harness/result.ts";
import type { Server } from "../harness/server.ts";
import type { WrkRequest } from "../harness/wrk.ts";
import { CONTENT, type Messages, publishPath, publishRequest, relayJson } from "./messages.ts";
import type { WakuOptions } from "./options.ts";

/** What every row here needs: the gateway, the messages, the options. */
export interface WakuHttp {
  gw: Server;
  msgs: Messages;
  o: WakuOptions;
}

/** Bulk-publishes messages by index (untimed), in requests of `--bulk-batch`. */
export async function bulkPublish(
  { gw, msgs, o }: WakuHttp,
  indices: readonly number[],
): Promise<void> {
  for (let i = 0; i < indices.length; i += o.bulkBatch) {
    const items = indices.slice(i, i + o.bulkBatch).map((j) => relayJson(msgs.at(j), true));
    const res = await postJson(`${gw.url}/relay/v1/bulk`, `[${items}]`);
    await res.text();
    if (res.status !== 200) throw new Error(`Bulk fill failed: HTTP ${res.status}`);
  }
}

/**
 * POST /relay/v1/bulk of messages [from, to) in JSON arrays of `--bulk-batch`, `--bulk-inflight`
 * requests at a time; `ephemeral` marks them all ephemeral (everything but storage). Checks each
 * answer's count and its first hash.
 */
export function httpBulk(
  { gw, msgs, o }: WakuHttp,
  from: number,
  to: number,
  ephemeral = false,
): Promise<Result> {
  return withCpu(gw, async () => {
    const lat = new Latencies();
    let errors = 0;
    const batches = Math.ceil((to - from) / o.bulkBatch);
    // Fills get a longer limit than other phases: later phases need the whole store.
    const run = await concurrently(o.bulkInflight, batches, o.phaseSeconds * 6, async (b) => {
      const lo = from + b * o.bulkBatch, hi = Math.min(to, lo + o.bulkBatch);
      const items: string[] = [];
      for (let i = lo; i < hi; i++) items.push(relayJson(msgs.at(i), true, ephemeral));
      const body = `[${items.join(",")}]`;
      const t0 = performance.now();
      const res = await postJson(`${gw.url}/relay/v1/bulk`, body, 120_000);
      const text = await res.text();
      lat.add(performance.now() - t0);
      if (res.status !== 200) {
        errors++;
        if (errors <= 3) console.error(`bulk: HTTP ${res.status}: ${text.slice(0, 300)}`);
        return;
      }
      const r = JSON.parse(text) as { stored: number; ephemeral: number; messageHashes: string[] };
      if ((ephemeral ? r.ephemeral : r.stored) !== hi - lo) errors++;
      // Spot-check that the gateway hashes as we do (RFC 14).
      if (r.messageHashes[0] !== "0x" + msgs.hash(lo).toHex()) {
        errors++;
        if (errors <= 3) console.error(`bulk: unexpected hash for message ${lo}`);
      }
    });
    const ops = Math.min(to - from, run.done * o.bulkBatch);
    const note = run.timedOut ? "stopped at time limit" : undefined;
    return resultOf(ops, run.seconds, lat, errors, note);
  });
}

/**
 * POST /relay/v1/messages/{pubsubTopic of message i}; whether it was answered 200 and, with
 * `checkHash`, with the message's hash.
 */
async function publishOne({ gw, msgs }: WakuHttp, i: number, checkHash: boolean) {
  const m = msgs.at(i);
  const res = await postJson(gw.url + publishPath(m), relayJson(m, false), 60_000);
  const text = await res.text();
  return res.status === 200 && (!checkHash || text.includes(msgs.hash(i).toHex()));
}

/** `--publishers` concurrent clients publish messages [from, to) one per request, closed loop. */
export function httpSingles(h: WakuHttp, from: number, to: number): Promise<Result> {
  return h.o.client === "wrk" ? wrkSingles(h, from, to) : fetchSingles(h, from, to);
}

/**
 * Single publishes by wrk: `--publishers` connections for `--wrk-seconds` over the messages
 * [from, to) in order (after a 2 s warm-up on its first messages); whatever wrk did not reach is
 * then bulk-published (untimed), so [from, to) is stored either way. A re-sent message is stored
 * once, so wrk's wrap-around is harmless; the note says if it happened.
 */
async function wrkSingles(h: WakuHttp, from: number, to: number): Promise<Result> {
  const { gw, msgs, o } = h;
  const warm = Math.min(2000, Math.floor((to - from) / 10));
  const reqs = (lo: number, hi: number) =>
    Array.from({ length: hi - lo }, (_, k) => publishRequest(msgs.at(lo + k)));
  const list = reqs(from + warm, to);
  const { result } = await wrkRow(gw, gw.url, list, {
    connections: o.publishers,
    seconds: o.wrkSeconds,
    warmReqs: reqs(from, from + warm),
    what: "singles",
    note: (w) =>
      `${o.publishers} connections (wrk), ${o.wrkSeconds} s after a 2 s warm-up` +
      (w.sent > list.length ? `; wrapped around the ${fmtN(list.length)} messages` : ""),
  });
  // Requests still in flight when wrk stopped may or may not have been stored: re-send them.
  const reached = from + warm + Math.max(0, result.ops - o.publishers);
  const rest = Array.from({ length: Math.max(0, to - reached) }, (_, k) => reached + k);
  await bulkPublish(h, rest);
  return result;
}

function fetchSingles(h: WakuHttp, from: number, to: number): Promise<Result> {
  const { gw, o } = h;
  // Warm-up (stored, not timed, not in the CPU figures): messages [from, from + warm).
  const warm = Math.min(2000, Math.floor((to - from) / 10));
  const first = from + warm;
  const phase = {
    concurrency: o.publishers,
    warm,
    total: to - first,
    maxSeconds: o.phaseSeconds,
  };
  return measure(gw, phase, (k) => () => publishOne(h, first + k, true), {
    ok: (stored) => stored,
    warmAt: -warm,
    cpuAfterWarmUp: true,
    note: (run) =>
      `${o.publishers} publishers, ${fmtN(run.done)} msgs after ${fmtN(warm)} warm-up` +
      (run.timedOut ? "; stopped at time limit" : ""),
  });
}

/**
 * Open-loop single publishes of messages from `from` on: `--publishers` clients together offer
 * `rate` msgs/s for `--paced-seconds`; what was not sent by the time limit is bulk-published
 * afterwards, untimed.
 */
export async function httpSinglesPaced(h: WakuHttp, from: number, rate: number): Promise<Result> {
  const { gw, o } = h;
  const { result, sent } = await openLoop(gw, {
    rate,
    seconds: o.pacedSeconds,
    workers: o.publishers,
    maxSeconds: o.phaseSeconds,
    send: (k) => publishOne(h, from + k, false),
  }, `offered ${fmtRate(rate)}/s for ${o.pacedSeconds} s by ${o.publishers} publishers`);
  const missing: number[] = [];
  sent.forEach((v, k) => v || missing.push(from + k));
  await bulkPublish(h, missing);
  return result;
}

/** Which HTTP floor: a no-op server, GET /metrics, GET /health, or ephemeral publishes. */
export type Floor = "noop" | "metrics" | "health" | "ephemeral";

/**
 * The HTTP path around storage, at the single-publish concurrency: a no-op Deno.serve (`noop`,
 * with the same POST bodies); GET /metrics (the gateway's front and middleware, no KV); GET
 * /health (which probes KV with a read and a one-key commit per call); or POST
 * /relay/v1/messages of ephemeral messages (validated, hashed, sent live, not stored).
 */
export async function httpFloor(h: WakuHttp, what: Floor, noop: Server): Promise<Result> {
  const { gw, msgs, o } = h;
  const server = what === "noop" ? noop : gw;
  const at = (k: number) => msgs.at(1_000_000_000 + k);
  const request = (k: number): WrkRequest => {
    if (what === "noop") return { method: "POST", path: "/", body: relayJson(at(k), false) };
    if (what === "metrics" || what === "health") return { method: "GET", path: `/${what}` };
    return publishRequest(at(k), true);
  };
  if (o.client === "wrk") {
    const list = Array.from({ length: 1000 }, (_, k) => request(k));
    return (await wrkRow(server, server.url, list, {
      connections: o.publishers,
      seconds: o.wrkSeconds,
      what,
    })).result;
  }
  const total = Math.max(1000, o.singles), warm = Math.min(2000, total / 10);
  const phase = { concurrency: o.publishers, warm, total, maxSeconds: o.phaseSeconds };
  return measure(server, phase, (k) => async () => {
    const r = request(k);
    const res = await fetch(server.url + r.path, {
      method: r.method,
      headers: r.body ? { "content-type": "application/json" } : undefined,
      body: r.body,
      signal: AbortSignal.timeout(60_000),
    });
    await res.text();
    return res.status;
  }, { ok: (status) => status === 200, cpuAfterWarmUp: true });
}

/**
 * GET /store/v3/messages pages of 100 from a cursor at a random stored message (with a
 * contentTopics filter when `filtered`), `conc` clients. Every page's first message must be the
 * one after the cursor, and every 10th page is fully checked; wrk replays the same kind of
 * queries after 200 such checked pages by fetch, and checks only the status.
 */
export async function httpPages(
  { gw, msgs, o }: WakuHttp,
  stored: number,
  filtered: boolean,
  conc: number,
): Promise<Result> {
  const total = o.queryPages;
  const warm = Math.min(200, total);
  const pos = msgs.positions(total + warm, stored, filtered ? 2 : 1);
  const cts = pos.map((_, k) => CONTENT[k % CONTENT.length]);
  // Cursors and the expected first message of each page (untimed).
  const cursors = pos.map((i) => "0x" + msgs.hash(i).toHex());
  const firsts = pos.map((i, k) => msgs.hash(filtered ? msgs.nextOnTopic(i, cts[k]) : i + 1));
  const pathOf = (k: number) =>
    `/store/v3/messages?pageSize=100&includeData=true&cursor=${cursors[k]}` +
    (filtered ? `&contentTopics=${encodeURIComponent(cts[k])}` : "");
  const query = (k: number) => {
    const url = gw.url + pathOf(k);
    return async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
      return { url, status: res.status, text: await res.text() };
    };
  };
  const ok = ({ status, text }: { status: number; text: string }, k: number) => {
    let good = status === 200 &&
      text.indexOf(`"messageHash":"0x${firsts[k].toHex()}"`) === text.indexOf(`"messageHash"`);
    if (good && k % 10 === 0) {
      const page = JSON.parse(text) as {
        messages: { message: { contentTopic: string } }[];
        paginationCursor?: string;
      };
      good = page.messages.length === 100 && page.paginationCursor !== undefined &&
        (!filtered || page.messages.every((m) => m.message.contentTopic === cts[k]));
    }
    return good;
  };
  const checks = {
    ok,
    explain: ({ url, text }: { url: string; text: string }) =>
      `query: bad page for ${url}: ${text.slice(0, 300)}`,
    note: (run: { timedOut: boolean }) => run.timedOut ? "stopped at time limit" : undefined,
  };
  const phase = (w: number, t: number) => ({
    concurrency: conc,
    warm: w,
    total: t,
    maxSeconds: o.phaseSeconds,
  });
  if (o.client === "fetch") return await measure(gw, phase(warm, total), query, checks);
  const checked = await measure(gw, phase(0, warm), (k) => query(total + k), {
    ...checks,
    ok: (v, k) => ok(v, total + k),
  });
  const list: WrkRequest[] = pos.slice(0, total).map((_, k) => ({
    method: "GET",
    path: pathOf(k),
  }));
  const { result } = await wrkRow(gw, gw.url, list, {
    connections: conc,
    seconds: o.wrkSeconds,
    warmSeconds: 0,
    what: "query",
    note: () => `wrk, ${o.wrkSeconds} s, after ${warm} checked pages by fetch`,
  });
  result.errors += checked.errors;
  return result;
}
