/**
 * A real gateway process on a temp KV: what it acknowledged survives a clean
 * restart and a crash (SIGKILL right after the answers).
 */
import assert from "node:assert/strict";
import {
  b64,
  GATEWAY_PERMISSIONS,
  postJson,
  spawnGateway,
  tempDir,
  topicPath,
} from "../helpers.ts";
import { readAll } from "./waku_client.ts";

const PS = "/waku/2/rs/0/0";

const allHashes = async (url: string) => (await readAll(url, PS)).map((e) => e.messageHash);

Deno.test("e2e: acknowledged messages survive a clean restart and a crash", async () => {
  const { dir, cleanup } = await tempDir();
  const env = { SYNCGATE_KV: `${dir}/gw.kv` };
  try {
    let gw = await spawnGateway(env);
    const acked: string[] = [];
    // 40 concurrent single publishes, then a bulk of 300.
    const singles = await Promise.all(
      Array.from(
        { length: 40 },
        (_, i) =>
          postJson(`${gw.url}/relay/v1/messages/${topicPath(PS)}`, {
            payload: b64(`single ${i}`),
            contentTopic: "/app/1/chat/proto",
            timestamp: 1_732_000_000_000_000_000n + BigInt(i) + "",
          }),
      ),
    );
    for (const r of singles) {
      assert.equal(r.status, 200);
      acked.push(r.body.messageHash as string);
    }
    const bulk = await postJson(
      `${gw.url}/relay/v1/bulk?pubsubTopic=${topicPath(PS)}`,
      Array.from(
        { length: 300 },
        (_, i) => ({ payload: b64(`bulk ${i}`), contentTopic: "/app/1/bulk/proto" }),
      ),
    );
    assert.equal(bulk.status, 200);
    assert.equal(bulk.body.stored, 300);
    acked.push(...bulk.body.messageHashes as string[]);

    assert.equal((await gw.stop()).code, 0, "SIGTERM closes cleanly");
    gw = await spawnGateway(env);
    assert.deepEqual(new Set(await allHashes(gw.url)), new Set(acked));

    // Crash right after acknowledgements.
    const more = await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) =>
          postJson(`${gw.url}/relay/v1/messages/${topicPath(PS)}`, {
            payload: b64(`before crash ${i}`),
            contentTopic: "/app/1/chat/proto",
          }),
      ),
    );
    for (const r of more) acked.push(r.body.messageHash as string);
    const status = await gw.kill();
    assert.equal(status.signal, "SIGKILL");

    gw = await spawnGateway(env);
    // The first requests after the restart: every acknowledged hash is a valid cursor, and is
    // found by `hashes`, with no wait for any background work.
    const asCursors = await Promise.all(
      acked.map((h) => fetch(`${gw.url}/store/v3/messages?cursor=${h}&pageSize=1`)),
    );
    for (const r of asCursors) {
      assert.equal(r.status, 200);
      await r.body?.cancel();
    }
    const named = acked.slice(-50);
    const byHash = await (await fetch(
      `${gw.url}/store/v3/messages?hashes=${named.join(",")}&pageSize=100`,
    )).json();
    assert.deepEqual(
      new Set(byHash.messages.map((m: { messageHash: string }) => m.messageHash)),
      new Set(named),
    );
    const after = await allHashes(gw.url);
    assert.equal(after.length, acked.length, "each message exactly once");
    assert.deepEqual(new Set(after), new Set(acked));
    await gw.stop();
  } finally {
    await cleanup();
  }
});

/** Runs main.ts to its end; its exit code and stderr. */
async function runMain(args: string[]): Promise<{ code: number; err: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...GATEWAY_PERMISSIONS, "main.ts", ...args],
    cwd: new URL("../..", import.meta.url).pathname,
    env: { SYNCGATE_KV: ":memory:" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, err: new TextDecoder().decode(out.stderr) };
}

Deno.test("e2e: invalid configuration stops the gateway at start with a message naming the setting", async () => {
  const { code, err } = await runMain(["--port", "99999"]);
  assert.equal(code, 2);
  assert.match(err, /SYNCGATE_PORT/);
  assert.ok(!/\n\s+at /.test(err), "no stack trace");
});

Deno.test("e2e: a port in use is one line naming it, and exit code 2", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const { code, err } = await runMain([`--port=${taken.addr.port}`]);
    assert.equal(code, 2);
    assert.equal(err.trim().split("\n").length, 1, err);
    assert.match(err, new RegExp(`127\\.0\\.0\\.1:${taken.addr.port} is in use`));
  } finally {
    taken.close();
  }
});
