/**
 * The simulated runs behind the MVDS bench's rows, each played on every
 * seed twice: lossy, and a lossless baseline of the same traffic (same
 * seed, loss 0, no offline time). protocols/mvds/simulation.ts drives the
 * real state machine and codec with a virtual clock of epochs, so a run is
 * fully determined by its seed.
 *
 * - `lossyLinks`: N nodes in one group, random senders, links that drop
 *   payloads, and (optionally) two offline periods per node.
 * - `reference`: the reference simulation's defaults (REFERENCE below).
 * - `absence`: a peer away for a long time, for per-node state.
 */
import type { Mode } from "../../protocols/mvds/node.ts";
import {
  Prng,
  randomTraffic,
  type SimSend,
  Simulation,
  type SimulationConfig,
  type SimulationReport,
} from "../../protocols/mvds/simulation.ts";

/**
 * vacp2p/mvds's simulation (simulation/simulation.go from 2019-05, moved
 * to main.go on 2019-06-10) as its flags' defaults set it up: 3 nodes all sharing one
 * group (each with 2 peers), a message every 5 s from the communicating
 * nodes, 1 s epochs, and each payload dropped at send with probability
 * 90% ("offline"). Its published run (vac.dev, "P2P Data Sync for Mobile",
 * 2019-07-19) saw ~5 min of latency and a ×100–1000 bandwidth multiplier
 * in interactive mode; 5 min at 1 s epochs is the horizon used here.
 */
export const REFERENCE = {
  nodes: 3,
  senders: [0, 1],
  intervalEpochs: 5,
  /** Body of `fmt.Sprintf("%x testing", id)` for a 32-byte id. */
  bodyBytes: 72,
  drop: 0.9,
} as const;

/** One run's measurements: the simulator's report and what the bench adds. */
export interface Measured {
  report: SimulationReport;
  /** Share of (message, recipient) pairs delivered within `horizon` epochs of the send. */
  withinHorizon: number;
  /** The epoch of the last delivery (-1 if none). */
  lastDelivery: number;
}

/** A row's run on one seed: lossy and its lossless baseline. */
export interface SeedRun {
  seed: number;
  config: SimulationConfig;
  lossy: Measured;
  lossless: Measured;
}

/** A scenario: how to build the lossy run of a seed (the baseline is derived from it). */
export interface Scenario {
  /** Short name, e.g. "5 nodes, 30% loss, offline periods". */
  setting: string;
  mode: Mode;
  horizon: number;
  build(seed: number): SimulationConfig;
}

/** Plays a config; `horizon` counts deliveries within that many epochs. */
export function measure(config: SimulationConfig, horizon: number): Measured {
  let within = 0;
  let lastDelivery = -1;
  const report = new Simulation({
    ...config,
    observer: {
      delivered({ epoch, sentEpoch }) {
        if (epoch - sentEpoch <= horizon) within++;
        lastDelivery = epoch;
      },
    },
  }).run();
  return { report, withinHorizon: report.expected ? within / report.expected : 1, lastDelivery };
}

/**
 * Bytes sent per delivered message up to the end of the epoch of the last
 * delivery, i.e. without the tail of retransmissions that only wait for
 * ACKs: the same run cut there (a seeded run's prefix is the same run).
 */
export function bytesUntilDelivered(config: SimulationConfig, m: Measured): number {
  const cut = new Simulation({ ...config, epochs: m.lastDelivery + 1 }).run();
  return cut.bytesSent / Math.max(cut.delivered, 1);
}

/** The lossless run of the same traffic: same seed and nodes, loss 0, never offline. */
export function lossless(config: SimulationConfig): SimulationConfig {
  return { ...config, loss: 0, offline: 0, offlineWindows: [] };
}

/** Plays a scenario on each seed, lossy and lossless. */
export function runScenario(s: Scenario, seeds: readonly number[]): SeedRun[] {
  return seeds.map((seed) => {
    const config = s.build(seed);
    return {
      seed,
      config,
      lossy: measure(config, s.horizon),
      lossless: measure(lossless(config), s.horizon),
    };
  });
}

const modes = (n: number, mode: Mode, backoffCapEpochs?: number) =>
  Array.from({ length: n }, () => ({ mode, settings: { backoffCapEpochs } }));

