/**
 * A Store whose KV calls a test can watch and interrupt: every key read (get,
 * getMany, list) is reported, and every atomic commit is shown to a hook just
 * before it is sent, which may throw (a crash at that point) or await other
 * work (an interleaving at that exact point). The same KV underneath.
 */
import type { Store } from "../../storage/kv.ts";

/** The keys an atomic commit names, by operation. */
export interface PendingCommit {
  checks: Deno.KvKey[];
  sets: Deno.KvKey[];
  sums: Deno.KvKey[];
  deletes: Deno.KvKey[];
}

/** What a test hooks into. */
export interface Hooks {
  /** Runs before a commit is sent; what it throws, the commit throws. */
  beforeCommit?(commit: PendingCommit): Promise<void> | void;
  /** Each key read, with whether it had a value. */
  read?(key: Deno.KvKey, found: boolean): void;
}

/** Wraps a store's KV with the hooks. */
export function hookedStore(store: Store, hooks: Hooks): Store {
  const kv = new Proxy(store.kv, {
    get(target, prop) {
      if (prop === "atomic") return () => hookedAtomic(target.atomic(), hooks);
      if (prop === "get") {
        return async (key: Deno.KvKey, opts?: { consistency?: Deno.KvConsistencyLevel }) => {
          const e = await target.get(key, opts);
          hooks.read?.(key, e.versionstamp !== null);
          return e;
        };
      }
      if (prop === "getMany") {
        return async (keys: Deno.KvKey[], opts?: { consistency?: Deno.KvConsistencyLevel }) => {
          const es = await target.getMany(keys, opts);
          for (const e of es) hooks.read?.(e.key, e.versionstamp !== null);
          return es;
        };
      }
      if (prop === "list") {
        return async function* (sel: Deno.KvListSelector, opts?: Deno.KvListOptions) {
          for await (const e of target.list(sel, opts)) {
            hooks.read?.(e.key, true);
            yield e;
          }
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { ...store, kv };
}

function hookedAtomic(op: Deno.AtomicOperation, hooks: Hooks): Deno.AtomicOperation {
  const seen: PendingCommit = { checks: [], sets: [], sums: [], deletes: [] };
  const wrapped = {
    check(...checks: Deno.AtomicCheck[]) {
      seen.checks.push(...checks.map((c) => c.key));
      op.check(...checks);
      return wrapped;
    },
    set(key: Deno.KvKey, value: unknown, options?: { expireIn?: number }) {
      seen.sets.push(key);
      op.set(key, value, options);
      return wrapped;
    },
    sum(key: Deno.KvKey, n: bigint) {
      seen.sums.push(key);
      op.sum(key, n);
      return wrapped;
    },
    delete(key: Deno.KvKey) {
      seen.deletes.push(key);
      op.delete(key);
      return wrapped;
    },
    async commit() {
      await hooks.beforeCommit?.(seen);
      return op.commit();
    },
  };
  return wrapped as unknown as Deno.AtomicOperation;
}

/** The blob store's kind of key ("m", "c", "u", "r", "z"), or undefined for others. */
export function blobKind(key: Deno.KvKey): string | undefined {
  return key[0] === "blob" ? String(key[1]) : undefined;
}
