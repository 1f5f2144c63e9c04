/**
 * RemoteFile connections as the gateway last knew them: the ones a user
 * created (so they come back after a restart and reconnect), the ones the
 * listener accepted (kept a while after they close), and each one's files,
 * ours and the peer's, with their last known bytes.
 *
 * | key                              | value                                             |
 * | -------------------------------- | ------------------------------------------------- |
 * | ["rf","c",id]                    | StoredConnection (V8-serialized object)           |
 * | ["rf","f",id,side,name]          | StoredFile: a file's FileInfo and open state      |
 * | ["rf","d",id,side,name,i]        | chunk i of the file's bytes (Uint8Array ≤ 60 KiB) |
 *
 * side = "local" (files we publish) or "remote" (the peer's, mirrored);
 * name = the RemoteFile name (≤ 975 bytes, so keys stay well under 2 KiB).
 * A file's bytes are chunked so that a delta rewrites only the chunks it
 * touched. Chunks of one flush are committed together when they fit one
 * commit; a larger flush is several commits, so a reader in another process
 * may see a file of mixed age for a moment (a mirror is a copy of the
 * peer's, which the next flush completes).
 */
import type { FileStatus } from "../protocols/remotefile/session_types.ts";
import {
  addCosts,
  chunkForCommit,
  commit,
  type CommitCost,
  deleteCost,
  MAX_VALUE_BYTES,
  setCost,
  type Store,
} from "./kv.ts";

/** Bytes per stored chunk of a file. */
export const FILE_CHUNK_BYTES = MAX_VALUE_BYTES;

/** Which address space a file is in: ours (`local`) or the peer's (`remote`). */
export type FileSide = "local" | "remote";

/** Where a client connection reaches its peer (the shape of services' PeerAddress). */
export type StoredAddress =
  | { transport: "tcp"; hostname: string; port: number }
  | { transport: "unix"; path: string };

/** A connection as stored. */
export interface StoredConnection {
  id: string;
  /** `client`: created by a user, reconnects; `accepted`: came to the listener. */
  kind: "client" | "accepted";
  /** Client: where it connects. */
  address?: StoredAddress;
  /** The peer, as text ("tcp 127.0.0.1:5000"). */
  peer: string;
  /** The state when last written (see RemoteFileLink.state). */
  state: string;
  /** Unix ms. */
  createdAt: number;
  updatedAt: number;
  /** Accepted: when its connection ended. */
  closedAt?: number;
  lastError?: string;
}

/**
 * A file's FileInfo and whether it is open (ours: by the peer; the peer's:
 * by us): the session's FileStatus, stored as it is.
 */
export type StoredFile = FileStatus;

/** A file and its bytes (null when never received). */
export interface StoredFileData {
  file: StoredFile;
  data: Uint8Array | null;
}

/** One change to write: a file's record (null: the file is gone) and the chunks that changed. */
export interface FileChange {
  side: FileSide;
  name: string;
  file: StoredFile | null;
  /** Chunk indexes to write from `data` (the file's whole content). */
  chunks?: Iterable<number>;
  data?: Uint8Array | null;
  /** Chunks the file had before (so a smaller or deleted file drops the rest). */
  previousChunks?: number;
}

const connKey = (id: string): Deno.KvKey => ["rf", "c", id];
const fileKey = (
  id: string,
  side: FileSide,
  name: string,
): Deno.KvKey => ["rf", "f", id, side, name];
const chunkKey = (id: string, side: FileSide, name: string, i: number): Deno.KvKey => [
  "rf",
  "d",
  id,
  side,
  name,
  i,
];

/** Chunks a file of `size` bytes takes. */
export function fileChunks(size: number): number {
  return Math.ceil(size / FILE_CHUNK_BYTES);
}

type Mutation = { key: Deno.KvKey; value: unknown; cost: CommitCost } | {
  key: Deno.KvKey;
  value?: undefined;
  cost: CommitCost;
};

export class RemoteFileRepo {
  constructor(private readonly store: Store) {}

  /** Writes a connection's record. */
  async putConnection(rec: StoredConnection): Promise<void> {
    await commit(this.store, "remotefile", (op) => op.set(connKey(rec.id), rec));
  }

