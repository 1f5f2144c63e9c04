/**
 * A second process for lease_test.ts: holds lease `name` on the KV file at
 * `path` under runUnderLease until it is killed, and prints `held <holder>
 * <fence>` once its job first runs.
 *
 * Usage: deno run --allow-read --allow-write tests/storage/lease_holder.ts PATH NAME TTL_MS
 */
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { runUnderLease } from "../../services/exclusive_job.ts";
import { openStore } from "../../storage/kv.ts";

const [path, name, ttl] = Deno.args;
const store = await openStore(path, createMetrics());
let announced = false;
const job = runUnderLease(store, {
  name,
  ttlMs: Number(ttl),
  intervalMs: 20,
  log: createLogger("warn"),
  job: (_signal, fence) => {
    if (announced) return;
    announced = true;
    console.log(`held ${job.holder} ${fence}`);
  },
});
job.start();
