/**
 * Entry point: reads config, starts the gateway, prints one ready line, and
 * closes cleanly on SIGINT/SIGTERM. A configuration it cannot run with (a
 * bad setting, a port in use) is one line on stderr and exit code 2.
 */
import { ConfigError, loadConfig } from "./config.ts";
import { startGateway } from "./gateway.ts";

function fail(message: string): never {
  console.error(`syncgate: ${message}`);
  Deno.exit(2);
}

let config;
try {
  config = loadConfig(Deno.env.toObject(), Deno.args);
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  fail(e.message);
}

let gateway;
try {
  gateway = await startGateway(config);
} catch (e) {
  if (e instanceof Deno.errors.AddrInUse) {
    fail(`${config.host}:${config.port} is in use; set SYNCGATE_PORT (or --port) to another port`);
  }
  if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.AddrNotAvailable) {
    fail(`cannot listen on ${config.host}:${config.port}: ${(e as Error).message}`);
  }
  throw e;
}
console.log(`syncgate listening on ${gateway.url}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await gateway.close();
  Deno.exit(0);
};
for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, stop);
