/**
 * A second process for tests/services/kv_notifier_test.ts and
 * bench/live_feed_latency.ts: opens the KV file, sends `count` live events
 * in batches of `batch` (with `spacingMs` between batches), then closes.
 * Each event's JSON is {"i": n, "sentAt": wall-clock ms}.
 *
 * Usage: deno run --allow-read --allow-write kv_notifier_publisher.ts KV COUNT [BATCH] [SPACING_MS]
 */
import { createMetrics } from "../../lib/metrics.ts";
import { KvNotifier } from "../../services/kv_notifier.ts";
import { openStore } from "../../storage/kv.ts";

const [path, count, batch = "1", spacing = "0"] = Deno.args;
const store = await openStore(path, createMetrics());
const notifier = await KvNotifier.open(store);
const wallMs = () => performance.timeOrigin + performance.now();
for (let i = 0; i < Number(count);) {
  const events = [];
  for (const end = Math.min(Number(count), i + Number(batch)); i < end; i++) {
    events.push({
      channel: "test",
      attrs: { from: "child" },
      json: JSON.stringify({ i, sentAt: wallMs() }),
    });
  }
  notifier.send(events);
  if (Number(spacing) > 0) await new Promise((r) => setTimeout(r, Number(spacing)));
}
await notifier.close();
store.kv.close();
