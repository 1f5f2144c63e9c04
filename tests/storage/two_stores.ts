/** Two handles on one KV file, as two processes sharing it see it. */
import { createMetrics } from "../../lib/metrics.ts";
import { openStore, type Store } from "../../storage/kv.ts";
import { tempDir } from "../temp_dir.ts";

/** Runs `fn` with two stores over one fresh KV file (and its path); closes and removes them. */
export async function withTwoStores(
  fn: (a: Store, b: Store, path: string) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = await tempDir();
  const path = `${dir}/shared.kv`;
  const a = await openStore(path, createMetrics());
  const b = await openStore(path, createMetrics());
  try {
    await fn(a, b, path);
  } finally {
    a.kv.close();
    b.kv.close();
    await cleanup();
  }
}
