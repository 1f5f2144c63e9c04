/**
 * The MVDS bench's options (`--help` lists them). Only the harness's
 * `--quick` and `--json` are taken from COMMON_OPTIONS: the simulation
 * starts no gateway. The rows that will (raw throughput between two
 * gateways) add the rest of COMMON_OPTIONS here when they land.
 */
import {
  COMMON_OPTIONS,
  numberOption,
  numbersOption,
  type Options,
  parseOptions,
} from "../harness/options.ts";

export const MVDS_OPTIONS = {
  quick: COMMON_OPTIONS.quick,
  seeds: numberOption("seeds per row (every row runs each seed, lossy and lossless)", 10, 3),
  seed: numberOption("the first seed; a row runs seeds seed … seed+seeds−1", 1),
  nodes: numberOption("nodes in the lossy-link rows (one group of all of them)", 5),
  messages: numberOption("messages sent in the lossy-link rows, by random nodes", 200, 60),
  sendEpochs: numberOption("epochs over which those messages are sent", 100, 40),
  horizon: numberOption(
    "the reference simulation's horizon in epochs (~5 min at its 1 s epochs)",
    300,
  ),
  away: numbersOption(
    "a peer's absences in the state rows, in epochs (the first is the baseline)",
    [2000, 8000],
    [500, 2000],
  ),
  fastCap: numberOption(
    "backoffCapEpochs of the reference rows' second interactive run (default 64)",
    4,
  ),
  maxSendCount: numberOption("maxSendCount of the bounded-state row (a deployment's cap)", 14),
  maxEpochs: numberOption("most epochs a run may take to settle", 50_000),
  json: COMMON_OPTIONS.json,
};

export type MvdsOptions = Options<typeof MVDS_OPTIONS>;

/** Parses and checks the MVDS bench's options. */
export async function parseMvdsOptions(args: readonly string[] = Deno.args): Promise<MvdsOptions> {
  const o = await parseOptions(MVDS_OPTIONS, args);
  const ints = [
    o.seeds,
    o.nodes,
    o.messages,
    o.sendEpochs,
    o.horizon,
    o.fastCap,
    o.maxSendCount,
    o.maxEpochs,
  ];
  if ([...ints, ...o.away].some((v) => !Number.isInteger(v) || v < 1)) {
    throw new RangeError("every MVDS bench option takes a positive integer");
  }
  if (o.nodes < 2) throw new RangeError("--nodes must be at least 2");
  if (o.away.length !== 2) throw new RangeError("--away takes two absences: baseline,longer");
  return o;
}
