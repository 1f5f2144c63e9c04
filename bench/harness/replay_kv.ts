/**
 * "Raw KV doing the same commits" for services whose writes are spread over
 * several repositories (an append to a remote log touches the blob store,
 * the CAS, the log's state and the name system): run the service once on a
 * store that records every commit's mutations, then replay those commits on
 * a fresh KV file, timing only the KV calls. Checks are not replayed (their
 * versionstamps belong to the recording), so the replay is the KV floor of
 * the same writes, in the same commits, in the same order.
 */
import type { Store } from "../../storage/kv.ts";
import { Latencies, type Result, resultOf } from "./result.ts";

/** One recorded mutation. */
type Mutation =
  | { type: "set"; key: Deno.KvKey; value: unknown; expireIn?: number }
  | { type: "sum" | "min" | "max"; key: Deno.KvKey; value: Deno.KvU64 }
  | { type: "delete"; key: Deno.KvKey };

/** The commits a store saw, in order. */
export type RecordedCommits = Mutation[][];

/** A view of `store` whose successful commits are appended to `into`. */
export function recordCommits(store: Store, into: RecordedCommits): Store {
  const kv = new Proxy(store.kv, {
    get(target, prop) {
      if (prop !== "atomic") {
        const v = Reflect.get(target, prop);
        return typeof v === "function" ? v.bind(target) : v;
      }
      return () => {
        const op = target.atomic();
        const seen: Mutation[] = [];
        const wrapped: Deno.AtomicOperation = Object.assign(Object.create(op), {
          check: (...c: Deno.AtomicCheck[]) => (op.check(...c), wrapped),
          set: (key: Deno.KvKey, value: unknown, o?: { expireIn?: number }) => (
            seen.push({ type: "set", key, value, expireIn: o?.expireIn }),
              op.set(key, value, o),
              wrapped
          ),
          sum: (key: Deno.KvKey, n: bigint) => (
            seen.push({ type: "sum", key, value: new Deno.KvU64(n) }), op.sum(key, n), wrapped
          ),
          min: (key: Deno.KvKey, n: bigint) => (
            seen.push({ type: "min", key, value: new Deno.KvU64(n) }), op.min(key, n), wrapped
          ),
          max: (key: Deno.KvKey, n: bigint) => (
            seen.push({ type: "max", key, value: new Deno.KvU64(n) }), op.max(key, n), wrapped
          ),
          delete: (
            key: Deno.KvKey,
          ) => (seen.push({ type: "delete", key }), op.delete(key), wrapped),
          mutate: (...ms: Deno.KvMutation[]) => {
            for (const m of ms) seen.push(m as Mutation);
            op.mutate(...ms);
            return wrapped;
          },
          commit: async () => {
            const res = await op.commit();
            if (res.ok) into.push(seen);
            return res;
          },
        });
        return wrapped;
      };
    },
  });
  return { ...store, kv };
}

/**
 * Replays recorded commits on `kv`, one atomic each, in order, timing only
 * the commits; `ops` is what the rate counts (appends, say). p50/p99 are per
 * commit.
 */
export async function replayCommits(
  kv: Deno.Kv,
  commits: RecordedCommits,
  ops: number,
): Promise<Result> {
  const lat = new Latencies();
  let ms = 0;
  for (const c of commits) {
    const op = kv.atomic();
    for (const m of c) {
      if (m.type === "set") {
        op.set(m.key, m.value, m.expireIn ? { expireIn: m.expireIn } : undefined);
      } else if (m.type === "delete") op.delete(m.key);
      else op.mutate({ type: m.type, key: m.key, value: m.value });
    }
    const t0 = performance.now();
    const res = await op.commit();
    const dt = performance.now() - t0;
    if (!res.ok) throw new Error("A replayed commit failed");
    ms += dt;
    lat.add(dt);
  }
  return resultOf(ops, ms / 1000, lat, 0);
}
