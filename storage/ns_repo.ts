/**
 * The name system's repository: the current IPNS record of each name.
 *
 * | key                     | value                                                 |
 * | ----------------------- | ----------------------------------------------------- |
 * | ["ns","r",multihash]    | the record as it was published (marshalled IpnsEntry) |
 *
 * multihash = the name's key multihash (identity or sha2-256), raw bytes:
 * one key per name whatever form the name was written in. A record is at
 * most 10 KiB, so it fits one value. The bytes are kept as received, so a
 * reader gets exactly what the key's owner signed.
 *
 * Replacing is a read-modify-write (kv_update.ts) checked on the key's
 * versionstamp: of two writers at once, the second reads the first's record
 * and decides again, so the higher sequence ends up stored whatever the
 * order, from any process.
 */
import { SKIP, update } from "./kv_update.ts";
import type { Store } from "./kv.ts";

const recordKey = (multihash: Uint8Array): Deno.KvKey => ["ns", "r", multihash];

/** What to store, given the current record: the new one, or SKIP to keep the current. */
export type Decide = (current: Uint8Array | undefined) => Uint8Array | typeof SKIP;

export { SKIP };

/** The current records of names; see the module comment. */
export class NsRepo {
  constructor(private readonly store: Store) {}

  /** The name's current record, or null when it has none. */
  async get(multihash: Uint8Array): Promise<Uint8Array | null> {
    const e = await this.store.kv.get<Uint8Array>(recordKey(multihash));
    return e.versionstamp === null ? null : e.value;
  }

  /**
   * Stores the record `decide` returns for the name, atomically with the
   * read it decided on (it may run again after a conflicting write, and may
   * throw to refuse). Returns whether it wrote.
   */
  async put(multihash: Uint8Array, decide: Decide): Promise<boolean> {
    const r = await update<Uint8Array>(this.store, recordKey(multihash), decide, { name: "ns" });
    return r.written;
  }
}
