/**
 * The subscriptions of nwaku's polling REST routes, kept in KV so that a
 * restart keeps them and every process on the same KV shares them.
 *
 * | key                              | value                                     |
 * | -------------------------------- | ----------------------------------------- |
 * | ["waku_sub", kind, ...topics]    | empty bytes: this subscription exists     |
 * | ["waku_sub_count", kind]         | Deno.KvU64: how many of this kind exist   |
 *
 * Kinds and their topics: "relay" [pubsubTopic]; "auto" [contentTopic,
 * pubsubTopic (its autosharded shard)]; "filter" [contentTopic, pubsubTopic].
 * Every change commits together with its kind's count, which it checks: the
 * count stays exact when processes change subscriptions at once, and bounds
 * how many each kind may have.
 */
import { ConflictError } from "../lib/errors.ts";
import {
  addCosts,
  checkCost,
  chunkForCommit,
  deleteCost,
  getMany,
  NO_COST,
  setCost,
  type Store,
} from "./kv.ts";
import { SKIP, update } from "./kv_update.ts";

export type SubscriptionKind = "relay" | "auto" | "filter";

/** A subscription: its topics, in the order its kind's key takes them. */
export type Topics = readonly string[];

/** How many topics each kind's key has. */
const TOPICS_PER_KIND: Record<SubscriptionKind, number> = { relay: 1, auto: 2, filter: 2 };

const PREFIX = "waku_sub";
const COUNT = "waku_sub_count";
const EMPTY = new Uint8Array(0);

const keyOf = (kind: SubscriptionKind, topics: Topics): Deno.KvKey => [PREFIX, kind, ...topics];
const countKey = (kind: SubscriptionKind): Deno.KvKey => [COUNT, kind];

const LABEL: Record<SubscriptionKind, string> = {
  relay: "relay pubsub topics",
  auto: "relay content topics",
  filter: "filter criteria",
};

/** The subscriptions of the polling routes, by kind. */
export class WakuSubscriptionRepo {
  constructor(readonly store: Store) {}

  /**
   * Adds subscriptions (those present stay as they are); returns how many
   * were new. ConflictError when the kind would have more than `max`.
   */
  async add(kind: SubscriptionKind, subs: readonly Topics[], max: number): Promise<number> {
    const unique = distinct(subs);
    const fresh = (await getMany(this.store, unique.map((s) => keyOf(kind, s))))
      .filter((e) => e.versionstamp === null).length;
    if (fresh > 0 && (await this.count(kind)) + fresh > max) throw tooMany(kind, max);
    return await this.#change(kind, unique, "add", max);
  }

  /** Removes subscriptions (absent ones are skipped); returns how many were there. */
  remove(kind: SubscriptionKind, subs: readonly Topics[]): Promise<number> {
    return this.#change(kind, distinct(subs), "remove", Infinity);
  }

  /** Removes every subscription of a kind; returns how many there were. */
  async clear(kind: SubscriptionKind): Promise<number> {
    return await this.remove(kind, await this.list(kind));
  }

  /** How many subscriptions of a kind there are. */
  async count(kind: SubscriptionKind): Promise<number> {
    const e = await this.store.kv.get<Deno.KvU64>(countKey(kind));
    return Number(e.value?.value ?? 0n);
  }

  /** Every subscription of a kind, at most `limit`, in key order. */
  async list(kind: SubscriptionKind, limit = 10_000): Promise<Topics[]> {
    const out: Topics[] = [];
    for await (const e of this.store.kv.list({ prefix: [PREFIX, kind] }, { limit })) {
      out.push(e.key.slice(2) as string[]);
    }
    return out;
  }

  /**
   * Whether a subscription exists with these leading topics: all of a
   * subscription's topics, or its first ones (a content topic, whatever its
   * pubsub topic).
   */
  async exists(kind: SubscriptionKind, topics: Topics): Promise<boolean> {
    if (topics.length === TOPICS_PER_KIND[kind]) {
      return (await this.store.kv.get(keyOf(kind, topics))).versionstamp !== null;
    }
    for await (const _ of this.store.kv.list({ prefix: keyOf(kind, topics) }, { limit: 1 })) {
      return true;
    }
    return false;
  }

  /**
   * Sets or deletes the keys of `subs` in commits that fit KV's limits, each
   * with its kind's count (read, checked and written); returns how many
   * keys changed. Which keys are there is read again at every attempt.
   */
  async #change(
    kind: SubscriptionKind,
    subs: Topics[],
    op: "add" | "remove",
    max: number,
  ): Promise<number> {
    const counted = addCosts(checkCost(countKey(kind)), setCost(countKey(kind), 8));
    const runs = chunkForCommit(subs, this.store.limits, (s, run) =>
      addCosts(
        op === "add" ? setCost(keyOf(kind, s), 0) : deleteCost(keyOf(kind, s)),
        run.length === 0 ? counted : NO_COST,
      ));
    let total = 0;
    for (const run of runs) {
      let changed: Deno.KvKey[] = [];
      await update<Deno.KvU64>(this.store, countKey(kind), async (current) => {
        const keys = run.map((s) => keyOf(kind, s));
        const entries = await getMany(this.store, keys);
        changed = keys.filter((_, i) => (entries[i].versionstamp === null) === (op === "add"));
        if (changed.length === 0) return SKIP;
        const n = Number(current?.value ?? 0n) + (op === "add" ? changed.length : -changed.length);
        if (n > max) throw tooMany(kind, max);
        return new Deno.KvU64(BigInt(Math.max(0, n)));
      }, {
        name: "waku_subscriptions",
        mutate: (m) => {
          for (const k of changed) {
            if (op === "add") m.set(k, EMPTY);
            else m.delete(k);
          }
        },
      });
      total += changed.length;
    }
    return total;
  }
}

function tooMany(kind: SubscriptionKind, max: number): ConflictError {
  return new ConflictError(
    `At most ${max} ${LABEL[kind]} may be subscribed at once; unsubscribe from some first`,
  );
}

/** The subscriptions without repeats, in their first order. */
function distinct(subs: readonly Topics[]): Topics[] {
  const seen = new Set<string>();
  return subs.filter((s) => {
    const id = JSON.stringify(s);
    return !seen.has(id) && seen.add(id);
  });
}
