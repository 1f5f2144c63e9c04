import assert from "node:assert/strict";
import { InvalidInputError, NotFoundError, TooLargeError } from "../../lib/errors.ts";
import { CasService } from "../../services/cas_service.ts";
import { BlobStore } from "../../storage/blob_store.ts";
import {
  bytesOf,
  census,
  readAll,
  sha256Of,
  streamOf,
  withBlobs,
} from "../storage/blob_fixtures.ts";
import { hookedStore } from "../storage/hooked_store.ts";
import { withTwoStores } from "../storage/two_stores.ts";

const MiB = 1 << 20;
const casKeys = async (env: { store: { kv: Deno.Kv } }) =>
  (await Array.fromAsync(env.store.kv.list({ prefix: ["cas"] }))).length;

Deno.test("CasService adds content once: a CID, the same answer again, one entry, one reference", async () => {
  await withBlobs(async (env) => {
    const cas = new CasService(env.store, env.blobs);
    const bytes = bytesOf(200_000, 3);
    const first = await cas.add(streamOf(bytes), { maxBytes: MiB });
    assert.equal(first.created, true);
    assert.equal(first.size, bytes.length);
    assert.deepEqual(first.cid.digest, await sha256Of(bytes));
    assert.match(first.cid.text, /^bafkrei/);
    const again = await cas.add(streamOf(bytes, 999), { maxBytes: MiB });
    assert.equal(again.created, false);
    assert.equal(again.cid.text, first.cid.text);
    assert.equal(await env.blobs.references(first.cid.digest), 1);
    assert.equal(await casKeys(env), 1);
    const got = await cas.get(first.cid.text);
    assert.ok(got);
    assert.equal(got.size, bytes.length);
    assert.deepEqual(await readAll(got.stream), bytes);
  });
});

Deno.test("CasService reads by any address form, by range, and says what is missing or invalid", async () => {
  await withBlobs(async (env) => {
    const cas = new CasService(env.store, env.blobs);
    const bytes = bytesOf(150_000, 4);
    const { cid } = await cas.add(streamOf(bytes), { maxBytes: MiB });
    for (const address of [cid.text, cid.cid.bytes, cid.cid, cid]) {
      const stat = await cas.stat(address);
      assert.equal(stat?.size, bytes.length);
    }
    const part = await cas.get(cid, { start: 70_000, end: 130_000 });
    assert.equal(part?.start, 70_000);
    assert.equal(part?.end, 130_000);
    assert.deepEqual(await readAll(part!.stream), bytes.subarray(70_000, 130_001));
    await assert.rejects(cas.get(cid, { start: bytes.length }), RangeError);
    const absent = (await cas.add(streamOf(bytesOf(10, 9)), { maxBytes: MiB })).cid;
    assert.ok(await cas.stat(absent));
    const never = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
    assert.equal(await cas.stat(never), null);
    assert.equal(await cas.get(never), null);
    await assert.rejects(cas.require(never), NotFoundError);
    assert.throws(
      () => cas.address("nope", "path.cid"),
      (e: InvalidInputError) =>
        e instanceof InvalidInputError && e.field === "path.cid" && e.code === "invalid-cid",
    );
    assert.throws(
      () => cas.address("QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n"),
      (e: InvalidInputError) => e.code === "unsupported-cid" && /dag-pb/.test(e.message),
    );
    assert.equal(cas.address(cid.digest, "id", { bareDigest: true }).text, cid.text);
  });
});

Deno.test("CasService refuses content over maxBytes and keeps nothing of it", async () => {
  await withBlobs(async (env) => {
    const cas = new CasService(env.store, env.blobs);
    await assert.rejects(
      cas.add(streamOf(bytesOf(3 * MiB, 5), 64 * 1024), { maxBytes: MiB }),
      (e: TooLargeError) => e instanceof TooLargeError && e.limit === MiB,
    );
    assert.equal(await casKeys(env), 0);
    assert.deepEqual(await census(env.store), {}, "no blob, chunk or marker is left");
  });
});

