/**
 * Property: random mixes of message sizes (0 B to past the limit, around
 * every threshold of the layout), topics (long, multi-byte, with NULs), meta
 * and proofs, bulk counts and single-publish concurrency, run through the
 * real WakuService on a real KV file, on local KV's limits and on a remote
 * KV's 10 checks. Every publish is stored and reads back byte for byte, or is
 * refused with a 4xx naming the limit; every commit is within the limits.
 *
 * FUZZ_SEED=<n> replays or varies a run.
 */
import assert from "node:assert/strict";
import { TooLargeError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import {
  MAX_META_BYTES,
  MAX_PROOF_BYTES,
  messageHash,
  type WakuMessage,
} from "../../protocols/waku/message.ts";
import { parseRetention } from "../../protocols/waku/retention_policy.ts";
import { MAX_TOPIC_BYTES } from "../../protocols/waku/store_rpc.ts";
import { LiveHub, LocalNotifier } from "../../services/live_hub.ts";
import { type Publication, WakuService } from "../../services/waku_service.ts";
import { CHUNK_BYTES } from "../../storage/blobs.ts";
import {
  type CommitCost,
  fits,
  type KvLimits,
  MAX_VALUE_BYTES,
  openStore,
} from "../../storage/kv.ts";
import { decodeRecord } from "../../storage/waku_record.ts";
import { WakuRepo } from "../../storage/waku_repo.ts";
import { tempDir } from "../helpers.ts";
import { fuzzSeed, Rng } from "../protocols/waku/fuzz_util.ts";
import { recordingStore } from "../storage/recording_store.ts";

const MAX_MESSAGE = 150 * 1024;
const LOCAL: KvLimits = {
  maxChecks: 100,
  maxMutations: 1000,
  maxBytes: 800 * 1024,
  maxKeyBytes: 80 * 1024,
};
const REMOTE: KvLimits = { ...LOCAL, maxChecks: 10 };

/** A topic: short, long (to the byte limit), multi-byte, or with NUL characters. */
function topic(rng: Rng, kind: string): string {
  const shapes = [
    () => `/waku/2/rs/0/${rng.int(4)}`,
    () => `/${kind}/` + "x".repeat(MAX_TOPIC_BYTES - kind.length - 2),
    () => `/${kind}/` + "€".repeat(Math.floor((MAX_TOPIC_BYTES - kind.length - 2) / 3)),
    () => `/${kind}/\0\0/` + rng.string(20),
  ];
  return rng.pick(shapes)();
}

/** A payload size: small, a few KB, or near a threshold of the layout, or past the limit. */
function size(rng: Rng): number {
  const near = (n: number) => Math.max(0, n - 64 + rng.int(129));
  return rng.pick([
    () => rng.int(100),
    () => 1000 + rng.int(7192),
    () => near(MAX_VALUE_BYTES - 1200), // where a record stops fitting one KV value
    () => near(CHUNK_BYTES),
    () => near(2 * CHUNK_BYTES),
    () => rng.int(MAX_MESSAGE),
    () => near(MAX_MESSAGE - 1100),
    () => MAX_MESSAGE + rng.int(1000),
  ])();
}

function message(rng: Rng, i: number): Publication {
  const m: WakuMessage = {
    payload: rng.bytes(size(rng)),
    contentTopic: topic(rng, "ct"),
    version: rng.int(3),
    timestamp: 1_732_000_000_000_000_000n + BigInt(i),
  };
  if (rng.chance(0.3)) m.meta = rng.bytes(1 + rng.int(MAX_META_BYTES));
  if (rng.chance(0.2)) m.rateLimitProof = rng.bytes(1 + rng.int(MAX_PROOF_BYTES));
  if (rng.chance(0.05)) m.ephemeral = true;
  return { pubsubTopic: topic(rng, "ps"), message: m };
}

Deno.test("property: any mix of sizes, counts and concurrency is stored whole or refused with a 4xx", async () => {
  const seed = fuzzSeed(20261202);
  const rng = new Rng(seed);
  const { dir, cleanup } = await tempDir();
  const metrics = createMetrics();
  const base = await openStore(`${dir}/p.kv`, metrics);
  const commits: { limits: KvLimits; cost: CommitCost }[] = [];
  const services = [LOCAL, REMOTE].map((limits) => {
    const seen: CommitCost[] = [];
    const store = recordingStore(base, limits, seen);
    const svc = new WakuService(new WakuRepo(store), new LiveHub(new LocalNotifier(), metrics), {
      maxMessageBytes: MAX_MESSAGE,
      maxClockSkewSeconds: 600,
      retention: parseRetention(""),
      retentionIntervalMs: 60_000,
      log: createLogger("silent"),
    });
    return { svc, limits, seen };
  });
  const acked: Publication[] = [];
  let n = 0, refused = 0;
  try {
    for (let round = 0; round < 24; round++) {
      const { svc, limits, seen } = services[round % 2];
      const count = 1 + Math.floor(Math.exp(rng.float() * Math.log(500)));
      const pubs = Array.from({ length: count }, () => message(rng, n++));
      // Some messages twice: a duplicate is acknowledged and stored once.
      for (let d = rng.int(3); d > 0; d--) pubs.push(rng.pick(pubs));
      const valid: Publication[] = [];
      for (const p of pubs) {
        try {
          valid.push(svc.validate(p));
        } catch (e) {
          assert.ok(e instanceof TooLargeError, `seed ${seed}: ${e}`);
          assert.match(e.message, new RegExp(`limit is ${MAX_MESSAGE}`));
          refused++;
        }
      }
      if (rng.chance(0.5)) {
        await svc.publishMany(valid);
      } else {
        await Promise.all(valid.map((p) => svc.publish(p)));
      }
      acked.push(...valid.filter((p) => !p.message.ephemeral));
      commits.push(...seen.splice(0).map((cost) => ({ limits, cost })));
    }
    for (const { limits, cost } of commits) {
      assert.ok(
        fits(cost, limits),
        `seed ${seed}: a commit over the limits: ${JSON.stringify(cost)}`,
      );
    }
    assert.ok(
      commits.some((c) => c.limits === REMOTE && c.cost.checks === 10),
      "remote runs filled",
    );
    assert.ok(refused > 0, "some messages were past the limit");
    // Every acknowledged message reads back whole, by its hash.
    const { svc } = services[0];
    const byHash = new Map<string, WakuMessage>();
    for (const p of acked) byHash.set(messageHash(p.pubsubTopic, p.message).toHex(), p.message);
    const hashes = [...byHash.keys()].map((h) => Uint8Array.fromHex(h));
    for (let i = 0; i < hashes.length; i += 100) {
      const page = await svc.storeQuery({
        contentTopics: [],
        hashes: hashes.slice(i, i + 100),
        pageSize: 100,
        ascending: true,
      });
      assert.equal(page.records.length, Math.min(100, hashes.length - i), `seed ${seed}`);
      for (const r of page.records) {
        const got = decodeRecord(r);
        const want = byHash.get(got.hash.toHex())!;
        assert.deepEqual(got.message.payload, want.payload, `seed ${seed}: payload`);
        assert.deepEqual(got.message.meta, want.meta, `seed ${seed}: meta`);
        assert.deepEqual(got.message.rateLimitProof, want.rateLimitProof, `seed ${seed}: proof`);
      }
    }
  } finally {
    for (const { svc } of services) await svc.stop();
    base.kv.close();
    await cleanup();
  }
});
