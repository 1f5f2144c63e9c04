/**
 * The servers of the CAS bench, each in a process of its own, reached
 * through `sh` (which `deno task bench:cas` may run): the gateway, whose
 * pid the RSS rows read, and the static file route. Each reports its CPU.
 */
import { processMemory, resetPeak } from "../../tests/e2e/process_memory.ts";
import { spawnGateway } from "../../tests/helpers.ts";
import { cpuOf } from "../harness/cpu.ts";
import { type Server, startScriptServer as startScript } from "../harness/server.ts";

const VIA_SH = ["sh", "-c", 'exec "$@"', "sh"];

/** A server whose memory can be read. */
export interface MeasuredServer extends Server {
  /** RSS now, and its peak since resetPeak(), in bytes. */
  memory(): Promise<{ rss: number; peak: number }>;
  resetPeak(): Promise<void>;
}

/** The gateway on `kvPath`, as `deno run main.ts`, with more settings from `env`. */
export async function startGatewayProcess(
  kvPath: string,
  env: Record<string, string> = {},
): Promise<MeasuredServer> {
  const gp = await spawnGateway({ ...env, SYNCGATE_KV: kvPath }, VIA_SH);
  const pid = gp.child.pid;
  return {
    url: gp.url,
    separate: true,
    cpu: () => cpuOf(pid),
    logs: gp.logs,
    memory: () => processMemory(pid),
    resetPeak: () => resetPeak(pid),
    close: async () => void await gp.stop(),
  };
}

/** bench/cas/file_server.ts serving the files in `dir`. */
export function startFileServer(dir: string): Promise<Server> {
  return startScriptServer("./file_server.ts", ["--allow-net", "--allow-read"], [dir]);
}

/** bench/cas/kv_route_server.ts on a KV file of its own at `kvPath`. */
export function startKvRouteServer(kvPath: string): Promise<Server> {
  return startScriptServer("./kv_route_server.ts", [
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--unstable-kv",
  ], [kvPath]);
}

/** A bench server script of this directory (see startScriptServer). */
function startScriptServer(
  name: string,
  permissions: string[],
  args: string[],
): Promise<Server> {
  return startScript(new URL(name, import.meta.url).pathname, permissions, args);
}
