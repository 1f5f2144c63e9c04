/**
 * The NS over a real KV file, with records made by the `ipns` package: the
 * highest sequence wins, every refusal leaves the current record, racing
 * writers (forced to interleave at the commit) end with the highest, two
 * processes agree, and names resolve to CAS content.
 */
import assert from "node:assert/strict";
import {
  ConflictError,
  InvalidInputError,
  NotFoundError,
  TooLargeError,
} from "../../lib/errors.ts";
import { NsService } from "../../services/ns_service.ts";
import type { Store } from "../../storage/kv.ts";
import { nameOf, newKey, record, VALUE } from "../protocols/ns/ipns_fixtures.ts";
import { bytesOf, readAll, streamOf, withBlobs } from "../storage/blob_fixtures.ts";
import { hookedStore, type PendingCommit } from "../storage/hooked_store.ts";
import { withTwoStores } from "../storage/two_stores.ts";
import { BlobStore } from "../../storage/blob_store.ts";

const sequenceOf = async (ns: NsService, name: string) => (await ns.get(name)).sequence;

Deno.test("NsService stores a record byte for byte, in any name form, and resolves it", async () => {
  await withBlobs(async (env) => {
    const ns = new NsService(env.store, env.blobs);
    const key = await newKey();
    const bytes = await record(key, 3, { ttlNs: 120_000_000_000n });
    const put = await ns.put(key.publicKey.toString(), bytes); // a 12D3KooW… peer id
    assert.equal(put.name, nameOf(key));
    assert.equal(put.sequence, 3n);
    assert.equal(put.changed, true);
    const got = await ns.get(nameOf(key));
    assert.deepEqual(got.bytes, bytes);
    assert.equal(got.name, nameOf(key));
    const resolved = await ns.resolve(nameOf(key));
    assert.deepEqual(resolved, {
      name: nameOf(key),
      value: VALUE,
      ttlSeconds: 120,
      sequence: 3n,
      validity: got.validity,
    });
    assert.equal((await ns.put(nameOf(key), bytes)).changed, false, "the same record again");
    await assert.rejects(ns.get(nameOf(await newKey())), NotFoundError);
    await assert.rejects(ns.get("nope"), InvalidInputError);
  });
});

Deno.test("NsService: a higher sequence replaces; a lower one is a conflict and the current stays", async () => {
  await withBlobs(async (env) => {
    const ns = new NsService(env.store, env.blobs);
    const key = await newKey();
    const name = nameOf(key);
    await ns.put(name, await record(key, 5));
    await ns.put(name, await record(key, 7));
    const seven = (await ns.get(name)).bytes;
    await assert.rejects(
      ns.put(name, await record(key, 6)),
      (e: Error) => e instanceof ConflictError && /Sequence 6 is lower than .* 7/.test(e.message),
    );
    // An equal sequence wins only with a later validity (a republish), else it is refused.
    await assert.rejects(ns.put(name, await record(key, 7, { lifetimeMs: 60_000 })), ConflictError);
    assert.deepEqual((await ns.get(name)).bytes, seven);
    const republished = await record(key, 7, { lifetimeMs: 7_200_000 });
    assert.equal((await ns.put(name, republished)).changed, true);
    assert.deepEqual((await ns.get(name)).bytes, republished);
  });
});

Deno.test("NsService: forged, expired, foreign and oversized records are refused; the current stays", async () => {
  await withBlobs(async (env) => {
    const ns = new NsService(env.store, env.blobs);
    const key = await newKey();
    const name = nameOf(key);
    const current = await record(key, 1);
    await ns.put(name, current);
    const forged = new Uint8Array(await record(key, 9));
    forged[forged.length - 1] ^= 1; // the last byte of data
    const refusals: [Uint8Array, (e: unknown) => boolean][] = [
      [forged, (e) => (e as InvalidInputError).code === "ipns-signature-invalid"],
      [
        await record(key, 9, { expiration: "2001-01-01T00:00:00Z" }),
        (e) => (e as InvalidInputError).code === "ipns-record-expired",
      ],
      [await record(await newKey(), 9), (e) => e instanceof InvalidInputError],
      [new Uint8Array(10 * 1024 + 1), (e) => e instanceof TooLargeError],
      [
        new Uint8Array([0xff, 0xff]),
        (e) => (e as InvalidInputError).code === "ipns-record-malformed",
      ],
    ];
    for (const [bytes, check] of refusals) await assert.rejects(ns.put(name, bytes), check);
    assert.deepEqual((await ns.get(name)).bytes, current);
    const small = new NsService(env.store, env.blobs, { maxRecordBytes: 100 });
    await assert.rejects(small.put(name, await record(key, 2)), TooLargeError);
  });
});

/**
 * Two writers of one name (two services, as two processes would be), both
 * reading the empty name before either commits; `first` commits first.
 */
