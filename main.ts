/**
 * Entry point: reads config, starts the gateway, prints one ready line, and
 * closes cleanly on SIGINT/SIGTERM.
 */
import { ConfigError, loadConfig } from "./config.ts";
import { startGateway } from "./gateway.ts";

let config;
try {
  config = loadConfig(Deno.env.toObject(), Deno.args);
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  console.error(`syncgate: ${e.message}`);
  Deno.exit(2);
}

const gateway = await startGateway(config);
console.log(`syncgate listening on ${gateway.url}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await gateway.close();
  Deno.exit(0);
};
for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, stop);
