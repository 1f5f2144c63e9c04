/**
 * Remote logs this gateway writes (as Alice) or follows (as a mirror).
 *
 * | key                   | value (V8-serialized object)                                  |
 * | --------------------- | ------------------------------------------------------------- |
 * | ["rlog","w",name]     | LogState of a log written here: its key, mode, head, sequence |
 * | ["rlog","f",name]     | Mirror: the gateway it follows, and what it has verified      |
 * | ["rlog","l",name,lh]  | empty: the localHash lh is in the log written here            |
 *
 * name = the log's IPNS name (base36 `k51…`). The head and sequence of a
 * log written here are in its LogState, which every append replaces with a
 * commit checked on the versionstamp it read: appends to one log, from any
 * process, take turns, and none is lost or reordered. The IPNS record the
 * name system serves is signed from this state after the commit.
 */
import type { LogMode } from "../protocols/remotelog/pages.ts";
import { commit, getMany, type Store } from "./kv.ts";
import { update } from "./kv_update.ts";

/** A log written by this gateway. */
export interface LogState {
  mode: LogMode;
  pageSize: number;
  /** The log's Ed25519 private key (libp2p protobuf). */
  privateKey: Uint8Array;
  /** SHA-256 of the write token given to its creator. */
  tokenHash: Uint8Array;
  /** The IPNS sequence of the head; 0 while the log is empty. */
  sequence: bigint;
  /** Binary CID of the head page; empty while the log is empty. */
  head: Uint8Array;
  /** Entries appended. */
  count: number;
}

/** A log this gateway follows from another gateway. */
export interface MirrorState {
  /** Base URL of the gateway it follows. */
  from: string;
  /** The IPNS sequence of the last head fetched and verified whole. */
  sequence: bigint;
  /** When it was added (ms since the epoch). */
  since: number;
  /** The last failure, if the last attempt failed. */
  error?: string;
}

const writtenKey = (name: string): Deno.KvKey => ["rlog", "w", name];
const mirrorKey = (name: string): Deno.KvKey => ["rlog", "f", name];
const localKey = (name: string, lh: Uint8Array): Deno.KvKey => ["rlog", "l", name, lh];
const EMPTY = new Uint8Array(0);

/** A state with the versionstamp it was read at, for a checked replace. */
export interface Versioned<T> {
  value: T;
  versionstamp: string;
}

export class RemoteLogRepo {
  constructor(private readonly store: Store) {}

  /** Stores a new log's state; false if the name exists already. */
  async create(name: string, state: LogState): Promise<boolean> {
    const key = writtenKey(name);
    const res = await commit(
      this.store,
      "rlog",
      (op) => op.check({ key, versionstamp: null }).set(key, state),
    );
    return res.ok;
  }

  /** A log written here, or null. */
  async get(name: string): Promise<Versioned<LogState> | null> {
    const e = await this.store.kv.get<LogState>(writtenKey(name));
    return e.versionstamp === null ? null : { value: e.value, versionstamp: e.versionstamp };
  }

  /**
   * Replaces a log's state if it is still at `read`'s versionstamp, with the
   * localHashes of the entries it adds, each checked new (a reader resumes
   * after a localHash, so one may name one entry only). "moved" when the
   * state moved on; else the localHashes the log has already, when any.
   */
  async replace(
    name: string,
    read: Versioned<LogState>,
    next: LogState,
    localHashes: readonly Uint8Array[],
  ): Promise<"ok" | "moved" | { taken: Uint8Array[] }> {
    const key = writtenKey(name);
    const res = await commit(this.store, "rlog", (op) => {
      op.check({ key, versionstamp: read.versionstamp }).set(key, next);
      for (const lh of localHashes) {
        op.check({ key: localKey(name, lh), versionstamp: null }).set(localKey(name, lh), EMPTY);
      }
    });
    if (res.ok) return "ok";
    if ((await this.store.kv.get(key)).versionstamp !== read.versionstamp) return "moved";
    const found = await getMany(this.store, localHashes.map((lh) => localKey(name, lh)));
    return { taken: localHashes.filter((_, i) => found[i].versionstamp !== null) };
  }

  /** The mirror state of a followed log, or null. */
  async mirror(name: string): Promise<Versioned<MirrorState> | null> {
    const e = await this.store.kv.get<MirrorState>(mirrorKey(name));
    return e.versionstamp === null ? null : { value: e.value, versionstamp: e.versionstamp };
  }

  /**
   * Read-modify-write of a followed log's mirror state, checked and retried
   * (two syncs of one log may overlap).
   */
  async updateMirror(
    name: string,
    next: (current: MirrorState | undefined) => MirrorState,
  ): Promise<void> {
    await update<MirrorState>(this.store, mirrorKey(name), next, { name: "rlog" });
  }

  /** Sets a followed log's mirror state (the one process following it writes it). */
  async setMirror(name: string, state: MirrorState): Promise<void> {
    await commit(this.store, "rlog", (op) => op.set(mirrorKey(name), state));
  }

  /** Every followed log. */
  async mirrors(): Promise<{ name: string; state: MirrorState }[]> {
    const out: { name: string; state: MirrorState }[] = [];
    for await (const e of this.store.kv.list<MirrorState>({ prefix: ["rlog", "f"] })) {
      out.push({ name: e.key[2] as string, state: e.value });
    }
    return out;
  }
}
