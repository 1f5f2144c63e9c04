/**
 * RemoteLogService across processes: two handles on one KV file append to
 * the same log at once; every entry is kept once, and the state, the pages
 * and the published record agree.
 */
import assert from "node:assert/strict";
import { createMetrics } from "../../lib/metrics.ts";
import { LiveHub, LocalNotifier } from "../../services/live_hub.ts";
import { RemoteLogService } from "../../services/remote_log_service.ts";
import { BlobStore } from "../../storage/blob_store.ts";
import type { Store } from "../../storage/kv.ts";
import { hookedStore } from "../storage/hooked_store.ts";
import { withTwoStores } from "../storage/two_stores.ts";

const service = (store: Store) =>
  new RemoteLogService(
    store,
    new BlobStore(store),
    new LiveHub(new LocalNotifier(), createMetrics()),
    {
      maxEntryBytes: 1 << 20,
      recordLifetimeMs: 86_400_000,
      recordTtlMs: 60_000,
    },
  );
const body = (text: string) => new Blob([new TextEncoder().encode(text)]).stream();

Deno.test("remote log: two processes appending to one log at once lose nothing and agree", async () => {
  await withTwoStores(async (a, b) => {
    const [one, two] = [service(a), service(b)];
    const log = await one.create("paged", 3);
    await Promise.all([one, two].map(async (s, k) => {
      await Promise.all(
        Array.from(
          { length: 15 },
          (_, i) => s.append(log.name, log.writeToken, body(`p${k}-${i}`)),
        ),
      );
    }));
    // The record first: reading the log would publish it again if the appends had not.
    const record = await two.ns.resolve(log.name);
    const got = await two.entries(log.name, undefined, 1000);
    const texts = got.entries.map((e) => new TextDecoder().decode(e.data));
    assert.equal(texts.length, 30);
    assert.equal(new Set(texts).size, 30);
    const info = await one.info(log.name);
    assert.equal(info.count, 30);
    assert.equal(record.value, `/ipfs/${info.head!.text}`);
    assert.equal(record.sequence, info.sequence);
  });
});

Deno.test("remote log: appends batched against a remote KV's 10-check limit all land", async () => {
  await withTwoStores(async (store) => {
    const checks: number[] = [];
    const remote = {
      ...hookedStore(store, { beforeCommit: (c) => void checks.push(c.checks.length) }),
      limits: { ...store.limits, maxChecks: 10 },
    };
    const s = service(remote);
    const log = await s.create("paged", 50);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => s.append(log.name, log.writeToken, body(`r${i}`))),
    );
    assert.equal((await s.info(log.name)).count, 40);
    assert.ok(checks.every((n) => n <= 10), `a commit with ${Math.max(...checks)} checks`);
  });
});
