/**
 * The `sha256sum` baseline: coreutils hashing the same bytes, one blob-sized
 * file named `count` times in one run (from the page cache), so the rate is
 * hashing, not process start-up. The wall time includes starting it once.
 */
import type { Result } from "../harness/result.ts";

/** `sha256sum` of `count` × the `size`-byte file at `path`; MB/s. */
export async function sha256sumRow(path: string, size: number, count: number): Promise<Result> {
  const t0 = performance.now();
  const out = await new Deno.Command("sha256sum", {
    args: Array.from({ length: count }, () => path),
    stdout: "null",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - t0) / 1000;
  if (!out.success) throw new Error(`sha256sum failed: ${new TextDecoder().decode(out.stderr)}`);
  return { ops: count, seconds, rate: size * count / 1e6 / seconds, errors: 0 };
}