Deno.test("CAS content survives the blob collector; unreferenced blobs of others do not", async () => {
  await withBlobs(async (env) => {
    const cas = new CasService(env.store, env.blobs);
    const { cid } = await cas.add(streamOf(bytesOf(100_000, 6)), { maxBytes: MiB });
    const loose = await env.blobs.put(streamOf(bytesOf(1000, 7)), { maxBytes: MiB });
    env.clock.now += 10 * 60 * 60 * 1000;
    const stats = await env.blobs.collect({ graceMs: 0 });
    assert.equal(stats.blobs, 1, "only the blob nothing referred to");
    assert.equal(await env.blobs.stat(loose.hash), null);
    const got = await cas.get(cid);
    assert.equal(got?.size, 100_000);
    assert.equal((await readAll(got!.stream)).length, 100_000);
  });
});

Deno.test("two CasServices in two processes' views of one KV agree, also adding the same content at once", async () => {
  await withTwoStores(async (a, b) => {
    const casA = new CasService(a, new BlobStore(a));
    const casB = new CasService(b, new BlobStore(b));
    const bytes = bytesOf(500_000, 8);
    const results = await Promise.all([
      casA.add(streamOf(bytes, 30_000), { maxBytes: MiB }),
      casB.add(streamOf(bytes, 70_000), { maxBytes: MiB }),
      casA.add(streamOf(bytes, 50_000), { maxBytes: MiB }),
    ]);
    assert.equal(new Set(results.map((r) => r.cid.text)).size, 1);
    assert.equal(results.filter((r) => r.created).length, 1, "one add created it");
    assert.equal(await new BlobStore(a).references(results[0].cid.digest), 1, "one reference");
    for (const cas of [casA, casB]) {
      const got = await cas.get(results[0].cid.text);
      assert.deepEqual(await readAll(got!.stream), bytes);
    }
  });
});

Deno.test("an aborted add stops, throws the reason, and keeps nothing", async () => {
  await withBlobs(async (env) => {
    const cas = new CasService(env.store, env.blobs);
    const controller = new AbortController();
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        sent += 64 * 1024;
        if (sent > 2 * MiB) controller.abort(new Error("client went away"));
        c.enqueue(new Uint8Array(64 * 1024).fill(1));
      },
    }, { highWaterMark: 0 });
    await assert.rejects(
      cas.add(body, { maxBytes: 64 * MiB, signal: controller.signal }),
      /client went away/,
    );
    assert.equal(await casKeys(env), 0);
    assert.deepEqual(await census(env.store), {});
  });
});

Deno.test("CasService: small adds at once share commits; each gets its own outcome, a repeat once", async () => {
  await withTwoStores(async (store) => {
    let commits = 0;
    const counted = hookedStore(store, { beforeCommit: () => void commits++ });
    const cas = new CasService(counted, new BlobStore(counted));
    const body = (text: string) => new Blob([new TextEncoder().encode(text)]).stream();
    const texts = Array.from({ length: 50 }, (_, i) => `small ${i}`);
    const added = await Promise.all(
      [...texts, "small 7", "small 7"].map((t) => cas.add(body(t), { maxBytes: 1024 })),
    );
    assert.ok(commits < 10, `${commits} commits for 52 adds`);
    assert.equal(added.filter((a) => a.created).length, 50, "each content created once");
    assert.equal(added[50].cid.text, added[7].cid.text);
    for (const [i, t] of texts.entries()) {
      const got = await cas.get(added[i].cid);
      assert.equal(new TextDecoder().decode(await new Response(got!.stream).arrayBuffer()), t);
    }
    // Added again later: not created, same address.
    const again = await cas.add(body("small 3"), { maxBytes: 1024 });
    assert.equal(again.created, false);
    assert.equal(again.cid.text, added[3].cid.text);
  });
});