/** Two offline periods per node, 10–60 epochs each, starting while traffic is sent. */
export function offlinePeriods(seed: number, nodes: number, sendEpochs: number) {
  const rng = new Prng(seed * 7919 + 17);
  const out: { node: number; from: number; to: number }[] = [];
  for (let node = 0; node < nodes; node++) {
    for (let k = 0; k < 2; k++) {
      const from = rng.int(sendEpochs);
      out.push({ node, from, to: from + 10 + rng.int(51) });
    }
  }
  return out;
}

/** N nodes in one group on links losing `loss` of payloads, with offline periods or not. */
export function lossyLinks(o: {
  nodes: number;
  messages: number;
  sendEpochs: number;
  loss: number;
  offlinePeriods: boolean;
  mode: Mode;
  horizon: number;
  maxEpochs: number;
}): Scenario {
  const pct = Math.round(o.loss * 100);
  return {
    setting: `${o.nodes} nodes, ${o.messages} msgs, ${pct}% loss` +
      (o.offlinePeriods ? ", offline periods" : ""),
    mode: o.mode,
    horizon: o.horizon,
    build: (seed) => ({
      seed,
      nodes: modes(o.nodes, o.mode),
      loss: o.loss,
      offlineWindows: o.offlinePeriods ? offlinePeriods(seed, o.nodes, o.sendEpochs) : [],
      traffic: randomTraffic(new Prng(seed), {
        nodes: o.nodes,
        messages: o.messages,
        epochs: o.sendEpochs,
      }),
      epochs: o.maxEpochs,
    }),
  };
}

/** The reference's traffic: each sender every 5 epochs, for `horizon` epochs. */
export function referenceTraffic(horizon: number): SimSend[] {
  const out: SimSend[] = [];
  for (let epoch = 0; epoch < horizon; epoch += REFERENCE.intervalEpochs) {
    for (const from of REFERENCE.senders) {
      out.push({ epoch, from, group: 0, bodyBytes: REFERENCE.bodyBytes });
    }
  }
  return out;
}

/**
 * The reference's defaults. `model` "drop": each payload is dropped with
 * probability 90% as the reference's transport does; "offline": each node
 * is offline (neither sends nor receives) in 90% of epochs, the harsher
 * reading of "90% offline". `backoffCapEpochs` overrides the nodes' default
 * (64).
 */
export function reference(o: {
  mode: Mode;
  model: "drop" | "offline";
  horizon: number;
  maxEpochs: number;
  backoffCapEpochs?: number;
}): Scenario {
  return {
    setting: `reference defaults: 3 nodes, 2 sending, ` +
      (o.model === "drop" ? "90% of payloads dropped" : "nodes offline 90% of epochs") +
      (o.backoffCapEpochs ? `; backoffCapEpochs ${o.backoffCapEpochs}` : ""),
    mode: o.mode,
    horizon: o.horizon,
    build: (seed) => ({
      seed,
      nodes: modes(REFERENCE.nodes, o.mode, o.backoffCapEpochs),
      loss: o.model === "drop" ? REFERENCE.drop : 0,
      offline: o.model === "offline" ? REFERENCE.drop : 0,
      traffic: referenceTraffic(o.horizon),
      epochs: o.maxEpochs,
    }),
  };
}

/**
 * A peer away for `away` epochs: 3 batch nodes on links losing 10%, node 0
 * sending every 5 epochs, node 2 offline the whole time; the run ends while
 * it is still away. With `maxSendCount` a record ends after that many sends,
 * so node 0's state stops growing; unlimited (the spec's default), it holds
 * a record for every message sent since the peer left.
 */
export function absence(
  seed: number,
  away: number,
  maxSendCount: number | undefined,
): SimulationConfig {
  const traffic: SimSend[] = [];
  for (let epoch = 0; epoch < away; epoch += 5) traffic.push({ epoch, from: 0, group: 0 });
  return {
    seed,
    nodes: [
      { mode: "batch", settings: { maxSendCount } },
      { mode: "batch", settings: { maxSendCount } },
      { mode: "batch", settings: { maxSendCount } },
    ],
    loss: 0.1,
    offlineWindows: [{ node: 2, from: 0, to: away }],
    traffic,
    epochs: away,
  };
}
