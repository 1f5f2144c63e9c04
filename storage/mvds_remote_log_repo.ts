/**
 * MVDS groups backed by a remote log, and catch-ups from remote logs: the
 * key families of the MVDS bridge's remote-log side (the node state itself
 * is storage/mvds_repo.ts's).
 *
 * | key                             | value                                                 |
 * | ------------------------------- | ----------------------------------------------------- |
 * | ["mvds","lb",node,group]        | Backing {name, writeToken, mode, pageSize, since}     |
 * | ["mvds","ln",name]              | {node, group}: the group a log written here backs     |
 * | ["mvds","la",node,group,id]     | {at}: message id still to append to the group's log   |
 * | ["mvds","lc",node,group,name]   | Cursor {after, at}: where catch-up from `name` stopped |
 *
 * "lb" and "ln" are written by MvdsRepo.commit in one commit checked on the
 * node's head (NodeChanges.backings), so a send commits either before the
 * backing (no marker) or after it (a marker). "la" is written by the commit
 * that stores a sent message (NodeChanges.appends) and deleted once the
 * log has the entry: a crash between the two leaves the marker, and the
 * drain appends it. "lc" is a plain set: catch-up is idempotent, so a cursor
 * that lags (two catch-ups at once, a crash) only makes the next one read
 * entries again.
 */
import type { LogMode } from "../protocols/remotelog/pages.ts";
import { commit, type Store } from "./kv.ts";

/** The remote log a group of a node is backed by. */
export interface Backing {
  /** The log's IPNS name (written by this gateway). */
  name: string;
  /** The log's write token: the gateway appends with it; never shown. */
  writeToken: string;
  mode: LogMode;
  /** Pairs per page (`paged`); 1 for `linked`; 0 for `full`. */
  pageSize: number;
  /** When the backing was set up (ms since the epoch); messages sent before are not in the log. */
  since: number;
}

/** A message waiting to be appended to its group's log. */
export interface AppendMarker {
  node: Uint8Array;
  group: Uint8Array;
  id: Uint8Array;
  /** When it was written (ms). */
  at: number;
}

/** Where the last catch-up of a node's group from a log stopped. */
export interface CatchUpCursor {
  /** localHash of the last entry handled. */
  after: Uint8Array;
  at: number;
}

const P = "mvds";

export const backingKey = (node: Uint8Array, group: Uint8Array): Deno.KvKey => [
  P,
  "lb",
  node,
  group,
];
export const backedByKey = (name: string): Deno.KvKey => [P, "ln", name];
export const appendKey = (node: Uint8Array, group: Uint8Array, id: Uint8Array): Deno.KvKey => [
  P,
  "la",
  node,
  group,
  id,
];
const cursorKey = (node: Uint8Array, group: Uint8Array, name: string): Deno.KvKey => [
  P,
  "lc",
  node,
  group,
  name,
];

export class MvdsRemoteLogRepo {
  constructor(private readonly store: Store) {}

  /** The log backing a node's group, or null. */
  async backing(node: Uint8Array, group: Uint8Array): Promise<Backing | null> {
    return (await this.store.kv.get<Backing>(backingKey(node, group))).value;
  }

  /** The node and group a log written here backs, or null. */
  async backedBy(name: string): Promise<{ node: Uint8Array; group: Uint8Array } | null> {
    return (await this.store.kv.get<{ node: Uint8Array; group: Uint8Array }>(backedByKey(name)))
      .value;
  }

  /** One append marker, or null. */
  async marker(node: Uint8Array, group: Uint8Array, id: Uint8Array): Promise<number | null> {
    return (await this.store.kv.get<{ at: number }>(appendKey(node, group, id))).value?.at ?? null;
  }

  /** Append markers (of every node, or of one node's group), at most `limit`. */
  async markers(
    limit: number,
    of?: { node: Uint8Array; group: Uint8Array },
  ): Promise<AppendMarker[]> {
    const prefix: Deno.KvKey = of ? [P, "la", of.node, of.group] : [P, "la"];
    const out: AppendMarker[] = [];
    for await (const e of this.store.kv.list<{ at: number }>({ prefix }, { limit })) {
      const [, , node, group, id] = e.key as [string, string, Uint8Array, Uint8Array, Uint8Array];
      out.push({ node, group, id, at: e.value.at });
    }
    return out;
  }

  /** Deletes an append marker (the log has the entry). */
  async deleteMarker(node: Uint8Array, group: Uint8Array, id: Uint8Array): Promise<void> {
    await commit(this.store, "mvds", (op) => op.delete(appendKey(node, group, id)));
  }

  async cursor(node: Uint8Array, group: Uint8Array, name: string): Promise<CatchUpCursor | null> {
    return (await this.store.kv.get<CatchUpCursor>(cursorKey(node, group, name))).value;
  }

  async setCursor(
    node: Uint8Array,
    group: Uint8Array,
    name: string,
    cursor: CatchUpCursor,
  ): Promise<void> {
    await commit(this.store, "mvds", (op) => op.set(cursorKey(node, group, name), cursor));
  }
}
