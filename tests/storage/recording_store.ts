/**
 * A Store whose atomic commits are tallied as KV counts them (the cost model
 * of storage/kv.ts, which kv_test.ts holds against KV at each limit), so a
 * test can check every commit a planner builds against limits, the smaller
 * check limit of a remote KV included.
 */
import {
  addCosts,
  checkCost,
  type CommitCost,
  deleteCost,
  type KvLimits,
  NO_COST,
  setCost,
  type Store,
  sumCost,
} from "../../storage/kv.ts";

/** Wraps a store: same KV, the given limits, and every commit's cost pushed onto `seen`. */
export function recordingStore(store: Store, limits: KvLimits, seen: CommitCost[]): Store {
  const kv = new Proxy(store.kv, {
    get(target, prop) {
      if (prop === "atomic") return () => recordAtomic(target.atomic(), seen);
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { ...store, kv, limits };
}

function recordAtomic(op: Deno.AtomicOperation, seen: CommitCost[]): Deno.AtomicOperation {
  let cost = NO_COST;
  const add = (c: CommitCost) => cost = addCosts(cost, c);
  const wrapped = {
    check(...checks: Deno.AtomicCheck[]) {
      for (const c of checks) add(checkCost(c.key));
      op.check(...checks);
      return wrapped;
    },
    set(key: Deno.KvKey, value: unknown, options?: { expireIn?: number }) {
      if (!(value instanceof Uint8Array)) throw new TypeError("The stores write raw bytes only");
      add(setCost(key, value.length));
      op.set(key, value, options);
      return wrapped;
    },
    sum(key: Deno.KvKey, n: bigint) {
      add(sumCost(key));
      op.sum(key, n);
      return wrapped;
    },
    delete(key: Deno.KvKey) {
      add(deleteCost(key));
      op.delete(key);
      return wrapped;
    },
    commit() {
      seen.push(cost);
      return op.commit();
    },
  };
  return wrapped as unknown as Deno.AtomicOperation;
}
