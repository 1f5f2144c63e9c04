/**
 * The MVDS bench's options (`--help` lists them): the simulation's, the
 * measured state's (`--state-*`), and with `--gateways` the rows between
 * two gateway processes (`--gw-*`, and COMMON_OPTIONS' `--phase-seconds`,
 * `--in-process`, `--dir`, `--keep`).
 */
import {
  booleanOption,
  COMMON_OPTIONS,
  numberOption,
  numbersOption,
  type Options,
  parseOptions,
  stringOption,
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
  stateMessages: numbersOption(
    "messages K of the measured-state rows: KV bytes per pending message at each K",
    [1000, 10_000],
    [500, 2000],
  ),
  stateMaxSendCount: numberOption(
    "maxSendCount of the measured-state node (its records end after that many sends)",
    3,
  ),
  gateways: booleanOption(
    "also run the rows between two gateway processes (raw throughput, ~5 min)",
    false,
  ),
  gwMessages: numberOption("messages of each batch run between the gateways", 20_000, 2000),
  gwInteractiveMessages: numberOption(
    "messages of the interactive run between the gateways",
    10_000,
    1000,
  ),
  gwConcurrency: numberOption("POSTs of messages in flight", 32),
  gwBodyBytes: numberOption("message body bytes (≥ 12: a run id and the index)", 64),
  gwEpochMs: numberOption("epochMs of the two nodes", 100),
  gwCpuProf: stringOption("run the gateways under --cpu-prof, profiles into this dir"),
  phaseSeconds: COMMON_OPTIONS.phaseSeconds,
  inProcess: COMMON_OPTIONS.inProcess,
  dir: COMMON_OPTIONS.dir,
  keep: COMMON_OPTIONS.keep,
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
    o.stateMaxSendCount,
    o.gwMessages,
    o.gwInteractiveMessages,
    o.gwConcurrency,
    o.gwBodyBytes,
    o.gwEpochMs,
  ];
  if ([...ints, ...o.away, ...o.stateMessages].some((v) => !Number.isInteger(v) || v < 1)) {
    throw new RangeError("every MVDS bench option takes a positive integer");
  }
  if (o.nodes < 2) throw new RangeError("--nodes must be at least 2");
  if (o.away.length !== 2) throw new RangeError("--away takes two absences: baseline,longer");
  return o;
}
