/**
 * More than one process: two gateways on one KV file deliver each other's
 * live messages; on Deno Deploy (DENO_DEPLOYMENT_ID set) the gateway uses
 * Deno.openKv() and serves with Deno.serve alone.
 */
import assert from "node:assert/strict";
import { startGateway } from "../../gateway.ts";
import { createLogger } from "../../lib/log.ts";
import { b64, postJson, spawnGateway, tempDir, testConfig, topicPath } from "../helpers.ts";
import { openWs, readAll } from "./waku_client.ts";

const PS = "/waku/2/rs/0/0";

Deno.test("e2e: a subscriber on one gateway process gets what another on the same KV published", async () => {
  const { dir, cleanup } = await tempDir();
  const env = { SYNCGATE_KV: `${dir}/shared.kv`, SYNCGATE_LIVE_POLL_MS: "50" };
  const a = await spawnGateway(env);
  const b = await spawnGateway(env);
  try {
    const ws = await openWs(
      `${a.url.replace("http", "ws")}/relay/v1/ws?pubsubTopic=${topicPath(PS)}`,
    );
    const got: string[] = [];
    const all = new Promise<void>((resolve) => {
      ws.onmessage = (e) => {
        got.push(JSON.parse(e.data).messageHash);
        if (got.length === 20) resolve();
      };
    });
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await postJson(`${b.url}/relay/v1/messages/${topicPath(PS)}`, {
        payload: b64(`m${i}`),
        contentTopic: "/x",
        timestamp: String(1_732_000_000_000_000_000n + BigInt(i)),
      });
      sent.push(r.body.messageHash as string);
    }
    await all;
    assert.deepEqual(got, sent, "each once, in publish order");
    // And the store is one: each process reads what the other wrote.
    assert.equal((await readAll(a.url, PS)).length, 20);
    ws.close();
  } finally {
    await a.stop();
    await b.stop();
    await cleanup();
  }
});

Deno.test("e2e: with DENO_DEPLOYMENT_ID the gateway keeps its data in Deno.openKv() and has no front", async () => {
  const { dir, cleanup } = await tempDir();
  // Deno.openKv() without a path keeps its file in DENO_DIR: a fresh one for this test.
  const env = {
    DENO_DEPLOYMENT_ID: "test",
    DENO_DIR: dir,
    SYNCGATE_HEADER_TIMEOUT_MS: "200",
  };
  let gw = await spawnGateway(env);
  try {
    const r = await postJson(`${gw.url}/relay/v1/messages/${topicPath(PS)}`, {
      payload: b64("on deploy"),
      contentTopic: "/x",
    });
    assert.equal(r.status, 200);
    // No front: a request head left unfinished is not closed at the header timeout.
    const { port } = new URL(gw.url);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    await conn.write(new TextEncoder().encode("GET /health HTTP/1.1\r\nHost: x\r\n"));
    await new Promise((r) => setTimeout(r, 800));
    await conn.write(new TextEncoder().encode("\r\n"));
    const buf = new Uint8Array(64);
    const n = await conn.read(buf);
    assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 200/);
    conn.close();
    // A restart finds the message in the same default KV.
    await gw.stop();
    gw = await spawnGateway(env);
    const stored = await readAll(gw.url, PS, true);
    assert.deepEqual(stored.map((e) => atob(e.message!.payload)), ["on deploy"]);
  } finally {
    await gw.stop();
    await cleanup();
  }
});

Deno.test("e2e: with the front, an unfinished request head is closed at the header timeout", async () => {
  const { dir, cleanup } = await tempDir();
  const gw = await spawnGateway({ SYNCGATE_KV: `${dir}/f.kv`, SYNCGATE_HEADER_TIMEOUT_MS: "200" });
  try {
    const { port } = new URL(gw.url);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    await conn.write(new TextEncoder().encode("GET /health HTTP/1.1\r\nHost: x\r\n"));
    const answer = new TextDecoder().decode(await new Response(conn.readable).bytes());
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(answer, /application\/problem\+json/);
  } finally {
    await gw.stop();
    await cleanup();
  }
});

Deno.test("e2e: on Deploy, live events cross instances by BroadcastChannel", async () => {
  // Two gateways in one process stand for two Deploy isolates: with DENO_DEPLOYMENT_ID each
  // fans out through a BroadcastChannel (no KV feed is read), so what one publishes reaches a
  // subscriber of the other.
  const { dir, cleanup } = await tempDir();
  const env = { DENO_DEPLOYMENT_ID: "test" };
  const a = await startGateway(testConfig(`${dir}/shared.kv`, env), createLogger("silent"));
  const b = await startGateway(testConfig(`${dir}/shared.kv`, env), createLogger("silent"));
  try {
    const ws = await openWs(
      `${a.url.replace("http", "ws")}/relay/v1/ws?pubsubTopic=${topicPath(PS)}`,
    );
    const got = new Promise<string>((resolve) => {
      ws.onmessage = (e) => resolve(JSON.parse(e.data).messageHash);
    });
    const r = await postJson(`${b.url}/relay/v1/messages/${topicPath(PS)}`, {
      payload: b64("across isolates"),
      contentTopic: "/x",
    });
    assert.equal(await got, r.body.messageHash);
    ws.close();
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});
