import assert from "node:assert/strict";
import { Lease, readLease } from "../../storage/lease.ts";
import { withTwoStores } from "./two_stores.ts";

/** Polls `cond` until it holds; fails after `timeoutMs` (a bound, not a timing under test). */
async function until(cond: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`Condition not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("a lease has one holder; release lets another acquire at once", async () => {
  await withTwoStores(async (sa, sb) => {
    // A TTL of a minute: nothing in this test can lapse.
    const a = new Lease(sa, "job", { ttlMs: 60_000 });
    const b = new Lease(sb, "job", { ttlMs: 60_000 });
    assert.equal(await a.acquire(), true);
    assert.equal(await b.acquire(), false);
    assert.equal(b.held, false);
    assert.equal(await a.renew(), true);
    assert.equal(await a.acquire(), true, "acquiring a held lease extends it");
    assert.equal(a.held, true);
    assert.equal(a.fence, 1);
    assert.equal((await readLease(sb, "job"))?.holder, a.holder);

    assert.equal(await a.release(), true);
    assert.equal(await b.acquire(), true);
    assert.equal(b.fence, 2);
    assert.equal(await a.renew(), false);
    assert.equal(await a.acquire(), false);
    assert.equal(await a.release(), false, "a lost lease is not released");
    assert.equal((await readLease(sa, "job"))?.holder, b.holder);

    assert.equal(await b.release(), true);
    assert.deepEqual(
      { ...(await readLease(sa, "job")), expiresAt: 0 },
      { holder: null, expiresAt: 0, ttlMs: 60_000, fence: 2 },
      "the fence outlives a release",
    );
    assert.equal(await a.acquire(), true);
    assert.equal(a.fence, 3);
    assert.equal(await readLease(sa, "other"), undefined);
  });
});

Deno.test("of many concurrent acquires, exactly one wins", async () => {
  await withTwoStores(async (sa, sb) => {
    const leases = Array.from(
      { length: 12 },
      (_, i) => new Lease(i % 2 ? sa : sb, "job", { ttlMs: 60_000 }),
    );
    const won = await Promise.all(leases.map((l) => l.acquire()));
    assert.equal(won.filter(Boolean).length, 1);
    assert.equal((await readLease(sa, "job"))?.holder, leases[won.indexOf(true)].holder);
  });
});

Deno.test("a holder that stops renewing is taken over after its TTL", async () => {
  await withTwoStores(async (sa, sb) => {
    const a = new Lease(sa, "job", { ttlMs: 400 });
    const b = new Lease(sb, "job", { ttlMs: 400 });
    assert.equal(await a.acquire(), true);
    assert.equal(await b.acquire(), false, "not before its TTL");
    await until(() => b.acquire());
    assert.equal(b.fence, 2);
    assert.equal(a.held, false, "the holder's own clock says its tenure is over");
    assert.equal(await a.renew(), false, "the old holder learns it lost the lease");
  });
});

Deno.test("a dead holder whose clock ran ahead is taken over by watching for a TTL", async () => {
  await withTwoStores(async (sa, sb) => {
    // Its expiresAt is an hour in b's future: only b's own watch can free the lease.
    const a = new Lease(sa, "job", { ttlMs: 400, now: () => Date.now() + 3_600_000 });
    const b = new Lease(sb, "job", { ttlMs: 400 });
    assert.equal(await a.acquire(), true);
    assert.equal(await b.acquire(), false);
    await until(() => b.acquire());
    assert.equal(await a.renew(), false);
  });
});

Deno.test("clock skew within the bound is tolerated; beyond it the holder loses at renewal", async () => {
  await withTwoStores(async (sa, sb) => {
    const a = new Lease(sa, "job", { ttlMs: 10_000 });
    assert.equal(await a.acquire(), true);
    // b's clock is 9.5 s ahead: the lease has 0.5 s left by it, within the 1 s bound.
    const near = new Lease(sb, "job", { ttlMs: 10_000, now: () => Date.now() + 9_500 });
    assert.equal(await near.acquire(), false);
    // c's clock is a minute ahead, against the stated assumption: it takes over...
    const far = new Lease(sb, "job", { ttlMs: 10_000, now: () => Date.now() + 60_000 });
    assert.equal(await far.acquire(), true);
    // ...and the holder finds out at its next renewal (and would stop its job).
    assert.equal(await a.renew(), false);
    assert.equal(a.held, false);
  });
});

Deno.test("a lease held by another process is taken over after it is killed", async () => {
  await withTwoStores(async (store, _unused, path) => {
    const ttlMs = 600;
    const script = new URL("./lease_holder.ts", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", script, path, "job", String(ttlMs)],
      cwd: new URL("../..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    try {
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let out = "";
      while (!/held (\S+) (\d+)\n/.test(out)) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`The holder process exited: ${out}`);
        out += value;
      }
      const [, holder, fence] = /held (\S+) (\d+)\n/.exec(out)!;
      const mine = new Lease(store, "job", { ttlMs });
      assert.equal((await readLease(store, "job"))?.holder, holder);
      assert.equal(await mine.acquire(), false);

      // The other process renews: its record changes while this one cannot take it.
      const first = await readLease(store, "job");
      await until(async () => (await readLease(store, "job"))!.expiresAt !== first!.expiresAt);
      assert.equal(await mine.acquire(), false);
      assert.equal((await readLease(store, "job"))?.holder, holder);

      child.kill("SIGKILL");
      await child.status;
      await until(() => mine.acquire());
      assert.equal(mine.fence, Number(fence) + 1);
      lines.releaseLock();
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      await child.stdout.cancel().catch(() => {});
    }
  });
});
