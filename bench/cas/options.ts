/** The CAS bench's options: the harness's common ones and these (`--help` lists them all). */
import { COMMON_OPTIONS, numbersOption, type Options, parseOptions } from "../harness/options.ts";

export const CAS_OPTIONS = {
  ...COMMON_OPTIONS,
  sizes: numbersOption("blob sizes in bytes", [1024, 1 << 20, 64 << 20], [1024, 1 << 20, 16 << 20]),
  counts: numbersOption("blobs put and got at each size", [2000, 100, 4], [300, 20, 2]),
  concurrency: numbersOption("requests in flight at each size (the raw rows use as many)", [
    8,
    2,
    1,
  ]),
};

export type CasOptions = Options<typeof CAS_OPTIONS>;

/** Parses and checks the CAS bench's options. */
export async function parseCasOptions(args: readonly string[] = Deno.args): Promise<CasOptions> {
  const o = await parseOptions(CAS_OPTIONS, args);
  const n = o.sizes.length;
  if (o.counts.length !== n || o.concurrency.length !== n) {
    throw new RangeError("--sizes, --counts and --concurrency need one value per size each");
  }
  if ([...o.sizes, ...o.counts, ...o.concurrency].some((v) => !Number.isInteger(v) || v < 1)) {
    throw new RangeError("--sizes, --counts and --concurrency take positive integers");
  }
  return o;
}
