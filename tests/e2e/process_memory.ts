/**
 * Another process's memory, from /proc (Linux), read through `sh` since
 * Deno reads /proc only with --allow-all: its resident set now, and its peak
 * since the last reset (VmHWM, reset by writing 5 to clear_refs).
 */

async function sh(script: string, pid: number): Promise<string> {
  const out = await new Deno.Command("sh", {
    args: ["-c", script, "sh", String(pid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout);
}

/** RSS now and peak RSS since the last reset, in bytes; NaN where /proc does not say. */
export async function processMemory(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await sh('cat "/proc/$1/status"', pid);
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return { rss: kb("VmRSS") * 1024, peak: kb("VmHWM") * 1024 };
}

/** Resets the process's peak RSS to its RSS now. */
export async function resetPeak(pid: number): Promise<void> {
  await sh('echo 5 > "/proc/$1/clear_refs"', pid);
}