  /** A connection's record, or null. */
  async getConnection(id: string): Promise<StoredConnection | null> {
    return (await this.store.kv.get<StoredConnection>(connKey(id))).value;
  }

  /** Every stored connection, in id order. */
  async listConnections(): Promise<StoredConnection[]> {
    const out: StoredConnection[] = [];
    for await (const e of this.store.kv.list<StoredConnection>({ prefix: ["rf", "c"] })) {
      out.push(e.value);
    }
    return out;
  }

  /** A connection's files with their bytes, ours and the peer's, in address order. */
  async loadFiles(id: string): Promise<Record<FileSide, StoredFileData[]>> {
    const out: Record<FileSide, StoredFileData[]> = { local: [], remote: [] };
    for await (const e of this.store.kv.list<StoredFile>({ prefix: ["rf", "f", id] })) {
      const side = e.key[3] as FileSide;
      out[side].push({ file: e.value, data: await this.#readData(id, side, e.value) });
    }
    for (const side of ["local", "remote"] as const) {
      out[side].sort((a, b) => a.file.address - b.file.address);
    }
    return out;
  }

  async #readData(id: string, side: FileSide, file: StoredFile): Promise<Uint8Array | null> {
    const data = new Uint8Array(file.size);
    let found = 0;
    const prefix = ["rf", "d", id, side, file.name];
    for await (const e of this.store.kv.list<Uint8Array>({ prefix }, { batchSize: 16 })) {
      const i = e.key[5] as number;
      if (i * FILE_CHUNK_BYTES >= file.size) continue;
      data.set(e.value.subarray(0, file.size - i * FILE_CHUNK_BYTES), i * FILE_CHUNK_BYTES);
      found++;
    }
    return found === 0 && file.size > 0 ? null : data;
  }

  /** Writes file changes: as few commits as the store's limits allow. */
  async saveFiles(id: string, changes: readonly FileChange[]): Promise<void> {
    const muts: Mutation[] = [];
    for (const ch of changes) {
      const fk = fileKey(id, ch.side, ch.name);
      if (ch.file === null) {
        muts.push({ key: fk, cost: deleteCost(fk) });
        for (let i = 0; i < (ch.previousChunks ?? 0); i++) {
          const k = chunkKey(id, ch.side, ch.name, i);
          muts.push({ key: k, cost: deleteCost(k) });
        }
        continue;
      }
      // The record's size: its name and digest twice over is a generous bound for V8's encoding.
      muts.push({ key: fk, value: ch.file, cost: setCost(fk, 2 * ch.name.length + 128) });
      const count = fileChunks(ch.file.size);
      if (ch.data) {
        for (const i of ch.chunks ?? []) {
          if (i >= count) continue;
          const k = chunkKey(id, ch.side, ch.name, i);
          const bytes = ch.data.slice(i * FILE_CHUNK_BYTES, (i + 1) * FILE_CHUNK_BYTES);
          muts.push({ key: k, value: bytes, cost: setCost(k, bytes.length) });
        }
      }
      for (let i = count; i < (ch.previousChunks ?? 0); i++) {
        const k = chunkKey(id, ch.side, ch.name, i);
        muts.push({ key: k, cost: deleteCost(k) });
      }
    }
    await this.#apply(muts);
  }

  /** Deletes a connection and everything stored for it. */
  async deleteConnection(id: string): Promise<void> {
    const muts: Mutation[] = [{ key: connKey(id), cost: deleteCost(connKey(id)) }];
    for (const prefix of [["rf", "f", id], ["rf", "d", id]]) {
      for await (const e of this.store.kv.list({ prefix })) {
        muts.push({ key: e.key, cost: deleteCost(e.key) });
      }
    }
    await this.#apply(muts);
  }

  async #apply(muts: Mutation[]): Promise<void> {
    const runs = chunkForCommit(muts, this.store.limits, (m) => addCosts(m.cost));
    for (const run of runs) {
      await commit(this.store, "remotefile", (op) => {
        for (const m of run) {
          if (m.value === undefined) op.delete(m.key);
          else op.set(m.key, m.value);
        }
      });
    }
  }
}
