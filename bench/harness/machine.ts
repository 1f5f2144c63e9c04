/**
 * What a result was measured on and against: the machine and runtime, and a
 * fingerprint of the gateway's source, so recorded results name their code.
 * Also the bench's timestamped log line.
 */
import os from "node:os";

/** Cores, CPU model, Deno and V8 versions, OS/arch, on one line. */
export function describeMachine(): string {
  const cpu = os.cpus()[0]?.model ?? "unknown";
  return `${navigator.hardwareConcurrency} cores (${cpu}), Deno ${Deno.version.deno}, ` +
    `V8 ${Deno.version.v8}, ${Deno.build.os}/${Deno.build.arch}`;
}

const ROOT = new URL("../../", import.meta.url).pathname;
/** The gateway's source: the spine's files and these directories' .ts files. */
const SPINE = ["app.ts", "config.ts", "error.ts", "gateway.ts", "main.ts"];
const SOURCE_DIRS = ["bridges", "lib", "middleware", "protocols", "routes", "services", "storage"];

/** sha256 (12 hex digits) over the gateway's source files' names and bytes, and their count. */
export async function sourceFingerprint(): Promise<string> {
  const files = [...SPINE];
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(ROOT + dir)) {
      if (e.isDirectory) await walk(`${dir}/${e.name}`);
      else if (e.name.endsWith(".ts")) files.push(`${dir}/${e.name}`);
    }
  };
  for (const d of SOURCE_DIRS) await walk(d).catch(() => {});
  files.sort();
  const parts: Uint8Array[] = [];
  for (const f of files) {
    const bytes = await Deno.readFile(ROOT + f).catch(() => new Uint8Array(0));
    parts.push(new TextEncoder().encode(f + "\0"), bytes);
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) all.set(p, (off += p.length) - p.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return `${digest.toHex().slice(0, 12)} over ${files.length} files`;
}

/** Logs a line with the time of day. */
export function log(s: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
}
