import assert from "node:assert/strict";
import { ConflictError, UnavailableError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { type ExclusiveJob, runUnderLease } from "../../services/exclusive_job.ts";
import { openStore, type Store } from "../../storage/kv.ts";
import { Lease, readLease } from "../../storage/lease.ts";
import { tempDir } from "../helpers.ts";

const log = createLogger("silent");

/** `n` handles on one KV file: as `n` processes sharing it. */
async function withStores(n: number, fn: (stores: Store[], path: string) => Promise<void>) {
  const { dir, cleanup } = await tempDir();
  const path = `${dir}/jobs.kv`;
  const stores = await Promise.all(
    Array.from({ length: n }, () => openStore(path, createMetrics())),
  );
  try {
    await fn(stores, path);
  } finally {
    for (const s of stores) {
      try {
        s.kv.close();
      } catch { /* closed by the test */ }
    }
    await cleanup();
  }
}

/** Polls `cond` until it holds; fails after `timeoutMs` (a bound, not a timing under test). */
async function until(cond: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`Condition not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits `ms`, or less if `signal` aborts. */
const pause = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

Deno.test("exactly one process runs the job at a time across many handovers", async () => {
  await withStores(3, async (stores, path) => {
    let active = 0;
    let maxActive = 0;
    const ranBy: string[] = [];
    const make = (store: Store) => {
      const job: ExclusiveJob = runUnderLease(store, {
        name: "retention",
        ttlMs: 600,
        intervalMs: 2,
        log,
        job: async (signal) => {
          active++;
          maxActive = Math.max(maxActive, active);
          ranBy.push(job.holder);
          await pause(5, signal);
          active--;
        },
      });
      job.start();
      return job;
    };
    const jobs = stores.map(make);
    const gone: ExclusiveJob[] = [];
    try {
      for (let round = 0; round < 8; round++) {
        let i: number;
        await until(() => (i = jobs.findIndex((j) => j.holding)) >= 0);
        const before = jobs[i!].runs;
        await until(() => jobs[i!].runs >= before + 3);
        gone.push(jobs[i!]);
        if (round % 2 === 0) {
          // The holder shuts down cleanly, releasing the lease.
          await jobs[i!].stop();
        } else {
          // The holder loses its store without releasing: others wait out the TTL.
          stores[i!].kv.close();
          stores[i!] = await openStore(path, createMetrics());
        }
        jobs[i!] = make(stores[i!]);
      }
    } finally {
      await Promise.all([...jobs, ...gone].map((j) => j.stop()));
    }
    assert.equal(maxActive, 1);
    const tenures = ranBy.filter((h, i) => h !== ranBy[i - 1]);
    assert.ok(tenures.length >= 8, `${tenures.length} tenures`);
    assert.equal(new Set(tenures).size, tenures.length, "a holder that left never ran again");
  });
});

Deno.test("stop waits for the running job, then releases the lease for another at once", async () => {
  await withStores(2, async ([sa, sb]) => {
    let running = false;
    const opts = {
      name: "indexer",
      ttlMs: 60_000, // nothing lapses: a takeover can only come from the release
      intervalMs: 5,
      log,
      job: async (signal: AbortSignal) => {
        running = true;
        await pause(50, signal);
        await pause(20); // finishing up after the abort
        running = false;
      },
    };
    const a = runUnderLease(sa, opts);
    a.start();
    await until(() => running);
    await a.stop();
    assert.equal(running, false, "stop returned after the job did");
    assert.equal(a.holding, false);
    assert.equal((await readLease(sb, "indexer"))?.holder, null);
    await a.stop(); // twice is fine

    const b = runUnderLease(sb, opts);
    b.start();
    try {
      await until(() => b.runs > 0);
    } finally {
      await b.stop();
    }
  });
});

Deno.test("a holder that finds its lease taken aborts its job at once", async () => {
  await withStores(2, async ([sa, sb]) => {
    const reasons: unknown[] = [];
    let started = 0;
    const a = runUnderLease(sa, {
      name: "ticker",
      // Long enough that a renewal late under a loaded machine (CI) is not what ends the job.
      ttlMs: 3_000,
      intervalMs: 5,
      log,
      job: async (signal) => {
        started++;
        await pause(60_000, signal);
        reasons.push(signal.reason);
      },
    });
    a.start();
    try {
      await until(() => started === 1);
      // A process whose clock is an hour ahead (against the stated assumption) takes over.
      const intruder = new Lease(sb, "ticker", { ttlMs: 60_000, now: () => Date.now() + 3.6e6 });
      assert.equal(await intruder.acquire(), true);
      await until(() => reasons.length === 1);
      assert.ok(reasons[0] instanceof ConflictError, String(reasons[0]));
      assert.equal(a.holding, false);
      assert.equal(started, 1, "not run again while another holds the lease");
      // Once the intruder lets go, the service takes the lease again and runs the job.
      await intruder.release();
      await until(() => started === 2);
    } finally {
      await a.stop();
    }
  });
});

Deno.test("a job still running when its lease is lost is not run twice in one process", async () => {
  await withStores(2, async ([sa, sb]) => {
    let active = 0;
    let maxActive = 0;
    let started = 0;
    const a = runUnderLease(sa, {
      name: "slow",
      ttlMs: 300,
      intervalMs: 1,
      log,
      job: async () => {
        // Ignores its signal, and runs longer than the TTL (renewals keep the lease).
        started++;
        active++;
        maxActive = Math.max(maxActive, active);
        await pause(700);
        active--;
      },
    });
    a.start();
    try {
      await until(() => started === 1);
      const intruder = new Lease(sb, "slow", { ttlMs: 60_000, now: () => Date.now() + 3.6e6 });
      assert.equal(await intruder.acquire(), true);
      await until(() => !a.holding);
      await intruder.release(); // free again while the first run still goes on
      await until(() => started === 2);
      assert.equal(maxActive, 1);
    } finally {
      await a.stop();
    }
  });
});

Deno.test("a holder whose store fails stops its job, and another takes over after the TTL", async () => {
  await withStores(2, async ([sa, sb]) => {
    const reasons: unknown[] = [];
    const a = runUnderLease(sa, {
      name: "reconnect",
      ttlMs: 450,
      intervalMs: 5,
      log,
      job: async (signal) => {
        await pause(60_000, signal);
        reasons.push(signal.reason);
      },
    });
    a.start();
    await until(() => a.holding);
    const b = runUnderLease(sb, { name: "reconnect", ttlMs: 450, intervalMs: 5, log, job() {} });
    b.start();
    try {
      sa.kv.close(); // a's process can no longer reach the store
      await until(() => reasons.length === 1);
      assert.ok(reasons[0] instanceof UnavailableError, String(reasons[0]));
      await until(() => b.runs > 0);
      assert.equal((await readLease(sb, "reconnect"))?.holder, b.holder);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
