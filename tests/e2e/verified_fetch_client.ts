/**
 * An independent IPFS client for the CAS tests, run as its own process:
 * @helia/verified-fetch with one trustless gateway, fetching each CID given
 * and printing one JSON line per CID: `{cid, status, size, sha256}` or
 * `{cid, error}`.
 *
 *   deno run --allow-net --allow-read --allow-env --allow-sys --allow-ffi \
 *     tests/e2e/verified_fetch_client.ts [--timeout-ms=N] <gateway URL> <cid>…
 *
 * Why a process of its own: importing verified-fetch loads libp2p's WebRTC
 * transport, whose native addon (node-datachannel) needs --allow-ffi, which
 * the test task does not grant. Why libp2p is left bare (no services,
 * transports or discovery): Helia asks its fallback routers (the trustless
 * gateways given) only after its libp2p router has finished, and libp2p's
 * DHT client, with no peers on an offline machine, finishes only when the
 * request is aborted.
 */
import { createHash } from "node:crypto";
import { createVerifiedFetch } from "@helia/verified-fetch";

const timeoutArg = Deno.args[0]?.match(/^--timeout-ms=(\d+)$/);
const [gateway, ...cids] = Deno.args.slice(timeoutArg ? 1 : 0);
const timeoutMs = timeoutArg ? Number(timeoutArg[1]) : 20_000;
const vf = await createVerifiedFetch({
  gateways: [gateway],
  routers: [],
  allowLocal: true,
  allowInsecure: true,
  libp2pConfig: { services: {}, peerDiscovery: [], transports: [], addresses: { listen: [] } },
});
try {
  for (const cid of cids) {
    try {
      const res = await vf(`ipfs://${cid}`, { signal: AbortSignal.timeout(timeoutMs) });
      const bytes = await res.bytes();
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      console.log(JSON.stringify({ cid, status: res.status, size: bytes.length, sha256 }));
    } catch (e) {
      console.log(JSON.stringify({ cid, error: String(e) }));
    }
  }
} finally {
  await vf.stop();
}
// Something under libp2p keeps the event loop alive after stop(); the answers are out.
Deno.exit(0);
