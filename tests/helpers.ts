/**
 * Test helpers: a real gateway on port 0 with a temporary KV file, either in
 * this process (fast) or as a separate `deno run main.ts` process (for
 * restarts and crashes).
 */
import { type Config, loadConfig } from "../config.ts";
import { type Gateway, startGateway } from "../gateway.ts";
import { createLogger } from "../lib/log.ts";

import { tempDir } from "./temp_dir.ts";
export { tempDir };

/** Config for tests: port 0, a temp KV file, quiet logs; env-style overrides. */
export function testConfig(kvPath: string, env: Record<string, string> = {}): Config {
  return loadConfig({ SYNCGATE_PORT: "0", SYNCGATE_KV: kvPath, SYNCGATE_LOG: "silent", ...env });
}

/** An in-process gateway with its own temp KV; dispose closes it and removes the KV. */
export async function withGateway(
  env: Record<string, string>,
  fn: (gw: Gateway, kvPath: string) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = await tempDir();
  const kvPath = `${dir}/test.kv`;
  const gw = await startGateway(testConfig(kvPath, env), createLogger("silent"));
  try {
    await fn(gw, kvPath);
  } finally {
    await gw.close();
    await cleanup();
  }
}

/** A gateway running as its own process. */
export interface GatewayProcess {
  url: string;
  child: Deno.ChildProcess;
  /** SIGTERM and wait: a clean shutdown. */
  stop(): Promise<Deno.CommandStatus>;
  /** SIGKILL and wait: a crash. */
  kill(): Promise<Deno.CommandStatus>;
  /** What it wrote to stderr so far (warnings and errors; the last MB). */
  logs(): string;
}

const ROOT = new URL("..", import.meta.url).pathname;

/** The permissions `deno task start` gives the gateway (see deno.json). */
export const GATEWAY_PERMISSIONS = ["--allow-net", "--allow-env", "--allow-read", "--allow-write"];

/**
 * Starts `deno run main.ts` with the given env and waits for its ready line.
 * `prefix` is a command that runs it (e.g. in its own namespaces), taking the
 * deno command line as its last arguments.
 */
export async function spawnGateway(
  env: Record<string, string>,
  prefix: string[] = [],
): Promise<GatewayProcess> {
  const cmd = [...prefix, Deno.execPath(), "run", ...GATEWAY_PERMISSIONS, "main.ts"];
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: ROOT,
    env: { SYNCGATE_PORT: "0", SYNCGATE_LOG: "warn", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const deadline = Date.now() + 30_000;
  while (!/syncgate listening on (\S+)/.test(buf)) {
    if (Date.now() > deadline) throw new Error(`Gateway did not start: ${buf}`);
    const { value, done } = await lines.read();
    if (done) {
      const err = await new Response(child.stderr).text();
      throw new Error(`Gateway exited before listening: ${buf}${err}`);
    }
    buf += value;
  }
  const url = /syncgate listening on (\S+)/.exec(buf)![1];
  // Keep draining output so the child never blocks on a full pipe.
  (async () => {
    while (!(await lines.read()).done) { /* discard */ }
  })().catch(() => {});
  let logs = "";
  child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (t) => void (logs = (logs + t).slice(-1_000_000)) }),
  ).catch(() => {});
  const wait = (sig: Deno.Signal) => {
    try {
      child.kill(sig);
    } catch { /* already gone */ }
    return child.status;
  };
  return {
    url,
    child,
    stop: () => wait("SIGTERM"),
    kill: () => wait("SIGKILL"),
    logs: () => logs,
  };
}

/** POSTs JSON and returns status and parsed body. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}

/** URL path segment for a pubsub topic (nwaku percent-encodes its slashes). */
export const topicPath = (topic: string) => encodeURIComponent(topic);

/** Base64 of a UTF-8 string. */
export const b64 = (s: string) => new TextEncoder().encode(s).toBase64();
