/** The Waku bench's options: the harness's common ones and these (`--help` lists them all). */
import {
  booleanOption,
  COMMON_OPTIONS,
  customOption,
  numberOption,
  numbersOption,
  type Options,
  parseNumber,
  parseOptions,
} from "../harness/options.ts";

/** "half" in --paced-rates: half the closed-loop rate. */
export const HALF = -1;

export const WAKU_OPTIONS = {
  ...COMMON_OPTIONS,
  sizes: numbersOption(
    "store sizes at which ingest and queries are measured",
    [100_000, 1_000_000],
    [10_000, 50_000],
  ),
  singles: customOption<number>({
    help: "messages for the closed-loop single publishes (wrk: its list; fetch: the count)",
    shown: "`60000` (`5000`); fetch: `30000`",
    parse: parseNumber,
    default: (o) => o.quick ? 5000 : o.client === "wrk" ? 60_000 : 30_000,
  }),
  publishers: numberOption("concurrent single publishers", 200),
  pacedRates: customOption<number[]>({
    help: "offered rates for the open-loop single-publish rows; `half` = half the closed-loop max",
    shown: "`10000,half`",
    parse: (text, flag) =>
      text.split(",").map((r) => {
        if (r.trim() === "half") return HALF;
        const n = Number(r);
        if (!(Number.isFinite(n) && n > 0)) {
          throw new RangeError(`${flag} takes positive rates or "half", got "${r}"`);
        }
        return n;
      }),
    default: () => [10_000, HALF],
  }),
  pacedSeconds: numberOption("how long each paced rate is offered", 5, 1),
  bulkBatch: numberOption("messages per bulk request", 2000),
  bulkInflight: numberOption("bulk requests in flight", 2),
  queryPages: numberOption("pages per query row (after 200 warm-up pages)", 5000, 500),
  queryConcurrency: numbersOption("client counts for the query rows", [1, 4]),
  breakdown: booleanOption("the breakdown ladders", true),
  seed: numberOption("message seed", 1),
};

export type WakuOptions = Options<typeof WAKU_OPTIONS>;

/** Messages the single-publish rows take (closed loop and paced; "half" counted as 20k/s). */
export function singlesTotal(o: WakuOptions): number {
  if (o.singles === 0) return 0;
  return o.singles +
    o.pacedRates.reduce((a, r) => a + (r === HALF ? 20_000 : r) * o.pacedSeconds, 0);
}

/** Parses and checks the Waku bench's options. */
export async function parseWakuOptions(args: readonly string[] = Deno.args): Promise<WakuOptions> {
  const o = await parseOptions(WAKU_OPTIONS, args);
  if (o.sizes.some((s, i) => !Number.isInteger(s) || s < 2000 || (i > 0 && s <= o.sizes[i - 1]))) {
    throw new RangeError(`--sizes must be increasing integers of at least 2000, got ${o.sizes}`);
  }
  if (o.queryConcurrency.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new RangeError(`--query-concurrency takes positive integers, got ${o.queryConcurrency}`);
  }
  // The single publishes (and paced rows) run after the first size, into the second.
  const singles = singlesTotal(o);
  if (o.sizes.length > 1 && o.sizes[1] < o.sizes[0] + singles) {
    throw new RangeError(
      `The second size must be at least the first plus the single publishes (${singles})`,
    );
  }
  return o;
}
