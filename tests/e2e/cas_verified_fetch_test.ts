/**
 * An independent IPFS client fetches from the gateway and verifies what it
 * gets: @helia/verified-fetch (tests/e2e/verified_fetch_client.ts, a
 * process of its own) with the gateway as its only trustless gateway. A
 * proxy that changes one byte of the gateway's answers makes it refuse the
 * content.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { withGateway } from "../helpers.ts";
import { Rng } from "../protocols/waku/fuzz_util.ts";
import { addContent } from "./cas_client.ts";

const CLIENT = new URL("./verified_fetch_client.ts", import.meta.url).pathname;
const ROOT = new URL("../..", import.meta.url).pathname;

interface Fetched {
  cid: string;
  status?: number;
  size?: number;
  sha256?: string;
  error?: string;
}

/** Runs verified-fetch against `gateway` for each CID. */
async function verifiedFetch(
  gateway: string,
  cids: string[],
  timeoutMs = 20_000,
): Promise<Fetched[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env",
      "--allow-sys",
      "--allow-ffi",
      CLIENT,
      `--timeout-ms=${timeoutMs}`,
      gateway,
      ...cids,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `verified-fetch failed: ${new TextDecoder().decode(out.stderr)}`);
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

Deno.test("e2e CAS: @helia/verified-fetch fetches and verifies content from the gateway", async () => {
  await withGateway({}, async (gw) => {
    const rng = new Rng(61);
    const blobs = [new Uint8Array(), new TextEncoder().encode("hello world\n"), rng.bytes(1 << 20)];
    const cids: string[] = [];
    for (const b of blobs) cids.push((await addContent(gw.url, b)).body.cid as string);
    const got = await verifiedFetch(gw.url, cids);
    for (const [i, b] of blobs.entries()) {
      assert.deepEqual(got[i], { cid: cids[i], status: 200, size: b.length, sha256: sha256(b) });
    }
    // Helia takes blocks of at most 2 MiB (as bitswap does): a larger raw block is refused.
    const big = (await addContent(gw.url, rng.bytes(3 << 20))).body.cid as string;
    const [refused] = await verifiedFetch(gw.url, [big], 3000);
    assert.ok(refused.error !== undefined || refused.status !== 200, JSON.stringify(refused));
  });
});

Deno.test("e2e CAS: verified-fetch refuses a block that a proxy changed", async () => {
  await withGateway({}, async (gw) => {
    const data = new Rng(62).bytes(5_000);
    const cid = (await addContent(gw.url, data)).body.cid as string;
    let tampered = 0;
    const proxy = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (req) => {
        const url = new URL(req.url);
        const res = await fetch(gw.url + url.pathname + url.search, { headers: req.headers });
        const body = await res.bytes();
        if (res.ok && body.length > 0) {
          body[body.length - 1] ^= 1;
          tampered++;
        }
        return new Response(body, { status: res.status, headers: res.headers });
      },
    );
    try {
      // A refused block leaves the client nothing to do but wait for another provider.
      const [got] = await verifiedFetch(`http://127.0.0.1:${proxy.addr.port}`, [cid], 3000);
      assert.ok(tampered > 0, "the client asked the proxy");
      assert.notEqual(got.sha256, sha256(data.map((b, i) => i === data.length - 1 ? b ^ 1 : b)));
      assert.ok(got.error !== undefined || got.status !== 200, JSON.stringify(got));
    } finally {
      await proxy.shutdown();
    }
  });
});
