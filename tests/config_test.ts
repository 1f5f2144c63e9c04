/**
 * Configuration from SYNCGATE_* env vars and --flags.
 */
import assert from "node:assert/strict";
import type { WakuSettings } from "../bridges/waku.ts";
import { allSettings, type Config, ConfigError, flagsToEnv, loadConfig } from "../config.ts";

/** The Waku bridge's part of a config. */
const waku = (c: Config) => c.bridges.waku as WakuSettings;

const KEY16 = "0123456789abcdef";

/** Asserts a ConfigError whose message contains every given text. */
function assertConfigError(fn: () => unknown, ...texts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    for (const t of texts) assert.ok(e.message.includes(t), `"${e.message}" should name ${t}`);
    return true;
  });
}

Deno.test("defaults: 127.0.0.1:8000, ./data/syncgate.kv, no API key", () => {
  const c = loadConfig({});
  assert.equal(c.host, "127.0.0.1");
  assert.equal(c.port, 8000);
  assert.equal(c.kvPath, "./data/syncgate.kv");
  assert.equal(c.apiKey, undefined);
  assert.deepEqual(c.corsOrigins, []);
  assert.equal(c.bodyLimit, 1024 * 1024);
  assert.equal(waku(c).bulkBodyLimit, 256 * 1024 * 1024);
  assert.equal(c.requestTimeoutMs, 30_000);
  assert.equal(c.log, "info");
  assert.equal(c.liveBufferBytes, 4 * 1024 * 1024);
  assert.equal(c.deploy, false);
  assert.equal(waku(c).maxMessageBytes, 150 * 1024);
  assert.equal(waku(c).retention.topics.size, 0);
  assert.equal(waku(c).retention.fallback, undefined);
  assert.equal(waku(c).retentionInterval, 60);
});

Deno.test("env vars set every field", () => {
  const c = loadConfig({
    SYNCGATE_HOST: "0.0.0.0",
    SYNCGATE_PORT: "9000",
    SYNCGATE_KV: ":memory:",
    SYNCGATE_API_KEY: KEY16,
    SYNCGATE_CORS_ORIGINS: " https://a.example , ,https://b.example ",
    SYNCGATE_BODY_LIMIT: "2048",
    SYNCGATE_LOG: "silent",
    SYNCGATE_WAKU_RETENTION: "/waku/2/rs/0/0=time:86400,capacity:100000;*=time:604800",
    SYNCGATE_WAKU_RETENTION_INTERVAL: "5",
  });
  assert.equal(c.host, "0.0.0.0");
  assert.equal(c.port, 9000);
  assert.equal(c.kvPath, ":memory:");
  assert.equal(c.apiKey, KEY16);
  assert.deepEqual(c.corsOrigins, ["https://a.example", "https://b.example"]);
  assert.equal(c.bodyLimit, 2048);
  assert.equal(c.log, "silent");
  assert.deepEqual(waku(c).retention.topics.get("/waku/2/rs/0/0"), {
    maxAgeSeconds: 86400,
    maxCount: 100000,
  });
  assert.deepEqual(waku(c).retention.fallback, { maxAgeSeconds: 604800 });
  assert.equal(waku(c).retentionInterval, 5);
});

Deno.test("empty env values count as unset", () => {
  const c = loadConfig({
    SYNCGATE_PORT: "",
    SYNCGATE_KV: "",
    SYNCGATE_API_KEY: "",
    SYNCGATE_HOST: "",
  });
  assert.equal(c.port, 8000);
  assert.equal(c.kvPath, "./data/syncgate.kv");
  assert.equal(c.apiKey, undefined);
  assert.equal(c.host, "127.0.0.1");
});

Deno.test("unrelated env vars are ignored", () => {
  const c = loadConfig({ PATH: "/bin", SYNCGATE_UNKNOWN: "x", HOME: "/root" });
  assert.equal(c.port, 8000);
});

Deno.test("flags override env: --port=9, --kv x, --api-key=...", () => {
  const env = { SYNCGATE_PORT: "1234", SYNCGATE_KV: "env.kv", SYNCGATE_API_KEY: "e".repeat(16) };
  const c = loadConfig(env, ["--port=9", "--kv", "x", `--api-key=${KEY16}`]);
  assert.equal(c.port, 9);
  assert.equal(c.kvPath, "x");
  assert.equal(c.apiKey, KEY16);
  // Env applies where no flag is given.
  assert.equal(loadConfig(env, ["--port=9"]).kvPath, "env.kv");
});

Deno.test("flagsToEnv maps --flag names to SYNCGATE_* keys", () => {
  assert.deepEqual(
    flagsToEnv(["--kv", "a b", "--api-key=k=v", "--waku-max-message-bytes", "2048", "--log=debug"]),
    {
      SYNCGATE_KV: "a b",
      SYNCGATE_API_KEY: "k=v",
      SYNCGATE_WAKU_MAX_MESSAGE_BYTES: "2048",
      SYNCGATE_LOG: "debug",
    },
  );
  assert.deepEqual(flagsToEnv([]), {});
  assert.deepEqual(flagsToEnv(["--host= 0.0.0.0 "]), { SYNCGATE_HOST: "0.0.0.0" });
  // Every flag name corresponds to an env key of the schema.
  const known = new Set(allSettings().map((s) => s.env));
  for (const key of Object.keys(flagsToEnv(["--port=1", "--waku-retention-interval=5"]))) {
    assert.ok(known.has(key), key);
  }
});

