/**
 * A KV that fails (an I/O error, not a full disk) under a running gateway:
 * publishes are a 503 problem with Retry-After and their cause in the log,
 * WebSocket publishes get an error frame with their id, /health says so,
 * and the gateway carries on once the store works again.
 */
import assert from "node:assert/strict";
import { startGateway } from "../../gateway.ts";
import { describeError, type Logger } from "../../lib/log.ts";
import { postJson, tempDir, testConfig, topicPath } from "../helpers.ts";
import { nextFrame, openWs, readAll } from "./waku_client.ts";

const PS = "/waku/2/rs/0/0";

/** A logger that keeps its error lines. */
function capture(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (msg: string, fields?: Record<string, unknown>) =>
    lines.push(
      JSON.stringify({ msg, ...fields }, (_k, v) =>
        typeof v === "bigint" ? String(v) : v instanceof Error ? describeError(v) : v),
    );
  const nop = () => {};
  return { lines, debug: nop, info: nop, warn: keep, error: keep, enabled: () => false };
}

/** What failingKv fails: writes, reads, or the commits after the next `commitsLeft`. */
interface Failing {
  writes: boolean;
  reads: boolean;
  commitsLeft?: number;
}

/** KV whose commits (or reads) throw what SQLite says on an I/O error, while `failing` says so. */
function failingKv(kv: Deno.Kv, failing: Failing): Deno.Kv {
  const ioError = () => new TypeError("disk I/O error");
  return new Proxy(kv, {
    get(target, prop) {
      const v = Reflect.get(target, prop);
      if (prop === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () => {
            if (failing.commitsLeft !== undefined && failing.commitsLeft-- <= 0) {
              failing.writes = true;
            }
            return failing.writes ? Promise.reject(ioError()) : commit();
          };
          return op;
        };
      }
      if (prop === "list" || prop === "get" || prop === "getMany") {
        return (...args: unknown[]) => {
          if (failing.reads) throw ioError();
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

Deno.test("e2e: a failing store answers 503 with Retry-After and logs the cause; the gateway recovers", async () => {
  const { dir, cleanup } = await tempDir();
  const log = capture();
  const gw = await startGateway(testConfig(`${dir}/f.kv`), log);
  const failing: Failing = { writes: false, reads: false };
  gw.deps.store.kv = failingKv(gw.deps.store.kv, failing);
  const url = `${gw.url}/relay/v1/messages/${topicPath(PS)}`;
  const msg = { payload: "AA==", contentTopic: "/x", timestamp: "1732000000000000000" };
  try {
    assert.equal((await postJson(url, msg)).status, 200);
    failing.writes = true;
    const r = await postJson(url, { ...msg, timestamp: "1732000000000000001" });
    assert.equal(r.status, 503);
    assert.equal(r.headers.get("content-type"), "application/problem+json");
    assert.equal(r.headers.get("retry-after"), "1");
    assert.equal(r.body.type, "tag:syncgate,2026:unavailable");
    const id = r.headers.get("x-request-id")!;
    assert.match(r.body.detail as string, new RegExp(id));
    const line = log.lines.find((l) => l.includes(id));
    assert.ok(line, "the 503 is logged under its request id");
    assert.match(line, /disk I\/O error/, "with its cause");

    const ws = await openWs(`${gw.url.replace("http", "ws")}/relay/v1/ws?contentTopics=/none`);
    const reply = nextFrame(ws);
    ws.send(JSON.stringify({ type: "publish", id: "w1", pubsubTopic: PS, message: msg }));
    const f = await reply;
    assert.equal(f.type, "error");
    assert.equal(f.id, "w1");
    assert.equal((f.problem as { status: number }).status, 503);
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.ok(log.lines.some((l) => l.includes("w1") && l.includes("disk I/O error")));

    const health = await fetch(`${gw.url}/health`);
    assert.equal(health.status, 503);
    assert.equal((await health.json()).kv, "error");
    // Reads still work while writes fail; when reads fail too, they are 503 as well.
    assert.equal((await fetch(`${gw.url}/store/v3/messages`)).status, 200);
    failing.reads = true;
    const read = await fetch(`${gw.url}/store/v3/messages?pubsubTopic=${topicPath(PS)}`);
    assert.equal(read.status, 503);
    await read.body?.cancel();

    failing.writes = failing.reads = false;
    assert.equal((await postJson(url, { ...msg, timestamp: "1732000000000000002" })).status, 200);
    ws.close();
  } finally {
    failing.writes = failing.reads = false;
    await gw.close();
    await cleanup();
  }
});

Deno.test("e2e: a bulk whose commits fail part-way says which messages it stored, and those go out live", async () => {
  const { dir, cleanup } = await tempDir();
  const gw = await startGateway(testConfig(`${dir}/p.kv`), capture());
  const failing: Failing = { writes: false, reads: false };
  gw.deps.store.kv = failingKv(gw.deps.store.kv, failing);
  try {
    const ws = await openWs(
      `${gw.url.replace("http", "ws")}/relay/v1/ws?pubsubTopic=${topicPath(PS)}`,
    );
    const live: string[] = [];
    ws.onmessage = (e) => live.push(JSON.parse(e.data).messageHash);
    // 60 messages of 20 KB take several commits; the second one fails, and every later one.
    const items = Array.from({ length: 60 }, (_, i) => ({
      payload: new Uint8Array(20_000).fill(i).toBase64(),
      contentTopic: "/x",
      timestamp: String(1_732_000_000_000_000_000n + BigInt(i)),
    }));
    failing.commitsLeft = 1;
    const r = await postJson(`${gw.url}/relay/v1/bulk?pubsubTopic=${topicPath(PS)}`, items);
    failing.writes = false;
    failing.commitsLeft = undefined;
    assert.equal(r.status, 503);
    const stored = r.body.storedHashes as string[];
    assert.equal(r.body.stored, stored.length);
    assert.ok(stored.length > 0 && stored.length < 60, `${stored.length} stored`);
    assert.match(
      r.body.detail as string,
      new RegExp(`^${stored.length} of 60 messages were stored`),
    );
    const inStore = (await readAll(gw.url, PS)).map((e) => e.messageHash);
    assert.deepEqual(inStore.sort(), [...stored].sort());
    await new Promise((res) => setTimeout(res, 100));
    assert.deepEqual(live.sort(), [...stored].sort(), "live: exactly what was stored");
    ws.close();
  } finally {
    await gw.close();
    await cleanup();
  }
});
