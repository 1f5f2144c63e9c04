/**
 * The gateway's configuration: its core settings and every bridge's (see
 * lib/settings.ts), from `SYNCGATE_*` env vars and the matching `--flags`.
 * This is the only module that reads the environment. Flags win over env
 * vars; bad values stop the gateway with a message naming each setting.
 */
import { z } from "zod";
import { BRIDGES } from "./bridges/mod.ts";
import type { Bridge } from "./bridges/bridge.ts";
import {
  ENV_PREFIX,
  envVars,
  flagName,
  int,
  readGroup,
  setting,
  settingGroup,
  type SettingProblem,
  type SettingValues,
} from "./lib/settings.ts";

/** The settings every gateway has, whatever its bridges. */
export const CORE_SETTINGS = settingGroup("", {
  host: setting(z.string().min(1).default("127.0.0.1"), "address to bind"),
  port: setting(int(0, 65535).default(8000), "port; `0` = any free port"),
  kv: setting(
    z.string().min(1).optional(),
    "KV file (created if missing), `:memory:`, or an http(s) KV Connect URL; default " +
      "`./data/syncgate.kv`, on Deno Deploy `Deno.openKv()`",
  ),
  apiKey: setting(
    z.string().min(16, "must be at least 16 characters").optional(),
    "with a key (≥ 16 chars), every POST/PUT/DELETE and WebSocket publish needs " +
      "`Authorization: Bearer <key>`",
  ),
  corsOrigins: setting(
    z.string().default("").transform((s) => s.split(",").map((o) => o.trim()).filter(Boolean)),
    "comma-separated allowed origins, or `*`; empty = no CORS",
  ),
  bodyLimit: setting(
    int(1024, 64 * 1024 * 1024).default(1024 * 1024),
    "max request body (bytes) of a route that sets none of its own; larger is 413",
  ),
  requestTimeoutMs: setting(
    int(100, 600_000).default(30_000),
    "requests of a route that sets no timeout of its own taking longer are answered 504",
  ),
  log: setting(
    z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
    "`debug`, `info` (one JSON line per request), `warn`, `error`, `silent`",
  ),
  liveBufferBytes: setting(
    int(1024, 1024 * 1024 * 1024).default(4 * 1024 * 1024),
    "bytes a live subscriber may have waiting; past it, it is closed with a reason",
  ),
  liveBufferTotalBytes: setting(
    int(64 * 1024, 2 ** 40).default(256 * 1024 * 1024),
    "bytes held for all live subscribers together (a message waiting for many counts once); " +
      "past it, those furthest behind are closed with a reason",
  ),
  livePollMs: setting(
    int(10, 60_000).default(100),
    "how often (ms) a gateway looks in KV for live messages other processes on the same KV " +
      "published",
  ),
  front: setting(
    z.enum(["worker", "main", "off"]).default("worker"),
    "`worker`: the gateway accepts connections itself, on a thread of its own, and enforces the " +
      "timeouts and the connection cap below; `main`: the same on the app's thread (a one-core " +
      "host); `off`: `Deno.serve` alone (always so on Deno Deploy)",
  ),
  headerTimeoutMs: setting(
    int(100, 600_000).default(10_000),
    "a request head not complete this long after the connection or its first byte is closed (408)",
  ),
  idleTimeoutMs: setting(
    int(100, 3_600_000).default(30_000),
    "a keep-alive connection idle this long between requests is closed",
  ),
  writeStallTimeoutMs: setting(
    int(100, 3_600_000).default(30_000),
    "a client that takes nothing of what is sent to it for this long is closed, and its request " +
      "with it",
  ),
  maxConnections: setting(
    int(1, 1_000_000).default(10_000),
    "client connections open at once; more are answered 503 and closed",
  ),
});

export type CoreSettings = SettingValues<typeof CORE_SETTINGS.settings>;

/** Validated configuration: the core settings, where KV is, and each bridge's settings. */
export interface Config extends CoreSettings {
  /** undefined = Deno.openKv()'s default (Deploy); otherwise a path, :memory: or URL. */
  kvPath: string | undefined;
  /** Running on Deno Deploy (DENO_DEPLOYMENT_ID set): no listeners of our own. */
  deploy: boolean;
  /** Each bridge's settings, by bridge name. */
  bridges: Record<string, unknown>;
}

/** Thrown when the configuration is invalid; the message says which setting and why. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Every env var the gateway reads, with its setting: the core's, then each bridge's. */
export function allSettings(bridges: readonly Bridge[] = BRIDGES) {
  return [CORE_SETTINGS, ...bridges.map((b) => b.settings)].flatMap(envVars);
}

/** Turns `--kv x`, `--kv=x` and `--api-key=y` into `SYNCGATE_*` entries. */
export function flagsToEnv(
  args: readonly string[],
  bridges: readonly Bridge[] = BRIDGES,
): Record<string, string> {
  const known = new Set(allSettings(bridges).map((s) => s.env));
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) throw new ConfigError(`Unexpected argument "${arg}"`);
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`Flag "--${name}" needs a value`);
    const key = ENV_PREFIX + name.toUpperCase().replaceAll("-", "_");
    if (!known.has(key) || flagName(key) !== `--${name}`) {
      throw new ConfigError(`Unknown flag "--${name}"`);
    }
    value = value.trim();
    if (!value) throw new ConfigError(`Flag "--${name}" (${key}) needs a value`);
    out[key] = value;
  }
  return out;
}

/**
 * Validates env vars and flags into a Config.
 *
 * @example
 * ```ts
 * const config = loadConfig(Deno.env.toObject(), Deno.args);
 * ```
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  args: readonly string[] = [],
  bridges: readonly Bridge[] = BRIDGES,
): Config {
  const merged = { ...env, ...flagsToEnv(args, bridges) };
  const problems: SettingProblem[] = [];
  const read = <T>(r: { values: T } | { problems: SettingProblem[] }): T | undefined => {
    if ("problems" in r) problems.push(...r.problems);
    else return r.values;
  };
  const core = read(readGroup(CORE_SETTINGS, merged));
  const perBridge: Record<string, unknown> = {};
  for (const b of bridges) perBridge[b.name] = read(readGroup(b.settings, merged));
  if (!core || problems.length) {
    const msgs = problems.map((p) => `${p.env}: ${p.message}`);
    throw new ConfigError(`Invalid configuration: ${msgs.join("; ")}`);
  }
  const deploy = Boolean(env.DENO_DEPLOYMENT_ID?.trim());
  return {
    ...core,
    kvPath: core.kv ?? (deploy ? undefined : "./data/syncgate.kv"),
    deploy,
    bridges: perBridge,
  };
}