Deno.test("unknown flag, positional argument or missing value → ConfigError", () => {
  assertConfigError(() => loadConfig({}, ["--nope=1"]), "--nope");
  assertConfigError(() => loadConfig({}, ["--verbose"]), "--verbose");
  assertConfigError(() => loadConfig({}, ["serve"]), "serve");
  assertConfigError(() => loadConfig({}, ["-p", "9"]), "-p");
  assertConfigError(() => loadConfig({}, ["--port"]), "--port");
  // DENO_DEPLOYMENT_ID is env-only; there is no --deno-deployment-id flag.
  assertConfigError(() => loadConfig({}, ["--deno-deployment-id=x"]), "--deno-deployment-id");
});

Deno.test("invalid port → ConfigError naming SYNCGATE_PORT", () => {
  for (const port of ["abc", "65536", "-1", "80.5", "99999999"]) {
    assertConfigError(() => loadConfig({ SYNCGATE_PORT: port }), "SYNCGATE_PORT");
    assertConfigError(() => loadConfig({}, [`--port=${port}`]), "SYNCGATE_PORT");
  }
  assert.equal(loadConfig({ SYNCGATE_PORT: "0" }).port, 0);
  assert.equal(loadConfig({ SYNCGATE_PORT: "65535" }).port, 65535);
});

Deno.test("API key shorter than 16 characters is rejected", () => {
  assertConfigError(() => loadConfig({ SYNCGATE_API_KEY: "short" }), "SYNCGATE_API_KEY", "16");
  assertConfigError(() => loadConfig({}, ["--api-key=" + "x".repeat(15)]), "SYNCGATE_API_KEY");
  assert.equal(loadConfig({}, ["--api-key=" + "x".repeat(16)]).apiKey, "x".repeat(16));
});

Deno.test("other invalid settings are ConfigErrors naming the setting", () => {
  assertConfigError(() => loadConfig({ SYNCGATE_LOG: "loud" }), "SYNCGATE_LOG");
  assertConfigError(() => loadConfig({ SYNCGATE_BODY_LIMIT: "10" }), "SYNCGATE_BODY_LIMIT");
  assertConfigError(() => loadConfig({}, ["--kv="]), "SYNCGATE_KV");
  assertConfigError(
    () => loadConfig({ SYNCGATE_WAKU_RETENTION: "/a=forever" }),
    "SYNCGATE_WAKU_RETENTION",
    "forever",
  );
  assertConfigError(
    () => loadConfig({ SYNCGATE_WAKU_RETENTION_INTERVAL: "0" }),
    "SYNCGATE_WAKU_RETENTION_INTERVAL",
  );
  // Several problems are reported together.
  assertConfigError(
    () => loadConfig({ SYNCGATE_PORT: "x", SYNCGATE_LOG: "loud" }),
    "SYNCGATE_PORT",
    "SYNCGATE_LOG",
  );
});

Deno.test("ConfigError is an Error named ConfigError", () => {
  const e = new ConfigError("m");
  assert.ok(e instanceof Error);
  assert.equal(e.name, "ConfigError");
  assert.equal(e.message, "m");
});

Deno.test("DENO_DEPLOYMENT_ID set → deploy, kvPath undefined (no TCP listeners if that setting exists)", () => {
  const c: Record<string, unknown> = { ...loadConfig({ DENO_DEPLOYMENT_ID: "abc123" }) };
  assert.equal(c.deploy, true);
  assert.equal(c.kvPath, undefined);
  // config.ts dropped its tcpListeners setting; if it comes back it must be off on Deploy.
  if ("tcpListeners" in c) assert.equal(c.tcpListeners, false);
  // An explicit KV (e.g. a KV Connect URL) is still used on Deploy.
  assert.equal(
    loadConfig({ DENO_DEPLOYMENT_ID: "abc123", SYNCGATE_KV: "https://kv.example/db" }).kvPath,
    "https://kv.example/db",
  );
  // An empty DENO_DEPLOYMENT_ID counts as unset.
  assert.equal(loadConfig({ DENO_DEPLOYMENT_ID: "" }).deploy, false);
});

Deno.test({
  // Regression: z.coerce.number() turns "" and whitespace into 0,
  // so `--port=` (or SYNCGATE_PORT=" ") silently selects port 0 (a random port)
  // instead of failing like other invalid ports (or falling back to the default).
  name: "an empty --port= or blank SYNCGATE_PORT does not silently become port 0",
  fn() {
    for (
      const run of [() => loadConfig({}, ["--port="]), () => loadConfig({ SYNCGATE_PORT: " " })]
    ) {
      let port: number | undefined;
      try {
        port = run().port;
      } catch (e) {
        assert.ok(e instanceof ConfigError);
        continue;
      }
      assert.equal(port, 8000, "blank port should be an error or the default, not 0");
    }
  },
});

Deno.test("every setting is declared once, with its bridge's prefix, and named in the README's table", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const settings = allSettings();
  assert.equal(new Set(settings.map((s) => s.env)).size, settings.length, "no env var twice");
  for (const { env, setting } of settings) {
    assert.ok(readme.includes(`| \`${env}\``), `README's config table lists ${env}`);
    assert.ok(setting.doc.length > 0, env);
  }
  for (const { env } of allSettings().filter((s) => s.env.includes("RETENTION"))) {
    assert.match(env, /^SYNCGATE_WAKU_/);
  }
});

Deno.test("a moved setting is still read under its old name; the new name wins", () => {
  assert.equal(waku(loadConfig({ SYNCGATE_BULK_BODY_LIMIT: "4096" })).bulkBodyLimit, 4096);
  assert.equal(
    waku(loadConfig({ SYNCGATE_BULK_BODY_LIMIT: "4096", SYNCGATE_WAKU_BULK_BODY_LIMIT: "8192" }))
      .bulkBodyLimit,
    8192,
  );
  assert.equal(waku(loadConfig({}, ["--waku-bulk-body-limit=2048"])).bulkBodyLimit, 2048);
});
