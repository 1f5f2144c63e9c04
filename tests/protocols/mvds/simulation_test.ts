/**
 * Property tests of the TLA+ model's invariants over random schedules
 * (sends, losses, duplicates, reorderings, offline nodes) between 2–5
 * nodes of mixed modes, driven by the seeded simulator:
 * - no ACK is ever in state;
 * - a MESSAGE leaves a peer's state only after that peer showed it holds
 *   the message (its ACK; or its own OFFER or MESSAGE of it);
 * - send epochs only grow between resets (a peer heard from again);
 * - with fair loss every message reaches every peer of its group, and the
 *   state drains to empty.
 */
import assert from "node:assert/strict";
import { idKey, messageId } from "../../../protocols/mvds/message_id.ts";
import type { Mode } from "../../../protocols/mvds/node.ts";
import type { SyncRecord } from "../../../protocols/mvds/record.ts";
import {
  Prng,
  randomTraffic,
  type SimObserver,
  Simulation,
  type SimulationConfig,
} from "../../../protocols/mvds/simulation.ts";
import { fuzzSeed } from "../waku/fuzz_util.ts";

const TYPES = new Set(["OFFER", "REQUEST", "MESSAGE"]);

/** An observer that asserts the invariants at every step; `sim` is set once built. */
function invariants(label: string) {
  const ref: { sim?: Simulation } = {};
  const payloads = new Set<string>();
  const fail = (what: string) => assert.fail(`${label}: ${what}`);
  const checkType = (r: SyncRecord, where: string) => {
    if (!TYPES.has(r.type)) fail(`${r.type} record in state (${where})`);
  };
  const observer: SimObserver = {
    receive({ node, from, epoch, payload, before, changes }) {
      const shown = new Set([
        ...payload.acks.map(idKey),
        ...payload.offers.map(idKey),
        ...payload.messages.map((m) => idKey(messageId(m))),
      ]);
      for (const id of changes.delete) {
        const k = idKey(id);
        if (before.get(k)?.type !== "MESSAGE") continue;
        if (!shown.has(k)) {
          fail(`epoch ${epoch}: node ${node} dropped MESSAGE ${k} without an ACK from ${from}`);
        }
        if (!ref.sim!.node(from).messages.has(k)) {
          fail(`epoch ${epoch}: ${from} acked ${k} it does not hold`);
        }
      }
      for (const r of changes.put) {
        checkType(r, "receive");
        const old = before.get(idKey(r.id));
        if (old?.type === "MESSAGE" && r.type !== "MESSAGE") fail(`MESSAGE replaced by ${r.type}`);
        if (old && old.type === r.type && r.sendEpoch < old.sendEpoch) {
          fail(`epoch ${epoch}: receive moved a send epoch back`);
        }
      }
      for (const s of changes.store) {
        if (s.from !== String(from)) fail("stored with the wrong sender");
      }
    },
    due({ node, peer, epoch, before, result }) {
      const key = `${node}>${peer}@${epoch}`;
      if (payloads.has(key)) fail(`two payloads ${key}`);
      payloads.add(key);
      for (const r of result.put) {
        checkType(r, "due");
        const old = before.get(idKey(r.id))!;
        if (old.type !== r.type || r.sendCount !== old.sendCount + 1) {
          fail("due changed a record's type");
        }
        if (old.sendEpoch > epoch || r.sendEpoch <= epoch) {
          fail(`epoch ${epoch}: send epoch did not grow`);
        }
      }
      for (const e of result.events) {
        if (e.type !== "failed") fail(`due emitted ${e.type}`);
      }
      if (result.delete.length !== result.events.length) {
        fail("due dropped a record without a failed event");
      }
    },
  };
  return { ref, observer };
}

/** A random configuration of 2–5 nodes, mixed modes, overlapping groups and a lossy network. */
function randomConfig(seed: number): SimulationConfig {
  const rng = new Prng(seed);
  const n = 2 + rng.int(4);
  const modes: Mode[] = ["batch", "interactive"];
  const groups: number[][] = [];
  for (let g = 1 + rng.int(3); g > 0; g--) {
    const members = [...Array(n).keys()].filter(() => rng.chance(0.7));
    if (members.length < 2) members.splice(0, members.length, 0, 1 + rng.int(n - 1));
    groups.push(members);
  }
  return {
    seed,
    nodes: Array.from({ length: n }, () => ({
      mode: modes[rng.int(2)],
      settings: { backoffCapEpochs: rng.chance(0.5) ? 64 : 8 },
    })),
    groups,
    loss: rng.chance(0.2) ? 0 : rng.float() * 0.5,
    duplicate: rng.float() * 0.3,
    maxDelay: rng.int(4),
    offline: rng.chance(0.5) ? 0 : rng.float() * 0.3,
    traffic: randomTraffic(rng, { nodes: n, messages: 1 + rng.int(15), epochs: 20, groups }),
    epochs: 20_000,
  };
}

Deno.test("property: invariants hold and every message reaches its group, over random schedules", () => {
  const base = fuzzSeed(0x5eed);
  for (let i = 0; i < 150; i++) {
    const seed = base + i;
    const config = randomConfig(seed);
    const { ref, observer } = invariants(`seed ${seed}`);
    const sim = ref.sim = new Simulation({ ...config, observer });
    const report = sim.run();
    const label = `seed ${seed}: ${JSON.stringify(report)}`;
    assert.ok(report.settled, label);
    assert.equal(report.delivered, report.expected, label);
    assert.equal(report.finalRecords, 0, label);
    // every member of a group holds every message of that group, and nobody else does
    const members = config.groups!;
    for (let node = 0; node < config.nodes.length; node++) {
      for (const m of sim.node(node).messages.values()) {
        const g = m.groupId[2];
        assert.ok(
          members[g].includes(node),
          `${label}: node ${node} holds a message of group ${g}`,
        );
      }
    }
  }
});

