/**
 * The servers a bench drives: the gateway on a KV file of the bench's, as
 * `deno run main.ts` in its own process (tests/helpers.ts spawnGateway, the
 * same start the crash and restart tests use) or in the bench's process; and
 * a no-op `Deno.serve` in its own process, the HTTP floor of the machine.
 * Each reports its CPU seconds, so rows can print both sides' CPU.
 */
import { loadConfig } from "../../config.ts";
import { startGateway } from "../../gateway.ts";
import { createLogger } from "../../lib/log.ts";
import { GATEWAY_PERMISSIONS, spawnGateway } from "../../tests/helpers.ts";
import { cpuOf, cpuSelf, type CpuSource } from "./cpu.ts";

/** A running server. */
export interface Server extends CpuSource {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** What it wrote to stderr (warnings and errors), when in its own process. */
  logs(): string;
  close(): Promise<void>;
}

/**
 * How to run Deno.execPath() as a child: directly when allowed, else through `sh`, which `deno
 * task bench` may run (`--allow-run=deno` names the `deno` on PATH, which may be a symlink to the
 * binary). `exec` keeps the child's pid the Deno process's own.
 */
function runPrefix(): string[] {
  const granted = Deno.permissions.querySync({ name: "run", command: Deno.execPath() });
  return granted.state === "granted" ? [] : ["sh", "-c", 'exec "$@"', "sh"];
}

/** Stops a child with SIGTERM; SIGKILL if it is not gone after `graceMs`. */
async function stopChild(
  stop: () => Promise<unknown>,
  kill: () => Promise<unknown>,
  graceMs = 20_000,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), graceMs));
  try {
    if (await Promise.race([stop(), late]) === "late") await kill();
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts the gateway on `kvPath` with `env` (SYNCGATE_* settings; port 0, logs at warn): in its
 * own process by default, as production runs it, or in this process with `inProcess`.
 *
 * @example
 * ```ts
 * const gw = await startGatewayServer({ kvPath: `${dir}/gateway.kv` });
 * try { … fetch(`${gw.url}/health`) … } finally { await gw.close(); }
 * ```
 */
export async function startGatewayServer(opts: {
  kvPath: string;
  inProcess?: boolean;
  env?: Record<string, string>;
}): Promise<Server> {
  const env = { SYNCGATE_PORT: "0", SYNCGATE_LOG: "warn", ...opts.env, SYNCGATE_KV: opts.kvPath };
  if (opts.inProcess) {
    const config = loadConfig(env);
    const gw = await startGateway(config, createLogger(config.log));
    return {
      url: gw.url,
      separate: false,
      cpu: () => Promise.resolve(cpuSelf()),
      logs: () => "",
      close: () => gw.close(),
    };
  }
  // The child inherits this process's env, where a stray setting would change what is measured.
  const stray = Object.keys(Deno.env.toObject()).filter((k) =>
    k.startsWith("SYNCGATE_") && !(k in env)
  );
  if (stray.length) console.warn(`The gateway also gets these settings: ${stray.join(", ")}`);
  const gp = await spawnGateway(env, runPrefix());
  return {
    url: gp.url,
    separate: true,
    cpu: () => cpuOf(gp.child.pid),
    logs: gp.logs,
    close: () => stopChild(gp.stop, gp.kill),
  };
}

/** A no-op HTTP server (reads the body, answers a small JSON) in its own process. */
export function startNoopServer(): Promise<Server> {
  return startScriptServer(
    new URL("./noop_server.ts", import.meta.url).pathname,
    GATEWAY_PERMISSIONS,
  );
}

/**
 * A bench server script (`script`, an absolute path) as `deno run` in its own process, with
 * `permissions` and `args`, once it prints `listening on URL`; close() stops it (SIGTERM, then
 * SIGKILL). The script serves until it is killed.
 */
export async function startScriptServer(
  script: string,
  permissions: readonly string[],
  args: readonly string[] = [],
): Promise<Server> {
  const cmd = [...runPrefix(), Deno.execPath(), "run", ...permissions, script, ...args];
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const ready = /listening on (\S+)\n/;
  while (!ready.test(buf)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${script} exited before listening: ${buf}`);
    buf += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const signal = (sig: Deno.Signal) => {
    try {
      child.kill(sig);
    } catch { /* gone */ }
    return child.status;
  };
  return {
    url: ready.exec(buf)![1],
    separate: true,
    cpu: () => cpuOf(child.pid),
    logs: () => "",
    close: () => stopChild(() => signal("SIGTERM"), () => signal("SIGKILL")),
  };
}