async function race(
  store: Store,
  blobs: BlobStore,
  first: Uint8Array,
  second: Uint8Array,
  name: string,
) {
  const isNs = (c: PendingCommit) => c.sets.some((k) => k[0] === "ns");
  let secondArrived!: () => void;
  const arrived = new Promise<void>((r) => secondArrived = r);
  const pending: { first?: Promise<unknown> } = {};
  const commits = { first: 0, second: 0 };
  const a = new NsService(
    hookedStore(store, {
      beforeCommit: async (c) => {
        if (isNs(c) && commits.first++ === 0) await arrived;
      },
    }),
    blobs,
  );
  const b = new NsService(
    hookedStore(store, {
      beforeCommit: async (c) => {
        if (!isNs(c) || commits.second++ > 0) return;
        secondArrived();
        await pending.first?.catch(() => {});
      },
    }),
    blobs,
  );
  pending.first = a.put(name, first);
  const results = await Promise.allSettled([pending.first, b.put(name, second)]);
  return { results, commits };
}

Deno.test("NsService: PUTs of 5 and 6 racing end with 6, in either order, each decided once", async () => {
  for (const firstSequence of [5, 6]) {
    await withBlobs(async (env) => {
      const key = await newKey();
      const name = nameOf(key);
      const [five, six] = [await record(key, 5), await record(key, 6)];
      const [first, second] = firstSequence === 5 ? [five, six] : [six, five];
      const { results, commits } = await race(env.store, env.blobs, first, second, name);
      assert.equal(results[0].status, "fulfilled");
      if (firstSequence === 5) {
        // 6 finds 5 on its retry and replaces it.
        assert.equal(results[1].status, "fulfilled");
        assert.equal(commits.second, 2, "6 read again after 5 committed, and wrote");
      } else {
        // 5 finds 6 on its retry and is refused, writing nothing.
        assert.ok((results[1] as PromiseRejectedResult).reason instanceof ConflictError);
        assert.equal(commits.second, 1, "5 never committed");
      }
      assert.deepEqual((await new NsService(env.store, env.blobs).get(name)).bytes, six);
    });
  }
});

Deno.test("NsService: two processes on one KV file see and respect each other's records", async () => {
  await withTwoStores(async (a, b) => {
    const [nsA, nsB] = [new NsService(a, new BlobStore(a)), new NsService(b, new BlobStore(b))];
    const key = await newKey();
    const name = nameOf(key);
    await nsA.put(name, await record(key, 1));
    assert.equal(await sequenceOf(nsB, name), 1n);
    await nsB.put(name, await record(key, 2));
    await assert.rejects(
      nsA.put(name, await record(key, 1, { lifetimeMs: 9_000_000 })),
      ConflictError,
    );
    assert.equal(await sequenceOf(nsA, name), 2n);
  });
});

Deno.test("NsService: an expired record stays readable but resolves to nothing", async () => {
  await withBlobs(async (env) => {
    const clock = { now: Date.now() };
    const ns = new NsService(env.store, env.blobs, { now: () => clock.now });
    const key = await newKey();
    const name = nameOf(key);
    await ns.put(name, await record(key, 1, { lifetimeMs: 60_000, ttlNs: 300_000_000_000n }));
    const { ttlSeconds } = await ns.resolve(name);
    assert.ok(ttlSeconds >= 59 && ttlSeconds <= 60, `the TTL, never past validity: ${ttlSeconds}`);
    clock.now += 61_000;
    await assert.rejects(
      ns.resolve(name),
      (e: Error) => e instanceof NotFoundError && /expired at/.test(e.message),
    );
    assert.equal((await ns.get(name)).sequence, 1n);
    await assert.rejects(
      ns.put(name, await record(key, 0)),
      ConflictError,
      "never back to a lower sequence",
    );
  });
});

Deno.test("NsService.content: a name's /ipfs/<cid> from the CAS, or NotFoundError saying why", async () => {
  await withBlobs(async (env) => {
    const ns = new NsService(env.store, env.blobs);
    const bytes = bytesOf(100_000, 7);
    const { cid } = await ns.cas.add(streamOf(bytes), { maxBytes: 1 << 20 });
    const key = await newKey();
    const name = nameOf(key);
    await ns.put(name, await record(key, 1, { value: `/ipfs/${cid.text}` }));
    const { resolved, stat } = await ns.content(name);
    assert.equal(resolved.value, `/ipfs/${cid.text}`);
    assert.deepEqual(await readAll(ns.cas.read(stat)), bytes);
    const cases: [string, RegExp][] = [
      [`/ipfs/${cid.text}/a.txt`, /serves \/ipfs\/<cid> alone/],
      [`/ipns/${name}`, /serves \/ipfs\/<cid> alone/],
      [
        "/ipfs/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
        /not in this gateway's CAS/,
      ],
      ["/ipfs/QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n", /dag-pb/],
    ];
    let seq = 2;
    for (const [value, why] of cases) {
      await ns.put(name, await record(key, seq++, { value }));
      await assert.rejects(
        ns.content(name),
        (e: Error) => e instanceof NotFoundError && why.test(e.message),
      );
    }
  });
});
