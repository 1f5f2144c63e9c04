/**
 * The gateway under test, as `deno run main.ts` in its own process (the
 * start tests/helpers.ts spawnGateway gives every test and bench), with
 * the RemoteFile listener on a free loopback port; optionally under V8's
 * CPU profiler (`--cpu-prof`, the profile written to `profileDir` when it
 * exits).
 */
import { spawnGateway } from "../../tests/helpers.ts";
import { cpuOf } from "../harness/cpu.ts";
import type { Server } from "../harness/server.ts";

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

export interface GatewayUnderTest extends Server {
  /** The RemoteFile listener's port. */
  remoteFilePort: number;
}

export async function startGateway(
  kvPath: string,
  opts: { profileDir?: string; env?: Record<string, string> } = {},
): Promise<GatewayUnderTest> {
  const port = freePort();
  // `sh` runs deno (what `deno task bench:remotefile` may run); with a profile dir, the flags
  // go after `run` ($1 is deno, $2 is `run`).
  const prefix = opts.profileDir
    ? [
      "sh",
      "-c",
      'd="$1"; shift 2; exec "$d" run --cpu-prof --cpu-prof-dir="$P" "$@"',
      "sh",
    ]
    : ["sh", "-c", 'exec "$@"', "sh"];
  const env: Record<string, string> = {
    ...opts.env,
    SYNCGATE_KV: kvPath,
    SYNCGATE_REMOTEFILE_LISTEN: `127.0.0.1:${port}`,
  };
  if (opts.profileDir) env.P = opts.profileDir;
  const gp = await spawnGateway(env, prefix);
  const res = await fetch(`${gp.url}/remotefile/listeners`);
  const listeners = await res.json() as { transport: string; port?: number }[];
  const tcp = listeners.find((l) => l.transport === "tcp");
  if (tcp?.port !== port) {
    await gp.stop();
    throw new Error(`The gateway's RemoteFile listener: ${JSON.stringify(listeners)}`);
  }
  return {
    url: gp.url,
    remoteFilePort: port,
    separate: true,
    cpu: () => cpuOf(gp.child.pid),
    logs: gp.logs,
    close: async () => void await gp.stop(),
  };
}
