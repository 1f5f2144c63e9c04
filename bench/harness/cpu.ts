/**
 * CPU time of this process and of the server under test, and the bytes this
 * process wrote, so each row can say how busy both sides were.
 *
 * Deno reads /proc only with --allow-all, so another process's CPU is read
 * through `sh` (which `deno task bench` may run).
 */
import process from "node:process";
import type { Result } from "./result.ts";

/** CPU seconds (user + system) this process has used, all threads. */
export function cpuSelf(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU seconds (user + system, all threads) process `pid` has used; NaN once it is gone. */
export async function cpuOf(pid: number): Promise<number> {
  const out = await new Deno.Command("sh", {
    args: ["-c", 'cat "/proc/$1/stat"', "sh", String(pid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  const stat = new TextDecoder().decode(out.stdout);
  if (!out.success || !stat) return NaN;
  // Fields after the ")" start at field 3; utime and stime are fields 14 and 15.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
}

/**
 * Bytes this process has written to storage, from /proc/self/io; undefined where that is not
 * readable (with less than --allow-all).
 */
export function bytesWritten(): number | undefined {
  try {
    return Number(/write_bytes: (\d+)/.exec(Deno.readTextFileSync("/proc/self/io"))?.[1]);
  } catch {
    return undefined;
  }
}

/** Something whose CPU a row reports: the server under test. */
export interface CpuSource {
  /** CPU seconds it has used so far. */
  cpu(): Promise<number>;
  /** False when it is this process (then client and server CPU are one figure). */
  separate: boolean;
}

/**
 * Runs `fn` and fills in the CPU cores of the server and the client during it: the client is
 * wrk when the result carries wrk's CPU seconds, else this process; with no server, this
 * process's CPU is the client's.
 */
export async function withCpu<T extends Result>(
  server: CpuSource | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  const s0 = server ? await server.cpu() : NaN, c0 = cpuSelf();
  const t0 = performance.now();
  const r = await fn();
  const wall = (performance.now() - t0) / 1000;
  const c1 = cpuSelf();
  if (r.clientCpuSeconds !== undefined) {
    r.serverCores = server ? (await server.cpu() - s0) / wall : undefined;
    r.clientCores = r.clientCpuSeconds / wall;
  } else if (server?.separate) {
    r.serverCores = (await server.cpu() - s0) / wall;
    r.clientCores = (c1 - c0) / wall;
  } else if (server) {
    r.serverCores = (c1 - c0) / wall; // client and server share this process
  } else {
    r.clientCores = (c1 - c0) / wall;
  }
  return r;
}
