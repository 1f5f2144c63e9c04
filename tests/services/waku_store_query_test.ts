/**
 * WakuService.storeQuery with `hashes`: as nwaku's archive, the hashes are
 * one more filter ANDed with the others, and the result pages by cursor.
 */
import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { LiveHub, LocalNotifier } from "../../services/live_hub.ts";
import { type StoreQuery, WakuService } from "../../services/waku_service.ts";
import { openStore } from "../../storage/kv.ts";
import { decodeRecord } from "../../storage/waku_record.ts";
import { WakuRepo } from "../../storage/waku_repo.ts";
import { tempDir } from "../helpers.ts";

const T0 = 1_700_000_000_000_000_000n;
const PS = ["/waku/2/rs/0/0", "/waku/2/rs/0/1"];

Deno.test("storeQuery: hashes combine with topic and time filters, and page by cursor both ways", async () => {
  const { dir, cleanup } = await tempDir();
  const store = await openStore(`${dir}/q.kv`, createMetrics());
  const svc = new WakuService(
    new WakuRepo(store),
    new LiveHub(new LocalNotifier(), createMetrics()),
    {
      maxMessageBytes: 150 * 1024,
      maxClockSkewSeconds: 600,
      retention: { topics: new Map() },
      retentionIntervalMs: 60_000,
      log: createLogger("silent"),
      now: () => T0 + 10_000_000_000n,
    },
  );
  try {
    const results = await svc.publishMany(Array.from({ length: 40 }, (_, i) => ({
      pubsubTopic: PS[i % 2],
      message: {
        payload: new TextEncoder().encode(`m${i}`),
        contentTopic: `/app/1/c-${i % 4}/proto`,
        version: 0,
        timestamp: T0 + BigInt(i),
      },
    })));
    const hashes = results.map((r) => r.hash);
    const query = (q: Partial<StoreQuery>): StoreQuery => ({
      contentTopics: [],
      hashes,
      pageSize: 100,
      ascending: true,
      ...q,
    });
    const idx = async (q: Partial<StoreQuery>) => {
      const page = await svc.storeQuery(query(q));
      return {
        got: page.records.map((r) => Number(decodeRecord(r).message.timestamp - T0)),
        cursor: page.cursor,
      };
    };
    // Hashes alone: the named messages in (timestamp, hash) order.
    assert.deepEqual((await idx({ hashes: [hashes[5], hashes[2], hashes[5]] })).got, [2, 5]);
    // ANDed with pubsub topic, content topics and the time window.
    assert.deepEqual(
      (await idx({
        pubsubTopic: PS[0],
        contentTopics: ["/app/1/c-0/proto"],
        startTime: T0 + 4n,
        endTime: T0 + 30n,
      })).got,
      [4, 8, 12, 16, 20, 24, 28],
    );
    // Paged forward from its own cursor: every message once.
    const seen: number[] = [];
    let cursor: Uint8Array | undefined;
    do {
      const page = await idx({ pageSize: 7, cursor });
      seen.push(...page.got);
      cursor = page.cursor;
    } while (cursor);
    assert.deepEqual(seen, Array.from({ length: 40 }, (_, i) => i));
    // Backward: the newest page first, each oldest→newest.
    const first = await idx({ pageSize: 7, ascending: false });
    assert.deepEqual(first.got, [33, 34, 35, 36, 37, 38, 39]);
    const second = await idx({ pageSize: 7, ascending: false, cursor: first.cursor });
    assert.deepEqual(second.got, [26, 27, 28, 29, 30, 31, 32]);
  } finally {
    store.kv.close();
    await cleanup();
  }
});
