/**
 * The files of one RemoteFile connection as the gateway shows and keeps
 * them: ours (`local`) and the peer's (`remote`), each with its FileInfo,
 * whether it is open, and its last known bytes. Unlike the session, which
 * lives as long as one TCP connection, these outlive it: a client
 * connection that drops and reconnects keeps its mirrors, and they are
 * what the repository stores and the routes read.
 *
 * Every change marks what the next save must write (the file's record, the
 * chunks its bytes touched), so a save writes only that.
 */
import {
  FILE_CHUNK_BYTES,
  type FileChange,
  fileChunks,
  type FileSide,
  type StoredFile,
  type StoredFileData,
} from "../storage/remotefile_repo.ts";

export type { FileSide, StoredFile };

/** A file with its last known bytes (null: nothing received yet). */
export interface FileCopy {
  file: StoredFile;
  data: Uint8Array | null;
  /** Grows with every change of `data`: what caches of decoded content compare. */
  version: number;
}

interface Pending {
  side: FileSide;
  name: string;
  chunks: Set<number>;
  /** Chunks stored before this change (a smaller or removed file deletes the rest). */
  previousChunks: number;
}

/** The files of one connection, both sides, with what changed since the last save. */
export class FileCopies {
  readonly #files: Record<FileSide, Map<string, FileCopy>> = {
    local: new Map(),
    remote: new Map(),
  };
  readonly #pending = new Map<string, Pending>();

  /** Copies as loaded from the store (nothing to save). */
  static from(stored: Record<FileSide, StoredFileData[]>): FileCopies {
    const files = new FileCopies();
    for (const side of ["local", "remote"] as const) {
      for (const { file, data } of stored[side]) {
        files.#files[side].set(file.name, { file, data, version: 0 });
      }
    }
    return files;
  }

  /** A side's files in address order. */
  list(side: FileSide): FileCopy[] {
    return [...this.#files[side].values()].sort((a, b) => a.file.address - b.file.address);
  }

  get(side: FileSide, name: string): FileCopy | undefined {
    return this.#files[side].get(name);
  }

  /** Total bytes held (for limits). */
  get heldBytes(): number {
    let n = 0;
    for (const side of ["local", "remote"] as const) {
      for (const f of this.#files[side].values()) n += f.data?.length ?? 0;
    }
    return n;
  }

  /**
   * Adds or replaces a file. A file announced again at the same address with
   * the same size keeps its bytes (they are still the last known); else its
   * bytes are `data`, or unknown.
   */
  put(side: FileSide, file: StoredFile, data?: Uint8Array | null): FileCopy {
    const old = this.#files[side].get(file.name);
    const same = old && old.file.address === file.address && old.file.size === file.size;
    const copy: FileCopy = {
      file: { ...file, digest: file.digest.slice() },
      data: data !== undefined ? data : same ? old.data : null,
      version: (old?.version ?? 0) + 1,
    };
    this.#files[side].set(file.name, copy);
    const p = this.#mark(side, file.name, old ? fileChunks(old.file.size) : 0);
    if (!same || data !== undefined) {
      for (let i = 0; i < fileChunks(file.size); i++) p.chunks.add(i);
    }
    return copy;
  }

  /** Writes bytes into a file (allocating its buffer on first write). False if there is no such file. */
  write(side: FileSide, name: string, offset: number, bytes: Uint8Array): boolean {
    const f = this.#files[side].get(name);
    if (!f || offset + bytes.length > f.file.size) return false;
    f.data ??= new Uint8Array(f.file.size);
    f.data.set(bytes, offset);
    f.version++;
    const p = this.#mark(side, name, fileChunks(f.file.size));
    const last = bytes.length === 0 ? offset : offset + bytes.length - 1;
    for (
      let i = Math.floor(offset / FILE_CHUNK_BYTES);
      i <= Math.floor(last / FILE_CHUNK_BYTES);
      i++
    ) {
      if (i < fileChunks(f.file.size)) p.chunks.add(i);
    }
    return true;
  }

  /** Sets a file's open state; false if there is no such file. */
  setOpen(side: FileSide, name: string, open: boolean): boolean {
    const f = this.#files[side].get(name);
    if (!f) return false;
    if (f.file.open !== open) {
      f.file.open = open;
      this.#mark(side, name, fileChunks(f.file.size));
    }
    return true;
  }

  /** Marks every file of both sides closed (the connection is gone). */
  closeAll(): void {
    for (const side of ["local", "remote"] as const) {
      for (const f of this.#files[side].values()) this.setOpen(side, f.file.name, false);
    }
  }

  /** Removes a file; false if there was none. */
  remove(side: FileSide, name: string): boolean {
    const f = this.#files[side].get(name);
    if (!f) return false;
    this.#files[side].delete(name);
    this.#mark(side, name, fileChunks(f.file.size));
    return true;
  }

  /** Whether anything changed since the last takeChanges(). */
  get dirty(): boolean {
    return this.#pending.size > 0;
  }

  /** What changed since the last call, for the repository; forgets it. */
  takeChanges(): FileChange[] {
    const out: FileChange[] = [];
    for (const p of this.#pending.values()) {
      const f = this.#files[p.side].get(p.name);
      out.push({
        side: p.side,
        name: p.name,
        file: f ? { ...f.file } : null,
        // A copy: the save is asynchronous and the file may change meanwhile.
        data: f?.data && p.chunks.size ? f.data.slice() : null,
        chunks: [...p.chunks],
        previousChunks: p.previousChunks,
      });
    }
    this.#pending.clear();
    return out;
  }

  #mark(side: FileSide, name: string, previousChunks: number): Pending {
    const key = `${side}\0${name}`;
    let p = this.#pending.get(key);
    if (!p) {
      p = { side, name, chunks: new Set(), previousChunks };
      this.#pending.set(key, p);
    }
    return p;
  }
}