Deno.test("property: the same seed gives the same run", () => {
  const a = new Simulation(randomConfig(42)).run();
  const b = new Simulation(randomConfig(42)).run();
  assert.deepEqual(a, b);
});

Deno.test("lossless batch: each message costs one MESSAGE and one ACK payload", () => {
  const r = new Simulation({
    seed: 1,
    nodes: [{ mode: "batch" }, { mode: "batch" }],
    traffic: [{ epoch: 0, from: 0, group: 0 }],
    epochs: 100,
  }).run();
  assert.equal(r.delivered, 1);
  assert.equal(r.payloadsSent, 2);
  assert.deepEqual(r.latency, { mean: 1, p50: 1, p95: 1, max: 1 });
  const i = new Simulation({
    seed: 1,
    nodes: [{ mode: "interactive" }, { mode: "interactive" }],
    traffic: [{ epoch: 0, from: 0, group: 0 }],
    epochs: 100,
  }).run();
  assert.equal(i.payloadsSent, 4); // offer, request, message, ack
  assert.equal(i.latency.max, 3);
});

Deno.test("30% loss: everything is delivered", () => {
  for (const mode of ["batch", "interactive"] as const) {
    const r = new Simulation({
      seed: 30,
      nodes: [{ mode }, { mode }, { mode }],
      loss: 0.3,
      traffic: randomTraffic(new Prng(30), { nodes: 3, messages: 100, epochs: 50 }),
      epochs: 10_000,
    }).run();
    assert.equal(r.deliveryRatio, 1, mode);
    assert.ok(r.settled, mode);
  }
});

Deno.test("a peer away past maxSendCount ends failed and state stops growing", () => {
  const r = new Simulation({
    seed: 5,
    nodes: [{ mode: "batch", settings: { maxSendCount: 4 } }, { mode: "batch" }],
    offlineWindows: [{ node: 1, from: 0, to: 1_000_000 }],
    traffic: randomTraffic(new Prng(5), { nodes: 2, messages: 20, epochs: 10, senders: [0] }),
    epochs: 200,
  }).run();
  assert.equal(r.delivered, 0);
  assert.equal(r.failed, r.expected);
  assert.equal(r.finalRecords, 0);
  assert.ok(r.settled);
});

Deno.test("a node offline for a long window gets everything soon after it returns", () => {
  const r = new Simulation({
    seed: 9,
    nodes: [{ mode: "batch" }, { mode: "interactive" }],
    offlineWindows: [{ node: 1, from: 0, to: 1000 }],
    traffic: randomTraffic(new Prng(9), { nodes: 2, messages: 30, epochs: 20, senders: [0] }),
    epochs: 5000,
  }).run();
  assert.equal(r.deliveryRatio, 1);
  // the gap between retransmissions is at most 64 epochs
  assert.ok(r.latency.max <= 1000 + 64 + 2, JSON.stringify(r.latency));
});

Deno.test("the reference simulation's setting: 3 nodes, 2 communicating, 90% offline", () => {
  for (const mode of ["batch", "interactive"] as const) {
    const r = new Simulation({
      seed: 90,
      nodes: [{ mode }, { mode }, { mode }],
      offline: 0.9,
      traffic: randomTraffic(new Prng(90), {
        nodes: 3,
        messages: 20,
        epochs: 100,
        senders: [0, 1],
      }),
      epochs: 100_000,
    }).run();
    assert.equal(r.deliveryRatio, 1, mode);
  }
});

Deno.test("running record counts match the nodes' state, mid-run and at the end", () => {
  for (let i = 0; i < 40; i++) {
    const config = randomConfig(fuzzSeed(0xc0de) + i);
    for (const epochs of [5, 15, 40, 20_000]) {
      let delivered = 0;
      let maxLatency = 0;
      const sim = new Simulation({
        ...config,
        epochs,
        observer: {
          delivered({ epoch, sentEpoch }) {
            delivered++;
            maxLatency = Math.max(maxLatency, epoch - sentEpoch);
          },
        },
      });
      const r = sim.run();
      const label = `seed ${config.seed}, ${epochs} epochs`;
      let held = 0;
      let most = 0;
      for (let n = 0; n < config.nodes.length; n++) {
        let mine = 0;
        for (const records of sim.node(n).records.values()) mine += records.size;
        held += mine;
        most = Math.max(most, mine);
      }
      assert.equal(r.finalRecords, held, label);
      assert.ok(r.peakNode.records >= most, label);
      assert.ok(r.peakNode.records <= r.maxRecords, label);
      assert.ok(r.peakNode.messages <= r.peakNode.records, label);
      assert.equal(delivered, r.delivered, label);
      assert.equal(maxLatency, r.latency.max, label);
    }
  }
});

Deno.test("peakNode: a sender whose only peer is away holds one record per message", () => {
  const r = new Simulation({
    seed: 6,
    nodes: [{ mode: "batch" }, { mode: "batch" }, { mode: "batch" }],
    offlineWindows: [{ node: 1, from: 0, to: 500 }, { node: 2, from: 0, to: 500 }],
    traffic: Array.from({ length: 20 }, (_, i) => ({ epoch: i, from: 0, group: 0 })),
    epochs: 100,
  }).run();
  assert.deepEqual(
    { node: r.peakNode.node, records: r.peakNode.records, messages: r.peakNode.messages },
    { node: 0, records: 40, messages: 20 },
  );
});
