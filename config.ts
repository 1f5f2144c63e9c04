/**
 * The gateway's configuration: one zod schema over `SYNCGATE_*` env vars and
 * the matching `--flags`. This is the only module that reads the environment.
 *
 * A flag is the env var's name without the prefix, lower-cased, with `-` for
 * `_`: `SYNCGATE_KV` ⇔ `--kv`, `SYNCGATE_API_KEY` ⇔ `--api-key`. Flags win.
 */
import { z } from "zod";
import { parseRetention, type RetentionPolicy } from "./protocols/waku/retention_policy.ts";

const int = (min: number, max: number) =>
  z.string().regex(/^\d{1,16}$/, "must be a whole number").transform(Number).pipe(
    z.number().min(min).max(max),
  );

/** The env schema; keys are env var names. */
export const ConfigSchema = z.object({
  SYNCGATE_HOST: z.string().min(1).default("127.0.0.1"),
  SYNCGATE_PORT: int(0, 65535).default(8000),
  /** A file path, `:memory:`, or an http(s) KV Connect URL. Unset on Deploy = Deno.openKv(). */
  SYNCGATE_KV: z.string().min(1).optional(),
  SYNCGATE_API_KEY: z.string().min(16, "must be at least 16 characters").optional(),
  SYNCGATE_CORS_ORIGINS: z.string().default(""),
  SYNCGATE_BODY_LIMIT: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  SYNCGATE_BULK_BODY_LIMIT: int(1024, 1024 * 1024 * 1024).default(256 * 1024 * 1024),
  SYNCGATE_REQUEST_TIMEOUT_MS: int(100, 600_000).default(30_000),
  SYNCGATE_LOG: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  SYNCGATE_LIVE_BUFFER_BYTES: int(1024, 1024 * 1024 * 1024).default(4 * 1024 * 1024),
  SYNCGATE_WAKU_MAX_MESSAGE_BYTES: int(1024, 16 * 1024 * 1024).default(150 * 1024),
  SYNCGATE_WAKU_RETENTION: z.string().default(""),
  SYNCGATE_WAKU_RETENTION_INTERVAL: int(1, 86_400).default(60),
  DENO_DEPLOYMENT_ID: z.string().optional(),
});

/** Validated configuration, in the shape the app uses. */
export interface Config {
  host: string;
  port: number;
  /** undefined = Deno.openKv() default (Deploy); otherwise a path, :memory: or URL. */
  kvPath: string | undefined;
  apiKey: string | undefined;
  corsOrigins: string[];
  bodyLimit: number;
  bulkBodyLimit: number;
  requestTimeoutMs: number;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  liveBufferBytes: number;
  deploy: boolean;
  waku: {
    maxMessageBytes: number;
    retention: RetentionPolicy;
    retentionIntervalMs: number;
  };
}

/** Thrown when the configuration is invalid; the message says which setting and why. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const PREFIX = "SYNCGATE_";

/** Turns `--kv x`, `--kv=x` and `--api-key=y` into `SYNCGATE_*` entries. */
export function flagsToEnv(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) throw new ConfigError(`Unexpected argument "${arg}"`);
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`Flag "--${name}" needs a value`);
    const key = PREFIX + name.toUpperCase().replaceAll("-", "_");
    if (!(key in ConfigSchema.shape)) throw new ConfigError(`Unknown flag "--${name}"`);
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
): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const v = env[key]?.trim();
    if (v) raw[key] = v;
  }
  Object.assign(raw, flagsToEnv(args));
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const msgs = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration: ${msgs.join("; ")}`);
  }
  const c = parsed.data;
  const deploy = c.DENO_DEPLOYMENT_ID !== undefined;
  let retention: RetentionPolicy;
  try {
    retention = parseRetention(c.SYNCGATE_WAKU_RETENTION);
  } catch (e) {
    throw new ConfigError(
      `Invalid configuration: SYNCGATE_WAKU_RETENTION: ${(e as Error).message}`,
    );
  }
  return {
    host: c.SYNCGATE_HOST,
    port: c.SYNCGATE_PORT,
    kvPath: c.SYNCGATE_KV ?? (deploy ? undefined : "./data/syncgate.kv"),
    apiKey: c.SYNCGATE_API_KEY,
    corsOrigins: c.SYNCGATE_CORS_ORIGINS.split(",").map((s) => s.trim()).filter(Boolean),
    bodyLimit: c.SYNCGATE_BODY_LIMIT,
    bulkBodyLimit: c.SYNCGATE_BULK_BODY_LIMIT,
    requestTimeoutMs: c.SYNCGATE_REQUEST_TIMEOUT_MS,
    logLevel: c.SYNCGATE_LOG,
    liveBufferBytes: c.SYNCGATE_LIVE_BUFFER_BYTES,
    deploy,
    waku: {
      maxMessageBytes: c.SYNCGATE_WAKU_MAX_MESSAGE_BYTES,
      retention,
      retentionIntervalMs: c.SYNCGATE_WAKU_RETENTION_INTERVAL * 1000,
    },
  };
}
