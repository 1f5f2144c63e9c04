/**
 * Settings declared once: a setting's zod schema gives its type and its
 * parsing from the env string; its group's prefix and its own name give the
 * env var (`SYNCGATE_<PREFIX>_<NAME>`) and the flag (`--<prefix>-<name>`).
 * The gateway's core settings and each bridge's are groups; config.ts
 * collects them, and the README's table lists them (a test checks it).
 *
 * @example
 * ```ts
 * const waku = settingGroup("WAKU", {
 *   maxMessageBytes: setting(int(1024, 16 << 20).default(153_600), "largest Waku message"),
 * });
 * // SYNCGATE_WAKU_MAX_MESSAGE_BYTES, --waku-max-message-bytes
 * ```
 */
import { z } from "zod";

/** One setting: its schema (from the env string, or undefined when unset) and what it means. */
export interface Setting<T> {
  schema: z.ZodType<T, string | undefined>;
  doc: string;
  /** An older env var name still read (never a flag), for settings that moved. */
  alias?: string;
}

/** Declares a setting. */
export function setting<T>(
  schema: z.ZodType<T, string | undefined>,
  doc: string,
  opts: { alias?: string } = {},
): Setting<T> {
  return { schema, doc, alias: opts.alias };
}

// deno-lint-ignore no-explicit-any
export type SettingsShape = Record<string, Setting<any>>;

/** The values a group of settings yields. */
export type SettingValues<S extends SettingsShape> = {
  [K in keyof S]: S[K] extends Setting<infer T> ? T : never;
};

/** Settings under one prefix ("" for the gateway's core settings). */
export interface SettingGroup<S extends SettingsShape> {
  prefix: string;
  settings: S;
}

/** Declares a group of settings under a prefix such as "WAKU". */
export function settingGroup<S extends SettingsShape>(
  prefix: string,
  settings: S,
): SettingGroup<S> {
  return { prefix, settings };
}

export const ENV_PREFIX = "SYNCGATE_";

/** The env var of a setting: `maxMessageBytes` in group WAKU is SYNCGATE_WAKU_MAX_MESSAGE_BYTES. */
export function envName(prefix: string, key: string): string {
  const snake = key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
  return ENV_PREFIX + (prefix ? `${prefix}_` : "") + snake;
}

/** The flag of an env var: SYNCGATE_WAKU_MAX_MESSAGE_BYTES is --waku-max-message-bytes. */
export function flagName(env: string): string {
  return "--" + env.slice(ENV_PREFIX.length).toLowerCase().replaceAll("_", "-");
}

/** Every env var of a group, with its setting. */
export function envVars<S extends SettingsShape>(
  group: SettingGroup<S>,
): { env: string; key: string; setting: Setting<unknown> }[] {
  return Object.entries(group.settings).map(([key, s]) => ({
    env: envName(group.prefix, key),
    key,
    setting: s,
  }));
}

/** A problem with one setting: its env var and what is wrong. */
export interface SettingProblem {
  env: string;
  message: string;
}

/**
 * Reads a group from env-style values (blank counts as unset; an alias is
 * read when the new name is unset). Returns the values, or every problem.
 */
export function readGroup<S extends SettingsShape>(
  group: SettingGroup<S>,
  env: Record<string, string | undefined>,
): { values: SettingValues<S> } | { problems: SettingProblem[] } {
  const values: Record<string, unknown> = {};
  const problems: SettingProblem[] = [];
  for (const { env: name, key, setting } of envVars(group)) {
    const raw = env[name]?.trim() || (setting.alias ? env[setting.alias]?.trim() : "") || undefined;
    const r = setting.schema.safeParse(raw);
    if (r.success) values[key] = r.data;
    else problems.push(...r.error.issues.map((i) => ({ env: name, message: i.message })));
  }
  return problems.length ? { problems } : { values: values as SettingValues<S> };
}

/** A whole number in [min, max], from its decimal digits. */
export const int = (min: number, max: number) =>
  z.string().regex(/^\d{1,16}$/, "must be a whole number").transform(Number).pipe(
    z.number().min(min).max(max),
  );
