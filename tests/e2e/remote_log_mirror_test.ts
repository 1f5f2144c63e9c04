/**
 * Mirroring between two real gateways: the writer's gateway as its own
 * process, the mirror in this one, and between them a proxy of the test's
 * own that can fail requests or alter bodies, to play a network that drops
 * and a peer that lies.
 */
import assert from "node:assert/strict";
import { spawnGateway, tempDir, withGateway } from "../helpers.ts";

const enc = new TextEncoder();

/** A proxy to `target`: counts each path's successful answers; `mode` decides what it does. */
function proxy(target: () => string) {
  const served = new Map<string, number>();
  const state = {
    mode: "pass" as "pass" | "down" | "tamper-page" | "tamper-record",
    failAfter: Infinity,
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const u = new URL(req.url);
    const path = u.pathname + u.search;
    if (state.mode === "down" || state.failAfter <= 0) return new Response("away", { status: 503 });
    state.failAfter--;
    const res = await fetch(target() + path, { headers: req.headers }).catch(() => undefined);
    if (!res) return new Response("the writer's gateway is away", { status: 502 });
    let body = new Uint8Array(await res.arrayBuffer());
    const isRecord = u.pathname.startsWith("/routing/");
    if (
      (state.mode === "tamper-page" && !isRecord) || (state.mode === "tamper-record" && isRecord)
    ) {
      body = body.slice();
      body[body.length >> 1] ^= 1;
    }
    if (res.ok) served.set(u.pathname, (served.get(u.pathname) ?? 0) + 1);
    return new Response(body, { status: res.status, headers: res.headers });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    served,
    state,
    close: () => server.shutdown(),
  };
}

async function json(res: Response) {
  const text = await res.text();
  assert.ok(res.ok, `${res.status} ${text}`);
  return JSON.parse(text);
}

Deno.test("e2e mirror: follows a log across gateways, survives the writer going away mid-sync, refuses lies", async () => {
  const { dir, cleanup } = await tempDir();
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const writerEnv = { SYNCGATE_KV: `${dir}/writer.kv`, SYNCGATE_PORT: String(port) };
  let writer = await spawnGateway(writerEnv);
  const p = proxy(() => writer.url);
  try {
    const log = await json(
      await fetch(`${writer.url}/logs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ mode: "paged", pageSize: 2 }),
      }),
    );
    const append = (text: string) =>
      fetch(`${writer.url}/logs/${log.name}/entries`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${log.writeToken}`,
          "content-type": "application/octet-stream",
        },
        body: enc.encode(text),
      }).then(json);
    for (let i = 1; i <= 5; i++) await append(`first ${i}`);

    await withGateway({
      SYNCGATE_REMOTELOG_PEERS: p.url,
      SYNCGATE_REMOTELOG_MIRROR_INTERVAL: "3600",
    }, async (m) => {
      const follow = () =>
        fetch(`${m.url}/logs/${log.name}/mirror`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ from: p.url }),
        }).then(json);
      const texts = async () => {
        const got = await json(await fetch(`${m.url}/logs/${log.name}/entries?limit=1000`));
        return got.entries.map((e: { data: string }) => atob(e.data));
      };
      // Not a listed peer: refused, nothing fetched.
      const other = await fetch(`${m.url}/logs/${log.name}/mirror`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ from: writer.url }),
      });
      assert.equal(other.status, 400);
      assert.match((await other.json()).detail, /SYNCGATE_REMOTELOG_PEERS/);

      // The network drops after a few requests: the first sync stops half way.
      p.state.failAfter = 4;
      const partial = await follow();
      assert.equal(partial.sequence, "0");
      assert.match(partial.error, /503/);
      const missing = await fetch(`${m.url}/logs/${log.name}`);
      assert.equal(missing.status, 404, "nothing is published here until all of it is");
      await missing.body?.cancel();
      // It comes back: the next sync fetches only what is still missing.
      p.state.failAfter = Infinity;
      const done = await follow();
      assert.equal(done.sequence, "5");
      assert.equal(done.error, undefined);
      assert.deepEqual(await texts(), [1, 2, 3, 4, 5].map((i) => `first ${i}`));
      for (const [path, n] of p.served) {
        if (path.startsWith("/ipfs/")) assert.equal(n, 1, `${path} fetched once`);
      }
      // The record served here is the writer's, byte for byte.
      const mine = new Uint8Array(
        await (await fetch(`${m.url}/routing/v1/ipns/${log.name}`)).arrayBuffer(),
      );
      const theirs = new Uint8Array(
        await (await fetch(`${writer.url}/routing/v1/ipns/${log.name}`)).arrayBuffer(),
      );
      assert.deepEqual(mine, theirs);

      // The writer's gateway goes away: Bob still reads here.
      await writer.stop();
      assert.equal((await texts()).length, 5);
      const away = await follow();
      assert.match(away.error, /answered 502/);

      // It comes back with more entries; the mirror catches up, nothing twice.
      writer = await spawnGateway(writerEnv);
      for (let i = 1; i <= 3; i++) await append(`second ${i}`);
      const caught = await follow();
      assert.equal(caught.sequence, "8");
      assert.deepEqual(await texts(), [
        ...[1, 2, 3, 4, 5].map((i) => `first ${i}`),
        ...[1, 2, 3].map((i) => `second ${i}`),
      ]);

      // A peer that alters a page, or the record, is refused; what is here stays.
      await append("third 1");
      for (const mode of ["tamper-page", "tamper-record"] as const) {
        p.state.mode = mode;
        const refused = await follow();
        assert.equal(refused.sequence, "8", mode);
        assert.ok(refused.error, mode);
        assert.equal((await texts()).length, 8, mode);
      }
      p.state.mode = "pass";
      assert.equal((await follow()).sequence, "9");
    });
  } finally {
    await p.close();
    await writer.stop().catch(() => {});
    await cleanup();
  }
});
