/**
 * The bench's KV files: where they go and their cleanup, fsync between
 * phases (so a phase does not pay for the previous one's disk writeback),
 * reading them once so queries run on warm OS caches, and their sizes.
 * A KV file is SQLite: `path` plus `-wal`, `-shm` and `-journal` beside it.
 */

/** A directory for a bench's KV files. */
export interface WorkDir {
  dir: string;
  /** A KV path in it; any files of an earlier run at that path are removed. */
  kv(name: string): Promise<string>;
  /** Removes what the bench wrote: the whole dir if it made it, else only its KV files. */
  cleanup(): Promise<void>;
}

/**
 * `dir` (made if missing) or a fresh temp dir; `keep` makes cleanup a no-op.
 *
 * @example
 * ```ts
 * const work = await workDir(o.dir, o.keep);
 * const path = await work.kv("gateway");
 * try { … } finally { await work.cleanup(); }
 * ```
 */
export async function workDir(dir: string | undefined, keep: boolean): Promise<WorkDir> {
  const made = dir === undefined;
  const path = dir ?? await Deno.makeTempDir({ prefix: "syncgate-bench-" });
  await Deno.mkdir(path, { recursive: true });
  const files: string[] = [];
  return {
    dir: path,
    kv: async (name) => {
      const p = `${path}/${name}.kv`;
      await removeKv(p);
      files.push(p);
      return p;
    },
    cleanup: async () => {
      if (keep) return;
      if (made) await Deno.remove(path, { recursive: true }).catch(() => {});
      else for (const p of files) await removeKv(p);
    },
  };
}

/** Removes a KV file and its SQLite companions. */
export async function removeKv(path: string): Promise<void> {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) {
    await Deno.remove(path + suffix).catch(() => {});
  }
}

/** Opens each KV file and its WAL that exists and runs `fn` on it. */
async function eachFile(paths: readonly string[], fn: (f: Deno.FsFile) => Promise<void>) {
  for (const p of paths) {
    for (const suffix of ["", "-wal"]) {
      let f: Deno.FsFile;
      try {
        f = await Deno.open(p + suffix, { read: true });
      } catch {
        continue; // not there
      }
      try {
        await fn(f);
      } finally {
        f.close();
      }
    }
  }
}

/** Flushes KV files to disk, so the next phase does not pay for this one's writeback. */
export function settle(paths: readonly string[]): Promise<void> {
  return eachFile(paths, (f) => f.sync());
}

/** Reads KV files once, so the OS caches them; returns the seconds it took. */
export async function warmFiles(paths: readonly string[]): Promise<number> {
  const t0 = performance.now();
  const buf = new Uint8Array(1 << 20);
  await eachFile(paths, async (f) => {
    while ((await f.read(buf)) !== null) { /* reading is the point */ }
  });
  return (performance.now() - t0) / 1000;
}

/** Size of a KV file and its WAL (or of one of them), in MB. */
export async function kvFileMB(
  path: string,
  part: "both" | "file" | "wal" = "both",
): Promise<number> {
  let bytes = 0;
  const suffixes = part === "both" ? ["", "-wal"] : part === "file" ? [""] : ["-wal"];
  for (const suffix of suffixes) {
    bytes += await Deno.stat(path + suffix).then((s) => s.size).catch(() => 0);
  }
  return bytes / 1e6;
}
