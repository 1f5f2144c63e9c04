/**
 * Bench options: `--name=value` or `--name value` flags, else `BENCH_NAME`
 * env vars (`--wrk-seconds` ⇔ `BENCH_WRK_SECONDS`), else defaults, which may
 * differ under `--quick`. A bench declares its options as a spec (camelCase
 * names; COMMON_OPTIONS are the ones every bench has) and gets them typed;
 * an unknown flag is an error, and `--help` prints the options as the
 * markdown table BENCHMARKS.md shows.
 *
 * @example
 * ```ts
 * const o = await parseOptions({
 *   ...COMMON_OPTIONS,
 *   items: numberOption("items to write", 100_000, 10_000),
 * });
 * o.items; // number
 * ```
 */
import { wrkAvailable } from "./wrk.ts";

/** What the defaults of later options may look at: --quick and the options before them. */
export type Parsed = { readonly quick: boolean; readonly [name: string]: unknown };

/** One option: how to read its text, and its default. */
export interface Option<T> {
  help: string;
  /** The default as --help shows it, e.g. "`10` (`3`)" (quick in parentheses). */
  shown: string;
  parse(text: string, flag: string): T;
  default(o: Parsed): T | Promise<T>;
}

/** The options a spec gives, typed. */
export type Options<S extends Record<string, Option<unknown>>> = {
  -readonly [K in keyof S]: S[K] extends Option<infer T> ? T : never;
};

const shownPair = (full: string, quick: string) =>
  full === quick ? `\`${full}\`` : `\`${full}\` (\`${quick}\`)`;

/** Reads a number ≥ 0 (`_` allowed as a digit separator); RangeError naming `flag` otherwise. */
export function parseNumber(text: string, flag: string): number {
  const n = Number(text.trim().replaceAll("_", ""));
  if (text.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new RangeError(`${flag} must be a number ≥ 0, got "${text}"`);
  }
  return n;
}

/** A number ≥ 0 (`_` allowed as a digit separator); `quick` is the default under --quick. */
export function numberOption(help: string, full: number, quick = full): Option<number> {
  return {
    help,
    shown: shownPair(String(full), String(quick)),
    parse: parseNumber,
    default: (o) => o.quick ? quick : full,
  };
}

/** A comma-separated list of numbers. */
export function numbersOption(help: string, full: number[], quick = full): Option<number[]> {
  return {
    help,
    shown: shownPair(full.join(","), quick.join(",")),
    parse: (text, flag) => text.split(",").map((s) => parseNumber(s, flag)),
    default: (o) => [...(o.quick ? quick : full)],
  };
}

/** `true`/`1` or `false`/`0`; a flag alone (`--keep`) is true. */
export function booleanOption(help: string, dflt: boolean): Option<boolean> {
  return {
    help,
    shown: `\`${dflt}\``,
    parse: (text, flag) => {
      if (text === "true" || text === "1") return true;
      if (text === "false" || text === "0") return false;
      throw new TypeError(`${flag} must be true or false, got "${text}"`);
    },
    default: () => dflt,
  };
}

/** A string, undefined unless given. */
export function stringOption(help: string, shown = "–"): Option<string | undefined> {
  return { help, shown, parse: (text) => text, default: () => undefined };
}

/** One of `choices`. */
export function choiceOption<C extends string>(
  help: string,
  choices: readonly C[],
  dflt: (o: Parsed) => C | Promise<C>,
  shown: string,
): Option<C> {
  return {
    help,
    shown,
    parse: (text, flag) => {
      if (!choices.includes(text as C)) {
        throw new TypeError(`${flag} must be one of ${choices.join(", ")}, got "${text}"`);
      }
      return text as C;
    },
    default: dflt,
  };
}

/** Any option: its own parser and default. */
export function customOption<T>(o: Option<T>): Option<T> {
  return o;
}

/** The options every bench built on this harness has. */
export const COMMON_OPTIONS = {
  quick: booleanOption("smoke run: small sizes, short rows (the defaults in parentheses)", false),
  client: choiceOption(
    "load generator for the closed-loop HTTP rows",
    ["wrk", "fetch"] as const,
    async () => await wrkAvailable() ? "wrk" : "fetch",
    "`wrk` if on PATH, else `fetch`",
  ),
  wrkSeconds: numberOption("how long each wrk row runs (after a 2 s warm-up)", 10, 3),
  phaseSeconds: numberOption(
    "time limit of each phase; every loop is also bounded by its count",
    600,
    60,
  ),
  inProcess: booleanOption("run the gateway in the bench process instead of its own", false),
  dir: stringOption("where the KV files go", "a temp dir"),
  keep: booleanOption("keep the KV files at the end", false),
  json: stringOption("write every result as JSON to this file"),
};

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
const envName = (name: string) => "BENCH_" + kebab(name).toUpperCase().replaceAll("-", "_");

/** Reads `args` and BENCH_* env vars by `spec`; prints the options and exits on `--help`. */
export async function parseOptions<S extends Record<string, Option<unknown>>>(
  spec: S,
  args: readonly string[] = Deno.args,
): Promise<Options<S>> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) throw new TypeError(`Unexpected argument "${a}"`);
    const eq = a.indexOf("=");
    if (eq !== -1) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < args.length && !args[i + 1].startsWith("--")) flags.set(a.slice(2), args[++i]);
    else flags.set(a.slice(2), "true");
  }
  if (flags.has("help")) {
    console.log(optionsTable(spec));
    Deno.exit(0);
  }
  const names = new Map(Object.keys(spec).map((k) => [kebab(k), k]));
  for (const f of flags.keys()) {
    if (!names.has(f)) {
      throw new TypeError(`Unknown flag --${f}; known: ${[...names.keys()].join(", ")}`);
    }
  }
  const out: Record<string, unknown> = { quick: false };
  // --quick first: other defaults depend on it.
  const order = Object.keys(spec).sort((a, b) => Number(b === "quick") - Number(a === "quick"));
  for (const name of order) {
    const text = flags.get(kebab(name)) ?? Deno.env.get(envName(name));
    out[name] = text === undefined
      ? await spec[name].default(out as Parsed)
      : spec[name].parse(text, `--${kebab(name)}`);
  }
  return out as Options<S>;
}

/** The options of a spec as a markdown table (flag, default, meaning). */
export function optionsTable(spec: Record<string, Option<unknown>>): string {
  const rows = Object.entries(spec).map(([k, o]) => [`\`--${kebab(k)}\``, o.shown, o.help]);
  return [
    "| Option | Default (quick) | Meaning |",
    "| --- | --- | --- |",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}
